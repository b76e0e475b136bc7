"""补登/更正联系电话 on the case page and in the API: a walk-in case registered without a phone
gets one later, so its complainant can follow it in Telegram (fe25 §8: the receipt promised it
and nothing did it)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.support import Users
from tests.api.support import post_case_action as _act

NEW_PHONE = "13987654321"


def _walk_in(client: TestClient, users: Users) -> str:
    body = {
        "text": "在济南K51路公交车上，司机不认退役军人优待证，要求我投币乘车。",
        "region": "济南市",
        "theme": "card",
        "complainant_name": "老李",
        "channel": "visit",
    }
    r = client.post("/v1/complaints", json=body, headers=users.headers("staff"))
    assert r.status_code == 201, r.text
    return str(r.json()["ticket"])



def test_the_caseworker_adds_a_phone_on_the_case_page_masked_in_the_history(
    client: TestClient, users: Users, case_service: Any, caplog: pytest.LogCaptureFixture
) -> None:
    ticket = _walk_in(client, users)
    h = users.headers("handler_jn")
    page = client.get(f"/cases/{ticket}", headers=h).text
    assert 'id="phone-edit"' in page and "补登联系电话" in page and 'name="phone"' in page
    assert "error=" in _act(client, h, ticket, action="phone", phone="1234")  # refused, with the reason
    caplog.set_level(logging.DEBUG)
    assert "done=" in _act(client, h, ticket, action="phone", phone="139 8765 4321", note="本人到窗口补登")
    assert NEW_PHONE not in "\n".join(r.getMessage() for r in caplog.records)
    view = case_service.get(ticket)
    assert view.complainant_phone == "139****4321"
    assert (
        view.events[-1].action == "phone"
        and view.events[-1].note == "联系电话补登 139****4321；本人到窗口补登"
    )
    # the caseworker sees the number in full; the history shows it masked, as internal
    page = client.get(f"/cases/{ticket}", headers=h).text
    assert f'<dd id="phone">{NEW_PHONE}</dd>' in page and "更正联系电话" in page
    assert "联系电话补登 139****4321" in page
    # office sees it masked and may correct it
    office = users.headers("office")
    page = client.get(f"/cases/{ticket}", headers=office).text
    assert NEW_PHONE not in page and "139****4321" in page and 'id="phone-edit"' in page
    assert "done=" in _act(client, office, ticket, action="phone", phone="0531-88881234")
    assert case_service.get(ticket).events[-1].note == "联系电话由 139****4321 更正为 053****1234"


def test_who_may_not_act_on_the_case_may_not_change_its_phone(
    client: TestClient, users: Users, case_service: Any
) -> None:
    ticket = _walk_in(client, users)
    # a caseworker of another unit: no form, and a forged post is refused
    assert client.get(f"/cases/{ticket}", headers=users.headers("handler_yz")).status_code == 403
    assert "error=" in _act(client, users.headers("handler_yz"), ticket, action="phone", phone=NEW_PHONE)
    # station staff file cases but do not act on them
    r = client.post(
        f"/cases/{ticket}/act",
        data={"action": "phone", "phone": NEW_PHONE},
        headers=users.headers("staff"),
        follow_redirects=False,
    )
    assert r.status_code == 403
    assert case_service.get(ticket).complainant_phone is None


def test_the_api_action_phone(client: TestClient, users: Users, case_service: Any) -> None:
    ticket = _walk_in(client, users)
    url = f"/v1/complaints/{ticket}/actions"
    r = client.post(url, json={"action": "phone", "phone": NEW_PHONE}, headers=users.headers("handler_jn"))
    assert r.status_code == 200, r.text
    assert r.json()["complainant_phone"] == NEW_PHONE  # the assigned caseworker
    assert r.json()["events"][-1]["note"] == "联系电话补登 139****4321"
    r = client.post(url, json={"action": "phone"}, headers=users.headers("handler_jn"))
    assert r.status_code == 422
    r = client.post(url, json={"action": "phone", "phone": "12"}, headers=users.headers("handler_jn"))
    assert r.status_code == 422 and "11 位手机号" in r.text
    r = client.post(url, json={"action": "phone", "phone": NEW_PHONE}, headers=users.headers("handler_yz"))
    assert r.status_code == 403
    r = client.post(url, json={"action": "phone", "phone": "021-68881234"}, headers=users.headers("office"))
    assert r.status_code == 200 and r.json()["complainant_phone"] == "021****1234"
    assert case_service.get(ticket).events[-1].actor_role == "office"


def test_a_receipt_without_a_phone_says_the_phone_can_be_added_later(
    client: TestClient, users: Users
) -> None:
    r = client.post(
        "/intake",
        data={"text": "公交司机不认优待证，拒绝免费乘车。", "region": "济南市", "phone": ""},
        headers=users.headers("staff"),
        follow_redirects=False,
    )
    receipt = client.get(r.headers["location"], headers=users.headers("staff")).text
    assert "补登手机号" in receipt and "/status TS-" in receipt
