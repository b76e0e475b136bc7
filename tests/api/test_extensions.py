"""The Telegram bot running inside the app (webhook / polling) and the dashboard hook."""

from __future__ import annotations

import sys
import time
import types
from pathlib import Path
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, Request
from fastapi.testclient import TestClient
from telegram.error import InvalidToken, NetworkError

import api.app as app_module
from api.app import create_app
from api.deps import page_require, require
from api.templating import add_template_dir, render
from api.users import PERM_THEMES
from tests.api.conftest import PASSWORD, make_settings
from tests.api.support import FakeKnowledge, Users


class _Updater:
    def __init__(self, calls: list[str]) -> None:
        self.calls, self.running = calls, False

    async def start_polling(self, **_: Any) -> None:
        self.calls.append("start_polling")
        self.running = True

    async def stop(self) -> None:
        self.calls.append("stop_polling")
        self.running = False


class _Bot:
    def __init__(self, calls: list[str]) -> None:
        self.calls = calls
        self.webhook: dict[str, Any] = {}

    async def set_webhook(self, **kwargs: Any) -> None:
        self.calls.append("set_webhook")
        self.webhook = kwargs


class FakeTelegramApplication:
    """The parts of a python-telegram-bot Application that the app lifecycle touches."""

    def __init__(self) -> None:
        import asyncio

        self.calls: list[str] = []
        self.bot = _Bot(self.calls)
        self.updater = _Updater(self.calls)
        self.update_queue: asyncio.Queue[Any] = asyncio.Queue()
        self.running = False

    async def initialize(self) -> None:
        self.calls.append("initialize")

    async def start(self) -> None:
        self.calls.append("start")
        self.running = True

    async def stop(self) -> None:
        self.calls.append("stop")
        self.running = False

    async def shutdown(self) -> None:
        self.calls.append("shutdown")


def test_webhook_mode_registers_and_receives_updates(tmp_path, session_factory: Any) -> None:
    settings = make_settings(
        tmp_path,
        telegram_token="123:abc",
        telegram_webhook_url="https://bot.example/telegram/webhook",
        telegram_webhook_secret="s3cret-token",
    )
    tg = FakeTelegramApplication()
    app = create_app(
        settings, knowledge=FakeKnowledge(), session_factory=session_factory, telegram_application=tg
    )
    with TestClient(app) as c:
        assert tg.calls[:3] == ["initialize", "set_webhook", "start"]
        assert tg.bot.webhook["url"] == "https://bot.example/telegram/webhook"
        assert tg.bot.webhook["secret_token"] == "s3cret-token"
        update = {
            "update_id": 1,
            "message": {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"}, "text": "你好"},
        }
        assert c.post("/telegram/webhook", json=update).status_code == 403
        r = c.post(
            "/telegram/webhook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"}
        )
        assert r.status_code == 200
        assert tg.update_queue.qsize() == 1
    assert tg.calls[-2:] == ["stop", "shutdown"]
    assert "start_polling" not in tg.calls


def test_polling_mode_runs_alongside(tmp_path, session_factory: Any) -> None:
    settings = make_settings(tmp_path, telegram_token="123:abc")
    tg = FakeTelegramApplication()
    app = create_app(
        settings, knowledge=FakeKnowledge(), session_factory=session_factory, telegram_application=tg
    )
    with TestClient(app) as c:
        assert "start_polling" in tg.calls and "set_webhook" not in tg.calls
        assert c.post("/telegram/webhook", json={}).status_code == 404  # no webhook route in polling mode
    assert tg.calls[-3:] == ["stop_polling", "stop", "shutdown"]


class _UnreachableTelegram(FakeTelegramApplication):
    """Raises NetworkError (as python-telegram-bot's get_me does) for the first ``failures`` starts."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def initialize(self) -> None:
        self.calls.append("initialize")
        if self.failures > 0:
            self.failures -= 1
            raise NetworkError("httpx.ConnectError: All connection attempts failed")


def _wait_for(predicate: Any, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def test_web_app_serves_while_the_bot_api_is_unreachable_and_the_bot_starts_later(
    tmp_path, session_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_module, "TELEGRAM_RETRY_FIRST_SECONDS", 0.01)
    settings = make_settings(tmp_path, telegram_token="123:abc")
    tg = _UnreachableTelegram(failures=2)
    app = create_app(
        settings, knowledge=FakeKnowledge(), session_factory=session_factory, telegram_application=tg
    )
    with TestClient(app) as c:
        assert c.get("/healthz").status_code == 200  # the start-up did not fail
        assert _wait_for(lambda: "start_polling" in tg.calls)
        assert tg.calls[:4] == ["initialize", "initialize", "initialize", "start"]
    assert tg.calls[-3:] == ["stop_polling", "stop", "shutdown"]


def test_app_stops_cleanly_when_the_bot_api_never_answers(
    tmp_path, session_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_module, "TELEGRAM_RETRY_FIRST_SECONDS", 0.01)
    settings = make_settings(tmp_path, telegram_token="123:abc")
    tg = _UnreachableTelegram(failures=10**6)
    app = create_app(
        settings, knowledge=FakeKnowledge(), session_factory=session_factory, telegram_application=tg
    )
    with TestClient(app) as c:
        assert c.get("/healthz").status_code == 200
        assert _wait_for(lambda: tg.calls.count("initialize") >= 3)
    assert "start" not in tg.calls and "start_polling" not in tg.calls


def test_a_refusal_after_the_bot_api_came_back_is_logged_and_the_app_serves_on(
    tmp_path, session_factory: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(app_module, "TELEGRAM_RETRY_FIRST_SECONDS", 0.01)
    settings = make_settings(tmp_path, telegram_token="123:abc")
    tg = _UnreachableTelegram(failures=1)
    original = tg.initialize

    async def refuse_second() -> None:
        await original()
        if tg.calls.count("initialize") == 2:
            raise InvalidToken("Unauthorized")

    tg.initialize = refuse_second  # type: ignore[method-assign]
    app = create_app(
        settings, knowledge=FakeKnowledge(), session_factory=session_factory, telegram_application=tg
    )
    with TestClient(app) as c:
        assert _wait_for(lambda: "telegram bot could not start" in caplog.text)
        assert c.get("/healthz").status_code == 200
    assert tg.calls.count("initialize") == 2 and "start" not in tg.calls


def test_dashboard_module_is_registered_when_present(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    settings,
    fake_knowledge,
    case_service,
    session_factory,
    users: Users,
) -> None:
    module = types.ModuleType("api.dashboard")

    def register(app: Any) -> None:
        router = APIRouter()

        @router.get("/v1/dashboard/ping")
        def ping(_p: Annotated[Any, Depends(require(PERM_THEMES))]) -> dict[str, str]:
            return {"ok": "yes"}

        @router.get("/dashboard")
        def page(request: Request, _p: Annotated[Any, Depends(page_require(PERM_THEMES))]) -> Any:
            return render(request, "dash.html", title="投诉看板")

        (tmp_path / "tpl").mkdir()
        (tmp_path / "tpl" / "dash.html").write_text(
            '{% extends "base.html" %}{% block content %}<p id="dash">看板内容</p>{% endblock %}',
            encoding="utf-8",
        )
        add_template_dir(app, tmp_path / "tpl")
        app.include_router(router)
        app.state.dashboard_url = "/dashboard"

    module.register = register  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "api.dashboard", module)
    app = create_app(settings, knowledge=fake_knowledge, cases=case_service, session_factory=session_factory)
    with TestClient(app) as c:
        assert c.get("/v1/dashboard/ping", headers=users.headers("office")).json() == {"ok": "yes"}
        assert c.get("/v1/dashboard/ping", headers=users.headers("staff")).status_code == 403
        c.post("/login", data={"username": "office", "password": PASSWORD})
        assert 'href="/dashboard"' in c.get("/search").text
        page = c.get("/dashboard").text
        assert '<p id="dash">看板内容</p>' in page and 'href="/dashboard" aria-current="page"' in page
        c.post("/logout")
        c.post("/login", data={"username": "staff", "password": PASSWORD})
        assert 'href="/dashboard"' not in c.get("/search").text
        assert c.get("/dashboard").status_code == 403
