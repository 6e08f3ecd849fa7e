"""The routing section of an evaluation report: the learned and the lexicon router side by side.

Works on the JSON form of a `RoutingReport` (as stored in result.json under "routing").
"""

from __future__ import annotations

from typing import Any

COLUMNS = (("learned_cv", "学習型 5分割CV"), ("learned_sealed", "学習型 封印"),
           ("lexicon_train", "語彙ルール 学習用"), ("lexicon_sealed", "語彙ルール 封印"))
FLAT_METRICS = ("accuracy", "macro_f1", "urgent_recall")
_ROW_KEYS = {"learned_cv": "learned.cv", "learned_sealed": "learned.sealed",
             "lexicon_train": "lexicon.train", "lexicon_sealed": "lexicon.sealed"}


def flat(routing: dict[str, Any]) -> dict[str, float]:
    """routing.<router>.<split>.<metric> for the gate and --compare."""
    out = {}
    for key, prefix in _ROW_KEYS.items():
        if routing.get(key):
            out.update({f"routing.{prefix}.{m}": float(routing[key][m]) for m in FLAT_METRICS})
    return out


def _table(routing: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    present = [(key, label) for key, label in COLUMNS if routing.get(key)]
    header = ["指標"] + [label for _, label in present]
    levels = routing["learned_sealed"]["levels"]
    rows = [["例文数"] + [str(routing[k]["examples"]) for k, _ in present],
            ["正解率"] + [f"{routing[k]['accuracy']:.3f}" for k, _ in present],
            ["macro-F1"] + [f"{routing[k]['macro_f1']:.3f}" for k, _ in present],
            ["緊急の再現率"] + [f"{routing[k]['urgent_recall']:.3f}" for k, _ in present]]
    for level in levels:
        rows.append([f"{level} 適合率/再現率"] + [
            f"{routing[k]['per_level'][level]['precision']:.2f}/{routing[k]['per_level'][level]['recall']:.2f}"
            for k, _ in present])
    return header, rows


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
           f"封印 {routing['sealed_examples']} 件、緊急の閾値 {routing['urgent_threshold']:.3f})",
           line(header)] + [line(r) for r in rows]
    if routing["corrections"]:
        out.append(f"担当者の修正どおりに判定: {routing['corrections_routed_as_corrected']}/{routing['corrections']} 件")
    out += ["", "学習型ルーター・封印の混同行列(行: 期待、列: 判定)"] + _confusion(routing["learned_sealed"])
    return "\n".join(out)


def markdown(routing: dict[str, Any]) -> list[str]:
    header, rows = _table(routing)
    md = ["## ルーティング(対応レベルの判定)", "",
          f"学習用 {routing['training_examples']} 件(担当者の修正 {routing['corrections']} 件を含む)、"
          f"封印した評価用 {routing['sealed_examples']} 件(SHA-256 `{routing['sealed_sha256'][:16]}…`)。"
          f"緊急の閾値 {routing['urgent_threshold']:.3f}(交差検証で緊急の再現率 0.98 以上になる値)。"
          "CV は層化 5 分割の入れ子交差検証、語彙ルールは学習しないので学習用全体での値です。"
          "どちらも安全のための語句(緊急への引き上げ)を含めた、職員に届く判定です。", "",
          "| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    md += ["| " + " | ".join(r) + " |" for r in rows]
    if routing["corrections"]:
        md += ["", f"担当者の修正どおりに判定: {routing['corrections_routed_as_corrected']}/{routing['corrections']} 件"]
    for key, title in (("learned_sealed", "学習型ルーター"), ("lexicon_sealed", "語彙ルール")):
        levels = routing[key]["levels"]
        md += ["", f"### {title}・封印の混同行列(行: 期待、列: 判定)", "",
               "| 期待 \\ 判定 | " + " | ".join(levels) + " |", "|---|" + "---:|" * len(levels)]
        md += [f"| {l} | " + " | ".join(map(str, row)) + " |" for l, row in zip(levels, routing[key]["confusion"])]
    misses = routing["learned_sealed"].get("misses", [])
    if misses:
        md += ["", "### 学習型ルーターが封印で外した例文", "", "| id | 期待 | 判定 |", "|---|---|---|"]
        md += [f"| {m['id']} | {m['expected']} | {m['routed']} |" for m in misses]
    return md
