"""Fixtures of the case-store tests: a fresh database per test on SQLite and on PostgreSQL.

``db_url`` is parametrized over ``sqlite`` (a WAL file in tmp_path) and ``postgres`` (a
unique schema in the server named by ``VETBOT_TEST_POSTGRES_URL``, dropped afterwards). Without
that variable the postgres parameters fail (see ``tests.db_support``); ``make test`` sets it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from complaints.notices import Notice
from complaints.routing import RoutingTable
from complaints.service import CaseService
from complaints.types import Actor, ComplaintIntake
from tests.db_support import db_url, session_factory  # noqa: F401  (shared fixtures)

DATA = Path(__file__).parent / "data"
ROUTING_FILE = DATA / "routing.yaml"
CST = timezone(timedelta(hours=8))
# A Monday morning, China time.
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=CST)


@pytest.fixture
def routing() -> RoutingTable:
    """The small routing table of tests/complaints/data/routing.yaml."""
    return RoutingTable.load(ROUTING_FILE)


class FakeClock:
    """A settable clock (aware datetimes)."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: Any) -> datetime:
        self.now = self.now + timedelta(**kwargs)
        return self.now


class RecordingNotifier:
    """Collects notices; optionally records what the database said at notify time."""

    def __init__(self, probe: Callable[[Notice], Any] | None = None) -> None:
        self.notices: list[Notice] = []
        self.probes: list[Any] = []
        self._probe = probe

    def notify(self, notice: Notice) -> None:
        self.notices.append(notice)
        if self._probe is not None:
            self.probes.append(self._probe(notice))

    def to(self, kind: str) -> list[Notice]:
        return [n for n in self.notices if n.kind == kind]


class FailingNotifier:
    """A notifier whose transport is down."""

    def __init__(self) -> None:
        self.calls = 0

    def notify(self, notice: Notice) -> None:
        self.calls += 1
        raise ConnectionError("telegram unreachable")


@dataclass(frozen=True)
class FakeClassification:
    intent: str
    theme: str
    confidence: float = 0.9
    ambiguous: bool = False


class KeywordClassifier:
    """Deterministic stand-in for ComplaintClassifier (unit tests only)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def classify(self, text: str) -> FakeClassification:
        self.calls.append(text)
        if "优待证" in text:
            return FakeClassification("complaint", "card")
        if "公交" in text or "火车" in text:
            return FakeClassification("complaint", "transit")
        return FakeClassification("complaint", "other")


@pytest.fixture
def clock() -> FakeClock:
    """Clock starting at Monday 2026-03-02 09:00 China time."""
    return FakeClock()


@pytest.fixture
def notifier() -> RecordingNotifier:
    """Notifier that records every notice."""
    return RecordingNotifier()


@pytest.fixture
def service(
    session_factory: Callable[[], Session],  # noqa: F811  (the shared fixture)
    routing: RoutingTable,
    notifier: RecordingNotifier,
    clock: FakeClock,
) -> CaseService:
    """A CaseService with recording notifier, keyword classifier and the fake clock."""
    return CaseService(
        session_factory, routing, notifier=notifier, classifier=KeywordClassifier(), clock=clock
    )


OFFICE = Actor(id="office-1", name="双拥办小刘", role="office")
ADMIN = Actor(id="admin-1", name="管理员", role="admin")


def handler(routing: RoutingTable, handler_id: str) -> Actor:
    """Actor of a routing-table handler."""
    h = routing.handler(handler_id)
    return Actor(id=h.id, name=h.name, role="handler", telegram_chat_id=h.telegram_chat_id)


PHONE = "13812345678"
ID_CARD = "370102199001011234"
CARD = "6222021234567890"
SENSITIVE = f"我的优待证三个月没办下来，电话{PHONE}，身份证{ID_CARD}，补贴卡号{CARD}。"


def file_case(service: CaseService, text: str = SENSITIVE, **kw: object) -> str:
    """File a complaint from 济南 about the card (theme), with ``kw`` overriding fields; return its ticket."""
    fields: dict[str, object] = {
        "channel": "telegram",
        "complainant_chat_id": 555,
        "complainant_name": "赵老兵",
        "complainant_phone": PHONE,
        "region": "济南",
        "theme": "card",
    }
    fields.update(kw)
    return service.intake(ComplaintIntake(text=text, **fields)).ticket  # type: ignore[arg-type]
