"""Level ids, most severe first: the one definition every module uses (labels live in the policy file).

`outside` is not about customer harassment at all (pay, shifts, a boss's power harassment, a
customer's own complaint): answered with a referral, never from the manual.
"""

LEVELS = ("urgent", "report", "consult", "none", "outside")
# Short labels for lists and exports; the policy file's `label` says the same for each level.
LEVEL_LABELS = {"urgent": "緊急", "report": "報告", "consult": "相談", "none": "情報", "outside": "対象外"}
