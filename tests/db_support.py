"""The database fixture shared by the case-store, dashboard and bot tests.

``db_url`` fixtures are parametrized over ``DB_BACKENDS``: ``sqlite`` (a file in tmp_path) and
``postgres`` (a unique schema in the server named by ``VETBOT_TEST_POSTGRES_URL``, dropped
afterwards). ``make test`` runs pytest through ``scripts/test-env.sh``, which starts a throwaway
PostgreSQL cluster and sets that variable; without it the postgres parameters fail, never skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from vetbot.db import create_db_engine, make_session_factory, upgrade

DB_BACKENDS: list[Any] = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def postgres_base_url() -> str:
    """``VETBOT_TEST_POSTGRES_URL``; fails the test (pytest.fail) when it is not set."""
    url = os.environ.get("VETBOT_TEST_POSTGRES_URL")
    if not url:
        pytest.fail(
            "VETBOT_TEST_POSTGRES_URL is not set: run the tests with `make test`, or "
            "`scripts/test-env.sh run .venv/bin/pytest ...` for a throwaway PostgreSQL cluster, "
            "or leave these tests out with -m 'not postgres'"
        )
    return url


def with_search_path(url: str, schema: str) -> str:
    """``url`` with libpq options that put ``schema`` first on the search path."""
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


@contextmanager
def postgres_schema(prefix: str) -> Iterator[str]:
    """URL of a fresh, migrated schema on the test server; the schema is dropped on exit."""
    from sqlalchemy import text

    base = postgres_base_url()
    schema = f"{prefix}_{uuid.uuid4().hex[:16]}"
    admin = create_db_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = with_search_path(base, schema)
        upgrade(url)
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def migrated_sqlite_url(path: Path | str) -> str:
    """URL of the SQLite file at ``path`` after migrating it (``vetbot.db.upgrade``)."""
    url = f"sqlite:///{path}"
    upgrade(url)
    return url


# The fixtures below are imported by the conftests that use them (pytest registers imported
# fixtures); the bot tests keep their own ``db_url``, copied from a migrated template file.
@pytest.fixture(params=DB_BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a freshly migrated database (``vetbot.db.upgrade``) on each backend."""
    if request.param == "sqlite":
        yield migrated_sqlite_url(tmp_path / "test.db")
        return
    with postgres_schema("t") as url:
        yield url


@pytest.fixture
def session_factory(db_url: str) -> Iterator[Callable[[], Session]]:
    """Session factory over the migrated test database."""
    engine = create_db_engine(db_url)
    yield make_session_factory(engine)
    engine.dispose()
