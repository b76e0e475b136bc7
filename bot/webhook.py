"""Webhook mode: a FastAPI router receiving Telegram updates, and a lifespan helper.

The web app (``api/``) mounts the router and runs the bot inside its own lifespan::

    from bot.app import create_bot_application
    from bot.webhook import make_webhook_router, telegram_lifespan

    application = create_bot_application(settings, knowledge=knowledge, session_factory=sf)
    secret = settings.telegram_webhook_secret.get_secret_value()
    app.include_router(make_webhook_router(application, secret))

    @asynccontextmanager
    async def lifespan(app):
        async with telegram_lifespan(application, webhook_url=settings.telegram_webhook_url,
                                     secret_token=secret) as state:
            yield state          # or simply: FastAPI(lifespan=lambda app: telegram_lifespan(...))

Telegram sends the secret in ``X-Telegram-Bot-Api-Secret-Token``; requests without the right
value get 403, so nobody else can inject updates. Updates are put on the application's
``update_queue`` (PTB's custom-webhook pattern) and processed by the running application.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import SecretStr
from telegram import Update
from telegram.ext import Application

logger = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def make_webhook_router(
    application: Application[Any, Any, Any, Any, Any, Any],
    secret_token: str | SecretStr | None,
    *,
    path: str = WEBHOOK_PATH,
) -> APIRouter:
    """A router with ``POST {path}`` feeding Telegram updates to ``application``.

    Without a configured secret every request is refused (403): an unauthenticated webhook
    would let anyone impersonate any Telegram user.
    """
    secret = secret_token.get_secret_value() if isinstance(secret_token, SecretStr) else (secret_token or "")
    router = APIRouter()

    @router.post(path, include_in_schema=False)
    async def telegram_webhook(request: Request) -> Response:
        """Receive one update from Telegram."""
        given = request.headers.get(SECRET_HEADER, "")
        if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
            logger.warning("telegram webhook call with a missing or wrong secret token")
            raise HTTPException(status_code=403, detail="密钥校验失败，拒绝访问。")
        try:
            payload = await request.json()
        except ValueError:
            raise HTTPException(status_code=400, detail="请求体不是有效的 JSON。") from None
        if not isinstance(payload, dict) or "update_id" not in payload:
            raise HTTPException(status_code=400, detail="请求体不是有效的 Telegram 更新。")
        update = Update.de_json(payload, application.bot)
        await application.update_queue.put(update)
        return Response(status_code=200)

    return router


@asynccontextmanager
async def telegram_lifespan(
    application: Application[Any, Any, Any, Any, Any, Any],
    *,
    webhook_url: str | None = None,
    secret_token: str | SecretStr | None = None,
    drop_pending_updates: bool = False,
) -> AsyncIterator[dict[str, Any]]:
    """Initialize and start ``application`` (registering the webhook when ``webhook_url`` is
    given), then stop and shut it down on exit (persistence is flushed on shutdown).

    Yields ``{"telegram_application": application}``, so it can also serve directly as a
    FastAPI ``lifespan`` (the mapping becomes ``request.state``)."""
    secret = secret_token.get_secret_value() if isinstance(secret_token, SecretStr) else secret_token
    await application.initialize()
    try:
        if webhook_url:
            await application.bot.set_webhook(
                url=webhook_url,
                secret_token=secret or None,
                allowed_updates=Update.ALL_TYPES,
                drop_pending_updates=drop_pending_updates,
            )
        await application.start()
        try:
            yield {"telegram_application": application}
        finally:
            await application.stop()
    finally:
        await application.shutdown()
