"""Database engine, session factory and the declarative Base shared by all packages.

SQLite (WAL, in the data directory) by default; PostgreSQL via ``VETBOT_DATABASE_URL``.
Schema changes go through Alembic (``vetbot db upgrade``); each package owns its own
revision in ``vetbot/migrations/versions``.
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

logger = logging.getLogger(__name__)

MODELS_GROUP = "vetbot.models"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Stable constraint names so Alembic migrations work the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every ORM model in the project."""

    metadata = MetaData(naming_convention=NAMING)


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and enforced foreign keys."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")  # a filed complaint must survive a crash
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Session factory; objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def import_all_models() -> None:
    """Import every package's models so ``Base.metadata`` is complete.

    The model modules are listed in the ``vetbot.models`` entry-point group of
    ``pyproject.toml``, so this bottom layer does not name the packages above it.
    """
    for ep in entry_points(group=MODELS_GROUP):
        ep.load()


def _alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "heads") -> None:
    """Apply Alembic migrations up to ``revision``."""
    from alembic import command

    command.upgrade(_alembic_config(url), revision)


def ensure_schema(url: str) -> bool:
    """Bring the database at ``url`` to the latest migration heads; True when migrations ran.

    A cheap check first (the stored revisions against the migration scripts' heads), so the
    commands that use the database can call it on every run; a fresh database is created.
    Errors are Alembic's/SQLAlchemy's, as for ``upgrade``.
    """
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(_alembic_config(url))
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_heads()
    finally:
        engine.dispose()
    # The version table keeps only the tips: a head that another tip depends on (0003_web under
    # 0014_ingest_jobs) is applied without a row of its own, so compare against everything below.
    applied: set[str] = set()
    pending = list(current)
    while pending:
        revision = pending.pop()
        if revision in applied:
            continue
        applied.add(revision)
        script = scripts.get_revision(revision)
        for below in (script.down_revision, script.dependencies) if script else ():
            pending.extend([below] if isinstance(below, str) else below or ())
    missing = set(scripts.get_heads()) - applied
    if not missing:
        return False
    logger.info("database schema lacks %s; applying migrations", sorted(missing))
    upgrade(url)
    return True
