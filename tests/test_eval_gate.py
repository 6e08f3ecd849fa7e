"""The evaluation gate: the shipped question set, the whole run, against evals/thresholds.toml.

CI runs it (`pytest -m slow tests/test_eval_gate.py`); the report of the run is left in
test-artifacts/eval-gate/ (gitignored) for the CI job to keep.
"""

from __future__ import annotations

import pytest

from assistant.core.settings import PROJECT_ROOT, Settings
from evals.dataset import DEFAULT_SET
from evals.gate import check, load_thresholds
from evals.report import summary_table, write_report
from evals.runner import run

pytest_plugins = ["built_index"]
pytestmark = pytest.mark.slow

ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "eval-gate"


def test_shipped_question_set_meets_the_thresholds(built_settings: Settings) -> None:
    thresholds = load_thresholds()
    # The gate reads the sealed routing figures; the nested cross-validation is for `kasuhara eval`.
    result = run(built_settings, DEFAULT_SET, progress=False, routing_cv=False)
    data = result.to_json()
    write_report(data, ARTIFACTS, thresholds)
    failures = check(result.flat(), thresholds)
    assert not failures, (
        "合格基準を満たしていません:\n  " + "\n  ".join(map(str, failures))
        + f"\n\n{summary_table(data, failures)}\n\nレポート: {ARTIFACTS / 'report.md'}"
    )
