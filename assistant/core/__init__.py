"""The core that answering (`assistant`) and ingest (`ingest`) both use, and that imports neither:
settings, errors, text folding, level ids and feedback labels, embeddings, the tokenizer, chunks and
the index reader. An import contract (`.importlinter`, run in CI) keeps it that way."""
