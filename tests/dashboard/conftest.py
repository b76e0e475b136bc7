"""Fixtures of the office-analytics tests: a migrated database, a small routing table, a clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy.orm import Session

from complaints.routing import RoutingTable
from complaints.service import CaseService
from knowledge.text import ChineseTokenizer
from tests.db_support import db_url, session_factory  # noqa: F401  (shared fixtures)
from tests.fakes import HashingEmbeddings

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


@pytest.fixture
def clock() -> Clock:
    """Starts on Monday 2026-03-02 09:00 China time."""
    return Clock(datetime(2026, 3, 2, 9, 0, tzinfo=CST))


@pytest.fixture
def service(
    session_factory: Callable[[], Session],  # noqa: F811  (the shared fixture)
    routing: RoutingTable,
    clock: Clock,
) -> CaseService:
    """The real case service on the test database with the settable clock."""
    return CaseService(session_factory, routing, clock=clock)
