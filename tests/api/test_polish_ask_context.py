"""POST /v1/ask carries a conversation like the bot and the ask page (issue 17 leftover)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.support import Users


def test_follow_up_over_the_api(client: TestClient, users: Users) -> None:
    h = users.headers("staff")
    first = client.post("/v1/ask", json={"question": "我是残疾军人，坐公交免费吗"}, headers=h)
    assert first.status_code == 200, first.text
    state = first.json()["context"]
    assert isinstance(state, dict) and state.get("question")
    follow = client.post("/v1/ask", json={"question": "那火车呢？", "context": state}, headers=h).json()
    assert follow["understood_as"] == "残疾军人乘火车有什么优待？"
    assert follow["log_id"] and follow["context"]
    # Without a context the same words are a stand-alone question, as before.
    alone = client.post("/v1/ask", json={"question": "那火车呢？"}, headers=h).json()
    assert alone["understood_as"] is None


def test_small_talk_and_bad_contexts_over_the_api(client: TestClient, users: Users) -> None:
    h = users.headers("staff")
    hello = client.post("/v1/ask", json={"question": "你好"}, headers=h).json()
    assert hello["intent"] == "smalltalk" and hello["log_id"] is None and hello["rating_token"] is None
    junk = client.post("/v1/ask", json={"question": "那火车呢？", "context": {"question": 1, "at": "x"}},
                       headers=h)
    assert junk.status_code == 200 and junk.json()["understood_as"] is None
    huge = client.post("/v1/ask", json={"question": "优待证", "context": {"x": "长" * 5000}}, headers=h)
    assert huge.status_code == 422 and "对话上下文过长" in huge.json()["detail"][0]["msg"]
    not_object = client.post("/v1/ask", json={"question": "优待证", "context": "abc"}, headers=h)
    assert not_object.status_code == 422


def test_context_is_documented_in_openapi(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    request = spec["components"]["schemas"]["AskRequest"]["properties"]["context"]
    response = spec["components"]["schemas"]["AskResponse"]["properties"]["context"]
    assert "那火车呢" in request["description"] and "带回" in response["description"]


def test_english_and_typos_are_handled_like_in_the_bot(client: TestClient, users: Users) -> None:
    h = users.headers("staff")
    english = client.post("/v1/ask", json={"question": "Do veterans get free bus rides?"}, headers=h).json()
    assert "中文" in english["answer"]
