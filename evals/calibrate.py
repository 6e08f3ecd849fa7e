"""Fit the abstention threshold on the calibration question set (held apart from the evaluation set).

Only questions the router sends to level "none" are used: any other level is answered from the
passages its policy cites, so the threshold decides nothing for them.
"""

from __future__ import annotations

from pathlib import Path

from assistant.answering import with_history
from assistant.calibration import Calibration, fit
from assistant.embeddings import get_embeddings
from assistant.retrieval import HybridRetriever
from assistant.routing import Router, load_policy
from assistant.settings import Settings
from evals.dataset import CALIBRATION_SET, check_evidence, load_questions
from ingest.index import IndexReader
from ingest.tokens import get_tokenizer


def calibrate(settings: Settings, question_set: Path = CALIBRATION_SET) -> Calibration:
    embeddings = get_embeddings(settings)
    reader = IndexReader(settings, expected_embedder=embeddings.name)
    questions = load_questions(question_set)
    check_evidence(questions, reader.chunks)
    retriever = HybridRetriever(reader=reader, embeddings=embeddings, tokenizer=get_tokenizer(),
                                k=settings.top_k, fusion=settings.fusion)
    router = Router(load_policy(settings.policy_path), reader.chunks, embeddings.embed_passages)
    samples = []
    for q in questions:
        text = with_history(q.question, q.history)
        retrieval = retriever.retrieve(text)
        if router.route(text, retrieval.tokens, retrieval.vector).level == "none":
            samples.append((retrieval.dense_top, retrieval.lexical_coverage, q.answerable))
    calibration = fit(samples, embeddings.name)
    calibration.save(settings.calibration_path)
    return calibration
