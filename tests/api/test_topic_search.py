"""The 主题 filter of staff search narrows by passage, and an empty query with a topic browses it
(fresh-eyes report: 公交 under 子女教育 listed a free-bus article first; /search?q=&topic=education
showed nothing)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.support import Users


def test_an_empty_query_with_a_topic_lists_its_passages(client: TestClient, users: Users) -> None:
    h = users.headers("staff")
    r = client.get("/v1/search", params={"q": "", "topic": "transit"}, headers=h)
    assert r.status_code == 200, r.text
    assert [x["doc_id"] for x in r.json()["results"]] == ["jinan-transit"]
    card = client.get("/v1/search", params={"q": " ", "topic": "card", "k": 2}, headers=h).json()
    assert card["total"] == 2 and card["results"][0]["article"] == "第十条"
    by_region = client.get("/v1/search", params={"q": "", "region": "济南市"}, headers=h).json()
    assert {x["region"] for x in by_region["results"]} == {"全国", "济南市"}
    # Without a filter an empty query is still refused.
    empty = client.get("/v1/search", params={"q": ""}, headers=h)
    assert empty.status_code == 422 and "查询内容不能为空" in empty.text


def test_the_search_page_browses_a_topic(client: TestClient, users: Users) -> None:
    page = client.get("/search", params={"q": "", "topic": "transit"}, headers=users.headers("staff")).text
    assert 'id="results"' in page and "测试济南市乘车优待办法" in page
    assert "列出前 1 条“交通出行”条文" in page
    assert 'id="results"' not in client.get("/search", headers=users.headers("staff")).text


@pytest.mark.slow
def test_the_topic_filter_narrows_the_bundled_laws_by_passage(real_client: TestClient, users: Users) -> None:
    h = users.headers("staff")

    def cited(params: dict[str, str]) -> list[str]:
        body = real_client.get("/v1/search", params=params, headers=h).json()
        return [f"{x['title']}{x['article']}" for x in body["results"]]

    assert not any("第五十二条第二款" in c for c in cited({"q": "公交", "topic": "education"}))
    assert any("第五十二条第二款" in c for c in cited({"q": "公交", "topic": "transit"}))
    local_records = cited({"q": "地方志", "topic": "transit"})
    assert not any("退役军人保障法" in c and "第六十三条" in c for c in local_records)
    browsed = real_client.get(
        "/v1/search", params={"q": "", "topic": "education"}, headers=h
    ).json()["results"]
    assert browsed and all("education" in x["topics"] for x in browsed)
    assert browsed[0]["scope"] == "national" and browsed[-1]["status"] == "现行有效"
