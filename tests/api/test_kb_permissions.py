"""Every knowledge-base admin route, for every role: who may see and change what."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.users import UserService
from tests.api.kb_support import add_editor, make_kb_app
from tests.api.support import Users
from vetbot.settings import Settings

DOC = "jinan-transit.md"
ROLES = ("staff", "handler_jn", "office", "editor", "admin")
EDITORS = {"editor", "admin"}
ADMINS = {"admin"}

# (method, url, form, who may) — the curated answer 1 is created by the fixture.
ROUTES: list[tuple[str, str, dict[str, str], set[str]]] = [
    ("GET", "/kb", {}, EDITORS),
    ("GET", f"/kb/docs/{DOC}", {}, EDITORS),
    ("GET", "/kb/hittest?q=公交免费吗", {}, EDITORS),
    ("GET", "/kb/curated", {}, EDITORS),
    ("GET", "/kb/curated/new", {}, EDITORS),
    ("GET", "/kb/curated/1", {}, EDITORS),
    ("POST", f"/kb/docs/{DOC}/meta", {"issuer": "测试济南市退役军人事务局（改）"}, EDITORS),
    ("POST", f"/kb/docs/{DOC}/passage", {"key": "第三条", "label": "第三条之一"}, EDITORS),
    ("POST", f"/kb/docs/{DOC}/disable", {}, EDITORS),
    ("POST", f"/kb/docs/{DOC}/enable", {}, EDITORS),
    ("POST", f"/kb/docs/{DOC}/reingest", {}, ADMINS),
    ("POST", "/kb/curated", {"question": "公交怎么坐", "answer": "持证免费。", "citations": DOC}, EDITORS),
    (
        "POST",
        "/kb/curated/1",
        {"question": "公交怎么坐", "answer": "持证免费乘坐。", "citations": DOC},
        EDITORS,
    ),
    ("POST", "/kb/curated/1/retire", {}, EDITORS),
    ("POST", f"/kb/docs/{DOC}/delete", {}, ADMINS),
]


@pytest.fixture
def kb(settings: Settings, case_service: Any, session_factory: Any) -> Iterator[TestClient]:
    app = make_kb_app(settings, case_service, session_factory)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def staff(user_service: UserService, users: Users, kb: TestClient) -> Users:
    everyone = add_editor(user_service, users)
    r = kb.post(
        "/kb/curated",
        data={"question": "公交免费吗", "answer": "免费。", "citations": DOC},
        headers=everyone.headers("editor"),
        follow_redirects=False,
    )
    assert r.status_code == 303
    return everyone


@pytest.mark.parametrize(
    ("method", "url", "form", "allowed"), ROUTES, ids=[f"{m} {u}" for m, u, _, _ in ROUTES]
)
def test_route_permissions(
    kb: TestClient, staff: Users, method: str, url: str, form: dict[str, str], allowed: set[str]
) -> None:
    anonymous = kb.request(method, url, data=form or None, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    audit_before = len(kb.app.state.runtime.users.recent_audit(limit=1000))  # type: ignore[attr-defined]
    for who in ROLES:
        if who in allowed:
            continue
        r = kb.request(method, url, data=form or None, headers=staff.headers(who), follow_redirects=False)
        assert r.status_code == 403, (who, r.status_code)
    # Refused attempts change nothing and write no audit record.
    assert len(kb.app.state.runtime.users.recent_audit(limit=1000)) == audit_before  # type: ignore[attr-defined]
    for who in sorted(allowed):
        r = kb.request(method, url, data=form or None, headers=staff.headers(who), follow_redirects=False)
        assert r.status_code in (200, 303), (who, r.status_code, r.text[:300])
    entries = kb.app.state.runtime.users.recent_audit(limit=1000)  # type: ignore[attr-defined]
    new = entries[: len(entries) - audit_before]
    if method == "POST":
        # Every change is audited with who and before/after (a repeated identical edit is no change).
        assert new and all(e.action.startswith("kb.") for e in new)
        assert {e.actor for e in new} <= {f"user:{who}" for who in allowed}
        changes = [e for e in new if e.action != "kb.curated.expire"]
        assert all("before" in e.detail and "after" in e.detail for e in changes)
    else:
        assert [e.action for e in new if e.action.startswith("kb.") and e.action != "kb.curated.expire"] == []


def test_navigation_shows_the_kb_admin_to_editors_and_admins_only(kb: TestClient, staff: Users) -> None:
    for who in ROLES:
        page = kb.get("/search", headers=staff.headers(who))
        assert ('href="/kb"' in page.text) == (who in EDITORS), who


def test_cross_site_form_posts_are_refused(kb: TestClient, staff: Users) -> None:
    cookie = staff.tokens["editor"]
    kb.cookies.set("vetbot_session", cookie)
    r = kb.post(f"/kb/docs/{DOC}/disable", headers={"Origin": "https://evil.example"}, follow_redirects=False)
    assert r.status_code == 403
    assert DOC in kb.app.state.runtime.knowledge.store.documents  # type: ignore[attr-defined]
