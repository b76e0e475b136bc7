"""Webhook mode: the FastAPI router checks the secret header and feeds the application."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.app import build_application
from bot.notifier import TelegramNotifier
from bot.webhook import SECRET_HEADER, WEBHOOK_PATH, make_webhook_router, telegram_lifespan
from complaints.routing import RoutingTable
from complaints.service import CaseService
from tests.bot.conftest import ROUTING, TOKEN, VETERAN, FakeKnowledge, make_bot, make_settings
from tests.bot.fake_telegram import FakeBotAPI


def test_webhook_rejects_wrong_secret_and_processes_updates(tmp_path: Path, session_factory) -> None:
    api = FakeBotAPI()
    notifier = TelegramNotifier()
    cases = CaseService(session_factory, RoutingTable.from_dict(ROUTING), notifier=notifier)
    application = build_application(
        make_settings(tmp_path),
        knowledge=FakeKnowledge(),
        cases=cases,
        session_factory=session_factory,
        bot=make_bot(api),
    )
    web = FastAPI(
        lifespan=lambda _app: telegram_lifespan(
            application, webhook_url="https://bot.example.org/telegram/webhook", secret_token="s3cret"
        )
    )
    web.include_router(make_webhook_router(application, "s3cret"))

    with TestClient(web) as client:
        update = api.message_update(VETERAN, "/start")
        assert client.post(WEBHOOK_PATH, json=update).status_code == 403
        assert client.post(WEBHOOK_PATH, json=update, headers={SECRET_HEADER: "wrong"}).status_code == 403
        assert (
            client.post(WEBHOOK_PATH, content=b"not json", headers={SECRET_HEADER: "s3cret"}).status_code
            == 400
        )
        assert api.sent == []
        response = client.post(WEBHOOK_PATH, json=update, headers={SECRET_HEADER: "s3cret"})
        assert response.status_code == 200
        api.wait_for(lambda: any("隐私" in m["text"] for m in api.sent), timeout=10)
        assert notifier.started

    set_webhook = [p for name, p in api.calls if name == "setWebhook"]
    assert set_webhook and set_webhook[0]["url"] == "https://bot.example.org/telegram/webhook"
    assert set_webhook[0]["secret_token"] == "s3cret"
    assert not application.running


def test_webhook_without_configured_secret_refuses_everything(tmp_path: Path, session_factory) -> None:
    api = FakeBotAPI()
    cases = CaseService(session_factory, RoutingTable.from_dict(ROUTING))
    application = build_application(
        make_settings(tmp_path),
        knowledge=FakeKnowledge(),
        cases=cases,
        session_factory=session_factory,
        bot=make_bot(api),
    )
    web = FastAPI()
    web.include_router(make_webhook_router(application, None))
    with TestClient(web) as client:
        update = api.message_update(VETERAN, "/start")
        assert client.post(WEBHOOK_PATH, json=update, headers={SECRET_HEADER: ""}).status_code == 403


async def test_create_bot_application_wires_settings_token_base_url_and_notifier(
    tmp_path: Path, session_factory
):
    from bot.app import VetbotApplication, create_bot_application

    settings = make_settings(tmp_path, telegram_base_url="http://127.0.0.1:9/bot")
    application = create_bot_application(settings, knowledge=FakeKnowledge(), session_factory=session_factory)
    assert isinstance(application, VetbotApplication)
    assert application.bot.base_url == f"http://127.0.0.1:9/bot{TOKEN}"
    deps = application.vetbot
    assert deps is not None and isinstance(deps.notifier, TelegramNotifier)
    assert deps.cases.notifier is deps.notifier  # case notices go out through this bot
    assert deps.limiter.limit == settings.rate_limit_per_minute
