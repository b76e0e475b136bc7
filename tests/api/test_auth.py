"""Login, tokens, API keys, roles and the audit log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from api.security import create_token, decode_token, hash_password, verify_password
from api.users import UserService
from tests.api.conftest import PASSWORD, SECRET
from tests.api.support import Users


def test_password_hashes_are_argon2_and_verify() -> None:
    h = hash_password("long-enough-pw")
    assert h.startswith("$argon2id$")
    assert verify_password(h, "long-enough-pw")
    assert not verify_password(h, "wrong-password")
    assert not verify_password("not-a-hash", "x")


def test_token_roundtrip_and_expiry() -> None:
    token = create_token(SECRET, user_id=7, username="u", role="staff", hours=1)
    claims = decode_token(SECRET, token)
    assert claims is not None and claims.user_id == 7 and claims.role == "staff"
    assert decode_token("another-secret-another-secret-0000", token) is None
    old = create_token(
        SECRET, user_id=7, username="u", role="staff", hours=1, now=datetime.now(UTC) - timedelta(hours=2)
    )
    assert decode_token(SECRET, old) is None


def test_token_endpoint_issues_a_working_bearer_token(client: TestClient, users: Users) -> None:
    r = client.post("/v1/auth/token", data={"username": "staff", "password": PASSWORD})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer" and body["role"] == "staff"
    me = client.get("/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["name"] == "staff"
    assert "search" in me.json()["permissions"]
    assert "documents:write" not in me.json()["permissions"]


def test_wrong_password_is_401_in_chinese_and_audited(client: TestClient, user_service: UserService) -> None:
    r = client.post("/v1/auth/token", data={"username": "staff", "password": "wrong-password"})
    assert r.status_code == 401
    assert r.json()["detail"] == "用户名或密码错误，或账号已停用。"
    assert any(a.action == "login.failed" and a.target == "user:staff" for a in user_service.recent_audit())


def test_repeated_failures_are_throttled(client: TestClient) -> None:
    for _ in range(5):
        assert (
            client.post("/v1/auth/token", data={"username": "office", "password": "nope-nope"}).status_code
            == 401
        )
    r = client.post("/v1/auth/token", data={"username": "office", "password": PASSWORD})
    assert r.status_code == 429
    assert "15 分钟" in r.json()["detail"]


def test_invalid_or_malformed_credentials_are_401(client: TestClient) -> None:
    assert client.get("/v1/documents", headers={"Authorization": "Bearer garbage"}).status_code == 401
    r = client.get("/v1/documents", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401 and "Bearer" in r.json()["detail"]
    assert client.get("/v1/documents", headers={"X-API-Key": "vbk_deadbeef_nope"}).status_code == 401
    assert r.headers.get("www-authenticate") == "Bearer"


def test_anonymous_is_denied_everything_but_health(client: TestClient) -> None:
    assert client.get("/healthz").status_code == 200
    for method, path in [
        ("get", "/v1/search?q=优待证"),
        ("get", "/v1/documents"),
        ("get", "/v1/complaints"),
        ("post", "/v1/complaints"),
        ("get", "/v1/users"),
    ]:
        r = getattr(client, method)(path)
        assert r.status_code == 401, path
        assert "登录" in r.json()["detail"]


def test_password_change_and_disable_end_sessions(
    client: TestClient, users: Users, user_service: UserService
) -> None:
    assert client.get("/v1/documents", headers=users.headers("staff")).status_code == 200
    user_service.update_user("staff", actor="test", password="a-new-password-1")
    assert client.get("/v1/documents", headers=users.headers("staff")).status_code == 401
    r = client.post("/v1/auth/token", data={"username": "staff", "password": "a-new-password-1"})
    fresh = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert client.get("/v1/documents", headers=fresh).status_code == 200
    user_service.update_user("staff", actor="test", active=False)
    assert client.get("/v1/documents", headers=fresh).status_code == 401
    assert (
        client.post("/v1/auth/token", data={"username": "staff", "password": "a-new-password-1"}).status_code
        == 401
    )


def test_api_keys_authenticate_with_their_role_and_can_be_revoked(
    client: TestClient, users: Users, user_service: UserService
) -> None:
    r = client.post(
        "/v1/api-keys", json={"name": "station-kiosk", "role": "staff"}, headers=users.headers("admin")
    )
    assert r.status_code == 201
    key = r.json()["key"]
    assert key.startswith("vbk_")
    stored = user_service.list_api_keys()[0]
    assert key not in stored.key_hash and len(stored.key_hash) == 64
    assert client.get("/v1/search", params={"q": "优待证"}, headers={"X-API-Key": key}).status_code == 200
    assert client.get("/v1/complaints", headers={"X-API-Key": key}).status_code == 403
    listed = client.get("/v1/api-keys", headers=users.headers("admin")).json()
    assert listed[0]["name"] == "station-kiosk" and listed[0]["key"] is None
    assert client.delete("/v1/api-keys/station-kiosk", headers=users.headers("admin")).status_code == 200
    assert client.get("/v1/search", params={"q": "优待证"}, headers={"X-API-Key": key}).status_code == 401
    actions = [a.action for a in user_service.recent_audit()]
    assert "apikey.create" in actions and "apikey.revoke" in actions


def test_only_admin_manages_users(client: TestClient, users: Users, user_service: UserService) -> None:
    body = {"username": "newbie", "password": "long-enough-1", "role": "staff"}
    for who in ("staff", "handler_jn", "office"):
        assert client.post("/v1/users", json=body, headers=users.headers(who)).status_code == 403
        assert client.get("/v1/users", headers=users.headers(who)).status_code == 403
    r = client.post("/v1/users", json=body, headers=users.headers("admin"))
    assert r.status_code == 201 and "password" not in r.text
    dup = client.post("/v1/users", json=body, headers=users.headers("admin"))
    assert dup.status_code == 422 and "已存在" in dup.json()["detail"][0]["msg"]
    r = client.patch("/v1/users/newbie", json={"role": "office"}, headers=users.headers("admin"))
    assert r.json()["role"] == "office"
    assert any(a.action == "user.update" and a.actor == "user:admin" for a in user_service.recent_audit())


def test_user_creation_validates_in_chinese(client: TestClient, users: Users) -> None:
    r = client.post(
        "/v1/users",
        json={"username": "x y", "password": "short", "role": "boss"},
        headers=users.headers("admin"),
    )
    assert r.status_code == 422
    msgs = " ".join(d["msg"] for d in r.json()["detail"])
    assert "用户名" in msgs and "密码至少需要 8 个字符" in msgs and "角色" in msgs


def test_a_visitor_is_told_asking_needs_login_unless_anonymous_asking_is_on(
    client: TestClient, anon_client: TestClient
) -> None:
    # /v1/ask answers 401 to visitors by default, so /auth/me must not promise "ask".
    me = client.get("/v1/auth/me").json()
    assert me["kind"] == "anonymous" and "ask" not in me["permissions"]
    assert "ask" in anon_client.get("/v1/auth/me").json()["permissions"]
