"""Fit the abstention threshold on the calibration question set (held apart from the evaluation set).

Only the questions whose answerability the threshold actually decides are used: urgent, report and
consult questions are answered from the passages their route cites, and topic gaps and injections are
decided before the threshold (see Assistant.decide).
"""

from __future__ import annotations

from pathlib import Path

from assistant.answering import Assistant
from assistant.calibration import Calibration, fit
from assistant.core.chunks import corpus_fingerprint
from assistant.core.settings import Settings
from assistant.question_log import QuestionLog
from evals.dataset import CALIBRATION_SET, check_evidence, load_questions

# Used only while fitting: decisions that reach the threshold are collected, not acted on.
_UNFITTED = Calibration(threshold=0.0, lexical_weight=0.0, embedder="", questions=0, balanced_accuracy=0.0)


def calibrate(settings: Settings, question_set: Path = CALIBRATION_SET) -> Calibration:
    log = QuestionLog("sqlite://", settings.spool_dir)  # nothing is asked, so nothing is logged
    assistant = Assistant(settings, question_log=log, calibration=_UNFITTED)
    questions = load_questions(question_set)
    check_evidence(questions, assistant.reader.chunks)
    samples, kept_out = [], []
    for q in questions:
        text = assistant.context_text(q.question, q.history)
        retrieval = assistant.retriever.retrieve(text)
        decision = assistant.decide(text, retrieval)
        sample = (retrieval.dense_top, retrieval.lexical_coverage, q.answerable)
        if decision.by_threshold:
            samples.append(sample)
        elif not q.answerable and (decision.route.level == "outside" or decision.gap is not None):
            kept_out.append(sample)
    if all(answerable for *_, answerable in samples):
        # Since the router's `outside` level, no unanswerable question of the set may reach the
        # threshold; those the router or a topic gap kept out then stand in as its negatives.
        samples += kept_out
    calibration = fit(samples, assistant.embeddings.name, corpus_fingerprint(assistant.reader.chunks))
    calibration.save(settings.calibration_path)
    return calibration
