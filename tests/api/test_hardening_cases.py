"""Issue 12 item 4: complainant names and other people's cases stay private."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.security import create_token
from api.users import UserService
from tests.api.conftest import PASSWORD, SECRET
from tests.api.support import Users
from tests.api.test_complaints_api import _file


def test_name_is_masked_for_everyone_but_the_assigned_caseworker_and_admin(
    client: TestClient, users: Users
) -> None:
    ticket = _file(client, users, complainant_name="李建国")["ticket"]
    seen = {
        who: client.get(f"/v1/complaints/{ticket}", headers=users.headers(who)).json()["complainant_name"]
        for who in ("staff", "handler_jn", "handler_yz", "office", "admin")
    }
    assert seen == {
        "staff": "李**",
        "handler_jn": "李建国",
        "handler_yz": "李**",
        "office": "李**",
        "admin": "李建国",
    }
    listed = client.get("/v1/complaints", headers=users.headers("office")).json()["cases"]
    assert listed and all("建国" not in (c["complainant_name"] or "") for c in listed)


def test_staff_see_only_cases_they_filed_and_cannot_tell_the_others_exist(
    client: TestClient, users: Users, user_service: UserService
) -> None:
    other = user_service.create_user("staff2", PASSWORD, "staff")
    other_token = create_token(SECRET, user_id=other.id, username="staff2", role="staff", hours=1)
    mine = _file(client, users)["ticket"]
    assert client.get(f"/v1/complaints/{mine}", headers=users.headers("staff")).status_code == 200
    as_other = {"Authorization": f"Bearer {other_token}"}
    hidden = client.get(f"/v1/complaints/{mine}", headers=as_other)
    missing_ticket = mine[:-4] + "9999"
    missing = client.get(f"/v1/complaints/{missing_ticket}", headers=as_other)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"].replace(mine, "T") == missing.json()["detail"].replace(missing_ticket, "T")


def test_a_retried_submission_with_an_idempotency_key_is_filed_once(client: TestClient, users: Users) -> None:
    body = {"text": "优待证办理拖了半年没有结果", "region": "济南市"}
    headers = {**users.headers("staff"), "Idempotency-Key": "retry-7f3a"}
    first = client.post("/v1/complaints", json=body, headers=headers)
    second = client.post("/v1/complaints", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["ticket"] == second.json()["ticket"]
    other = client.post("/v1/complaints", json=body, headers={**headers, "Idempotency-Key": "another"})
    assert other.json()["ticket"] != first.json()["ticket"]
    listed = client.get("/v1/complaints", headers=users.headers("office")).json()
    assert listed["total"] == 2
    bad = client.post("/v1/complaints", json=body, headers={**headers, "Idempotency-Key": "has space"})
    assert bad.status_code == 422
