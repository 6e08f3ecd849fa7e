"""`kasuhara eval`: run the question set, compare runs, add logged questions, fit the abstention threshold.

A thin layer over `evals.*`; heavy imports happen inside the commands so `--help` stays fast.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from assistant.core.errors import KasuharaError
from assistant.core.levels import LEVELS
from assistant.core.settings import Settings

_SET_HELP = "質問セット(JSONL)。既定は evals/questions.jsonl。"


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


@click.group("eval", invoke_without_command=True)
@click.option("--set", "set_path", type=click.Path(path_type=Path, dir_okay=False), default=None, help=_SET_HELP)
@click.option("--modes", multiple=True, metavar="MODE[,MODE]",
              help="評価する検索方式: bm25, dense, hybrid(カンマ区切りか複数指定。既定はすべて)。")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="レポートの出力先フォルダ(既定: evals/reports/<日時>/)。")
@click.option("--compare", nargs=2, type=click.Path(exists=True, path_type=Path), metavar="OLD.json NEW.json",
              default=None, help="2つの結果(result.json かレポートのフォルダ)の指標の差を表示します。評価は実行しません。")
@click.option("--baseline/--no-baseline", default=True, show_default=True,
              help="素朴な構成(LangChain 分割 + Chroma、空白区切り BM25)も同じ質問で測ります。")
@click.option("--thresholds", "thresholds_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="合格基準のファイル(既定: evals/thresholds.toml)。")
@click.option("--gate", is_flag=True, help="合格基準を満たさなければ終了コード 1 で終わります(CI 用)。")
@click.option("--log-questions", is_flag=True,
              help="評価の質問を本番の質問ログにも記録します(利用経路 eval)。既定では一時ログに記録して捨てます。")
@click.option("--routing-cv/--no-routing-cv", default=True, show_default=True,
              help="ルーティングの入れ子交差検証も行います(判定モデルを約 30 回学習し直すので 1 分ほどかかります)。")
@click.option("--progress/--no-progress", default=None, help="進み具合を標準エラーに表示します(既定: 端末なら表示)。")
@click.pass_context
def eval_group(ctx: click.Context, set_path: Path | None, modes: tuple[str, ...], out_dir: Path | None,
               compare: tuple[Path, Path] | None, baseline: bool, thresholds_path: Path | None, gate: bool,
               log_questions: bool, routing_cv: bool, progress: bool | None) -> None:
    """質問セットで評価します: 検索方式ごとの指標、素朴な構成との比較、エスカレーション・回答保留・引用・応答時間。

    結果は端末に表で表示し、レポート(Markdown・JSON・PNG)をフォルダに書き出します。
    """
    if ctx.invoked_subcommand is not None:
        return
    from evals.report import compare_text, load_result

    try:
        if compare:
            click.echo(compare_text(load_result(compare[0]), load_result(compare[1])))
            return
        _run(set_path, modes, out_dir, baseline, thresholds_path, gate, log_questions, routing_cv,
             sys.stderr.isatty() if progress is None else progress)
    except KasuharaError as exc:
        raise _fail(exc) from exc


def _run(set_path: Path | None, modes: tuple[str, ...], out_dir: Path | None, baseline: bool,
         thresholds_path: Path | None, gate: bool, log_questions: bool, routing_cv: bool, progress: bool) -> None:
    from evals.dataset import DEFAULT_SET, EVALS_DIR
    from evals.gate import THRESHOLDS, check, load_thresholds
    from evals.report import summary_table, write_report
    from evals.runner import index_is_stale, parse_modes, run
    from ingest.pipeline import ensure_index

    settings = Settings()
    chosen = parse_modes(modes)
    thresholds = load_thresholds(thresholds_path or THRESHOLDS)
    ensure_index(settings, progress=progress)
    if index_is_stale(settings):
        click.echo("注意: 索引は現在のコーパス(または埋め込み・分かち書きの設定)より古いものです。"
                   "`kasuhara ingest` を実行してから評価してください。今回は古い索引を測ります。", err=True)
    result = run(settings, set_path or DEFAULT_SET, chosen, baseline=baseline, progress=progress,
                 log_questions=log_questions, routing_cv=routing_cv)
    data = result.to_json()
    failures = check(result.flat(), thresholds)
    out_dir = out_dir or EVALS_DIR / "reports" / datetime.now().strftime("%Y%m%d-%H%M%S")
    paths = write_report(data, out_dir, thresholds)
    click.echo(summary_table(data, failures))
    click.echo("")
    click.echo(f"レポート: {out_dir}")
    for path in paths:
        click.echo(f"  {path.name}")
    if gate and failures:
        click.echo("合格基準を満たしていません。", err=True)
        sys.exit(1)


@eval_group.command("add-from-log")
@click.argument("log_id")
@click.option("--level", required=True, type=click.Choice(list(LEVELS)),
              help="期待するエスカレーションの区分。")
@click.option("--evidence", multiple=True, metavar="TEXT",
              help="正解の根拠となるマニュアルの文言(索引の本文にあること。複数指定可)。")
@click.option("--answerable/--not-answerable", default=True, show_default=True,
              help="取り込んだマニュアルで答えられる質問か。")
@click.option("--history", multiple=True, metavar="TEXT",
              help="直前までの質問(古い順)。省略時は同じセッションの記録から補います。")
@click.option("--set", "set_path", type=click.Path(path_type=Path, dir_okay=False), default=None, help=_SET_HELP)
def add_from_log_command(log_id: str, level: str, evidence: tuple[str, ...], answerable: bool,
                         history: tuple[str, ...], set_path: Path | None) -> None:
    """質問ログの記録 LOG_ID を評価セットに追加します(うまく答えられなかった質問を回帰テストにする)。"""
    from evals.dataset import DEFAULT_SET
    from evals.from_log import add_from_log

    try:
        item = add_from_log(Settings(), log_id, level, evidence, answerable, set_path or DEFAULT_SET,
                            history=list(history) if history else None)
    except KasuharaError as exc:
        raise _fail(exc) from exc
    click.echo(f"追加しました: {item.id}(区分 {item.level}、{'回答可' if item.answerable else '対象外'}"
               f"{'、追加の質問' if item.history else ''}) → {set_path or DEFAULT_SET}")


def eval_item_adder(settings: Settings) -> Callable[[str, str, list[str], bool], Any]:
    """The hook the officers' console is given for "add to the evaluation set": `evals.from_log`
    bound to `settings`, (uid, level, evidence, answerable) -> the added item. Only the eval
    commands import `evals`; `kasuhara serve` hands this hook to the web app."""

    def add(uid: str, level: str, evidence: list[str], answerable: bool) -> Any:
        from evals.from_log import add_from_log

        return add_from_log(settings, uid, level, evidence, answerable)

    return add


@eval_group.command("calibrate")
@click.option("--set", "set_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="較正用の質問セット(既定: evals/calibration_questions.jsonl)。")
def calibrate_command(set_path: Path | None) -> None:
    """回答保留の閾値を較正用の質問セットで求め、設定の calibration_path に書き出します。"""
    from evals.calibrate import calibrate
    from evals.dataset import CALIBRATION_SET
    from ingest.pipeline import ensure_index

    settings = Settings()
    try:
        ensure_index(settings, progress=sys.stderr.isatty())
        result = calibrate(settings, set_path or CALIBRATION_SET)
    except KasuharaError as exc:
        raise _fail(exc) from exc
    click.echo(f"閾値 {result.threshold:.5f}(語の重み {result.lexical_weight})"
               f" / balanced accuracy {result.balanced_accuracy:.3f}({result.questions} 問)")
    click.echo(f"書き出し先: {settings.calibration_path}")


@eval_group.command("routing")
@click.option("--cv/--no-cv", default=True, show_default=True,
              help="学習用の例文で出典ページ単位の層化 5 分割による入れ子交差検証も行います(ルーターを約 30 回学習し直します)。")
@click.option("--sealed/--no-sealed", default=True, show_default=True,
              help="封印した評価用の例文でも採点します。調整中は --no-sealed で交差検証だけを見ます。")
@click.option("--by-batch", is_flag=True,
              help="書き手の回(batch)ごとに 1 つずつ外す入れ子交差検証も行います。知らない書き手の文にどう当たるかの目安です(1 回 約 30 秒 × 回の数)。")
@click.option("--select", is_flag=True,
              help="候補のモデルを交差検証で比べます(正解率・macro-F1・対数損失・Brier・ECE・緊急の再現率)。")
@click.option("--json", "as_json", is_flag=True, help="結果を JSON で出力します。")
def routing_command(cv: bool, sealed: bool, by_batch: bool, select: bool, as_json: bool) -> None:
    """対応レベルの判定だけを評価します: 学習型ルーターと語彙ルールを、交差検証と封印した評価用の例文で比べます。"""
    import json
    from dataclasses import asdict

    from assistant.answering import Assistant
    from evals.routing_eval import SEALED_SETS, evaluate_routing, select_models
    from evals.routing_report import summary_text
    from ingest.pipeline import ensure_index

    settings = Settings()
    progress = sys.stderr.isatty()
    try:
        ensure_index(settings, progress=progress)
        assistant = Assistant(settings, notifier=None)
        if select:
            rows = select_models(assistant, progress=progress)
            if as_json:
                click.echo(json.dumps([asdict(r) for r in rows], ensure_ascii=False, indent=2))
                return
            click.echo(f"{'model':52s} {'acc':>6s} {'macroF1':>8s} {'logloss':>8s} {'Brier':>6s} {'ECE':>6s}"
                       f" {'urgR':>6s} {'raised':>7s} {'decided':>8s}")
            for r in rows:
                click.echo(f"{r.name:52s} {r.accuracy:6.3f} {r.macro_f1:8.3f} {r.log_loss:8.3f} {r.brier:6.3f}"
                           f" {r.ece:6.3f} {r.urgent_recall:6.3f} {r.raised_to_urgent:7.3f} {r.decided_accuracy:8.3f}")
            return
        report = evaluate_routing(assistant, cross_validate=cv, progress=progress,
                                  sealed_paths=SEALED_SETS if sealed else (), by_batch=by_batch)
    except KasuharaError as exc:
        raise _fail(exc) from exc
    click.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2) if as_json
               else summary_text(report.to_json()))


def register(group: click.Group) -> None:
    group.add_command(eval_group)
