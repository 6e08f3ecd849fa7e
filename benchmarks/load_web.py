"""Bounded load test of the staff chat: N simulated staff ask concurrently for D seconds.

    .venv/bin/python benchmarks/load_web.py                    # starts `kasuhara serve` in a temp data dir
    .venv/bin/python benchmarks/load_web.py --url http://127.0.0.1:7860 --data-dir data

Each simulated member of staff keeps one browser session and asks through the chat's own HTTP API
(Gradio queue join + event stream, exactly what the page does), with a short think time between
questions. Prints p50/p95/max latency, throughput and errors, then checks in the question log that
every answered question was recorded. Only 127.0.0.1 is ever contacted. Not a timed test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evals.metrics import percentile  # noqa: E402  (the project's one percentile)

QUESTIONS = [
    "お客様に大声で怒鳴られました。誰に相談すればいいですか？",
    "お客様から「土下座しろ」と言われました。",
    "刃物を見せられて脅されています。",
    "同じお客様から何度も長時間の電話があります。",
    "相談窓口はどのように設置すればよいですか？",
    "店長に相談したけど、その後どうなるの？",
    "SNSに店員の写真をあげると言われた",
    "返品を何度も要求してくるお客様への対応は？",
    "小さな店で相談相手がいません",
    "暴言を受けて気分が悪いです",
]


@dataclass
class Results:
    latencies: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    sent: list[str] = field(default_factory=list)
    answered: list[str] = field(default_factory=list)


def _check_local(url: str) -> None:
    host = urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"refusing to load-test {host!r}: only 127.0.0.1 is allowed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(data_dir: Path) -> Iterator[str]:
    """`kasuhara serve` in a subprocess on a free port, with its own data dir."""
    port = _free_port()
    env = {**os.environ, "KASUHARA_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1",
           "GRADIO_ANALYTICS_ENABLED": "False", "KASUHARA_URGENT_WEBHOOK_URL": ""}
    cmd = [sys.executable, "-c", "from assistant.cli import main; main()", "serve",
           "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                raise SystemExit("the server exited during start-up")
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the server did not start within 180 s")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def ask_fn_index(url: str) -> int:
    config = httpx.get(url + "/config", timeout=10).raise_for_status().json()
    return next(d["id"] for d in config["dependencies"] if d.get("api_name") == "ask_1")


async def ask_once(client: httpx.AsyncClient, fn_index: int, session_hash: str, question: str) -> str | None:
    """One question the way the page sends it; None on success, else an error label."""
    joined = await client.post("/gradio_api/queue/join", json={
        "data": [question, None, None, None, None], "fn_index": fn_index, "session_hash": session_hash,
        "event_data": None, "trigger_id": None})
    if joined.status_code != 200:
        return f"join HTTP {joined.status_code}"
    async with client.stream("GET", "/gradio_api/queue/data", params={"session_hash": session_hash}) as stream:
        async for line in stream.aiter_lines():
            if not line.startswith("data:"):
                continue
            message = json.loads(line[5:])
            if message.get("msg") == "log" and message.get("level") == "warning":
                return f"notice: {message.get('log', '')[:40]}"
            if message.get("msg") == "process_completed":
                return None if message.get("success") else "process failed"
    return "stream ended"


async def staff_member(n: int, url: str, fn_index: int, until: float, run_id: str, results: Results,
                       think: tuple[float, float]) -> None:
    rng = random.Random(n)
    session_hash = secrets.token_hex(6)
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        i = 0
        while time.monotonic() < until:
            i += 1
            question = f"{rng.choice(QUESTIONS)}(負荷試験 {run_id} {n}-{i})"
            results.sent.append(question)
            started = time.perf_counter()
            try:
                error = await ask_once(client, fn_index, session_hash, question)
            except httpx.HTTPError as exc:
                error = type(exc).__name__
            elapsed = time.perf_counter() - started
            if error is None:
                results.latencies.append(elapsed)
                results.answered.append(question)
            else:
                results.errors[error] += 1
            await asyncio.sleep(rng.uniform(*think))


def check_log(data_dir: Path, run_id: str, answered: list[str]) -> tuple[int, list[str]]:
    from assistant.core.settings import Settings
    from assistant.question_log import LogFilters, QuestionLog

    with QuestionLog.open(Settings(data_dir=data_dir)) as log:
        if log.pending_spool():
            log.flush_spool()
        rows = log.list(LogFilters(text=run_id, limit=None))
    stored = {r.question for r in rows}
    return len(rows), [q for q in answered if q not in stored]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running app on 127.0.0.1 (default: start one)")
    parser.add_argument("--data-dir", type=Path, help="its data dir, to check the question log")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--think", type=float, nargs=2, default=(0.2, 1.0), metavar=("MIN", "MAX"),
                        help="seconds between one member's questions")
    args = parser.parse_args(argv)

    run_id = "run" + secrets.token_hex(3)
    temp: Path | None = None
    if args.url:
        _check_local(args.url)
        context = nullcontext(args.url.rstrip("/"))
        data_dir = args.data_dir
    else:
        temp = Path(tempfile.mkdtemp(prefix="kasuhara-load-"))
        data_dir = temp / "data"
        context = served(data_dir)
    results = Results()
    try:
        with context as url:
            fn_index = ask_fn_index(url)
            asyncio.run(ask_once_warmup(url, fn_index))
            print(f"{args.users} staff x {args.seconds:.0f} s against {url} (think {args.think[0]}-{args.think[1]} s)")
            until = time.monotonic() + args.seconds
            started = time.perf_counter()

            async def everyone() -> None:
                await asyncio.gather(*(staff_member(n, url, fn_index, until, run_id, results, tuple(args.think))
                                       for n in range(args.users)))

            asyncio.run(everyone())
            wall = time.perf_counter() - started
        ms = [x * 1000 for x in results.latencies]
        print(f"questions sent: {len(results.sent)}, answered: {len(results.answered)}, "
              f"errors: {sum(results.errors.values())} {dict(results.errors) or ''}")
        if ms:
            print(f"latency ms: p50 {percentile(ms, 50):.0f}  p95 {percentile(ms, 95):.0f}  "
                  f"max {max(ms):.0f}  mean {statistics.fmean(ms):.0f}")
        print(f"throughput: {len(results.answered) / wall:.1f} answers/s over {wall:.0f} s")
        ok = not results.errors
        if data_dir is not None:
            logged, missing = check_log(data_dir, run_id, results.answered)
            print(f"question log: {logged} rows for this run; answered but not logged: {len(missing)}")
            ok = ok and not missing and logged >= len(results.answered)
        else:
            print("question log: not checked (pass --data-dir)")
        return 0 if ok else 1
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)


async def ask_once_warmup(url: str, fn_index: int) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        await ask_once(client, fn_index, secrets.token_hex(6), "ウォームアップ: 誰に相談すれば？")


if __name__ == "__main__":
    raise SystemExit(main())
