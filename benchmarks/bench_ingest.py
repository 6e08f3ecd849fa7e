"""Ingest benchmark: a 100-page manual-like Japanese PDF into a fresh temporary data directory.

    .venv/bin/python benchmarks/bench_ingest.py [--pages 100] [--bullets 10] [--tracemalloc]

Prints the stages' seconds (PDF generation is not counted), the time of a rebuild after a manifest
edit (which reuses the vectors of unchanged texts), peak memory (ru_maxrss; tracemalloc's
Python-heap peak with --tracemalloc, which slows the run) and the chunk count. Target: under 30 s.
Nothing is written outside the temporary directory; nothing reaches the network.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the PDF generator the tests use

from pdf_fixtures import generate_pages, write_manual_pdf  # noqa: E402

from assistant.core.embeddings import get_embeddings  # noqa: E402
from assistant.core.index import IndexReader  # noqa: E402
from assistant.core.settings import Settings  # noqa: E402
from assistant.core.tokens import get_tokenizer  # noqa: E402
from ingest.index import write_build  # noqa: E402
from ingest.pipeline import prepare  # noqa: E402

TARGET_SECONDS = 30.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--bullets", type=int, default=10, help="bullets per page (plus 2 viewpoints)")
    parser.add_argument("--tracemalloc", action="store_true", help="also measure the Python heap peak")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="kasuhara-bench-") as tmp:
        tmp_path = Path(tmp)
        corpus = tmp_path / "corpus"
        (corpus / "manual").mkdir(parents=True)
        (corpus / "manifest.toml").write_text((ROOT / "corpus" / "manifest.toml").read_text("utf-8"), "utf-8")
        pdf = write_manual_pdf(
            corpus / "manual" / "kasuharamanual_bench.pdf",
            generate_pages(args.pages, bullets_per_page=args.bullets), first_printed=3,
        )
        settings = Settings(corpus_dir=corpus, data_dir=tmp_path / "data")

        if args.tracemalloc:
            tracemalloc.start()
        started = time.perf_counter()
        build_input = prepare(settings)  # load (pdfminer.six), clean, structure, chunk
        prepared = time.perf_counter()
        embeddings, tokenizer = get_embeddings(settings), get_tokenizer()
        loaded = time.perf_counter()
        manifest = write_build(settings, build_input, embeddings, tokenizer, progress=False)
        finished = time.perf_counter()
        heap_peak = tracemalloc.get_traced_memory()[1] if args.tracemalloc else None
        if args.tracemalloc:
            tracemalloc.stop()

        reader = IndexReader(settings)
        assert len(reader.chunks) == manifest.chunk_count == len(build_input.chunks)

        # What an officer's manifest edit costs: a rebuild that reuses the unchanged texts' vectors.
        edited = settings.manifest_path.read_text("utf-8").replace("pages = [28]", "pages = [3, 4, 5, 28]")
        settings.manifest_path.write_text(edited, "utf-8")
        rebuild_started = time.perf_counter()
        write_build(settings, prepare(settings), embeddings, tokenizer, progress=False, reuse=True)
        rebuild_seconds = time.perf_counter() - rebuild_started
        total = finished - started
        chars = sum(len(c.text) for c in build_input.chunks)
        print(f"PDF: {args.pages} pages, {pdf.stat().st_size / 1024:.0f} KiB")
        print(f"chunks: {manifest.chunk_count} ({chars / manifest.chunk_count:.0f} chars on average)")
        print(f"load+clean+structure+chunk: {prepared - started:6.2f} s")
        print(f"embedder+tokeniser load:    {loaded - prepared:6.2f} s")
        print(f"index (BM25+embed+Chroma):  {finished - loaded:6.2f} s  "
              f"({(finished - loaded) / manifest.chunk_count * 1000:.0f} ms per chunk)")
        print(f"total:                      {total:6.2f} s  (target < {TARGET_SECONDS:.0f} s: "
              f"{'met' if total < TARGET_SECONDS else 'NOT met'})")
        print(f"rebuild after a manifest edit (vectors reused): {rebuild_seconds:.2f} s")
        print(f"peak RSS (ru_maxrss):       {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:6.0f} MiB")
        if heap_peak is not None:
            print(f"peak Python heap:           {heap_peak / 2**20:6.0f} MiB (tracemalloc)")
        print(f"CPUs: {os.cpu_count()}, load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
