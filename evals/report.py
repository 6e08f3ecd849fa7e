"""Reports of an evaluation run: terminal summary, Markdown, JSON, PNG charts; and run-to-run deltas.

Everything here works on the JSON form of a result (`EvalResult.to_json()` or a saved result.json),
so an old report can be compared or re-rendered without running anything.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evals import routing_report
from evals.dataset import DatasetError
from evals.gate import GateFailure, Thresholds, check
from evals.runner import ASSISTANT_ROW, LOWER_IS_BETTER, RETRIEVAL_METRICS, flatten

RESULT_FILE = "result.json"
REPORT_FILE = "report.md"
RETRIEVAL_CHART = "retrieval.png"
CONFUSION_CHART = "confusion.png"

ROW_LABELS = {
    "bm25": "BM25 のみ(fugashi の語)",
    "dense": "密ベクトルのみ(Chroma)",
    "hybrid": "ハイブリッド",
    ASSISTANT_ROW: "アシスタントの引用(職員が見るもの)",
    "baseline:chroma": "素朴な構成: LangChain 分割 + Chroma",
    "baseline:bm25-whitespace": "素朴な構成: 空白区切りの BM25",
}
METRIC_LABELS = {
    "recall_at_1": "Recall@1",
    "recall_at_3": "Recall@3",
    "mrr_at_10": "MRR@10",
    "ndcg_at_10": "nDCG@10",
    "chars_at_3": "chars@3",
}
ASSISTANT_LABELS = {
    "escalation_accuracy": "エスカレーション正解率",
    "abstention_precision": "回答保留の適合率",
    "abstention_recall": "回答保留の再現率",
    "citation_validity": "引用の妥当性",
    "latency_p50_ms": "応答時間 p50 (ms)",
    "latency_p95_ms": "応答時間 p95 (ms)",
}


def load_result(path: Path) -> dict[str, Any]:
    """A saved result.json (or a report folder holding one)."""
    if path.is_dir():
        path = path / RESULT_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError(f"評価結果のファイルが見つかりません: {path}") from None
    except json.JSONDecodeError as exc:
        raise DatasetError(f"評価結果のファイル {path} が JSON として読めません: {exc}") from exc
    if not isinstance(data, dict) or "retrieval" not in data or "assistant" not in data:
        raise DatasetError(f"{path} は kasuhara eval の結果ファイルではありません。")
    return data


def _fmt(metric: str, value: float) -> str:
    return f"{value:.0f}" if metric in LOWER_IS_BETTER else f"{value:.3f}"


def _retrieval_rows(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The retrieval rows, with the non-default fusions right after "hybrid"."""
    default = data.get("default_fusion")
    others = [(f"hybrid:{name}", v) for name, v in data.get("fusions", {}).items() if name != default]
    rows = []
    for row, values in data["retrieval"].items():
        rows.append((row, values))
        if row == "hybrid":
            rows += others
    return rows


def _row_name(row: str, data: dict[str, Any]) -> str:
    return f"hybrid ({data.get('default_fusion')})" if row == "hybrid" else row


# --- terminal -------------------------------------------------------------------------------------


def summary_table(data: dict[str, Any], failures: list[GateFailure] | None = None) -> str:
    metrics = RETRIEVAL_METRICS
    header = ["row"] + [METRIC_LABELS[m] for m in metrics] + ["chunks"]
    body = [
        [_row_name(row, data)] + [_fmt(m, values[m]) for m in metrics] + [str(values["chunks"])]
        for row, values in data["retrieval"].items()
    ]
    widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]
    line = lambda cells: "  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i])  # noqa: E731
                                   for i, c in enumerate(cells))
    out = [f"質問 {data['questions']} 問(検索指標は答えられる {data['answerable']} 問) / 索引 {data['index_version']}"
           f" / {data['seconds']} 秒", "", line(header), line(["-" * w for w in widths])]
    out += [line(r) for r in body]
    if data.get("fusions"):
        out += ["", f"統合方式の比較(既定: {data['default_fusion']})"]
        out += [line([f"hybrid:{name}"] + [_fmt(m, v[m]) for m in metrics] + [str(v["chunks"])])
                for name, v in data["fusions"].items()]
    a = data["assistant"]
    out += [
        "",
        f"エスカレーション正解率 {a['escalation_accuracy']:.3f}",
        _confusion_text(a),
        f"回答保留 適合率 {a['abstention_precision']:.3f} / 再現率 {a['abstention_recall']:.3f}"
        f"(保留 {a['abstained']} 件、対象外の質問 {a['out_of_scope']} 件)",
        f"引用の妥当性 {a['citation_validity']:.3f}({a['citations_checked']} 件を確認)",
        f"応答時間 p50 {a['latency_p50_ms']:.0f} ms / p95 {a['latency_p95_ms']:.0f} ms",
    ]
    if a["invalid_citations"]:
        out += ["不正な引用:"] + [f"  {p}" for p in a["invalid_citations"][:20]]
    if data.get("routing"):
        out += ["", routing_report.summary_text(data["routing"])]
    if failures is not None:
        out += ["", "合格基準: " + ("すべて満たしています" if not failures else "未達")]
        out += [f"  ✗ {f}" for f in failures]
    return "\n".join(out)


def _confusion_text(a: dict[str, Any]) -> str:
    levels = a["levels"]
    width = max(len(level) for level in levels) + 2
    rows = ["期待\\判定".ljust(width) + "".join(level.rjust(width) for level in levels)]
    rows += [level.ljust(width) + "".join(str(n).rjust(width) for n in counts)
             for level, counts in zip(levels, a["confusion"])]
    return "\n".join(rows)


# --- Markdown ------------------------------------------------------------------------------------


def markdown(data: dict[str, Any], thresholds: Thresholds | None = None) -> str:
    a = data["assistant"]
    md = [
        "# 評価レポート",
        "",
        f"- 実行日時: {data['created_at']}(所要 {data['seconds']} 秒)",
        f"- 質問セット: `{data['question_set']}`({data['questions']} 問、うち答えられる質問 {data['answerable']} 問)",
        f"- 索引: `{data['index_version']}` / 埋め込み: `{data['embedder']}` / 既定の統合方式: `{data['default_fusion']}`",
        "",
        "## 検索",
        "",
        "Recall@k: 上位 k 件に正解根拠を含む断片がある質問の割合。chars@3: 上位3件の文字数の平均(読む量)。"
        f"合格基準の Recall@3 は「{ROW_LABELS[ASSISTANT_ROW]}」の行に適用します。ほかの行は診断用です。",
        "",
        "| 行 | " + " | ".join(METRIC_LABELS[m] for m in RETRIEVAL_METRICS) + " | 断片数 |",
        "|---|" + "---:|" * (len(RETRIEVAL_METRICS) + 1),
    ]
    for row, values in _retrieval_rows(data):
        label = ROW_LABELS.get(row, row)
        if row == "hybrid":
            label += f"({data['default_fusion']})"
        elif row.startswith("hybrid:"):
            label = f"ハイブリッド({row.split(':', 1)[1]})"
        md.append(f"| {label} | " + " | ".join(_fmt(m, values[m]) for m in RETRIEVAL_METRICS)
                  + f" | {values['chunks']} |")
    if data.get("fusions"):
        md += ["", "統合方式の比較: " + "、".join(
            f"{name} は Recall@1 {v['recall_at_1']:.3f} / MRR@10 {v['mrr_at_10']:.3f}"
            for name, v in data["fusions"].items())]
    if data.get("baseline"):
        b = data["baseline"]
        md += ["", f"素朴な構成: RecursiveCharacterTextSplitter(chunk_size={b['chunk_size']}, "
                   f"chunk_overlap={b['chunk_overlap']}, separators={json.dumps(b['separators'], ensure_ascii=False)})"
                   f" で {b['chunks']} 断片。長い断片ほど正解根拠を含みやすいので Recall はこの構成に有利に出ます。"
                   "読む量は chars@3 で比べてください。"]
    md += ["", f"![検索指標]({RETRIEVAL_CHART})", "", "## アシスタント全体", "",
           "| 指標 | 値 |", "|---|---:|"]
    md += [f"| {label} | {_fmt(k, a[k])} |" for k, label in ASSISTANT_LABELS.items()]
    md += ["", f"回答保留: {a['abstained']} 件(対象外の質問 {a['out_of_scope']} 件)。引用: {a['citations_checked']} 件を確認。",
           "", "### エスカレーションの混同行列(行: 期待、列: 判定)", "",
           "| 期待 \\ 判定 | " + " | ".join(a["levels"]) + " |", "|---|" + "---:|" * len(a["levels"])]
    md += [f"| {level} | " + " | ".join(map(str, counts)) + " |" for level, counts in zip(a["levels"], a["confusion"])]
    md += ["", f"![混同行列]({CONFUSION_CHART})"]
    if a["invalid_citations"]:
        md += ["", "### 不正な引用", ""] + [f"- {p}" for p in a["invalid_citations"]]
    if data.get("routing"):
        md += [""] + routing_report.markdown(data["routing"])
    if thresholds is not None:
        failures = {f.metric: f for f in check(flatten(data), thresholds)}
        md += ["", "## 合格基準", "", "| 指標 | 基準 | 値 | 判定 |", "|---|---|---:|---|"]
        flat = flatten(data)
        for kind, sign, bounds in (("minimum", "≥", thresholds.minimum), ("maximum", "≤", thresholds.maximum)):
            for metric, bound in bounds.items():
                value = flat.get(metric)
                shown = "—" if value is None else f"{value:.4f}"
                md.append(f"| `{metric}` | {sign} {bound} | {shown} | {'✗ 未達' if metric in failures else '✓'} |")
    misses = _misses(data)
    if misses:
        md += ["", "## 外した質問", "", "検索を外した(引用の上位3件に正解がない)、区分を誤った、回答の可否を誤った質問。", "",
               "| id | 質問 | 期待 | 判定 | 回答 | 引用での正解の順位 |", "|---|---|---|---|---|---:|"]
        md += misses
    return "\n".join(md) + "\n"


def _misses(data: dict[str, Any]) -> list[str]:
    rows = []
    for o in data.get("outcomes", []):
        rank = o["first_gold_rank"].get(ASSISTANT_ROW)
        missed = o["answerable"] and (rank is None or rank > 3)
        if missed or o["level"] != o["expected_level"] or o["answered"] != o["answerable"]:
            question = _cell(o.get("question", ""))
            rows.append(f"| {o['id']} | {question} | {o['expected_level']} | {o['level']} | "
                        f"{'回答' if o['answered'] else '保留'} | {'—' if rank is None else rank} |")
    return rows


def _cell(text: str, limit: int = 40) -> str:
    """One Markdown table cell: no line breaks or pipes, shortened."""
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[:limit] + "…"


# --- charts --------------------------------------------------------------------------------------


def _japanese_font() -> str | None:
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    for name in ("Noto Sans CJK JP", "IPAexGothic", "IPAGothic", "TakaoGothic", "Hiragino Sans", "Yu Gothic"):
        if name in names:
            return name
    return None


def charts(data: dict[str, Any], out_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    font = _japanese_font()
    style = {"font.family": font} if font else {}
    title_r, title_c = ("検索指標(行ごと)", "エスカレーションの混同行列") if font else (
        "Retrieval metrics per row", "Escalation confusion matrix")
    xlabel, ylabel = ("判定", "期待") if font else ("routed", "expected")
    paths = []
    with plt.rc_context(style):
        rows = _retrieval_rows(data)
        metrics = [m for m in RETRIEVAL_METRICS if m != "chars_at_3"]
        fig, ax = plt.subplots(figsize=(max(7, 1.4 * len(rows) + 2), 4.2))
        width = 0.8 / len(metrics)
        x = np.arange(len(rows))
        for i, metric in enumerate(metrics):
            ax.bar(x + (i - (len(metrics) - 1) / 2) * width, [v[metric] for _, v in rows], width,
                   label=METRIC_LABELS[metric])
        ax.set_xticks(x, [_row_name(r, data) for r, _ in rows], rotation=20, ha="right")
        ax.set_ylim(0, 1.05)
        ax.set_title(title_r)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        paths.append(out_dir / RETRIEVAL_CHART)
        fig.savefig(paths[-1], dpi=120)
        plt.close(fig)

        a = data["assistant"]
        matrix = np.asarray(a["confusion"])
        fig, ax = plt.subplots(figsize=(5, 4.4))
        image = ax.imshow(matrix, cmap="Blues")
        ax.set_xticks(range(len(a["levels"])), a["levels"])
        ax.set_yticks(range(len(a["levels"])), a["levels"])
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title_c)
        threshold = matrix.max() / 2 if matrix.size else 0
        for (i, j), n in np.ndenumerate(matrix):
            ax.text(j, i, str(n), ha="center", va="center", color="white" if n > threshold else "black")
        fig.colorbar(image, ax=ax, fraction=0.046)
        fig.tight_layout()
        paths.append(out_dir / CONFUSION_CHART)
        fig.savefig(paths[-1], dpi=120)
        plt.close(fig)
    return paths


def write_report(data: dict[str, Any], out_dir: Path, thresholds: Thresholds | None = None) -> list[Path]:
    """result.json, report.md and the two charts into out_dir (created if missing)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    result = out_dir / RESULT_FILE
    result.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    report = out_dir / REPORT_FILE
    report.write_text(markdown(data, thresholds), encoding="utf-8")
    return [result, report, *charts(data, out_dir)]


# --- compare -------------------------------------------------------------------------------------


def compare(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, float | None, float | None, float | None, str]]:
    """(metric, old, new, delta, verdict) for every metric of either run; verdict is 改善, 悪化, 同じ or 片方のみ."""
    before, after = flatten(old), flatten(new)
    keys = list(before) + [k for k in after if k not in before]
    rows = []
    for key in keys:
        o, n = before.get(key), after.get(key)
        if o is None or n is None:
            rows.append((key, o, n, None, "片方のみ"))
            continue
        delta = n - o
        lower_better = key.rsplit(".", 1)[-1] in LOWER_IS_BETTER
        if abs(delta) < 1e-9:
            verdict = "同じ"
        else:
            verdict = "改善" if (delta < 0) == lower_better else "悪化"
        rows.append((key, o, n, delta, verdict))
    return rows


def compare_text(old: dict[str, Any], new: dict[str, Any]) -> str:
    notes = []
    for key, label in (("question_set", "質問セット"), ("questions", "質問数"), ("index_version", "索引"),
                       ("embedder", "埋め込み"), ("default_fusion", "統合方式")):
        if old.get(key) != new.get(key):
            notes.append(f"{label}: {old.get(key)} → {new.get(key)}")
    rows = compare(old, new)
    width = max((len(r[0]) for r in rows), default=10)
    shown = lambda v: "—" if v is None else f"{v:.4f}"  # noqa: E731
    out = [f"{'指標'.ljust(width - 2)}  {'前':>10}  {'後':>10}  {'差':>10}  判定"]
    for key, o, n, delta, verdict in rows:
        d = "—" if delta is None else f"{delta:+.4f}"
        out.append(f"{key.ljust(width)}  {shown(o):>10}  {shown(n):>10}  {d:>10}  {verdict}")
    worse = sum(1 for r in rows if r[4] == "悪化")
    better = sum(1 for r in rows if r[4] == "改善")
    out.append(f"\n改善 {better} 件 / 悪化 {worse} 件")
    if notes:
        out = ["条件の違い: " + " / ".join(notes), ""] + out
    return "\n".join(out)
