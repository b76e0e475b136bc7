"""Integration: the API over the real KnowledgeService (bundled KB, real embeddings) and the
real CaseService on a temp SQLite database."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from knowledge.types import Answer
from tests.api.conftest import PASSWORD
from tests.api.support import Users

pytestmark = pytest.mark.slow


def test_ready_and_documents(real_client: TestClient, users: Users) -> None:
    ready = real_client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["documents"] >= 10
    docs = real_client.get("/v1/documents", headers=users.headers("staff")).json()["documents"]
    regions = {d["region"] for d in docs}
    assert "全国" in regions and "济南市" in regions
    card = next(d for d in docs if d["title"].startswith("退役军人、其他优抚对象优待证管理办法"))
    detail = real_client.get(f"/v1/documents/{card['doc_id']}", headers=users.headers("staff")).json()
    assert detail["chunk_count"] == len(detail["chunks"]) > 3
    assert len({c["anchor"] for c in detail["chunks"]}) == len(detail["chunks"])  # anchors are unique


def test_search_card_replacement(real_client: TestClient, users: Users) -> None:
    h = users.headers("staff")
    body = real_client.get("/v1/search", params={"q": "优待证 补办"}, headers=h).json()
    assert body["results"], body
    top = body["results"][0]
    assert "优待证" in top["title"] and "<mark>" in top["snippet_html"]
    # The anchor of every hit exists on its document page.
    detail = real_client.get(f"/v1/documents/{top['doc_id']}", headers=h).json()
    assert top["anchor"] in {c["anchor"] for c in detail["chunks"]}
    local = real_client.get(
        "/v1/search", params={"q": "公交 乘车 优待", "region": "济南市"}, headers=h
    ).json()
    assert {r["region"] for r in local["results"]} <= {"全国", "济南市"}
    assert any(r["region"] == "济南市" and r["scope"] == "local" for r in local["results"])
    only_card = real_client.get("/v1/search", params={"q": "优待", "topic": "card"}, headers=h).json()
    assert only_card["results"] and all("card" in r["topics"] for r in only_card["results"])


def test_ask_cites_and_refuses(real_client: TestClient, users: Users) -> None:
    h = users.headers("staff")
    r = real_client.post("/v1/ask", json={"question": "优待证丢了怎么补办？"}, headers=h)
    assert r.status_code == 200
    answer = Answer.model_validate({k: v for k, v in r.json().items() if k != "log_id"})
    assert not answer.refused and answer.sources
    assert any("优待证" in s.title for s in answer.sources)
    assert r.json()["log_id"] >= 1
    off = real_client.post("/v1/ask", json={"question": "帮我写一首关于春天的诗"}, headers=h).json()
    assert off["refused"] is True and "12345" in off["answer"]


def test_complaint_round_trip(real_client: TestClient, users: Users) -> None:
    r = real_client.post(
        "/v1/complaints",
        json={"text": "济南的服务站拖了两个月还没给我办优待证", "region": "济南市"},
        headers=users.headers("staff"),
    )
    assert r.status_code == 201
    ticket = r.json()["ticket"]
    assert r.json()["assigned_handler_id"] == "h-jn"
    acted = real_client.post(
        f"/v1/complaints/{ticket}/actions", json={"action": "accept"}, headers=users.headers("handler_jn")
    )
    assert acted.json()["status"] == "已受理"


def test_search_with_a_region_lists_its_local_rule_first(real_client: TestClient, users: Users) -> None:
    body = real_client.get(
        "/v1/search", params={"q": "地铁", "region": "济南市"}, headers=users.headers("staff")
    ).json()
    first = body["results"][0]
    assert first["region"] == "济南市" and first["scope"] == "local", body["results"]
    r = real_client.post(
        "/login", data={"username": "staff", "password": PASSWORD, "next": "/search"}, follow_redirects=False
    )
    assert r.status_code == 303
    page = real_client.get("/search", params={"q": "景区门票", "region": "济南市"}).text
    badges = re.findall(r'<span class="badge badge-(?:national|local)">([^<]+)<', page)
    assert badges and badges[0] == "地方·济南市" and "全国" in badges[1:3], badges
