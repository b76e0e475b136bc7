"""Partner units (协办/转办), 合并 of duplicates and unit 督办 on the web; roles × own/other unit."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.models import AuditLog
from api.security import create_token
from api.users import UserService
from complaints.models import CaseEvent, CaseNotice
from tests.api.conftest import PASSWORD, SECRET
from tests.api.support import Users
from tests.api.support import post_case_action as _act

PHONE = "13912345678"
ID_CARD = "370102198001011234"
CARD = "6222021234567890123"


def _token(user_service: UserService, name: str, role: str, handler_id: str | None) -> dict[str, str]:
    user = user_service.create_user(name, PASSWORD, role, display_name=f"{name}显示名", handler_id=handler_id)
    token = create_token(SECRET, user_id=user.id, username=name, role=role, hours=1)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def heads(user_service: UserService, users: Users) -> dict[str, dict[str, str]]:
    """Headers by who: the fixture users plus a colleague of h-jn and two partner accounts."""
    out = {n: users.headers(n) for n in ("staff", "handler_jn", "handler_yz", "office", "admin")}
    out["colleague"] = _token(user_service, "handler_jn2", "handler", "h-jn2")
    out["partner_jt"] = _token(user_service, "jt_clerk", "partner", "p-jt")
    out["partner_jy"] = _token(user_service, "jy_clerk", "partner", "p-jy")
    return out


def _file(
    client: TestClient, users: Users, region: str = "济南市", theme: str = "transit", **extra: Any
) -> str:
    body = {
        "text": f"{region}公交司机不认优待证，拒绝免费乘车。身份证{ID_CARD}，电话{PHONE}，卡号{CARD}。",
        "region": region,
        "theme": theme,
        "complainant_name": "李建国",
        "complainant_phone": PHONE,
        "channel": "visit",
        **extra,
    }
    r = client.post("/v1/complaints", json=body, headers=users.headers("staff"))
    assert r.status_code == 201, r.text
    return str(r.json()["ticket"])



def _events(session_factory: Any, ticket: str) -> list[CaseEvent]:
    from complaints.models import Case

    with session_factory() as session:
        case_id = session.scalar(select(Case.id).where(Case.ticket == ticket))
        return list(
            session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id))
        )


def _notices(session_factory: Any, ticket: str) -> list[CaseNotice]:
    with session_factory() as session:
        return list(
            session.scalars(select(CaseNotice).where(CaseNotice.ticket == ticket).order_by(CaseNotice.id))
        )


def test_assist_request_answer_and_partner_scope(
    client: TestClient, users: Users, heads: dict[str, dict[str, str]], session_factory: Any
) -> None:
    ticket = _file(client, users)
    other = _file(client, users)
    hj = heads["handler_jn"]
    # 协办 is not offered before 受理
    assert 'data-action="assist"' not in client.get(f"/cases/{ticket}", headers=hj).text
    assert "done=" in _act(client, hj, ticket, action="accept")
    page = client.get(f"/cases/{ticket}", headers=hj).text
    assert 'data-action="assist"' in page and "济南市交通运输局" in page
    # partners cannot see the case before it is sent to them: 404 like an unknown ticket
    assert client.get(f"/cases/{ticket}", headers=heads["partner_jt"]).status_code == 404
    assert "done=" in _act(
        client, hj, ticket, action="assist", partner_id="p-jt", days="7", note="请核查该线路"
    )
    # the owner sees the request with its deadline on the page and the timeline
    page = client.get(f"/cases/{ticket}", headers=hj).text
    assert 'id="assists"' in page and "待答复" in page and "请济南市交通运输局协办" in page
    # the partner: its queue holds only this case, masked; it may answer, nothing else
    queue = client.get("/cases", headers=heads["partner_jt"]).text
    assert ticket in queue and other not in queue and "共 1 件" in queue
    pp = client.get(f"/cases/{ticket}", headers=heads["partner_jt"])
    assert pp.status_code == 200
    offered = re.findall(r'data-action="(\w+)"', pp.text)
    assert offered == ["assist_reply"]
    assert PHONE not in pp.text and ID_CARD not in pp.text and CARD not in pp.text and "李建国" not in pp.text
    assert client.get(f"/cases/{other}", headers=heads["partner_jt"]).status_code == 404
    assert client.get(f"/cases/{ticket}", headers=heads["partner_jy"]).status_code == 404
    assert "error=" in _act(client, heads["partner_jt"], ticket, action="conclude", note="已办")
    assert "error=" in _act(client, heads["partner_jt"], ticket, action="note", note="内部")
    # the partner answers; the owner is notified and sees it
    assert "done=" in _act(
        client, heads["partner_jt"], ticket, action="assist_reply", note="已约谈公交公司整改"
    )
    assert "error=" in _act(client, heads["partner_jt"], ticket, action="assist_reply", note="再答一次")
    page = client.get(f"/cases/{ticket}", headers=hj).text
    assert "已约谈公交公司整改" in page and "已答复" in page
    actions = [e.action for e in _events(session_factory, ticket)]
    assert actions[-2:] == ["assist", "assist_reply"]
    owner_notice = _notices(session_factory, ticket)[-1]
    assert (
        owner_notice.kind == "handler"
        and owner_notice.handler_id == "h-jn"
        and "协办答复" in owner_notice.text
    )
    # the partner's API list is narrowed the same way
    listed = client.get("/v1/complaints", headers=heads["partner_jt"]).json()
    assert [c["ticket"] for c in listed["cases"]] == [ticket] and listed["total"] == 1
    # a partner account cannot act through the API either, nor look cases up
    r = client.post(
        f"/v1/complaints/{ticket}/actions", json={"action": "accept"}, headers=heads["partner_jt"]
    )
    assert r.status_code == 403
    assert client.get(f"/v1/complaints/{other}", headers=heads["partner_jt"]).status_code == 403
    assert (
        client.post("/v1/complaints", json={"text": "x" * 20}, headers=heads["partner_jt"]).status_code == 403
    )


def test_transfer_to_partner_is_visible_to_it_and_told_to_the_complainant(
    client: TestClient, users: Users, heads: dict[str, dict[str, str]], session_factory: Any
) -> None:
    ticket = _file(client, users)
    loc = _act(
        client, heads["handler_jn"], ticket, action="transfer", partner_id="p-jt", note="线路属交通部门管理"
    )
    assert "done=" in loc
    page = client.get(f"/cases/{ticket}", headers=heads["partner_jt"])
    assert page.status_code == 200 and "已转交济南市交通运输局办理" in page.text
    complainant = [n for n in _notices(session_factory, ticket) if n.kind == "complainant"][-1]
    assert "已转交济南市交通运输局办理" in complainant.text and "线路属交通部门管理" not in complainant.text
    assert client.get(f"/cases/{ticket}", headers=heads["partner_jy"]).status_code == 404


def test_merge_duplicate_shows_on_both_timelines(
    client: TestClient, users: Users, heads: dict[str, dict[str, str]], session_factory: Any
) -> None:
    first = _file(client, users)
    dup = _file(client, users)
    elsewhere = _file(client, users, region="扬州市", theme="education", complainant_phone="13800001111")
    hj = heads["handler_jn"]
    page = client.get(f"/cases/{dup}", headers=hj).text
    assert 'data-action="merge"' in page and f'value="{first}"' in page
    # unrelated cases (other person, other theme and region) are not merged
    loc = _act(client, heads["office"], dup, action="merge", into=elsewhere)
    assert "error=" in loc
    assert "done=" in _act(client, hj, dup, action="merge", into=first, note="同一事项重复提交")
    merged = client.get(f"/cases/{dup}", headers=hj).text
    assert "已合并至" in merged and f'href="/cases/{first}"' in merged and "已合并" in merged
    assert [e.action for e in _events(session_factory, dup)][-1] == "merge"
    survivor = _events(session_factory, first)[-1]
    assert survivor.action == "merged_in" and dup in (survivor.note or "")
    told = [n for n in _notices(session_factory, dup) if n.kind == "complainant"][-1]
    assert first in told.text and f"/status {dup}" in told.text
    # a merged case takes no more actions; merging into itself is refused
    assert "error=" in _act(client, hj, dup, action="accept")
    assert "error=" in _act(client, hj, first, action="merge", into=first)
    # the API shows merged_into
    assert client.get(f"/v1/complaints/{dup}", headers=users.headers("office")).json()["merged_into"] == first


ROLES_OTHER = ["staff", "handler_yz", "colleague", "partner_jt", "partner_jy"]


@pytest.mark.parametrize(
    "who", ["staff", "handler_jn", "handler_yz", "colleague", "office", "admin", "partner_jt"]
)
def test_new_actions_by_role_and_unit(
    client: TestClient, users: Users, heads: dict[str, dict[str, str]], who: str
) -> None:
    """协办 and 合并 are for the assigned caseworker and the office/admin only."""
    ticket = _file(client, users)
    dup = _file(client, users)
    _act(client, heads["handler_jn"], ticket, action="accept")
    entitled = who in ("handler_jn", "office", "admin")
    r = client.post(
        f"/cases/{ticket}/act",
        data={"action": "assist", "partner_id": "p-jt", "note": "请协助"},
        headers=heads[who],
        follow_redirects=False,
    )
    if who == "staff":
        assert r.status_code == 403  # no case workspace at all
    elif who in ("handler_yz", "partner_jt"):
        # another unit: 403 page / partner: not sent to it yet, 404 inside the action → error
        assert r.status_code == 303 and "error=" in r.headers["location"]
    else:
        assert r.status_code == 303
        assert ("done=" in r.headers["location"]) is entitled
    r = client.post(
        f"/cases/{dup}/act",
        data={"action": "merge", "into": ticket},
        headers=heads[who],
        follow_redirects=False,
    )
    if who == "staff":
        assert r.status_code == 403
    else:
        assert r.status_code == 303 and ("done=" in r.headers["location"]) is entitled


@pytest.mark.parametrize("who", ["staff", "handler_jn", "partner_jt", "office", "admin"])
def test_unit_supervision_permissions_and_effect(
    client: TestClient, users: Users, heads: dict[str, dict[str, str]], session_factory: Any, who: str
) -> None:
    jn = [_file(client, users), _file(client, users)]
    yz = _file(client, users, region="扬州市", theme="education", complainant_phone="13800001111")
    r = client.post(
        "/dashboard/units/supervise",
        data={"unit": "济南市退役军人事务局优抚科", "kind": "催办", "text": "请加快办理"},
        headers=heads[who],
        follow_redirects=False,
    )
    if who in ("office", "admin"):
        assert r.status_code == 303 and "done=" in r.headers["location"]
        for t in jn:
            last = _events(session_factory, t)[-1]
            assert last.action == "supervise" and "催办" in (last.note or "")
        assert _events(session_factory, yz)[-1].action != "supervise"
        with session_factory() as session:
            assert session.scalar(select(AuditLog).where(AuditLog.action == "unit.supervise")) is not None
        page = client.get(r.headers["location"], headers=heads[who]).text
        assert "已向济南市退役军人事务局优抚科发出催办" in page
    else:
        assert r.status_code == 403
        assert all(_events(session_factory, t)[-1].action != "supervise" for t in jn)


def test_dashboard_unit_figures_and_links(
    client: TestClient, users: Users, heads: dict[str, dict[str, str]]
) -> None:
    first = _file(client, users)
    _file(client, users)  # the same person, same theme: a repeat complaint
    office = heads["office"]
    _act(client, heads["handler_jn"], first, action="accept")
    _act(client, heads["handler_jn"], first, action="conclude", note="已协调公交公司")
    _act(client, office, first, action="followup", rating="满意")
    page = client.get("/dashboard", headers=office).text
    units = page[page.index('id="units"') :]
    units = units[: units.index("</section>")]
    row = units[units.index('data-unit="济南市退役军人事务局优抚科"') :]
    row = row[: row.index("</tr>")]
    cells = re.findall(r'<td class="num">([^<]+)', row)
    # 件数 2, 在办 1, 超期 0, on time 100%, satisfied 100%, repeats 50%
    assert cells[:6] == ["2", "1", "0", "100%", "100%", "50%"]
    assert 'action="/dashboard/units/supervise"' in units
    assert "/cases?unit=" in units


def test_names_and_numbers_masked_except_assigned_and_admin_each_view_audited(
    client: TestClient, users: Users, heads: dict[str, dict[str, str]], session_factory: Any
) -> None:
    ticket = _file(client, users)
    for who in ("colleague", "office"):
        for path in (f"/cases/{ticket}", f"/cases/{ticket}/print"):
            html = client.get(path, headers=heads[who]).text
            assert "李**" in html and "李建国" not in html, (who, path)
            assert PHONE not in html and ID_CARD not in html and CARD not in html, (who, path)
    for who in ("handler_jn", "admin"):
        html = client.get(f"/cases/{ticket}", headers=heads[who]).text
        assert "李建国" in html and PHONE in html and ID_CARD in html, who
    with session_factory() as session:
        audited = session.scalars(
            select(AuditLog).where(
                AuditLog.action == "case.view_unmasked", AuditLog.target == f"case:{ticket}"
            )
        ).all()
    assert {a.actor for a in audited} == {"user:handler_jn", "user:admin"}


RAW = re.compile(r"(?<![\d*])(1[3-9]\d{9}|\d{17}[\dXx]|\d{16,19})(?![\d*])")


def test_no_full_numbers_or_name_for_unentitled_viewers_anywhere(
    client: TestClient, users: Users, heads: dict[str, dict[str, str]]
) -> None:
    """Complaints carrying an ID card, a phone and a bank card number: no page, list, work order,
    API answer or export shows them (or the full name) to a viewer who is not entitled."""
    ticket = _file(client, users)
    _act(client, heads["handler_jn"], ticket, action="accept")
    _act(client, heads["handler_jn"], ticket, action="assist", partner_id="p-jt", note=f"联系电话{PHONE}")
    _act(client, heads["handler_jn"], ticket, action="reply", note=f"已核实卡号{CARD}的补贴")
    unentitled = {
        "colleague": [f"/cases/{ticket}", f"/cases/{ticket}/print", "/cases?view=unit"],
        "office": [
            f"/cases/{ticket}",
            f"/cases/{ticket}/print",
            "/cases",
            "/dashboard",
            "/dashboard/themes/transit",
            "/dashboard/export/cases.csv",
            "/v1/complaints",
            f"/v1/complaints/{ticket}",
        ],
        "partner_jt": [f"/cases/{ticket}", f"/cases/{ticket}/print", "/cases", "/v1/complaints"],
        "staff": [f"/v1/complaints/{ticket}"],
    }
    for who, paths in unentitled.items():
        for path in paths:
            r = client.get(path, headers=heads[who])
            assert r.status_code == 200, (who, path, r.status_code)
            body = r.content.decode("utf-8-sig")
            assert not RAW.search(body), (who, path, RAW.search(body))
            assert "李建国" not in body, (who, path)
    # the admin's export stays masked too (exports leave the system)
    export = client.get("/dashboard/export/cases.csv", headers=heads["admin"]).content.decode("utf-8-sig")
    assert ticket in export and not RAW.search(export)


def test_api_parity_assist_answer_merge_and_masked_name(
    client: TestClient, users: Users, heads: dict[str, dict[str, str]]
) -> None:
    ticket = _file(client, users)
    dup = _file(client, users)
    hj = heads["handler_jn"]

    def act(who: str, t: str, **body: Any) -> Any:
        return client.post(f"/v1/complaints/{t}/actions", json=body, headers=heads[who])

    assert act("handler_jn", ticket, action="accept").status_code == 200
    assert act("handler_jn", ticket, action="assist", partner_id="p-jt").status_code == 422  # no note
    r = act("handler_jn", ticket, action="assist", partner_id="p-jt", note="请协助核查", days=5)
    assert r.status_code == 200 and r.json()["events"][-1]["action"] == "assist"
    assert act("partner_jy", ticket, action="assist_reply", note="不是我们的").status_code == 404
    assert act("handler_jn", ticket, action="assist_reply", note="代答").status_code == 403
    r = act("partner_jt", ticket, action="assist_reply", note="已约谈")
    assert r.status_code == 200 and r.json()["complainant_name"] == "李**"
    assert act("handler_yz", dup, action="merge", into=ticket).status_code == 403
    r = act("office", dup, action="merge", into=ticket)
    assert r.status_code == 200 and r.json()["status"] == "已合并" and r.json()["merged_into"] == ticket
    assert r.json()["complainant_name"] == "李**"  # office: the name masked on action answers too
    assert client.get("/v1/complaints", headers=hj).json()["total"] == 2


def test_admin_creates_partner_accounts_only_for_known_partner_units(
    client: TestClient, users: Users
) -> None:
    body = {"username": "wl_clerk", "password": "long-enough-pass-1", "role": "partner", "handler_id": "p-jy"}
    r = client.post("/v1/users", json=body, headers=users.headers("admin"))
    assert r.status_code == 201 and r.json()["role"] == "partner"
    bad = {**body, "username": "ghost", "handler_id": "p-nowhere"}
    assert client.post("/v1/users", json=bad, headers=users.headers("admin")).status_code == 422
    assert client.post("/v1/users", json=body, headers=users.headers("office")).status_code == 403
