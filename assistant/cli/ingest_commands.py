"""`kasuhara ingest` and `kasuhara chunks`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from assistant.core.errors import KasuharaError
from assistant.core.settings import Settings

# Exit status when the index was built but some pages were refused (garbled): the rest is searchable.
PAGES_REFUSED = 3


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="コーパスが変わっていなくても索引を作り直します。")
@click.option("--quiet", is_flag=True, help="進捗表示とファイルごとの報告を出しません(警告は出します)。")
@click.option("--json", "as_json", is_flag=True, help="取り込みの報告を JSON で出力します。")
def ingest(paths: tuple[Path, ...], force: bool, quiet: bool, as_json: bool) -> None:
    """マニュアル(PDF・テキスト・Markdown)を取り込み、検索用の索引を作ります。

    PATHS を省略すると corpus/manual/ のファイルをすべて取り込みます。最後に、ファイルごとの
    報告(認識した形式、ページと印刷ページ番号、ページごとのチャンク数、取り込めなかったページ、
    定型行として除いた行)と警告を出します。文字化けしたページは索引に入れず、終了コード 3 で
    知らせます。失敗しても、それまでの索引はそのまま使えます。
    """
    from assistant.corpus_checks import stale_fits
    from ingest.pipeline import indexed_chunks, run_ingest

    settings = Settings()
    try:
        summary = run_ingest(settings, list(paths) or None, force=force, progress=not (quiet or as_json))
        refits = stale_fits(settings, indexed_chunks(settings))
    except KasuharaError as exc:
        if as_json:  # a script reading stdout learns why, too
            click.echo(json.dumps({"error": str(exc)}, ensure_ascii=False))
        raise click.ClickException(str(exc)) from exc
    state = "索引を作成しました" if summary.rebuilt else "コーパスに変更がないため、索引はそのままです(--force で作り直せます)"
    line = (f"{state}: ファイル {summary.files} 件、ページ {summary.pages}、チャンク {summary.chunks} 件、"
            f"{summary.seconds:.1f} 秒(版 {summary.build_id})")
    if as_json:
        data = {"summary": line, "files": summary.files, "pages": summary.pages, "chunks": summary.chunks,
                "build_id": summary.build_id, "rebuilt": summary.rebuilt, "seconds": summary.seconds,
                **summary.report.to_json(), "refit": refits}
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        if not quiet:
            click.echo(summary.report.render())  # the files' warnings are in it
        click.echo(line)
        for warning in (summary.report.warnings if quiet else []) + refits:
            click.echo(f"警告: {warning}", err=True)
    if summary.report.refused_pages:
        sys.exit(PAGES_REFUSED)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="1 行に 1 チャンクの JSON で出力します。")
def chunks(as_json: bool) -> None:
    """索引に入っているチャンク(ID・節・ページ・本文)を一覧します。"""
    from ingest.pipeline import indexed_chunks

    try:
        items = indexed_chunks(Settings())
    except KasuharaError as exc:
        raise click.ClickException(str(exc)) from exc
    for chunk in items:
        if as_json:
            data = {"id": chunk.id, "section": chunk.section, "page": chunk.page, "text": chunk.text,
                    "section_path": list(chunk.section_path), "document": chunk.document,
                    "source_url": chunk.source_url}
            click.echo(json.dumps(data, ensure_ascii=False))
        else:
            click.echo(f"{chunk.id}  p.{chunk.page or '-'}  {chunk.section}\n    {chunk.text}")


def register(group: click.Group) -> None:
    group.add_command(ingest)
    group.add_command(chunks)
