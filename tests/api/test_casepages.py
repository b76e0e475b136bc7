"""The case workspace pages: list, case page, actions, files, print; roles × own/other unit."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.security import create_token
from api.users import UserService
from complaints.models import CaseNotice
from tests.api.conftest import PASSWORD, SECRET
from tests.api.support import Users
from tests.api.support import post_case_action as _act

PHONE = "13912345678"
ID_CARD = "370102198001011234"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
    b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def colleague(user_service: UserService, users: Users) -> dict[str, str]:
    """A second caseworker of h-jn's unit (济南市退役军人事务局优抚科)."""
    user = user_service.create_user(
        "handler_jn2", PASSWORD, "handler", display_name="李同事", handler_id="h-jn2"
    )
    token = create_token(SECRET, user_id=user.id, username="handler_jn2", role="handler", hours=1)
    return {"Authorization": f"Bearer {token}"}


def _file(client: TestClient, users: Users, region: str = "济南市", text: str | None = None) -> str:
    body = {
        "text": text or f"我在{region}申请优待证三个月了还没有办下来，身份证{ID_CARD}，电话{PHONE}。",
        "region": region,
        "theme": "card",
        "complainant_name": "老李",
        "complainant_phone": PHONE,
        "channel": "visit",
    }
    r = client.post("/v1/complaints", json=body, headers=users.headers("staff"))
    assert r.status_code == 201, r.text
    return str(r.json()["ticket"])


def _notices(session_factory: Any, ticket: str, kind: str | None = None) -> list[CaseNotice]:
    with session_factory() as session:
        stmt = select(CaseNotice).where(CaseNotice.ticket == ticket).order_by(CaseNotice.id)
        return [n for n in session.scalars(stmt) if kind is None or n.kind == kind]



def test_case_list_views_counts_filters_search_and_pages(
    client: TestClient, users: Users, colleague: dict[str, str]
) -> None:
    jn = [_file(client, users) for _ in range(3)]
    yz = _file(client, users, "扬州市", text="扬州景区不认优待证，门票照收。")
    page = client.get("/cases", headers=users.headers("handler_jn"))
    assert page.status_code == 200
    assert all(t in page.text for t in jn) and yz not in page.text
    assert "我的案件" in page.text and "本单位" in page.text and "全部案件" not in page.text
    # the colleague's own queue is empty, their unit view holds h-jn's cases (masked)
    mine = client.get("/cases?view=mine", headers=colleague)
    assert "共 0 件" in mine.text
    unit = client.get("/cases?view=unit", headers=colleague)
    assert "共 3 件" in unit.text and PHONE not in unit.text and ID_CARD not in unit.text
    # office: everything, with search and filters
    office = users.headers("office")
    assert "共 4 件" in client.get("/cases", headers=office).text
    assert "共 1 件" in client.get("/cases?q=景区", headers=office).text
    assert "共 1 件" in client.get(f"/cases?q={jn[1]}", headers=office).text
    assert "共 1 件" in client.get("/cases?region=扬州市", headers=office).text
    assert "共 0 件" in client.get("/cases?overdue=true", headers=office).text
    assert "共 4 件" in client.get("/cases?status=待受理&sort=due", headers=office).text
    # 15-day accept deadlines are not within 3 days: no amber rows
    assert 'class="soon"' not in client.get("/cases", headers=office).text


def test_api_list_has_real_total_and_next_offset(client: TestClient, users: Users) -> None:
    for _ in range(3):
        _file(client, users)
    h = users.headers("handler_jn")
    first = client.get("/v1/complaints?limit=2", headers=h).json()
    assert first["total"] == 3 and len(first["cases"]) == 2 and first["next_offset"] == 2
    second = client.get("/v1/complaints?limit=2&offset=2", headers=h).json()
    assert second["total"] == 3 and len(second["cases"]) == 1 and second["next_offset"] is None
    assert client.get("/v1/complaints?q=优待证", headers=h).json()["total"] == 3
    other = client.get("/v1/complaints?unit=扬州市退役军人事务局优抚处", headers=h)
    assert other.status_code == 403


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("handler_jn", 200),
        ("colleague", 200),
        ("handler_yz", 403),
        ("office", 200),
        ("admin", 200),
        ("staff", 403),
    ],
)
def test_case_page_permissions(
    client: TestClient, users: Users, colleague: dict[str, str], who: str, status: int
) -> None:
    ticket = _file(client, users)
    headers = colleague if who == "colleague" else users.headers(who)
    for path in (f"/cases/{ticket}", f"/cases/{ticket}/print"):
        assert client.get(path, headers=headers).status_code == status, (who, path)
    list_status = 403 if who == "staff" else 200
    assert client.get("/cases", headers=headers).status_code == list_status
    # acting: only the assigned caseworker, office and admin
    r = client.post(
        f"/cases/{ticket}/act",
        data={"action": "note", "note": "电话联系过"},
        headers=headers,
        follow_redirects=False,
    )
    if who in ("handler_jn", "office", "admin"):
        assert r.status_code == 303 and "done=" in r.headers["location"], who
    elif who == "staff":
        assert r.status_code == 403
    else:
        assert r.status_code == 303 and "error=" in r.headers["location"], who
        assert all(e.action != "note" for e in _events(client, users, ticket)), who


def _events(client: TestClient, users: Users, ticket: str) -> list[Any]:
    view = client.get(f"/v1/complaints/{ticket}", headers=users.headers("office")).json()
    return [type("E", (), e) for e in view["events"]]


def test_anonymous_is_sent_to_login(anon_client: TestClient) -> None:
    r = anon_client.get("/cases", follow_redirects=False)
    assert r.status_code in (302, 303) and "/login" in r.headers["location"]


def test_caseworker_takes_a_case_to_conclusion_with_reply_note_and_photo(
    client: TestClient, users: Users, user_service: UserService, session_factory: Any
) -> None:
    ticket = _file(client, users)
    h = users.headers("handler_jn")
    page = client.get(f"/cases/{ticket}", headers=h).text
    # the assigned caseworker sees the numbers in full, and the view is audited
    assert PHONE in page and ID_CARD in page
    assert any(
        a.action == "case.view_unmasked" and a.target == f"case:{ticket}" for a in user_service.recent_audit()
    )
    # only what 待受理 allows (plus notes): no 办结, no 督办 for a caseworker
    offered = re.findall(r'data-action="(\w+)"', page)
    assert offered == ["accept", "reply", "transfer", "reject", "note", "upload"]
    assert "error=" in _act(client, h, ticket, action="conclude", note="办完了")
    assert "done=" in _act(client, h, ticket, action="accept")
    assert "done=" in _act(client, h, ticket, action="start")
    assert "done=" in _act(client, h, ticket, action="reply", note="已联系公交公司核实，请耐心等待。")
    assert "done=" in _act(client, h, ticket, action="note", note="司机工号 K51-07，内部核查中")
    r = client.post(
        f"/cases/{ticket}/files",
        files={"file": ("photo.png", PNG, "image/png")},
        headers=h,
        follow_redirects=False,
    )
    assert r.status_code == 303 and "done=" in r.headers["location"]
    assert "done=" in _act(client, h, ticket, action="extend", days="10", reason="x", note="需要协调公交集团")
    assert "error=" in _act(client, h, ticket, action="extend", days="5", note="再延")
    assert "done=" in _act(client, h, ticket, action="conclude", note="司机已道歉并补办优待乘车。")
    page = client.get(f"/cases/{ticket}", headers=h).text
    assert "已办结" in page and 'src="/cases/' in page and "内部，信访人不可见" in page
    img = client.get(f"/cases/{ticket}/files/0", headers=h)
    assert img.status_code == 200 and img.content == PNG and img.headers["content-type"] == "image/png"
    assert client.get(f"/cases/{ticket}/files/0", headers=users.headers("handler_yz")).status_code == 403
    assert client.get(f"/cases/{ticket}/files/9", headers=h).status_code == 404
    # the complainant's notices: the interim reply, never the internal note
    notices = [n.text for n in _notices(session_factory, ticket, "complainant")]
    assert any("已联系公交公司核实" in t for t in notices)
    assert not any("K51-07" in t for t in notices)
    # 回访 by staff after 办结, once
    office = users.headers("office")
    assert "done=" in _act(client, office, ticket, action="followup", rating="满意")
    assert "error=" in _act(client, office, ticket, action="followup", rating="不满意")


def test_office_supervises_and_caseworker_is_notified(
    client: TestClient, users: Users, case_service: Any, session_factory: Any
) -> None:
    ticket = _file(client, users)
    assert "error=" in _act(
        client, users.headers("handler_jn"), ticket, action="supervise", kind="督办", note="快"
    )
    assert "done=" in _act(
        client, users.headers("office"), ticket, action="supervise", kind="催办", note="请本周内受理"
    )
    view = case_service.get(ticket)
    assert view.events[-1].action == "supervise" and "催办" in (view.events[-1].note or "")
    handler_notices = _notices(session_factory, ticket, "handler")
    assert handler_notices[-1].action == "supervise" and "【催办】" in handler_notices[-1].text


def test_transfer_tells_the_complainant_where_not_the_internal_note(
    client: TestClient, users: Users, case_service: Any, session_factory: Any
) -> None:
    ticket = _file(client, users)
    assert "done=" in _act(
        client,
        users.headers("handler_jn"),
        ticket,
        action="transfer",
        to="济南市交通运输局",
        note="请核查K51路司机工号07",
    )
    view = case_service.get(ticket)
    assert view.result == "已转交济南市交通运输局办理" and view.transferred_to == "济南市交通运输局"
    texts = [n.text for n in _notices(session_factory, ticket, "complainant")]
    assert texts and "已转交济南市交通运输局办理" in texts[-1] and "工号07" not in texts[-1]


def test_landing_pages_by_role(client: TestClient, users: Users) -> None:
    assert (
        client.get("/", headers=users.headers("handler_jn"), follow_redirects=False).headers["location"]
        == "/cases"
    )
    assert (
        client.get("/", headers=users.headers("staff"), follow_redirects=False).headers["location"]
        == "/search"
    )
    office = client.get("/", headers=users.headers("office"), follow_redirects=False).headers["location"]
    assert office in ("/dashboard", "/cases")


def test_api_note_supervise_followup(client: TestClient, users: Users) -> None:
    ticket = _file(client, users)
    url = f"/v1/complaints/{ticket}/actions"
    r = client.post(
        url, json={"action": "note", "note": "内部：已电话联系"}, headers=users.headers("handler_jn")
    )
    assert r.status_code == 200 and r.json()["events"][-1]["action"] == "note"
    r = client.post(url, json={"action": "note", "note": "越权"}, headers=users.headers("handler_yz"))
    assert r.status_code == 403
    r = client.post(url, json={"action": "supervise", "note": "快办"}, headers=users.headers("handler_jn"))
    assert r.status_code == 403
    r = client.post(
        url, json={"action": "supervise", "kind": "催办", "note": "快办"}, headers=users.headers("office")
    )
    assert r.status_code == 200 and "催办" in r.json()["events"][-1]["note"]
    r = client.post(url, json={"action": "followup", "rating": "满意"}, headers=users.headers("office"))
    assert r.status_code == 409  # not concluded yet


def test_web_actions_are_signed_with_the_caseworkers_name_as_telegram_ones_are(
    client: TestClient, users: Users, user_service: UserService, case_service: Any
) -> None:
    # fe27 §8: a caseworker's account made without --name signed 「fe_handler 答复/延期/办结」,
    # while the same caseworker's Telegram actions read 「吴晓燕 受理」.
    user = user_service.create_user("fe_handler", PASSWORD, "handler", handler_id="h-jn")
    token = create_token(SECRET, user_id=user.id, username="fe_handler", role="handler", hours=1)
    h = {"Authorization": f"Bearer {token}"}
    ticket = _file(client, users)
    assert "done=" in _act(client, h, ticket, action="accept")
    # as from Telegram
    case_service.reply(ticket, case_service.caseworker_actor("h-jn"), "已联系公交公司核实。")
    assert "done=" in _act(client, h, ticket, action="note", note="内部核查中")
    # An office account signs with its display name (its login when made without one).
    assert "done=" in _act(client, users.headers("office"), ticket, action="supervise", note="请加快办理")
    events = case_service.get(ticket).events
    signed = {e.action: e.actor_name for e in events}
    assert signed["accept"] == signed["reply"] == signed["note"] == "王承办", signed
    assert signed["supervise"] == "office-显示名"
    page = client.get(f"/cases/{ticket}", headers=h).text
    assert "· 王承办" in page and "· fe_handler" not in page  # the timeline
