"""``vetbot bot``: the arguments; the command is ``bot.commands.run``, imported only when it runs."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    """Add the ``bot`` subcommand."""
    p = sub.add_parser("bot", help="运行 Telegram 机器人（长轮询模式）")
    p.add_argument("--skip-migrations", action="store_true", help="启动前不自动升级数据库结构")
    p.add_argument("--drop-pending", action="store_true", help="丢弃机器人离线期间积压的消息")
    p.set_defaults(func="bot.commands:run")
