"""``vetbot db upgrade``: apply database migrations."""

from __future__ import annotations

import argparse
from typing import Any

from vetbot.db import upgrade
from vetbot.settings import Settings


def register(sub: Any) -> None:
    """Add the ``db`` subcommand."""
    p = sub.add_parser("db", help="数据库迁移")
    p.add_argument("action", choices=["upgrade"], help="upgrade：升级到最新结构")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    upgrade(settings.sqlalchemy_url)
    print("数据库已是最新结构。")
    return 0
