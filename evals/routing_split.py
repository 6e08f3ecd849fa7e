"""Build the routing set once: merge the written parts, drop near-duplicates, seal a stratified 20 %.

    python -m evals.routing_split evals/routing/raw/*.jsonl          # once: split and seal
    python -m evals.routing_split --add --batch b6 more/*.jsonl      # later: training split only
    python -m evals.routing_split --seal-another new/*.jsonl         # a further sealed split, once

Writes corpus/routing_examples.jsonl (the training split, which officers extend) and
evals/routing/sealed.jsonl (the sealed test split), and prints the sealed file's SHA-256 for
evals/README.md. Near-duplicates are pairs whose e5 query vectors have cosine > 0.95, or whose folded
text is the same; the later item of a pair is dropped. It refuses to overwrite an existing sealed
split: a sealed split is made before any tuning, once. `--add` appends new parts to the training
split only, each item marked with its writing batch (`--batch`, which cross-validation by batch
holds out whole), dropping any item that nearly duplicates an item of either split or is grounded on a
page that grounds a sealed item (so nothing leaks from the sealed split into training).
`--seal-another` writes the next sealed split of `SEALED_SETS` from newly written parts, kept whole
(no training share), dropping items that nearly duplicate an item of any split or rest on a page
that grounds one; like the first, it is never overwritten.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Sequence

import numpy as np
from sklearn.model_selection import train_test_split

from assistant.core.embeddings import cached_question_vectors, get_embeddings
from assistant.core.levels import LEVELS
from assistant.core.settings import Settings
from assistant.core.text import fold
from evals.routing_eval import SEALED_SET, SEALED_SETS, sha256_of

DUPLICATE_COSINE = 0.95
SEALED_SHARE = 0.2
SPLIT_SEED = 20261129
FIELDS = ("id", "text", "level", "workplace", "style", "source")


def read_parts(paths: Sequence[Path]) -> list[dict]:
    rows = []
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            row = json.loads(line)
            missing = [f for f in FIELDS if not str(row.get(f, "")).strip()]
            if missing or row["level"] not in LEVELS or not row["source"].startswith("http"):
                raise SystemExit(f"{path}:{number}: 項目 {missing or 'level/source'} が正しくありません: {row}")
            rows.append({f: row[f].strip() for f in FIELDS})
    return rows


def drop_near_duplicates(rows: list[dict], vectors: np.ndarray, keep_first: int = 0
                         ) -> tuple[list[dict], list[tuple[str, str, float]]]:
    """Drop each row that nearly duplicates an earlier one; the first `keep_first` rows are all kept."""
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    kept: list[int] = list(range(keep_first))
    dropped = []
    seen_text: dict[str, int] = {"".join(fold(rows[i]["text"]).split()): i for i in kept}
    for i, row in enumerate(rows[keep_first:], start=keep_first):
        key = "".join(fold(row["text"]).split())
        if key in seen_text:
            dropped.append((row["id"], rows[seen_text[key]]["id"], 1.0))
            continue
        if kept:
            similarity = vectors[kept] @ vectors[i]
            j = int(np.argmax(similarity))
            if similarity[j] > DUPLICATE_COSINE:
                dropped.append((row["id"], rows[kept[j]]["id"], float(similarity[j])))
                continue
        kept.append(i)
        seen_text[key] = i
    return [rows[i] for i in kept], dropped


def _vectors(settings: Settings, texts: list[str]) -> np.ndarray:
    """e5 query vectors, (n, dim), through the assistant's on-disk cache: only new texts are embedded."""
    return cached_question_vectors(get_embeddings(settings), texts, settings.cache_dir)


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("parts", nargs="+", type=Path)
    parser.add_argument("--reseal", action="store_true", help="overwrite an existing sealed split")
    parser.add_argument("--add", action="store_true", help="append to the training split; the sealed one stays")
    parser.add_argument("--seal-another", action="store_true", help="write the next sealed split, whole")
    parser.add_argument("--batch", help="with --add: the writing batch of these parts (one writer, one round)")
    args = parser.parse_args(argv)
    if args.add:
        if not args.batch:
            raise SystemExit("--add には --batch(書き手と回ごとの名前、例: b6-ta)が必要です。")
        add_to_training(args.parts, args.batch)
        return
    if args.seal_another:
        seal_another(args.parts)
        return
    if SEALED_SET.exists() and not args.reseal:
        raise SystemExit(f"{SEALED_SET} は封印済みです。作り直すときだけ --reseal を付けてください。")
    settings = Settings()
    rows = read_parts(args.parts)
    vectors = _vectors(settings, [r["text"] for r in rows])
    rows, dropped = drop_near_duplicates(rows, vectors)
    for row_id, kept_id, similarity in dropped:
        print(f"重複として除外: {row_id} (≈ {kept_id}, cosine {similarity:.3f})", file=sys.stderr)
    for number, row in enumerate(rows, start=1):
        row["id"] = f"r{number:04d}"
    train, sealed = train_test_split(rows, test_size=SEALED_SHARE, random_state=SPLIT_SEED,
                                     stratify=[r["level"] for r in rows])
    write_jsonl(settings.routing_examples_path, sorted(train, key=lambda r: r["id"]))
    write_jsonl(SEALED_SET, sorted(sealed, key=lambda r: r["id"]))
    print(f"例文 {len(rows)} 件(重複 {len(dropped)} 件を除外): 学習用 {len(train)}、封印 {len(sealed)}")
    print("レベル別(学習用):", dict(Counter(r["level"] for r in train)))
    print("レベル別(封印):", dict(Counter(r["level"] for r in sealed)))
    print(f"封印ファイルの SHA-256: {sha256_of(SEALED_SET)}")


def _existing(settings: Settings) -> list[dict]:
    """Every item of the training split and of the sealed splits written so far."""
    paths = [settings.routing_examples_path, *(p for p in SEALED_SETS if p.exists())]
    return [json.loads(l) for path in paths for l in path.read_text(encoding="utf-8").splitlines() if l.strip()]


def _new_items(settings: Settings, parts: Sequence[Path], sources_of: list[dict]
               ) -> tuple[list[dict], list[dict]]:
    """(existing items, the new items that neither rest on a page of `sources_of` nor nearly
    duplicate an existing or earlier new item); what is dropped is printed."""
    existing = _existing(settings)
    taken = {r["source"] for r in sources_of}
    new = read_parts(parts)
    for row in new:
        if row["source"] in taken:
            print(f"既存の出典と同じため除外: {row['id']} ({row['source']})", file=sys.stderr)
    rows = existing + [r for r in new if r["source"] not in taken]
    vectors = _vectors(settings, [r["text"] for r in rows])
    kept, dropped = drop_near_duplicates(rows, vectors, keep_first=len(existing))
    for row_id, kept_id, similarity in dropped:
        print(f"重複として除外: {row_id} (≈ {kept_id}, cosine {similarity:.3f})", file=sys.stderr)
    return existing, kept[len(existing):]


def add_to_training(parts: Sequence[Path], batch: str) -> None:
    settings = Settings()
    sealed = [json.loads(l) for p in SEALED_SETS if p.exists()
              for l in p.read_text(encoding="utf-8").splitlines() if l.strip()]
    existing, added = _new_items(settings, parts, sealed)
    training = [json.loads(l) for l in settings.routing_examples_path.read_text(encoding="utf-8").splitlines() if l]
    start = 1 + max(int(r["id"][1:]) for r in existing if r["id"].startswith("r"))
    for number, row in enumerate(added, start=start):
        row["id"] = f"r{number:04d}"
        row["batch"] = batch
    write_jsonl(settings.routing_examples_path, training + added)
    print(f"学習用に {len(added)} 件を追加: 学習用 {len(training) + len(added)} 件")
    print("追加分のレベル別:", dict(Counter(r["level"] for r in added)))


def seal_another(parts: Sequence[Path]) -> None:
    """Write the first sealed split of SEALED_SETS that does not exist yet; its ids stay as written."""
    target = next((p for p in SEALED_SETS if not p.exists()), None)
    if target is None:
        raise SystemExit("封印した評価用はすべて作成済みです。新しい封印には evals/routing_eval.py の SEALED_SETS に追加してください。")
    settings = Settings()
    existing = _existing(settings)
    _, sealed = _new_items(settings, parts, existing)
    write_jsonl(target, sealed)
    print(f"{target.name} に {len(sealed)} 件を封印しました。レベル別:", dict(Counter(r["level"] for r in sealed)))
    print(f"封印ファイルの SHA-256: {sha256_of(target)}")

if __name__ == "__main__":
    main()
