"""`kasuhara serve` (the web app) and `kasuhara officer` (console accounts)."""

from __future__ import annotations

import click

from assistant.core.errors import KasuharaError
from assistant.core.settings import Settings


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="待ち受けるアドレス(社内ネットワークに公開するときだけ 0.0.0.0 などに変えます)。")
@click.option("--port", default=7860, show_default=True, type=click.IntRange(1, 65535), help="待ち受けるポート番号。")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]), help="サーバーのログの詳しさ。")
@click.option("--pages", default="staff,officer", show_default=True, metavar="PAGE[,PAGE]",
              help="起動する画面: staff(スタッフ用チャット)と officer(担当者用コンソール)のどちらか、または両方。")
def serve(host: str, port: int, log_level: str, pages: str) -> None:
    """Web アプリを起動します: スタッフ用チャット(/)と担当者用コンソール(/officer)。"""
    from assistant.cli.eval_commands import eval_item_adder
    from assistant.officers import OfficerStore
    from assistant.web.app import PAGES, create_app, run

    chosen = tuple(p.strip() for p in pages.split(",") if p.strip())
    if not chosen or set(chosen) - set(PAGES):
        raise click.BadParameter(f"{', '.join(PAGES)} から選んでください(例: --pages staff): {pages}",
                                 param_hint="--pages")
    settings = Settings()
    try:
        app = create_app(settings, pages=chosen, add_eval_item=eval_item_adder(settings))
        officers = OfficerStore(settings.officers_path).names() if "officer" in chosen else ["-"]
    except KasuharaError as exc:
        raise click.ClickException(str(exc)) from exc
    if "staff" in chosen:
        click.echo(f"スタッフ用チャット:     http://{host}:{port}/", err=True)
    if "officer" in chosen:
        click.echo(f"担当者用コンソール:     http://{host}:{port}/officer/", err=True)
    if not officers:
        click.echo("注意: 担当者アカウントがありません。`kasuhara officer add 名前` で作成してください。", err=True)
    run(app, host=host, port=port, log_level=log_level)


@click.group()
def officer() -> None:
    """担当者アカウント(相談記録コンソールのログイン)を管理します。"""


def _store():
    from assistant.officers import OfficerStore

    return OfficerStore(Settings().officers_path)


@officer.command("add")
@click.argument("name")
@click.option("--replace", is_flag=True, help="既に登録済みの担当者のパスワードを変更します。")
def officer_add(name: str, replace: bool) -> None:
    """担当者 NAME を登録します(パスワードは画面の指示に従って2回入力)。"""
    from assistant.officers import check_password, normalise_name

    try:
        key = normalise_name(name)
        store = _store()
        if store.get(key) is not None and not replace:
            raise click.ClickException(f"担当者「{key}」は既に登録されています。パスワードを変える場合は --replace を付けてください。")
        password = click.prompt("パスワード", hide_input=True, prompt_suffix=": ", err=True)
        check_password(password)
        again = click.prompt("パスワード(確認のためもう一度)", hide_input=True, prompt_suffix=": ", err=True)
        if password != again:
            raise click.ClickException("2回入力したパスワードが一致しません。もう一度やり直してください。")
        store.add(key, password, replace=replace)
    except KasuharaError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"担当者「{key}」を{'更新' if replace else '登録'}しました({store.path})。")


@officer.command("list")
def officer_list() -> None:
    """登録済みの担当者名を表示します。"""
    try:
        names = _store().names()
    except KasuharaError as exc:
        raise click.ClickException(str(exc)) from exc
    if not names:
        click.echo("担当者は登録されていません。`kasuhara officer add 名前` で登録します。")
    for name in names:
        click.echo(name)


@officer.command("remove")
@click.argument("name")
@click.option("--yes", is_flag=True, help="確認せずに削除します。")
def officer_remove(name: str, yes: bool) -> None:
    """担当者 NAME を削除します(その担当者のログインはすぐに無効になります)。"""
    if not yes:
        click.confirm(f"担当者「{name}」を削除しますか?", abort=True, err=True)
    try:
        _store().remove(name)
    except KasuharaError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"担当者「{name}」を削除しました。")


def register(group: click.Group) -> None:
    group.add_command(serve)
    group.add_command(officer)
