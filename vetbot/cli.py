"""The ``vetbot`` command: one entry point, subcommands registered by each package.

Each package exposes ``register(subparsers)`` in its own ``cli`` module; a subcommand sets
``func(args, settings) -> int`` as its handler, either the function itself or a reference
``"package.module:function"``. A reference is imported only when its command runs, so a
package whose commands need the web stack or the Telegram library keeps ``vetbot --help``
and every other command from loading them.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from vetbot.errors import VetbotError
from vetbot.logging_setup import configure_logging
from vetbot.settings import Settings

logger = logging.getLogger(__name__)

# Packages contributing subcommands, in help order. A missing one is skipped so that the
# CLI keeps working while a package is being built.
_COMMAND_MODULES = (
    "vetbot.dbcli",
    "ingest.cli",
    "knowledge.cli",
    "complaints.cli",
    "complaints.democli",
    "bot.cli",
    "api.cli",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level argument parser with every package's subcommands."""
    parser = argparse.ArgumentParser(prog="vetbot", description="退役军人服务与优待政策助手")
    parser.add_argument("--log-level", default=None, help="日志级别（默认读取 VETBOT_LOG_LEVEL）")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue
            raise
        module.register(sub)
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


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, build Settings once and run the chosen subcommand."""
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = Settings()
    configure_logging(args.log_level or settings.log_level)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(resolve_command(args.func)(args, settings) or 0)
    except VetbotError as exc:
        logger.debug("command failed", exc_info=True)
        print(f"错误：{exc.user_message}（{exc}）" if str(exc) != exc.user_message else f"错误：{exc}",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("已中断。", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
