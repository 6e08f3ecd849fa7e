"""Benchmark: warm `ask` latency against a bare query embedding, the router's share, and the cold start.

Prints p50/p95 of Assistant.ask over the evaluation questions, p50/p95 of embed_question on the same
texts in the same run, their ratio (target: ask p50 within 1.5x of the bare embedding), the time the
learned router takes inside `ask` (target: at most 2 ms p50 added; the lexicon router it replaced is
timed beside it), and the wall time of `kasuhara ask --json "…"` as a fresh process. Uses a temporary
data dir (the fitted router comes from the usual cache, so the run does not refit it).

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
from assistant.core.settings import Settings
from evals.dataset import load_questions
from evals.metrics import percentile
from ingest.pipeline import run_ingest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), cache_dir=Settings().cache_dir)
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

        learned_ms, lexicon_ms = _router_times(assistant, texts, args.rounds)
        cold = _cold_start(Path(tmp))

    ask_p50, embed_p50 = statistics.median(ask_ms), statistics.median(embed_ms)
    print(f"questions: {len(questions)} x {args.rounds} rounds")
    print(f"ask (warm, incl. log write)  p50 {ask_p50:7.1f} ms   p95 {percentile(ask_ms, 95):7.1f} ms")
    print(f"bare query embedding        p50 {embed_p50:7.1f} ms   p95 {percentile(embed_ms, 95):7.1f} ms")
    print(f"ratio ask/embedding (p50)   {ask_p50 / embed_p50:.2f}x   (target <= 1.5x)")
    print(f"learned router (route)      p50 {statistics.median(learned_ms):7.3f} ms   "
          f"p95 {percentile(learned_ms, 95):7.3f} ms   (target: <= 2 ms p50 added to ask)")
    print(f"lexicon router it replaced  p50 {statistics.median(lexicon_ms):7.3f} ms   "
          f"p95 {percentile(lexicon_ms, 95):7.3f} ms")
    print(f"cold start `kasuhara ask` process: {cold:.2f} s")


def _router_times(assistant: Assistant, texts: list[str], rounds: int) -> tuple[list[float], list[float]]:
    """Per-message time of the learned router and of the lexicon baseline, on precomputed tokens and vectors."""
    from evals.baselines.lexicon_router import LexiconRouter

    lexicon = LexiconRouter(assistant.embeddings.embed_passages)
    inputs = [(t, assistant.tokenizer(t), assistant.embeddings.embed_question(t)) for t in texts]
    learned_ms, lexicon_ms = [], []
    for _ in range(rounds):
        for text, tokens, vector in inputs:
            started = time.perf_counter()
            assistant.router.route(text, tokens, vector)
            learned_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            lexicon.route(text, tokens, vector)
            lexicon_ms.append((time.perf_counter() - started) * 1000)
    return learned_ms, lexicon_ms


def _cold_start(data_dir: Path) -> float:
    command = [str(Path(sys.executable).with_name("kasuhara")), "ask", "--json", "客に殴られた"]
    started = time.perf_counter()
    env = {"KASUHARA_DATA_DIR": str(data_dir), "KASUHARA_CACHE_DIR": str(Settings().cache_dir),
           "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    subprocess.run(command, check=True, capture_output=True, env=env)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
