"""Errors at the boundary: Chinese messages, right status codes, no stack traces."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.testclient import TestClient

from api.errors import chinese_message
from vetbot.errors import InvalidTransitionError, KnowledgeBaseError, NotFoundError, PermissionDeniedError


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_unknown_route_is_404_in_chinese(client: TestClient) -> None:
    r = client.get("/v1/no-such-thing")
    assert r.status_code == 404
    assert _has_cjk(r.json()["detail"])


def test_wrong_method_is_405_in_chinese(client: TestClient) -> None:
    r = client.put("/v1/search")
    assert r.status_code == 405
    assert r.json()["detail"] == "不支持该请求方法。"


def test_browser_gets_an_html_error_page(client: TestClient) -> None:
    r = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "未找到" in r.text


def test_vetbot_errors_map_to_status_codes(client: TestClient) -> None:
    router = APIRouter()
    errors = {
        "nf": NotFoundError("x", user_message="没有这个东西。"),
        "pd": PermissionDeniedError("x", user_message="不许这样做。"),
        "it": InvalidTransitionError("x", user_message="状态不对。"),
        "kb": KnowledgeBaseError("secret detail /srv/kb"),
    }

    def make(exc: Exception):
        def boom() -> None:
            raise exc

        return boom

    for key, exc in errors.items():
        router.add_api_route(f"/boom/{key}", make(exc))
    client.app.include_router(router)  # type: ignore[attr-defined]
    expected = {"nf": 404, "pd": 403, "it": 409, "kb": 503}
    for key, status in expected.items():
        r = client.get(f"/boom/{key}")
        assert r.status_code == status, key
        assert _has_cjk(r.json()["detail"])
        assert "/srv/kb" not in r.text


def test_unhandled_exception_is_500_without_traceback(
    settings, fake_knowledge, case_service, session_factory
) -> None:
    from api.app import create_app

    app = create_app(settings, knowledge=fake_knowledge, cases=case_service, session_factory=session_factory)

    @app.get("/crash")
    def crash() -> None:
        raise RuntimeError("internal detail: password=hunter2")

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/crash")
    assert r.status_code == 500
    assert "hunter2" not in r.text and "Traceback" not in r.text
    assert "12345" in r.json()["detail"]


def test_chinese_message_covers_common_pydantic_errors() -> None:
    assert chinese_message({"type": "missing", "loc": ("body", "question")}) == "缺少必填项：问题。"
    assert (
        chinese_message({"type": "less_than_equal", "loc": ("query", "k"), "ctx": {"le": 50}})
        == "结果数量不能大于 50。"
    )
    assert "整数" in chinese_message({"type": "int_parsing", "loc": ("query", "k")})
    assert "JSON" in chinese_message({"type": "json_invalid", "loc": ("body", 0)})
    assert _has_cjk(chinese_message({"type": "something_new", "loc": ("body", "x")}))
