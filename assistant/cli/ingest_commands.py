"""`kasuhara ingest` and `kasuhara chunks`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from assistant.errors import KasuharaError
from assistant.settings import Settings


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="コーパスが変わっていなくても索引を作り直します。")
@click.option("--quiet", is_flag=True, help="進捗表示を出しません。")
def ingest(paths: tuple[Path, ...], force: bool, quiet: bool) -> None:
    """マニュアル(PDF・テキスト・Markdown)を取り込み、検索用の索引を作ります。

    PATHS を省略すると corpus/manual/ のファイルをすべて取り込みます。
    失敗しても、それまでの索引はそのまま使えます。
    """
    from ingest.pipeline import run_ingest

    try:
        summary = run_ingest(Settings(), list(paths) or None, force=force, progress=not quiet)
    except KasuharaError as exc:
        raise click.ClickException(str(exc)) from exc
    state = "索引を作成しました" if summary.rebuilt else "コーパスに変更がないため、索引はそのままです(--force で作り直せます)"
    click.echo(
        f"{state}: ファイル {summary.files} 件、ページ {summary.pages}、チャンク {summary.chunks} 件、"
        f"{summary.seconds:.1f} 秒(版 {summary.build_id})"
    )


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
