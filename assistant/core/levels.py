"""Level ids, most severe first, and feedback labels: the one definition every module uses. The
levels' labels are the policy file's (`assistant.policy.Policy.labels`).

`outside` is not about customer harassment at all (pay, shifts, a boss's power harassment, a
customer's own complaint): answered with a referral, never from the manual.
"""

from __future__ import annotations

LEVELS = ("urgent", "report", "consult", "none", "outside")

# Staff feedback on an answer, as every surface (CLI, console, CSV) names it.
FEEDBACK_LABELS = {1: "役に立った", -1: "役に立たなかった"}
UNRATED = "未評価"


def feedback_label(value: int | None) -> str:
    """The one name of a feedback value: 役に立った, 役に立たなかった or 未評価 (None)."""
    return FEEDBACK_LABELS.get(value, UNRATED) if value is not None else UNRATED
