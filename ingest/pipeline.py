"""The whole ingest: load -> clean -> structure -> chunks -> tokens -> index, with a summary and a
report of what each file gave.

Every source is read and checked before anything is written, so bad input never touches the index.
A garbled page is refused (listed in the report) while the file's other pages are indexed.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

from assistant.core.chunks import Chunk
from assistant.core.embeddings import embedder_name, get_embeddings
from assistant.core.index import IndexManifest, IndexStore
from assistant.core.settings import Settings
from assistant.core.tokens import TOKENIZER_NAME, get_tokenizer
from ingest.chunks import make_chunks
from ingest.cleaning import clean_pages
from ingest.errors import EmptyCorpusError
from ingest.index import BuildInput, BuildStore, build_key, write_build
from ingest.loaders import LoadedFile, discover_sources, load_file
from ingest.manifest import CorpusManifest, load_manifest
from ingest.report import IngestReport, build_report
from ingest.structure import StructuredPage, structure_page


@dataclass(frozen=True)
class IngestSummary:
    files: int
    pages: int
    chunks: int
    seconds: float
    build_id: str
    rebuilt: bool
    report: IngestReport


def prepare(settings: Settings, paths: list[Path] | None = None) -> BuildInput:
    """Read, clean and chunk every source; raise before writing anything if one is bad."""
    return read_corpus(settings, paths)[0]


def read_corpus(settings: Settings, paths: list[Path] | None = None) -> tuple[BuildInput, IngestReport]:
    """What to index and the report of what each file gave. Raises SourceError, ManifestError or
    EmptyCorpusError before anything is written."""
    manifest = load_manifest(settings.manifest_path)
    files = discover_sources(settings.corpus_dir, paths)
    if not files:
        raise EmptyCorpusError(
            f"取り込むファイルがありません。{settings.corpus_dir / 'manual'} に PDF・テキストを置くか、パスを指定してください。"
        )
    loaded = _load_distinct(files, manifest, settings.corpus_dir)
    pages = _structured(loaded)
    chunks = make_chunks(pages)
    if not chunks:
        refused = [r.reason for f in loaded for r in f.refused]
        raise EmptyCorpusError(
            f"取り込んだファイル({'、'.join(p.name for p in files)})に索引に入れられる本文が見つかりませんでした。"
            + (" ".join(refused) if refused else "ファイルの中身を確認してください。")
        )
    build = BuildInput(files=files, pages=len(pages), chunks=chunks, corpus_hash=_corpus_hash(files, manifest.fingerprint))
    return build, build_report(loaded, pages, chunks)


def structured_pages(settings: Settings, files: list[Path] | None = None,
                     manifest: CorpusManifest | None = None) -> list[StructuredPage]:
    """load -> clean -> structure for the given files (default: the corpus); the text chunks come from."""
    manifest = manifest or load_manifest(settings.manifest_path)
    files = discover_sources(settings.corpus_dir) if files is None else files
    return _structured([load_file(path, manifest, settings.corpus_dir) for path in files])


def _load_distinct(files: list[Path], manifest: CorpusManifest, corpus_dir: Path) -> list[LoadedFile]:
    """Load each file once: a byte-for-byte copy of an earlier file (another name, same content) is
    not read again, and the report says which file it copies."""
    seen: dict[str, Path] = {}
    loaded = []
    for path in files:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest in seen:
            loaded.append(LoadedFile(path, "duplicate", (), duplicate_of=seen[digest].name))
            continue
        seen[digest] = path
        loaded.append(load_file(path, manifest, corpus_dir))
    return loaded


def _structured(loaded: list[LoadedFile]) -> list[StructuredPage]:
    # Cleaned together: running headers are found across all pages of a document, whatever file holds them.
    return [structure_page(page) for page in clean_pages([raw for f in loaded for raw in f.pages])]


def _corpus_hash(files: list[Path], manifest_fingerprint: str) -> str:
    digest = hashlib.sha256(manifest_fingerprint.encode())
    for path in files:
        digest.update(path.name.encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def run_ingest(
    settings: Settings, paths: list[Path] | None = None, force: bool = False, progress: bool = True
) -> IngestSummary:
    started = time.perf_counter()
    build_input, report = read_corpus(settings, paths)
    store = BuildStore(settings.index_dir)
    with store.lock():
        current = store.current_manifest()
        key = build_key(build_input.corpus_hash, embedder_name(settings), TOKENIZER_NAME)
        # Same corpus, embedder and tokeniser, and the vectors where the settings say (folder or server).
        up_to_date = current is not None and current.build_key == key and current.chroma_url == settings.chroma_url
        if up_to_date and not force:
            return _summary(build_input, report, current, started, rebuilt=False)
        # --force is for an index one distrusts: embed everything afresh.
        manifest = write_build(
            settings, build_input, get_embeddings(settings), get_tokenizer(), progress, reuse=not force
        )
    return _summary(build_input, report, manifest, started, rebuilt=True)


def ensure_index(settings: Settings, progress: bool = True) -> IngestSummary | None:
    """Build the index from the corpus when none exists yet (first run of the product)."""
    if IndexStore(settings.index_dir).current_id() is not None:
        return None
    return run_ingest(settings, progress=progress)


def _summary(build_input: BuildInput, report: IngestReport, manifest: IndexManifest, started: float,
             rebuilt: bool) -> IngestSummary:
    return IngestSummary(
        files=len(build_input.files),
        pages=build_input.pages,
        chunks=len(build_input.chunks),
        seconds=round(time.perf_counter() - started, 2),
        build_id=manifest.build_id,
        rebuilt=rebuilt,
        report=report,
    )


def indexed_chunks(settings: Settings) -> list[Chunk]:
    """The chunks of the index being served, for people to check what was indexed."""
    return IndexStore(settings.index_dir).current_chunks()
