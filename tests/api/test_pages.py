"""Server-rendered staff pages (no JavaScript needed)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from api import pages
from knowledge.questionlog import QuestionLog
from knowledge.types import Answer, Passage
from tests.api.conftest import PASSWORD
from tests.api.support import Users


def _login(client: TestClient, username: str = "staff", next_url: str = "/search") -> None:
    r = client.post(
        "/login", data={"username": username, "password": PASSWORD, "next": next_url}, follow_redirects=False
    )
    assert r.status_code == 303, r.text


def test_pages_require_login_and_redirect_back(client: TestClient) -> None:
    r = client.get("/search?q=优待证", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/search")
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    page = client.get("/login")
    assert page.status_code == 200 and "工作人员登录" in page.text
    assert 'name="viewport"' in page.text and "/static/style.css" in page.text


def test_login_sets_an_httponly_lax_cookie(client: TestClient) -> None:
    r = client.post(
        "/login",
        data={"username": "staff", "password": PASSWORD, "next": "/documents"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/documents"
    cookie = r.headers["set-cookie"].lower()
    assert "vetbot_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert client.get("/documents").status_code == 200


def test_login_failure_and_open_redirects(client: TestClient) -> None:
    r = client.post("/login", data={"username": "staff", "password": "wrong-one", "next": "/search"})
    assert r.status_code == 401 and "用户名或密码错误" in r.text
    r = client.post("/login", data={"username": "", "password": ""})
    assert r.status_code == 422 and "请输入用户名和密码" in r.text
    for evil in ("//evil.example/x", "https://evil.example", "/\\evil.example"):
        r = client.post(
            "/login", data={"username": "staff", "password": PASSWORD, "next": evil}, follow_redirects=False
        )
        assert r.headers["location"] == "/search", evil


def test_search_page_shows_highlighted_results_with_badges_and_anchors(client: TestClient) -> None:
    _login(client)
    r = client.get("/search", params={"q": "优待证 补办"})
    assert r.status_code == 200
    html = r.text
    assert "<mark>补办</mark>" in html
    assert 'badge badge-national">全国<' in html and "地方·济南市" in html
    links = re.findall(r'class="result-title" href="([^"]+)"', html)
    assert links and links[0].startswith("/documents/card-rules?hl=") and "#chunk-card-rules-" in links[0]
    assert "《测试优待证管理办法》第十条" in html
    # filters are selects with every topic and the KB's regions; the user's region is not forced
    assert '<option value="card">优待证</option>' in html and '<option value="济南市">济南市</option>' in html


def test_search_page_region_filter_and_bad_filter(client: TestClient) -> None:
    _login(client)
    r = client.get("/search", params={"q": "优待证", "region": "济南市", "topic": "transit"})
    assert "测试济南市乘车优待办法" in r.text and "测试优待证管理办法" not in r.text
    assert '<option value="济南市" selected>' in r.text
    bad = client.get("/search", params={"q": "优待证", "topic": "weather"})
    assert bad.status_code == 422 and "未知的主题“weather”" in bad.text
    none = client.get("/search", params={"q": "火箭"})
    assert "没有找到相关条文" in none.text


def test_document_page_has_anchors_metadata_and_highlight(client: TestClient) -> None:
    _login(client)
    r = client.get("/documents/card-rules", params={"hl": "补办"})
    assert r.status_code == 200
    assert (
        'id="chunk-card-rules-abcdef012345-0"' in r.text and 'id="chunk-card-rules-abcdef012345-1"' in r.text
    )
    assert "<mark>补办</mark>" in r.text
    assert "&lt;script&gt;" in r.text and "<script>alert" not in r.text
    assert "发布机关" in r.text and "测试机关" in r.text
    assert client.get("/documents/nope", headers={"Accept": "text/html"}).status_code == 404


def test_ask_page_answers_with_citations_and_rating(client: TestClient, session_factory) -> None:
    _login(client)
    form = client.get("/ask")
    assert form.status_code == 200 and "<textarea" in form.text
    r = client.post("/ask", data={"question": "优待证丢了怎么补办？", "region": "济南市"})
    assert r.status_code == 200
    assert 'id="citations"' in r.text and "《测试优待证管理办法》第十条" in r.text
    assert 'href="/documents/card-rules#chunk-card-rules-abcdef012345-0"' in r.text
    log_id = int(re.search(r'action="/ask/(\d+)/rate"', r.text).group(1))
    with session_factory() as s:
        assert s.get(QuestionLog, log_id).channel == "web"
    rated = client.post(f"/ask/{log_id}/rate", data={"rating": "up"}, follow_redirects=False)
    assert rated.status_code == 303 and rated.headers["location"] == "/ask?rated=up"
    assert "感谢您的评价" in client.get(rated.headers["location"]).text
    with session_factory() as s:
        assert s.get(QuestionLog, log_id).rating == "up"
    empty = client.post("/ask", data={"question": "  "})
    assert empty.status_code == 422 and "问题不能为空" in empty.text
    long = client.post("/ask", data={"question": "问" * 501})
    assert long.status_code == 422 and "500 字以内" in long.text


def test_ask_page_for_anonymous_only_when_enabled(client: TestClient, anon_client: TestClient) -> None:
    assert client.get("/ask", follow_redirects=False).status_code == 303
    r = anon_client.post("/ask", data={"question": "优待证怎么补办"})
    assert r.status_code == 200 and 'id="citations"' in r.text
    assert anon_client.get("/search", follow_redirects=False).status_code == 303


def test_navigation_and_logout(client: TestClient) -> None:
    _login(client)
    html = client.get("/search").text
    assert 'href="/search" aria-current="page"' in html and 'href="/ask"' in html
    assert "staff-显示名" in html
    r = client.post("/logout", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert 'vetbot_session=""' in r.headers["set-cookie"] or "max-age=0" in r.headers["set-cookie"].lower()
    assert client.get("/search", follow_redirects=False).status_code == 303


def test_static_assets_are_served_locally(client: TestClient) -> None:
    css = client.get("/static/style.css")
    assert css.status_code == 200 and ":target" in css.text
    assert client.get("/static/app.js").status_code == 200
    _login(client)
    html = client.get("/search").text
    assert "http://" not in html.split("<footer")[0] and "https://" not in html


def test_cookie_session_works_for_the_json_api_too(client: TestClient, users: Users) -> None:
    _login(client)
    assert client.get("/v1/search", params={"q": "优待证"}).status_code == 200
    assert client.get("/v1/complaints").status_code == 403  # staff


def test_cross_site_form_posts_with_the_cookie_are_refused(client: TestClient) -> None:
    _login(client)
    r = client.post("/ask", data={"question": "优待证怎么补办"}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and "跨站请求" in r.text
    ok = client.post("/ask", data={"question": "优待证怎么补办"}, headers={"Origin": "http://testserver"})
    assert ok.status_code == 200


def test_search_form_preselects_the_users_region(client: TestClient) -> None:
    _login(client)  # staff's region is 济南市
    assert '<option value="济南市" selected>' in client.get("/search").text
    assert '<option value="济南市" selected>' not in client.get("/search", params={"q": "优待证"}).text


def test_ask_page_labels_passages_no_longer_in_force_like_search(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The 相关条文 of an answer and the passages a refusal found carry the version label search
    # shows (knowledge.types.status_note), so an old text never reads as in force.
    old = Passage(
        title="旧优待办法",
        article="第五条",
        text="x",
        score=0.9,
        doc_id="old",
        chunk_id="old:0",
        status="已被取代",
        superseded_by="新优待办法",
        status_date="2024-09-21",
    )
    repealed = Passage(
        title="废止办法",
        article="第二条",
        text="y",
        score=0.8,
        doc_id="gone",
        chunk_id="gone:0",
        status="已废止",
        superseded_by="新优待办法",
        status_date="2025-01-01",
    )
    current = Passage(
        title="新优待办法", article="第三条", text="z", score=0.95, doc_id="new", chunk_id="new:0"
    )
    answers = iter(
        [
            Answer(
                question="q", answer="可以免费乘车。", refused=False, sources=[current], related=[repealed]
            ),
            Answer(question="q", answer="抱歉，没有找到依据。", refused=True, sources=[old, current]),
        ]
    )
    monkeypatch.setattr(pages, "converse_and_log", lambda *a, **k: (next(answers), None, None))
    _login(client)
    answered = client.post("/ask", data={"question": "优待证坐公交免费吗"}).text
    related = answered.split('id="related"')[1]
    assert "《废止办法》第二条" in related and "已废止：被《新优待办法》废止（2025-01-01起施行）" in related
    assert "仅供查阅，请以现行版本为准" in related
    cited = answered.split('id="citations"')[1].split('id="related"')[0]
    assert "《新优待办法》第三条" in cited and "version-note" not in cited
    refused = client.post("/ask", data={"question": "优待证坐公交免费吗"}).text
    found = refused.split('id="citations"')[1]
    assert "已被《新优待办法》取代（2024-09-21起施行）" in found and "badge-old" in found
    assert 'id="related"' not in refused


def test_search_cards_show_the_documents_number_in_force_date_and_status(client: TestClient) -> None:
    # fe24 §13: staff had to open a document to see its 文号 and whether it is in force.
    _login(client)
    html = client.get("/search", params={"q": "优待证"}).text
    cards = re.findall(r'<li class="result">(.*?)</li>', html, re.S)
    assert len(cards) == 3
    local = next(c for c in cards if "测试济南市乘车优待办法" in c)
    assert (
        "文号：济退役军人发〔2024〕3号" in local and "施行日期：2024-03-01" in local and "现行有效" in local
    )
    national = next(c for c in cards if "测试优待证管理办法" in c)
    assert "文号：" not in national and "施行日期：未注明" in national and "现行有效" in national
