"""``vetbot bot``: run the Telegram bot in polling mode."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from telegram import Update

from bot.app import NO_TOKEN, create_bot_application
from vetbot.db import upgrade
from vetbot.errors import ConfigurationError
from vetbot.settings import Settings

logger = logging.getLogger(__name__)


def register(sub: Any) -> None:
    """Add the ``bot`` subcommand."""
    p = sub.add_parser("bot", help="运行 Telegram 机器人（长轮询模式）")
    p.add_argument("--skip-migrations", action="store_true", help="启动前不自动升级数据库结构")
    p.add_argument("--drop-pending", action="store_true", help="丢弃机器人离线期间积压的消息")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if settings.telegram_token is None or not settings.telegram_token.get_secret_value():
        raise ConfigurationError("VETBOT_TELEGRAM_TOKEN is not set", user_message=NO_TOKEN)
    if not args.skip_migrations:
        upgrade(settings.sqlalchemy_url)
    application = create_bot_application(settings)
    logger.info("bot starting (polling)")
    print("Telegram 机器人已启动（长轮询），按 Ctrl+C 停止。")
    application.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=args.drop_pending)
    return 0
