"""The web 智能问答 page keeps the conversation context like the bot (issue 17)."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient

from tests.api.test_pages import _login


def _context(page: str) -> str:
    m = re.search(r'name="context" value="([^"]*)"', page)
    assert m, "no conversation context on the page"
    return html.unescape(m.group(1))


def test_follow_up_and_small_talk_on_the_ask_page(client: TestClient) -> None:
    _login(client)
    first = client.post("/ask", data={"question": "我是残疾军人，坐公交免费吗"})
    assert first.status_code == 200 and 'id="understood"' not in first.text
    follow = client.post("/ask", data={"question": "那火车呢？", "context": _context(first.text)})
    assert "按“残疾军人乘火车有什么优待？”理解" in html.unescape(follow.text)
    hello = client.post("/ask", data={"question": "你好", "context": _context(follow.text)})
    assert "您可以这样问我" in hello.text and 'action="/ask/' not in hello.text  # no rating on small talk
    fresh = client.post("/ask", data={"question": "那火车呢？", "context": "not json"})
    assert fresh.status_code == 200 and 'id="understood"' not in fresh.text


def test_a_follow_up_is_explained_once(client: TestClient) -> None:
    # The page's 按“…”理解 line and the answer's own opening line said the same thing twice.
    _login(client)
    first = client.post("/ask", data={"question": "我是残疾军人，坐公交免费吗"})
    page = client.post("/ask", data={"question": "那火车呢？", "context": _context(first.text)})
    follow = html.unescape(page.text)
    section = follow[follow.index('id="answer"'):]
    assert section.count("理解") == 1 and 'id="understood"' in section
    assert "可以向原申领地的退役军人服务站申请补办" in section  # the answer itself is still shown
