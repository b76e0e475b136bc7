"""Issue 12 item 8: hostile or unlucky inputs answer 409/422 in Chinese, never 500, on both databases."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from api.app import create_app
from api.security import create_token
from api.users import UserService
from complaints.routing import RoutingTable
from complaints.service import CaseService
from tests.api.conftest import PASSWORD, SECRET, make_settings
from tests.api.support import FakeKnowledge
from tests.db_support import DB_BACKENDS, migrated_sqlite_url, postgres_schema
from vetbot.db import create_db_engine, make_session_factory


@pytest.fixture(params=DB_BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield migrated_sqlite_url(tmp_path / "hardening.db")
        return
    with postgres_schema("h12") as url:
        yield url


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    settings = make_settings(tmp_path, database_url=db_url)
    engine = create_db_engine(db_url)
    sessions = make_session_factory(engine)
    users = UserService(sessions)
    headers = {}
    for name, role, caseworker in (
        ("office", "office", None),
        ("staff", "staff", None),
        ("hjn", "handler", "h-jn"),
    ):
        user = users.create_user(name, PASSWORD, role, handler_id=caseworker)
        token = create_token(SECRET, user_id=user.id, username=name, role=role, hours=1)
        headers[name] = {"Authorization": f"Bearer {token}"}
    cases = CaseService(sessions, RoutingTable.load(settings.routing_file))
    app = create_app(settings, knowledge=FakeKnowledge(), cases=cases, session_factory=sessions)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, headers
    engine.dispose()


def _chinese_4xx(r: Any, status: int) -> None:
    assert r.status_code == status, (r.status_code, r.text)
    text = json.dumps(r.json(), ensure_ascii=False)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in text), text


def _file(client: TestClient, h: dict[str, str]) -> str:
    r = client.post("/v1/complaints", json={"text": "优待证三个月没办下来", "region": "济南市"}, headers=h)
    assert r.status_code == 201, r.text
    return str(r.json()["ticket"])


def test_reassigning_to_the_current_caseworker_is_a_conflict(world: Any) -> None:
    client, h = world
    ticket = _file(client, h["staff"])
    r = client.post(
        f"/v1/complaints/{ticket}/actions",
        json={"action": "reassign", "handler_id": "h-jn"},
        headers=h["office"],
    )
    _chinese_4xx(r, 409)


@pytest.mark.parametrize(
    "error",
    [
        StaleDataError(
            "UPDATE statement on table 'complaint_cases' expected to update 1 row(s); 0 were matched."
        ),
        OperationalError("UPDATE complaint_cases", {}, Exception("database is locked")),
    ],
)
def test_concurrent_update_conflicts_are_409(
    world: Any, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    client, h = world
    ticket = _file(client, h["staff"])

    def lost_race(*_a: Any, **_k: Any) -> None:
        raise error

    monkeypatch.setattr(client.app.state.runtime.cases, "reply", lost_race)
    r = client.post(
        f"/v1/complaints/{ticket}/actions", json={"action": "reply", "note": "已核实"}, headers=h["hjn"]
    )
    _chinese_4xx(r, 409)


@pytest.mark.parametrize(
    "query",
    [
        "created_from=0001-01-01",
        "created_to=9999-12-31",
        f"offset={2**63}",
        f"offset={2**64}",
    ],
)
def test_extreme_list_filters_are_422(world: Any, query: str) -> None:
    client, h = world
    _chinese_4xx(client.get(f"/v1/complaints?{query}", headers=h["office"]), 422)


@pytest.mark.parametrize("month", ["0001-01", "9999-12"])
def test_extreme_dashboard_months_are_422(world: Any, month: str) -> None:
    client, h = world
    r = client.get(f"/dashboard/monthly?month={month}", headers={**h["office"], "Accept": "application/json"})
    assert r.status_code == 422, r.text


def test_huge_log_ids_are_422(world: Any) -> None:
    client, h = world
    r = client.post(f"/v1/ask/{2**63}/rating", json={"rating": "up"}, headers=h["staff"])
    _chinese_4xx(r, 422)


@pytest.mark.parametrize("bad", ["优待证\\ud800丢了", "优待证\\u0000丢了"])
def test_lone_surrogates_and_nul_are_422_for_questions_and_complaints(world: Any, bad: str) -> None:
    client, h = world
    headers = {**h["staff"], "Content-Type": "application/json"}
    r = client.post("/v1/ask", content=f'{{"question": "{bad}"}}'.encode(), headers=headers)
    _chinese_4xx(r, 422)
    r = client.post(
        "/v1/complaints", content=f'{{"text": "{bad}", "region": "济南市"}}'.encode(), headers=headers
    )
    _chinese_4xx(r, 422)
