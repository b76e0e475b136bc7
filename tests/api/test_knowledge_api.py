"""POST /v1/ask, ratings, GET /v1/search and the document endpoints (fake KnowledgeService)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from knowledge.questionlog import QuestionLog
from knowledge.types import Answer
from tests.api.support import FakeKnowledge, Users


def _msgs(r) -> str:
    return " ".join(d["msg"] for d in r.json()["detail"])


def test_ask_returns_the_answer_contract_and_logs_it(
    client: TestClient, users: Users, session_factory
) -> None:
    r = client.post(
        "/v1/ask",
        json={"question": "优待证丢了怎么补办？", "region": "济南市"},
        headers=users.headers("staff"),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    Answer.model_validate(
        {k: v for k, v in body.items() if k != "log_id"}
    )  # same JSON as `vetbot ask --json`
    assert body["refused"] is False
    assert body["sources"][0]["article"] == "第十条"
    with session_factory() as s:
        row = s.get(QuestionLog, body["log_id"])
        assert row is not None and row.channel == "api" and row.user_ref == "user:staff"
        assert row.region == "济南市"


def test_ask_validation_errors_are_422_in_chinese(client: TestClient, users: Users, fake_knowledge) -> None:
    h = users.headers("staff")
    cases = {
        "empty": ({"question": ""}, "问题不能为空"),
        "blank": ({"question": "   \n "}, "问题不能为空"),
        "long": ({"question": "优" * 501}, "500 字以内"),
        "missing": ({}, "缺少必填项：问题"),
        "wrong type": ({"question": 42}, "问题必须是文本"),
    }
    for name, (payload, expected) in cases.items():
        r = client.post("/v1/ask", json=payload, headers=h)
        assert r.status_code == 422, name
        assert expected in _msgs(r), (name, r.json())
        assert r.json()["detail"][0]["loc"][0] == "body"
    r = client.post("/v1/ask", content=b"{not json", headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 422 and "JSON" in _msgs(r)
    assert fake_knowledge.asked == []  # nothing invalid reached the service


def test_ask_anonymous_only_when_enabled(
    client: TestClient, anon_client: TestClient, session_factory
) -> None:
    r = client.post("/v1/ask", json={"question": "优待证怎么补办"})
    assert r.status_code == 401 and "登录" in r.json()["detail"]
    r = anon_client.post("/v1/ask", json={"question": "优待证怎么补办"})
    assert r.status_code == 200
    # ...but nothing else opens up for anonymous visitors.
    assert anon_client.get("/v1/search", params={"q": "优待证"}).status_code == 401
    with session_factory() as s:
        assert s.get(QuestionLog, r.json()["log_id"]).user_ref is None


def test_refusals_are_counted_in_metrics(client: TestClient, users: Users) -> None:
    r = client.post("/v1/ask", json={"question": "今天天气怎么样"}, headers=users.headers("staff"))
    assert r.json()["refused"] is True
    metrics = client.get("/metrics").text
    assert 'vetbot_answer_refusals_total{reason="off_topic"} 1.0' in metrics
    assert 'vetbot_answers_total{channel="api",refused="true"} 1.0' in metrics
    assert 'route="/v1/ask"' in metrics and "vetbot_http_request_duration_seconds_bucket" in metrics


def test_rating_an_answer(client: TestClient, users: Users, session_factory) -> None:
    log_id = client.post(
        "/v1/ask", json={"question": "优待证怎么补办"}, headers=users.headers("staff")
    ).json()["log_id"]
    r = client.post(f"/v1/ask/{log_id}/rating", json={"rating": "down"}, headers=users.headers("staff"))
    assert r.status_code == 200 and r.json() == {"log_id": log_id, "rating": "down"}
    with session_factory() as s:
        assert s.get(QuestionLog, log_id).rating == "down"
    other = client.post(f"/v1/ask/{log_id}/rating", json={"rating": "up"}, headers=users.headers("office"))
    assert other.status_code == 403 and "自己" in other.json()["detail"]
    bad = client.post(f"/v1/ask/{log_id}/rating", json={"rating": "meh"}, headers=users.headers("staff"))
    assert bad.status_code == 422 and "取值无效" in _msgs(bad)
    missing = client.post("/v1/ask/999999/rating", json={"rating": "up"}, headers=users.headers("staff"))
    assert missing.status_code == 404 and "问答记录" in missing.json()["detail"]


def test_search_highlights_and_escapes(client: TestClient, users: Users) -> None:
    r = client.get("/v1/search", params={"q": "申请 换发"}, headers=users.headers("staff"))
    assert r.status_code == 200
    body = r.json()
    assert body["query"] == "申请 换发" and body["total"] == len(body["results"]) > 0
    top = body["results"][0]
    assert top["rank"] == 1
    assert "<mark>申请</mark><mark>换发</mark>" in top["snippet_html"]
    assert "&lt;script&gt;" in top["snippet_html"] and "<script>" not in top["snippet_html"]
    assert top["document_url"] == f"/documents/{top['doc_id']}#{top['anchor']}"
    assert top["anchor"].startswith("chunk-")


def test_search_filters(client: TestClient, users: Users) -> None:
    h = users.headers("staff")
    local = client.get("/v1/search", params={"q": "优待证", "region": "济南市"}, headers=h).json()["results"]
    assert {x["region"] for x in local} == {"全国", "济南市"}
    card_only = client.get("/v1/search", params={"q": "优待证", "topic": "transit"}, headers=h).json()[
        "results"
    ]
    assert [x["doc_id"] for x in card_only] == ["jinan-transit"]
    one_doc = client.get("/v1/search", params={"q": "优待证", "document": "card-rules"}, headers=h).json()
    assert {x["doc_id"] for x in one_doc["results"]} == {"card-rules"}
    k1 = client.get("/v1/search", params={"q": "优待证", "k": 1}, headers=h).json()
    assert k1["total"] == 1


def test_search_results_carry_the_documents_number_and_in_force_date(
    client: TestClient, users: Users
) -> None:
    results = client.get("/v1/search", params={"q": "优待证"}, headers=users.headers("staff")).json()[
        "results"
    ]
    by_doc = {x["doc_id"]: x for x in results}
    local = by_doc["jinan-transit"]
    assert (local["doc_number"], local["date_effective"], local["status"]) == (
        "济退役军人发〔2024〕3号",
        "2024-03-01",
        "现行有效",
    )
    assert (by_doc["card-rules"]["doc_number"], by_doc["card-rules"]["date_effective"]) == ("", "")


def test_search_bad_input_is_422_in_chinese(client: TestClient, users: Users) -> None:
    h = users.headers("staff")
    checks = [
        ({"q": "优待证", "topic": "weather"}, "未知的主题“weather”", ["query", "topic"]),
        ({"q": "优待证", "region": "火星"}, "未知的地区“火星”", ["query", "region"]),
        ({"q": "优待证", "document": "nope"}, "未知的文件", ["query", "document"]),
        ({"q": "优待证", "k": 51}, "结果数量不能大于 50", ["query", "k"]),
        ({"q": "优待证", "k": 0}, "结果数量不能小于 1", ["query", "k"]),
        ({"q": "优待证", "k": "many"}, "结果数量必须是整数", ["query", "k"]),
        ({}, "缺少必填项：查询内容", ["query", "q"]),
        ({"q": "   "}, "查询内容不能为空", ["query", "q"]),
        ({"q": "优" * 201}, "不能超过 200 个字符", ["query", "q"]),
    ]
    for params, expected, loc in checks:
        r = client.get("/v1/search", params=params, headers=h)
        assert r.status_code == 422, params
        assert expected in _msgs(r), (params, r.json())
        assert r.json()["detail"][0]["loc"] == loc


def test_documents_list_and_detail(client: TestClient, users: Users, fake_knowledge: FakeKnowledge) -> None:
    h = users.headers("staff")
    docs = client.get("/v1/documents", headers=h).json()
    assert docs["total"] == 2
    assert docs["documents"][0]["region"] == "全国"  # national first
    detail = client.get("/v1/documents/jinan-transit", headers=h).json()
    assert detail["title"] == "测试济南市乘车优待办法" and detail["scope"] == "local"
    assert detail["topics"] == ["transit", "card"]
    assert detail["chunks"][0]["article"] == "第三条"
    assert detail["chunks"][0]["anchor"] == "chunk-jinan-transit-abcdef012345-0"
    r = client.get("/v1/documents/nope", headers=h)
    assert r.status_code == 404 and "未找到该政策文件" in r.json()["detail"]


def test_ask_and_search_show_a_source_file_by_name_not_the_servers_directories(
    client: TestClient, users: Users, fake_knowledge: FakeKnowledge, monkeypatch
) -> None:
    original = fake_knowledge.search

    def search(*args, **kwargs):
        found = original(*args, **kwargs)
        return [p.model_copy(update={"path": f"/srv/vetbot/data/uploads/{p.path}"}) for p in found]

    monkeypatch.setattr(fake_knowledge, "search", search)
    r = client.post("/v1/ask", json={"question": "优待证丢了怎么补办？"}, headers=users.headers("staff"))
    assert r.status_code == 200, r.text
    paths = [s["path"] for s in r.json()["sources"]]
    assert paths and all(p and "/" not in p for p in paths), paths
    r = client.get("/v1/search", params={"q": "补办"}, headers=users.headers("staff"))
    assert r.status_code == 200, r.text
    hits = r.json()["results"]
    assert hits and all("/" not in h["path"] for h in hits), hits
