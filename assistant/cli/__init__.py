"""`kasuhara` command line: a thin layer over the Python API.

Core errors are narrow exceptions (`KasuharaError` subclasses); they become `click.ClickException`
here at the edge, so a person reads one Japanese sentence, never a traceback.
"""

from __future__ import annotations

import click

from assistant.cli import (
    ask_commands,
    eval_commands,
    ingest_commands,
    logs_commands,
    web_commands,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kasuhara")
def main() -> None:
    """カスタマー・ハラスメント相談アシスタント kasuhara。"""


for _module in (ingest_commands, ask_commands, logs_commands, eval_commands, web_commands):
    _module.register(main)
