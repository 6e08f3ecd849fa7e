"""The routing section of an evaluation report: the learned and the lexicon router side by side.

Works on the JSON form of a `RoutingReport` (as stored in result.json under "routing").
"""

from __future__ import annotations

from typing import Any

FLAT_METRICS = ("accuracy", "macro_f1", "urgent_recall")


def _columns(routing: dict[str, Any]) -> list[tuple[str, dict[str, Any], str]]:
    """(column label, scores, metric prefix) in table order: the learned router, then the lexicon."""
    sealed = routing["sealed"]
    columns = [("学習型 CV(ページ別5分割)", routing["learned_cv"], "learned.cv")] if routing.get("learned_cv") else []
    if routing.get("learned_batch_cv"):
        columns.append(("学習型 CV(書き手の回ごと)", routing["learned_batch_cv"], "learned.cv_batch"))
    columns += [(f"学習型 封印{i}", s["learned"], f"learned.{s['name']}") for i, s in enumerate(sealed, start=1)]
    if len(sealed) > 1:
        columns.append(("学習型 封印すべて", routing["learned_sealed_all"], "learned.sealed_all"))
    columns.append(("語彙ルール 学習用", routing["lexicon_train"], "lexicon.train"))
    columns += [(f"語彙ルール 封印{i}", s["lexicon"], f"lexicon.{s['name']}") for i, s in enumerate(sealed, start=1)]
    return columns


def flat(routing: dict[str, Any]) -> dict[str, float]:
    """routing.<router>.<split>.<metric> for the gate and --compare."""
    return {f"routing.{prefix}.{m}": float(scores[m]) for _, scores, prefix in _columns(routing) for m in FLAT_METRICS}


def _table(routing: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    columns = _columns(routing)
    header = ["指標"] + [label for label, _, _ in columns]
    levels = routing["lexicon_train"]["levels"]
    rows = [["例文数"] + [str(c["examples"]) for _, c, _ in columns],
            ["正解率"] + [f"{c['accuracy']:.3f}" for _, c, _ in columns],
            ["macro-F1"] + [f"{c['macro_f1']:.3f}" for _, c, _ in columns],
            ["緊急の再現率"] + [f"{c['urgent_recall']:.3f}" for _, c, _ in columns]]
    for level in levels:
        rows.append([f"{level} 適合率/再現率"] + [
            f"{c['per_level'][level]['precision']:.2f}/{c['per_level'][level]['recall']:.2f}" for _, c, _ in columns])
    return header, rows


def _sealed_summary(routing: dict[str, Any]) -> str:
    if not routing["sealed"]:
        return "封印は採点せず"
    return "、".join(f"封印{i} {s['learned']['examples']} 件" for i, s in enumerate(routing["sealed"], start=1))


def _confusion(scores: dict[str, Any]) -> list[str]:
    levels = scores["levels"]
    width = max(len(l) for l in levels) + 2
    lines = ["期待\\判定".ljust(width) + "".join(l.rjust(width) for l in levels)]
    lines += [l.ljust(width) + "".join(str(n).rjust(width) for n in row) for l, row in zip(levels, scores["confusion"])]
    return lines


def summary_text(routing: dict[str, Any]) -> str:
    header, rows = _table(routing)
    widths = [max(len(r[i]) for r in [header] + rows) + 2 for i in range(len(header))]
    line = lambda cells: "".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i])  # noqa: E731
                                 for i, c in enumerate(cells))
    out = [f"ルーティング(学習用 {routing['training_examples']} 件・うち担当者の修正 {routing['corrections']} 件、"
           f"{_sealed_summary(routing)}、緊急の閾値 {routing['urgent_threshold']:.3f})",
           line(header)] + [line(r) for r in rows]
    if routing["corrections"]:
        out.append(f"担当者の修正どおりに判定: {routing['corrections_routed_as_corrected']}/{routing['corrections']} 件")
    for i, split in enumerate(routing["sealed"], start=1):
        out += ["", f"学習型ルーター・封印{i}の混同行列(行: 期待、列: 判定)"] + _confusion(split["learned"])
    return "\n".join(out)


def markdown(routing: dict[str, Any]) -> list[str]:
    header, rows = _table(routing)
    splits = "、".join(f"封印{i} `{s['file']}` {s['learned']['examples']} 件(SHA-256 `{s['sha256'][:16]}…`)"
                      for i, s in enumerate(routing["sealed"], start=1))
    md = ["## ルーティング(対応レベルの判定)", "",
          f"学習用 {routing['training_examples']} 件(担当者の修正 {routing['corrections']} 件を含む)。"
          f"封印した評価用: {splits}。"
          f"緊急の閾値 {routing['urgent_threshold']:.3f}(交差検証で緊急の再現率 0.98 以上になる値)。"
          "CV は出典ページ単位の層化 5 分割による入れ子交差検証、語彙ルールは学習しないので学習用全体での値です。"
          "どちらも安全のための語句(緊急への引き上げ)を含めた、職員に届く判定です。"
          + ("書き手の回ごとの CV は、1 人の書き手が 1 回に書いた例文(batch)を 1 つずつ外して学習し直し、"
             "外した回を採点したものです(知らない書き手の文への当たり方の目安)。"
             if routing.get("learned_batch_cv") else ""), "",
          "| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    md += ["| " + " | ".join(r) + " |" for r in rows]
    if routing["corrections"]:
        md += ["", f"担当者の修正どおりに判定: {routing['corrections_routed_as_corrected']}/{routing['corrections']} 件"]
    for i, split in enumerate(routing["sealed"], start=1):
        for key, title in (("learned", "学習型ルーター"), ("lexicon", "語彙ルール")):
            levels = split[key]["levels"]
            md += ["", f"### {title}・封印{i}の混同行列(行: 期待、列: 判定)", "",
                   "| 期待 \\ 判定 | " + " | ".join(levels) + " |", "|---|" + "---:|" * len(levels)]
            md += [f"| {l} | " + " | ".join(map(str, row)) + " |" for l, row in zip(levels, split[key]["confusion"])]
        misses = split["learned"].get("misses", [])
        if misses:
            md += ["", f"### 学習型ルーターが封印{i}で外した例文", "", "| id | 期待 | 判定 |", "|---|---|---|"]
            md += [f"| {m['id']} | {m['expected']} | {m['routed']} |" for m in misses]
    return md
