"""One region check for ask, search and complaints; trivial complaints refused (issue 12 leftovers)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from complaints.validation import SMALLTALK_MESSAGE, TOO_SHORT_MESSAGE, check_complaint_substance
from tests.api.support import Users
from tests.api.test_pages import _login
from vetbot import regions
from vetbot.errors import InvalidInputError

MARS = regions.UNKNOWN_REGION_MESSAGE.format(name="火星")


def test_validate_region_accepts_places_and_refuses_the_rest() -> None:
    assert regions.validate_region(None) is None and regions.validate_region("  ") is None
    assert regions.validate_region("济南") == "济南市"
    assert regions.validate_region("中国") == "全国"
    assert regions.validate_region("山东省济南市历下区") == "山东省济南市历下区"
    with pytest.raises(InvalidInputError) as info:
        regions.validate_region("火星")
    assert info.value.user_message == MARS


def test_unknown_region_is_the_same_422_for_ask_search_and_complaints(
    client: TestClient, users: Users
) -> None:
    h = users.headers("staff")
    answers = [
        client.post("/v1/ask", json={"question": "优待证怎么办", "region": "火星"}, headers=h),
        client.get("/v1/search", params={"q": "优待证", "region": "火星"}, headers=h),
        client.post("/v1/complaints", json={"text": "济南市服务站三个月没给我办优待证", "region": "火星"},
                    headers=h),
    ]
    for r in answers:
        assert r.status_code == 422, r.text
        assert [d["msg"] for d in r.json()["detail"]] == [MARS]
        assert r.json()["detail"][0]["loc"][-1] == "region"


def test_known_places_pass_everywhere(client: TestClient, users: Users) -> None:
    h = users.headers("staff")
    ask = client.post("/v1/ask", json={"question": "优待证怎么办", "region": "杭州"}, headers=h)
    assert ask.status_code == 200
    # A place the knowledge base has no local rules for is a valid filter (national passages).
    assert client.get("/v1/search", params={"q": "优待证", "region": "杭州市"}, headers=h).status_code == 200
    r = client.post("/v1/complaints", json={"text": "济南市服务站三个月没给我办优待证", "region": "济南"},
                    headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["region"] == "济南市"


@pytest.mark.parametrize(("text", "message"), [
    ("你好", SMALLTALK_MESSAGE),
    ("您好，谢谢！", SMALLTALK_MESSAGE),
    ("有问题！！！", TOO_SHORT_MESSAGE),
    ("😡😡😡😡😡😡😡😡😡😡😡", TOO_SHORT_MESSAGE),
    ("投诉 。。。 ！！", TOO_SHORT_MESSAGE),
])
def test_trivial_complaints_are_refused_with_what_to_include(
    client: TestClient, users: Users, text: str, message: str
) -> None:
    r = client.post("/v1/complaints", json={"text": text}, headers=users.headers("staff"))
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["msg"] == message
    assert r.json()["detail"][0]["loc"] == ["body", "text"]
    assert "时间、地点、经过和您的诉求" in message
    with pytest.raises(InvalidInputError):  # the bot's description step uses the same rule
        check_complaint_substance(text)


def test_a_real_complaint_is_not_trivial() -> None:
    check_complaint_substance("你好，济南市服务站三个月没给我办优待证")


def test_ask_page_refuses_an_unknown_region_like_the_api(client: TestClient) -> None:
    _login(client)
    page = client.post("/ask", data={"question": "优待证怎么办", "region": "火星"})
    assert page.status_code == 422 and MARS in page.text
    assert client.post("/ask", data={"question": "优待证怎么办", "region": "济南"}).status_code == 200


def test_walk_in_intake_refuses_a_greeting(client: TestClient, users: Users) -> None:
    _login(client, "staff", "/intake")
    page = client.post("/intake", data={"text": "你好", "region": "济南市"}, follow_redirects=False)
    assert page.status_code == 422 and SMALLTALK_MESSAGE in page.text
