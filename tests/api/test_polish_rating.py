"""Only the asker rates an answer: rows without a user need the answer's rating token (issue 12)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from api.users import UserService
from knowledge.questionlog import QuestionLog, QuestionLogService
from knowledge.types import Answer
from tests.api.support import Users


def _demo_row(session_factory) -> int:
    """A question logged without a user, as demo data and anonymous asking leave them."""
    answer = Answer(question="优待证怎么办", answer="……", refused=False, confidence=0.9)
    return QuestionLogService(session_factory).record(answer, channel="telegram", user_ref=None)


def test_a_logged_in_user_cannot_rate_an_unowned_answer(
    client: TestClient, users: Users, session_factory
) -> None:
    log_id = _demo_row(session_factory)
    for who in ("staff", "office", "admin"):
        r = client.post(f"/v1/ask/{log_id}/rating", json={"rating": "down"}, headers=users.headers(who))
        assert r.status_code == 403 and "自己" in r.json()["detail"], (who, r.text)
    for token in ("0" * 32, "优待" * 16, "é" * 32):
        forged = client.post(f"/v1/ask/{log_id}/rating", json={"rating": "down", "token": token},
                             headers=users.headers("staff"))
        assert forged.status_code in (403, 422), (token, forged.text)
    with session_factory() as s:
        assert s.get(QuestionLog, log_id).rating is None


def test_staff_with_a_reason_may_rate_and_it_is_audited(
    client: TestClient, users: Users, session_factory, user_service: UserService
) -> None:
    log_id = _demo_row(session_factory)
    body = {"rating": "down", "reason": "电话回访时提问人说回答没用"}
    r = client.post(f"/v1/ask/{log_id}/rating", json=body, headers=users.headers("office"))
    assert r.status_code == 200, r.text
    with session_factory() as s:
        assert s.get(QuestionLog, log_id).rating == "down"
    assert any(a.action == "qa.rate_for_asker" and a.target == f"qa_log:{log_id}" and a.actor == "user:office"
               for a in user_service.recent_audit())


def test_anonymous_asker_rates_with_the_token_only(anon_client: TestClient) -> None:
    asked = anon_client.post("/v1/ask", json={"question": "优待证丢了怎么补办？"})
    assert asked.status_code == 200, asked.text
    log_id, token = asked.json()["log_id"], asked.json()["rating_token"]
    assert re.fullmatch(r"[0-9a-f]{32}", token)
    assert anon_client.post(f"/v1/ask/{log_id}/rating", json={"rating": "up"}).status_code == 403
    # A token is bound to its answer.
    other = anon_client.post("/v1/ask", json={"question": "优待证有什么用？"}).json()
    assert anon_client.post(f"/v1/ask/{other['log_id']}/rating",
                            json={"rating": "up", "token": token}).status_code == 403
    ok = anon_client.post(f"/v1/ask/{log_id}/rating", json={"rating": "up", "token": token})
    assert ok.status_code == 200, ok.text


def test_anonymous_ask_page_carries_the_token(anon_client: TestClient) -> None:
    page = anon_client.post("/ask", data={"question": "优待证丢了怎么补办？"})
    log_id = int(re.search(r'action="/ask/(\d+)/rate"', page.text).group(1))
    token = re.search(r'name="token" value="([0-9a-f]{32})"', page.text).group(1)
    bare = anon_client.post(f"/ask/{log_id}/rate", data={"rating": "up"}, follow_redirects=False)
    assert bare.status_code == 403
    rated = anon_client.post(f"/ask/{log_id}/rate", data={"rating": "up", "token": token},
                             follow_redirects=False)
    assert rated.status_code == 303
