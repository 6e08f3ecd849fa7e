"""Shared test setup. Nothing here reaches the network or writes to the repository's data/."""

from __future__ import annotations

import os

# At import, before any test module imports chromadb, transformers or huggingface_hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["ANONYMIZED_TELEMETRY"] = "False"

import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from assistant.core.settings import PROJECT_ROOT, Settings  # noqa: E402

REPO_CORPUS = PROJECT_ROOT / "corpus"
SEED_PAGE = REPO_CORPUS / "manual" / "000_0ebf01af85e31d0d.txt"


@pytest.fixture(scope="session")
def router_cache(request: pytest.FixtureRequest) -> Path:
    """The fitted router and question vectors, shared by every test and kept between runs in pytest's
    own cache folder: fitting on a fresh clone embeds the whole routing set once (about a minute).
    Cache entries are keyed by everything they depend on, so a stale entry is never used."""
    return Path(request.config.cache.mkdir("kasuhara-router"))


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, router_cache: Path) -> None:
    """Every test gets its own data directory and the default embedder, whatever the shell exported."""
    monkeypatch.setenv("KASUHARA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KASUHARA_CACHE_DIR", str(router_cache))
    for name in ("KASUHARA_CHROMA_URL", "KASUHARA_EMBEDDING_MODEL", "KASUHARA_EMBEDDING_PROMPTS",
                 "KASUHARA_CORPUS_DIR"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    """A temporary corpus: the project's manifest and an empty manual/ folder."""
    root = tmp_path / "corpus"
    (root / "manual").mkdir(parents=True)
    shutil.copy(REPO_CORPUS / "manifest.toml", root / "manifest.toml")
    return root


@pytest.fixture
def seed_corpus(corpus_dir: Path) -> Path:
    """The temporary corpus holding the shipped page (p.28)."""
    shutil.copy(SEED_PAGE, corpus_dir / "manual" / SEED_PAGE.name)
    return corpus_dir


@pytest.fixture
def settings(seed_corpus: Path, data_dir: Path) -> Settings:
    return Settings(corpus_dir=seed_corpus, data_dir=data_dir)


# Fixtures that build an index, fit the router or start a server: a test that uses one is in the
# `slow` tier, whatever its own markers say. `make test-fast` leaves that tier out.
_SLOW_FIXTURES = {"built_settings", "assistant", "web_settings", "web_assistant", "live_app", "llm_assistant",
                  "chromium", "postgres_server", "postgres_url"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
