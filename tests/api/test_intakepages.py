"""Walk-in intake at the station window and its receipt."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.support import Users

ID_CARD = "370102198001011234"
PHONE = "13912345678"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _submit(client: TestClient, users: Users, who: str = "staff", **form: str) -> Any:
    data = {
        "text": "公交司机不认优待证，拒绝免费乘车。",
        "region": "济南市",
        "name": "张大爷",
        "phone": PHONE,
        "id_number": ID_CARD,
        **form,
    }
    return client.post(
        "/intake",
        data=data,
        files=[("files", ("bus.png", PNG, "image/png"))],
        headers=users.headers(who),
        follow_redirects=False,
    )


@pytest.mark.parametrize("who", ["staff", "handler_jn", "office", "admin"])
def test_every_staff_role_may_file_at_the_window(client: TestClient, users: Users, who: str) -> None:
    assert client.get("/intake", headers=users.headers(who)).status_code == 200
    # Reachable from every page's navigation, not only by typing its address (fresh-eyes report).
    assert 'href="/intake"' in client.get("/search", headers=users.headers(who)).text
    r = _submit(client, users, who)
    assert r.status_code == 303 and r.headers["location"].endswith("/receipt")


def test_anonymous_gets_the_login_form(anon_client: TestClient) -> None:
    assert "/login" in anon_client.get("/intake", follow_redirects=False).headers["location"]
    assert anon_client.post("/intake", data={"text": "x"}, follow_redirects=False).status_code in (
        302,
        303,
        401,
    )


def test_walk_in_is_filed_classified_and_the_receipt_masks_numbers(
    client: TestClient, users: Users, case_service: Any
) -> None:
    r = _submit(client, users)
    receipt = client.get(r.headers["location"], headers=users.headers("staff"))
    assert receipt.status_code == 200
    ticket = r.headers["location"].split("/")[2]
    assert ticket in receipt.text and "/status " + ticket in receipt.text and "12345" in receipt.text
    assert ID_CARD not in receipt.text and PHONE not in receipt.text
    view = case_service.get(ticket)
    assert view.channel == "visit" and view.region == "济南市" and view.assigned_handler_id == "h-jn"
    assert view.attachments[0].stored and view.attachments[0].kind == "photo"
    assert ID_CARD not in view.text  # masked for anyone but the caseworker
    full = case_service.get(ticket, case_service.caseworker_actor("h-jn"))
    assert ID_CARD in full.text and full.complainant_phone == PHONE
    # the caseworker sees the photo on the case page
    img = client.get(f"/cases/{ticket}/files/0", headers=users.headers("handler_jn"))
    assert img.status_code == 200 and img.content == PNG
    # the channel is named in Chinese on the case page, not as its code
    page = client.get(f"/cases/{ticket}", headers=users.headers("handler_jn")).text
    assert "来访（服务站登记）" in page and "渠道：visit" not in page


def test_unknown_region_and_empty_text_are_explained(client: TestClient, users: Users) -> None:
    r = _submit(client, users, region="不存在的地方")
    assert r.status_code == 422 and "未找到地区" in r.text and "公交司机不认优待证" in r.text
    r = _submit(client, users, text="   ")
    assert r.status_code == 422 and 'role="alert"' in r.text


@pytest.mark.parametrize("region", ["济南市历下区", "山东省济南市", "山东省济南市历下区", "历下区"])
def test_a_region_written_as_an_address_is_accepted_and_routed(
    client: TestClient, users: Users, case_service: Any, region: str
) -> None:
    r = _submit(client, users, region=region)
    assert r.status_code == 303, r.text
    view = case_service.get(r.headers["location"].split("/")[2])
    assert view.region == "济南市" and view.assigned_handler_id == "h-jn"


def test_the_receipt_tells_the_visitor_how_to_follow_the_case_on_telegram(
    client: TestClient, users: Users
) -> None:
    r = _submit(client, users)
    receipt = client.get(r.headers["location"], headers=users.headers("staff")).text
    ticket = r.headers["location"].split("/")[2]
    assert f"/status {ticket}" in receipt and "按提示输入登记手机号后四位即可查询进度" in receipt
    assert PHONE not in receipt and PHONE[-4:] not in receipt  # the digits are the visitor's proof


@pytest.mark.parametrize(("field", "value", "message"), [
    ("phone", "12345", "联系电话格式不正确"),
    ("phone", "找张三", "联系电话格式不正确"),
    ("id_number", "abc", "身份证号应为 18 位"),
    ("id_number", "37010219800101123", "身份证号应为 18 位"),
])
def test_a_mistyped_phone_or_id_number_is_refused_and_the_form_kept(
    client: TestClient, users: Users, field: str, value: str, message: str
) -> None:
    # They used to be filed as typed: a caseworker with no number to call, a visitor with no
    # last four digits to follow the case with.
    r = _submit(client, users, **{field: value})
    assert r.status_code == 422 and message in r.text
    assert "公交司机不认优待证" in r.text  # nothing typed is lost


def test_landline_full_width_and_lower_case_x_are_accepted(client: TestClient, users: Users) -> None:
    r = _submit(client, users, phone="（0531）8888-1234", id_number="37010219800101123x")
    assert r.status_code == 303
    r = _submit(client, users, phone="+86 139 1234 5678", id_number="")
    assert r.status_code == 303


def test_a_receipt_without_a_phone_does_not_promise_the_telegram_check(
    client: TestClient, users: Users
) -> None:
    r = _submit(client, users, phone="")
    receipt = client.get(r.headers["location"], headers=users.headers("staff")).text
    assert "按提示输入登记手机号后四位" not in receipt
    assert "没有留手机号" in receipt and "12345" in receipt
