"""Fixtures of the office-analytics tests: a migrated database, a small routing table, a clock."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from complaints.routing import RoutingTable
from complaints.service import CaseService
from knowledge.text import ChineseTokenizer
from tests.fakes import HashingEmbeddings
from vetbot.db import create_db_engine, make_session_factory, upgrade

CST = timezone(timedelta(hours=8))

ROUTING: dict[str, Any] = {
    "handlers": [
        {"id": "jn-yfk", "name": "王建国", "unit": "济南市退役军人事务局优抚科", "region": "济南市"},
        {"id": "yz-yfk", "name": "陈静", "unit": "扬州市退役军人事务局优抚处", "region": "扬州市"},
        {"id": "jh-fw", "name": "郑浩", "unit": "金华市退役军人服务中心", "region": "金华市"},
        {"id": "xfk", "name": "信访科值班员", "unit": "市退役军人事务局信访科", "region": "*"},
    ],
    "rules": [
        {"region": "济南市", "theme": "*", "handler": "jn-yfk"},
        {"region": "扬州市", "theme": "*", "handler": "yz-yfk"},
        {"region": "金华市", "theme": "*", "handler": "jh-fw"},
    ],
    "fallback": "xfk",
}


class Clock:
    """A settable clock (aware datetimes) for CaseService."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="session")
def tokenizer() -> ChineseTokenizer:
    """One jieba tokenizer for the whole session (loading the dictionary takes a second)."""
    return ChineseTokenizer()


@pytest.fixture
def embeddings() -> HashingEmbeddings:
    """Deterministic character-bigram embeddings."""
    return HashingEmbeddings(dim=512)


@pytest.fixture
def routing() -> RoutingTable:
    """Three cities and a fallback desk."""
    return RoutingTable.from_dict(ROUTING)


def _postgres_base_url() -> str:
    url = os.environ.get("VETBOT_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("VETBOT_TEST_POSTGRES_URL is not set but CI=true")
        pytest.skip("VETBOT_TEST_POSTGRES_URL not set (source .ci/services.sh && start_postgres)")
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated database on SQLite and (when available) PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'dash.db'}"
        upgrade(url)
        yield url
        return
    from sqlalchemy import text

    base = _postgres_base_url()
    schema = f"d_{uuid.uuid4().hex[:16]}"
    admin = create_db_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        sep = "&" if "?" in base else "?"
        url = f"{base}{sep}options=-csearch_path%3D{schema}"
        upgrade(url)
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def session_factory(db_url: str) -> Iterator[Callable[[], Session]]:
    """Session factory over the migrated database."""
    engine = create_db_engine(db_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def clock() -> Clock:
    """Starts on Monday 2026-03-02 09:00 China time."""
    return Clock(datetime(2026, 3, 2, 9, 0, tzinfo=CST))


@pytest.fixture
def service(session_factory: Callable[[], Session], routing: RoutingTable, clock: Clock) -> CaseService:
    """The real case service on the test database with the settable clock."""
    return CaseService(session_factory, routing, clock=clock)
