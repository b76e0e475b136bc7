"""Complaint endpoints over the real CaseService on a temp SQLite database."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from api.users import UserService
from tests.api.support import Users

PHONE = "13912345678"


def _file(client: TestClient, users: Users, region: str = "济南市", who: str = "staff", **extra: Any) -> dict:
    body = {
        "text": f"我在{region}申请优待证三个月了还没有办下来，联系电话{PHONE}。",
        "region": region,
        "theme": "card",
        "complainant_name": "老李",
        "complainant_phone": PHONE,
        "channel": "visit",
        **extra,
    }
    r = client.post("/v1/complaints", json=body, headers=users.headers(who))
    assert r.status_code == 201, r.text
    return r.json()


def test_staff_files_a_complaint_routed_by_region(
    client: TestClient, users: Users, user_service: UserService
) -> None:
    case = _file(client, users)
    assert case["ticket"].startswith("TS-")
    assert case["status"] == "待受理"
    assert case["assigned_handler_id"] == "h-jn"
    assert case["masked"] is True and PHONE not in str(case)
    assert any(
        a.action == "complaint.intake" and a.target == f"case:{case['ticket']}" and a.actor == "user:staff"
        for a in user_service.recent_audit()
    )
    assert 'vetbot_complaints_filed_total{channel="visit"} 1.0' in client.get("/metrics").text


def test_intake_validation(client: TestClient, users: Users) -> None:
    h = users.headers("staff")
    r = client.post("/v1/complaints", json={"text": "   "}, headers=h)
    assert r.status_code == 422 and "投诉内容不能为空" in r.json()["detail"][0]["msg"]
    assert "咨询" not in r.json()["detail"][0]["msg"]  # a complaint is not a question
    r = client.post("/v1/complaints", json={"text": "有问题", "channel": "pigeon"}, headers=h)
    assert r.status_code == 422 and "渠道的取值无效" in r.json()["detail"][0]["msg"]
    r = client.post("/v1/complaints", json={"text": "有问题", "theme": "weather"}, headers=h)
    assert r.status_code == 422 and "未知的投诉主题" in r.json()["detail"][0]["msg"]


def test_status_is_masked_except_for_the_assigned_handler(client: TestClient, users: Users) -> None:
    ticket = _file(client, users)["ticket"]
    for who in ("staff", "handler_yz", "office"):
        view = client.get(f"/v1/complaints/{ticket}", headers=users.headers(who)).json()
        assert view["masked"] is True, who
        assert PHONE not in view["text"] and view["complainant_phone"] != PHONE, who
    own = client.get(f"/v1/complaints/{ticket}", headers=users.headers("handler_jn")).json()
    assert own["masked"] is False and own["complainant_phone"] == PHONE and PHONE in own["text"]
    assert [e["action"] for e in own["events"]] == ["intake", "assign"]
    r = client.get("/v1/complaints/TS-20000101-9999", headers=users.headers("staff"))
    assert r.status_code == 404 and "未找到" in r.json()["detail"]


def test_listing_by_role(client: TestClient, users: Users) -> None:
    jn = _file(client, users, "济南市")["ticket"]
    yz = _file(client, users, "扬州市")["ticket"]
    assert client.get("/v1/complaints", headers=users.headers("staff")).status_code == 403
    own = client.get("/v1/complaints", headers=users.headers("handler_jn")).json()
    assert [c["ticket"] for c in own["cases"]] == [jn]
    other = client.get("/v1/complaints", params={"handler": "h-jn"}, headers=users.headers("handler_yz"))
    assert other.status_code == 403 and "自己" in other.json()["detail"]
    everything = client.get("/v1/complaints", headers=users.headers("office")).json()
    assert {c["ticket"] for c in everything["cases"]} == {jn, yz}
    only_yz = client.get("/v1/complaints", params={"region": "扬州"}, headers=users.headers("office")).json()
    assert [c["ticket"] for c in only_yz["cases"]] == [yz]
    by_handler = client.get(
        "/v1/complaints", params={"handler": "h-jn"}, headers=users.headers("admin")
    ).json()
    assert [c["ticket"] for c in by_handler["cases"]] == [jn]
    bad = client.get("/v1/complaints", params={"status": "lost"}, headers=users.headers("office"))
    assert bad.status_code == 422 and "未知的案件状态" in bad.json()["detail"][0]["msg"]
    bad_date = client.get(
        "/v1/complaints", params={"created_from": "yesterday"}, headers=users.headers("office")
    )
    assert bad_date.status_code == 422 and "日期格式" in bad_date.json()["detail"][0]["msg"]


def test_handler_lifecycle_and_permissions(client: TestClient, users: Users) -> None:
    ticket = _file(client, users)["ticket"]
    url = f"/v1/complaints/{ticket}/actions"
    assert client.post(url, json={"action": "accept"}, headers=users.headers("staff")).status_code == 403
    r = client.post(url, json={"action": "accept"}, headers=users.headers("handler_yz"))
    assert r.status_code == 403 and "承办人" in r.json()["detail"]
    r = client.post(url, json={"action": "accept", "note": "材料齐全"}, headers=users.headers("handler_jn"))
    assert r.status_code == 200 and r.json()["status"] == "已受理" and r.json()["conclude_due"]
    again = client.post(url, json={"action": "accept"}, headers=users.headers("handler_jn"))
    assert again.status_code == 409 and "不能进行“受理”操作" in again.json()["detail"]
    assert (
        client.post(url, json={"action": "start"}, headers=users.headers("handler_jn")).json()["status"]
        == "办理中"
    )
    missing_days = client.post(
        url, json={"action": "extend", "note": "情况复杂"}, headers=users.headers("handler_jn")
    )
    assert missing_days.status_code == 422 and "延期天数" in missing_days.json()["detail"][0]["msg"]
    too_long = client.post(
        url, json={"action": "extend", "days": 45, "note": "x"}, headers=users.headers("handler_jn")
    )
    assert too_long.status_code == 422 and "天数不能大于 30" in too_long.json()["detail"][0]["msg"]
    ext = client.post(
        url,
        json={"action": "extend", "days": 10, "note": "需要多部门核实"},
        headers=users.headers("handler_jn"),
    )
    assert ext.status_code == 200 and ext.json()["extended"] is True
    no_result = client.post(url, json={"action": "conclude"}, headers=users.headers("handler_jn"))
    assert no_result.status_code == 422 and "办理结果" in no_result.json()["detail"][0]["msg"]
    done = client.post(
        url, json={"action": "conclude", "note": "已补办优待证"}, headers=users.headers("handler_jn")
    )
    assert done.status_code == 200 and done.json()["status"] == "已办结"
    events = [e["action"] for e in done.json()["events"]]
    assert events == ["intake", "assign", "accept", "start", "extend", "conclude"]


def test_reject_transfer_reassign_and_bad_actions(client: TestClient, users: Users) -> None:
    t1 = _file(client, users)["ticket"]
    u1 = f"/v1/complaints/{t1}/actions"
    r = client.post(u1, json={"action": "reject"}, headers=users.headers("handler_jn"))
    assert r.status_code == 422 and "理由" in r.json()["detail"][0]["msg"]
    r = client.post(u1, json={"action": "transfer"}, headers=users.headers("handler_jn"))
    assert r.status_code == 422 and "转办" in r.json()["detail"][0]["msg"]
    r = client.post(u1, json={"action": "fly"}, headers=users.headers("handler_jn"))
    assert r.status_code == 422 and "操作的取值无效" in r.json()["detail"][0]["msg"]
    r = client.post(
        u1, json={"action": "reassign", "handler_id": "h-yz"}, headers=users.headers("handler_jn")
    )
    assert r.status_code == 403
    r = client.post(
        u1,
        json={"action": "reassign", "handler_id": "h-yz", "note": "属地调整"},
        headers=users.headers("office"),
    )
    assert r.status_code == 200 and r.json()["assigned_handler_id"] == "h-yz"
    # the previous handler lost the case, the new one can act on it
    assert client.post(u1, json={"action": "accept"}, headers=users.headers("handler_jn")).status_code == 403
    r = client.post(u1, json={"action": "transfer", "to": "市住建局"}, headers=users.headers("handler_yz"))
    assert r.status_code == 200 and r.json()["status"] == "已转办"
    t2 = _file(client, users)["ticket"]
    r = client.post(
        f"/v1/complaints/{t2}/actions",
        json={"action": "reject", "note": "不属于本系统受理范围"},
        headers=users.headers("admin"),
    )
    assert r.status_code == 200 and r.json()["status"] == "不予受理"
    missing = client.post(
        "/v1/complaints/TS-20000101-0001/actions", json={"action": "accept"}, headers=users.headers("office")
    )
    assert missing.status_code == 404


def test_a_mistyped_complainant_phone_is_a_422_on_that_field(client: TestClient, users: Users) -> None:
    body = {"text": "公交司机不认优待证，拒绝免费乘车。", "region": "济南市", "channel": "phone",
            "complainant_phone": "12345"}
    r = client.post("/v1/complaints", json=body, headers=users.headers("staff"))
    assert r.status_code == 422, r.text
    assert "联系电话格式不正确" in r.text and "complainant_phone" in r.text
