"""The ``vetbot`` command: one entry point, subcommands contributed by each package.

Each package exposes ``register(subparsers)`` in its own ``cli`` module and lists it in the
``vetbot.commands`` entry-point group of ``pyproject.toml``; a subcommand sets
``func(args, settings) -> int`` as its handler. The dispatcher reads that group, so this
bottom layer never imports the packages above it. A subcommand that uses the database sets
``needs_database=True`` too: the dispatcher then applies pending migrations before running it,
so a fresh data directory needs no separate ``vetbot db upgrade``. A handler is the function itself or a
reference ``"package.module:function"``, imported only when its command runs, so commands that
need the web stack or the Telegram library keep ``vetbot --help`` and the others from loading them.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from importlib.metadata import entry_points
from typing import Any

from vetbot.argparse_zh import ChineseArgumentParser
from vetbot.db import ensure_schema
from vetbot.errors import ConfigurationError, VetbotError
from vetbot.logging_setup import configure_logging
from vetbot.settings import Settings

logger = logging.getLogger(__name__)

COMMANDS_GROUP = "vetbot.commands"

Register = Callable[[Any], None]


def registered_commands() -> list[Register]:
    """The ``register`` functions of the ``vetbot.commands`` entry points, sorted by name.

    Raises ConfigurationError when none is registered (the package metadata is stale or the
    package is not installed: ``pip install -e .``).
    """
    found = [ep.load() for ep in entry_points(group=COMMANDS_GROUP)]
    if not found:
        raise ConfigurationError(
            f"no {COMMANDS_GROUP} entry points", user_message="未找到任何子命令，请重新安装：pip install -e ."
        )
    return found


def build_parser(commands: Iterable[Register] | None = None) -> argparse.ArgumentParser:
    """The top-level parser with the given subcommand registrars (default: the registered ones).

    A ``ChineseArgumentParser``: its subparsers inherit the class, so argparse's own usage,
    help and error texts are Chinese in every subcommand.
    """
    parser = ChineseArgumentParser(prog="vetbot", description="退役军人服务与优待政策助手")
    parser.add_argument("--log-level", default=None, help="日志级别（默认读取 VETBOT_LOG_LEVEL）")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in registered_commands() if commands is None else commands:
        register(sub)
    return parser


def resolve_command(func: Callable[..., Any] | str) -> Callable[..., Any]:
    """The command function of ``func``: itself, or the function named ``"module:function"``.

    Raises ImportError / AttributeError when the reference names nothing.
    """
    if callable(func):
        return func
    module_name, _, attr = func.partition(":")
    command: Callable[..., Any] = getattr(importlib.import_module(module_name), attr)
    return command


def main(argv: Sequence[str] | None = None, commands: Iterable[Register] | None = None) -> int:
    """Parse arguments, build Settings once and run the chosen subcommand; returns the exit code."""
    try:
        parser = build_parser(commands)
    except ConfigurationError as exc:
        print(f"错误：{exc.user_message}", file=sys.stderr)
        return 1
    args = parser.parse_args(argv)
    settings = Settings()
    configure_logging(args.log_level or settings.log_level)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        if getattr(args, "needs_database", False) and ensure_schema(settings.sqlalchemy_url):
            print("提示：数据库结构已自动升级到最新。", file=sys.stderr)
        return int(resolve_command(args.func)(args, settings) or 0)
    except VetbotError as exc:
        logger.debug("command failed", exc_info=True)
        print(f"错误：{exc.user_message}（{exc}）" if str(exc) != exc.user_message else f"错误：{exc}",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("已中断。", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (``| head``) went away: stop quietly, and point stdout at devnull so
        # the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
