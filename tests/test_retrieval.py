"""Hybrid retrieval over the real index: scores kept per hit, fusion, LangChain composition."""

from __future__ import annotations

import pytest
from langchain_core.documents import Document
from langchain_core.runnables import RunnableLambda

from assistant.retrieval import RRF_K, HybridRetriever, RetrievalModeError

pytest_plugins = ["built_index"]


@pytest.fixture
def retriever(assistant) -> HybridRetriever:
    return assistant.retriever.model_copy(update={"k": 5})


def test_hybrid_hits_keep_both_scores_and_the_fused_rank(retriever: HybridRetriever) -> None:
    hits = retriever.model_copy(update={"fusion": "rrf"}).retrieve("本社に組織横断的な相談窓口を置くのはなぜ").hits
    assert "組織横断" in hits[0].chunk.text
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert all(a.fused >= b.fused for a, b in zip(hits, hits[1:]))
    top = hits[0]
    assert top.bm25 > 0 and 0.5 < top.dense <= 1.0
    assert top.fused == pytest.approx(1 / (RRF_K + top.bm25_rank) + 1 / (RRF_K + top.dense_rank))


def test_weighted_fusion_averages_min_max_scores_and_keeps_every_candidate(retriever: HybridRetriever) -> None:
    weighted = retriever.model_copy(update={"fusion": "weighted", "k": 50})
    hits = weighted.retrieve("本社に組織横断的な相談窓口を置くのはなぜ").hits
    assert len(hits) == 9  # the lowest-scoring chunk scales to 0 but is still a candidate
    bm25 = [h.bm25 for h in hits if h.bm25 > 0]
    dense = [h.dense for h in hits]
    top = hits[0]
    expected = 0.5 * (top.bm25 - min(bm25)) / (max(bm25) - min(bm25)) \
        + 0.5 * (top.dense - min(dense)) / (max(dense) - min(dense))
    assert top.fused == pytest.approx(expected, rel=1e-5)


def test_modes_rank_by_their_own_signal(retriever: HybridRetriever) -> None:
    query = "定期的に会議をして情報共有"
    bm25 = retriever.model_copy(update={"mode": "bm25"}).retrieve(query).hits
    dense = retriever.model_copy(update={"mode": "dense"}).retrieve(query).hits
    assert [h.bm25_rank for h in bm25] == sorted(h.bm25_rank for h in bm25)
    assert [h.dense_rank for h in dense] == list(range(1, len(dense) + 1))
    assert "会議" in bm25[0].chunk.text


def test_a_query_sharing_no_word_with_the_corpus_still_gets_dense_hits(retriever: HybridRetriever) -> None:
    retrieval = retriever.retrieve("A customer hit me")
    assert retrieval.hits and all(h.bm25_rank is None for h in retrieval.hits)
    assert retrieval.lexical_coverage == 0.0


def test_an_unknown_mode_names_the_valid_choices(retriever: HybridRetriever) -> None:
    with pytest.raises(RetrievalModeError, match="hybrid, bm25, dense"):
        retriever.model_copy(update={"mode": "fuzzy"}).retrieve("店長")


def test_it_composes_as_a_langchain_retriever(retriever: HybridRetriever) -> None:
    chain = retriever | RunnableLambda(lambda docs: [d.metadata["section"] for d in docs])
    sections = chain.invoke("小規模な会社では経営者が相談対応者？")
    assert sections and all("相談体制の整備①" in s for s in sections)
    docs = retriever.invoke("小規模な会社では経営者が相談対応者？")
    assert isinstance(docs[0], Document) and "経営者" in docs[0].page_content
    assert {"bm25", "dense", "fused", "rank", "page"} <= set(docs[0].metadata)


def test_english_phrases_reach_bm25_through_the_glossary(retriever: HybridRetriever) -> None:
    from assistant.glossary import Glossary

    question = "Why should head office have a cross-departmental consultation desk?"
    with_glossary = retriever.retrieve(question)
    assert with_glossary.hits[0].bm25_rank == 1 and "組織横断" in with_glossary.hits[0].chunk.text
    without = retriever.model_copy(update={"glossary": Glossary({})}).retrieve(question)
    assert all(h.bm25_rank is None for h in without.hits)
    assert with_glossary.lexical_coverage > without.lexical_coverage == 0.0


def test_glossary_matches_whole_words_longest_first() -> None:
    from assistant.glossary import Glossary

    glossary = Glossary({"hr": "人事労務", "store manager": "店長", "manager": "マネージャー"})
    assert glossary.expand("three stores") == "three stores"
    assert glossary.expand("Our store manager and HR").endswith("店長 人事労務")
