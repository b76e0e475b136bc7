"""The ``vetbot`` dispatcher: subcommands come from the ``vetbot.commands`` entry points."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from typing import Any

import pytest

from vetbot import cli
from vetbot.errors import InvalidInputError
from vetbot.settings import Settings


def _hello(sub: Any) -> None:
    p = sub.add_parser("hello")
    p.add_argument("--fail", action="store_true")

    def run(args: argparse.Namespace, settings: Settings) -> int:
        if args.fail:
            raise InvalidInputError("bad", user_message="参数有误")
        print(f"你好 {type(settings).__name__}")
        return 0

    p.set_defaults(func=run)


def test_explicit_commands_run_with_settings_and_translate_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["hello"], commands=[_hello]) == 0
    assert cli.main(["hello", "--fail"], commands=[_hello]) == 1
    out, err = capsys.readouterr()
    assert "你好 Settings" in out and "错误：参数有误" in err


def test_every_package_contributes_its_commands() -> None:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert {"db", "ingest", "ask", "eval", "bench", "cases", "demo-data", "bot", "serve"} <= set(sub.choices)


def test_no_registered_commands_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "entry_points", lambda group: [])
    assert cli.main(["db", "upgrade"]) == 1
    assert "pip install -e ." in capsys.readouterr().err


_MANY_LINES = (
    "from vetbot import cli\n"
    "def reg(sub):\n"
    "    p = sub.add_parser('many')\n"
    "    p.set_defaults(func=lambda a, s: [print('行' * 100) for _ in range(100000)] and 0)\n"
    "raise SystemExit(cli.main(['many'], commands=[reg]))\n"
)


def test_a_closed_pipe_ends_the_command_quietly() -> None:
    # `vetbot ask ... | head` used to end in a BrokenPipeError traceback.
    proc = subprocess.run(
        f'"{sys.executable}" -c "$SCRIPT" | head -c 10',
        shell=True,
        capture_output=True,
        env={**os.environ, "SCRIPT": _MANY_LINES},
        timeout=120,
    )
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.stdout and "Traceback" not in err and "BrokenPipeError" not in err
