"""``vetbot bot``: run the Telegram bot by long polling (arguments in ``bot.cli``)."""

from __future__ import annotations

import argparse
import logging

from telegram import Update

from bot.app import NO_TOKEN, create_bot_application
from vetbot.db import upgrade
from vetbot.errors import ConfigurationError
from vetbot.settings import Settings

logger = logging.getLogger(__name__)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Migrate (unless ``--skip-migrations``) and poll until interrupted.

    Raises ConfigurationError when no Telegram token is configured.
    """
    if settings.telegram_token is None or not settings.telegram_token.get_secret_value():
        raise ConfigurationError("VETBOT_TELEGRAM_TOKEN is not set", user_message=NO_TOKEN)
    if not args.skip_migrations:
        upgrade(settings.sqlalchemy_url)
    application = create_bot_application(settings)
    logger.info("bot starting (polling)")
    print("Telegram 机器人已启动（长轮询），按 Ctrl+C 停止。")
    application.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=args.drop_pending)
    return 0
