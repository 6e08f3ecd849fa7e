"""What was fitted to the corpus, checked against a new one: run after every ingest.

Two things rest on the indexed text: the abstention calibration (fitted on retrieval scores over the
chunks) and the routing policy's cites (passages quoted by each level). A changed corpus can leave
either behind; these checks say so and what to re-run, instead of failing later at a staff question.
"""

from __future__ import annotations

from assistant.calibration import Calibration, CalibrationError
from assistant.core.chunks import Chunk, corpus_fingerprint
from assistant.core.errors import KasuharaError
from assistant.core.settings import Settings
from assistant.policy import load_policy
from assistant.routing import missing_cites


def stale_fits(settings: Settings, chunks: list[Chunk]) -> list[str]:
    """Japanese messages, one per fit the new chunks leave behind, each naming what to do ([] if none)."""
    return _calibration_check(settings, chunks) + _cite_check(settings, chunks)


def _calibration_check(settings: Settings, chunks: list[Chunk]) -> list[str]:
    try:
        calibration = Calibration.load(settings.calibration_path)
    except CalibrationError as exc:
        return [str(exc)]
    if not calibration.fitted_on_other_corpus(corpus_fingerprint(chunks)):
        return []
    return [(
        "回答可否の判定基準(assistant/calibration.json)は取り込み前の本文で作られています。"
        "`kasuhara eval calibrate` で作り直し、`kasuhara eval` で結果を確かめてください。"
    )]


def _cite_check(settings: Settings, chunks: list[Chunk]) -> list[str]:
    if not settings.policy_path.is_file():
        return []  # a corpus without a policy (ingest only): nothing cites it
    try:
        missing = missing_cites(load_policy(settings.policy_path), chunks)
    except KasuharaError as exc:
        return [str(exc)]
    # The assistant refuses to start with a dangling cite: say so now, not at the first question.
    return [f"このままでは質問に答えられません(kasuhara ask とチャットが止まります)。{m}" for m in missing]
