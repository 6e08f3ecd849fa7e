"""Evaluation: question sets, metrics, baselines, reports, the CI gate."""
