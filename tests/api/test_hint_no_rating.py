"""A hint to rephrase (emoji only, not Chinese) is no answer: no 👍/👎 under it on the ask page."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from knowledge.types import Answer
from tests.api.conftest import PASSWORD
from tests.api.support import FakeKnowledge

HINT = "请用一句话描述您想了解的退役军人服务或优待政策问题，例如：“优待证去哪儿办？”"


@pytest.mark.parametrize("reason", ["empty", "language"])
def test_ask_page_offers_no_rating_under_a_hint(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, reason: str
) -> None:
    def hint(self: FakeKnowledge, question: str, region: str | None = None) -> Answer:
        return Answer(question=question, answer=HINT, refused=True, refusal_reason=reason)

    monkeypatch.setattr(FakeKnowledge, "ask", hint)
    client.post("/login", data={"username": "staff", "password": PASSWORD, "next": "/ask"})
    r = client.post("/ask", data={"question": "🙂👍🎖️"})
    assert r.status_code == 200 and "请用一句话描述" in r.text
    assert 'class="rating"' not in r.text and "👍 有用" not in r.text


def test_ask_page_still_offers_rating_under_a_refusal(client: TestClient) -> None:
    client.post("/login", data={"username": "staff", "password": PASSWORD, "next": "/ask"})
    r = client.post("/ask", data={"question": "明天天气怎么样"})  # off-topic: a refusal worth a 👎
    assert r.status_code == 200 and 'class="rating"' in r.text
