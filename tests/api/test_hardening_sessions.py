"""Issue 12 item 10: sessions end at logout, cross-site login/logout, Secure cookies, accounts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.users import UserService
from api.views import document_summary
from knowledge.store import DocumentRecord
from tests.api.conftest import PASSWORD, make_settings
from vetbot.errors import InvalidInputError


def _login(client: TestClient, **headers: str) -> Any:
    return client.post(
        "/login",
        data={"username": "staff", "password": PASSWORD, "next": "/search"},
        headers=headers,
        follow_redirects=False,
    )


def test_logout_ends_the_session_on_the_server(client: TestClient) -> None:
    assert _login(client).status_code == 303
    token = client.cookies.get("vetbot_session")
    assert (
        token and client.get("/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    )
    assert client.post("/logout", follow_redirects=False).status_code == 303
    # The stolen or kept copy of the token no longer works.
    assert client.get("/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    client.cookies.set("vetbot_session", token)
    assert client.get("/search", follow_redirects=False).status_code == 303


def test_cross_site_login_and_logout_are_refused(client: TestClient) -> None:
    assert _login(client, origin="https://evil.example").status_code == 403
    assert client.cookies.get("vetbot_session") is None
    assert _login(client).status_code == 303
    r = client.post("/logout", headers={"origin": "https://evil.example"}, follow_redirects=False)
    assert r.status_code == 403
    assert client.get("/search").status_code == 200


def test_cookie_is_secure_behind_a_trusted_tls_proxy_only(
    tmp_path: Path, fake_knowledge: Any, case_service: Any, session_factory: Any, users: Any
) -> None:
    def cookie(**overrides: Any) -> str:
        settings = make_settings(tmp_path, **overrides)
        app = create_app(
            settings, knowledge=fake_knowledge, cases=case_service, session_factory=session_factory
        )
        with TestClient(app) as c:
            return str(_login(c, **{"x-forwarded-proto": "https"}).headers["set-cookie"]).lower()

    assert "secure" not in cookie()  # the header is not believed from an unknown peer
    assert "secure" in cookie(trusted_proxies=["testclient"])
    assert "secure" in cookie(cookie_secure=True)


def test_the_last_admin_cannot_disable_or_demote_itself(user_service: UserService) -> None:
    user_service.create_user("root", PASSWORD, "admin")
    with pytest.raises(InvalidInputError):
        user_service.update_user("root", actor="user:root", active=False)
    with pytest.raises(InvalidInputError):
        user_service.update_user("root", actor="user:root", role="office")
    user_service.create_user("root2", PASSWORD, "admin")
    user_service.update_user("root", actor="user:root", role="office")  # another admin remains
    assert user_service.get_by_username("root").role == "office"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("javascript:alert(1)", ""),
        (" JavaScript:alert(1)", ""),
        ("data:text/html,x", ""),
        ("https://www.mva.gov.cn/x.html", "https://www.mva.gov.cn/x.html"),
    ],
)
def test_only_web_source_urls_become_links(url: str, shown: str) -> None:
    doc = DocumentRecord(doc_id="d", path="d.md", sha256="0" * 64, metadata={"source_url": url}, chunks=[])
    assert document_summary(doc).source_url == shown


@pytest.mark.parametrize("handler_id", ["h-jn\n伪造日志", "h-\x00jn", "nobody-in-routing"])
def test_caseworker_ids_must_be_clean_and_in_the_routing_table(
    client: TestClient, users: Any, handler_id: str
) -> None:
    admin = users.headers("admin")
    body = {"username": "newhandler", "password": PASSWORD, "role": "handler", "handler_id": handler_id}
    r = client.post("/v1/users", json=body, headers=admin)
    assert r.status_code == 422 and "承办人编号无效" in r.text
    r = client.patch("/v1/users/handler_jn", json={"handler_id": handler_id}, headers=admin)
    assert r.status_code == 422
    body["handler_id"] = "h-yz"
    assert client.post("/v1/users", json=body, headers=admin).status_code == 201


def test_timestamps_carry_a_time_zone_on_sqlite(
    client: TestClient, users: Any, user_service: UserService
) -> None:
    assert _login(client).status_code == 303
    listed = client.get("/v1/users", headers=users.headers("admin")).json()
    stamps = [u["created_at"] for u in listed] + [
        u["last_login_at"] for u in listed if u.get("last_login_at")
    ]
    assert stamps and all(s.endswith(("+00:00", "Z")) for s in stamps), stamps
    assert all(a.created_at.tzinfo is not None for a in user_service.recent_audit())
