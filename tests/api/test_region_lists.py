"""Region lists of the ask and search forms offer only regions the forms accept.

A document whose region is not an administrative division (an uploaded test sample titled
青岚市…, recorded with an ingest warning) used to appear in the select, and choosing it gave
422 未知的地区.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import PASSWORD
from tests.api.support import FakeKnowledge


@pytest.fixture
def fictional_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(FakeKnowledge, "regions", lambda self: ["全国", "济南市", "青岚市"])


def _options(html: str) -> list[str]:
    select = re.search(r'<select name="region">(.*?)</select>', html, re.S)
    assert select is not None, html[:2000]
    return re.findall(r'<option value="([^"]*)"', select.group(1))


@pytest.mark.usefixtures("fictional_region")
def test_ask_and_search_selects_leave_out_regions_outside_the_gazetteer(client: TestClient) -> None:
    r = client.post("/login", data={"username": "staff", "password": PASSWORD, "next": "/ask"},
                    follow_redirects=False)
    assert r.status_code == 303
    for page in (client.get("/ask"), client.post("/ask", data={"question": "优待证怎么补办"}),
                 client.get("/search", params={"q": "优待证"})):
        assert page.status_code == 200
        options = _options(page.text)
        assert "济南市" in options and "青岚市" not in options, options
    # Every region offered is one the form accepts.
    for region in _options(client.get("/ask").text):
        assert client.post("/ask", data={"question": "优待证怎么补办", "region": region}).status_code == 200
