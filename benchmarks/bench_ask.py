"""Benchmark: warm `ask` latency against a bare query embedding, and the cold start of `kasuhara ask`.

Prints p50/p95 of Assistant.ask over the evaluation questions, p50/p95 of embed_question on the same
texts in the same run, their ratio (target: ask p50 within 1.5x of the bare embedding), and the wall
time of `kasuhara ask --json "…"` as a fresh process. Uses a temporary data dir; nothing is kept.

    .venv/bin/python benchmarks/bench_ask.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from assistant.answering import Assistant
from assistant.settings import Settings
from evals.dataset import load_questions
from ingest.pipeline import run_ingest


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        run_ingest(settings, progress=False)
        assistant = Assistant(settings)
        questions = [q for q in load_questions() if q.question.strip()]
        texts = [assistant.context_text(q.question, q.history) for q in questions]
        for q in questions[:5]:  # warm-up: tokenizer, caches, SQLite pages
            assistant.ask(q.question, history=q.history, surface="eval")

        ask_ms, embed_ms = [], []
        for _ in range(args.rounds):
            for q, text in zip(questions, texts):
                started = time.perf_counter()
                assistant.ask(q.question, history=q.history, surface="eval")
                ask_ms.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                assistant.embeddings.embed_question(text)
                embed_ms.append((time.perf_counter() - started) * 1000)

        cold = _cold_start(Path(tmp))

    ask_p50, embed_p50 = statistics.median(ask_ms), statistics.median(embed_ms)
    print(f"questions: {len(questions)} x {args.rounds} rounds")
    print(f"ask (warm, incl. log write)  p50 {ask_p50:7.1f} ms   p95 {percentile(ask_ms, 0.95):7.1f} ms")
    print(f"bare query embedding        p50 {embed_p50:7.1f} ms   p95 {percentile(embed_ms, 0.95):7.1f} ms")
    print(f"ratio ask/embedding (p50)   {ask_p50 / embed_p50:.2f}x   (target <= 1.5x)")
    print(f"cold start `kasuhara ask` process: {cold:.2f} s")


def _cold_start(data_dir: Path) -> float:
    command = [str(Path(sys.executable).with_name("kasuhara")), "ask", "--json", "客に殴られた"]
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env={"KASUHARA_DATA_DIR": str(data_dir),
                                                                "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"})
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
