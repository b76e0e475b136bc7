"""argparse's own words (usage, help, errors) are Chinese in every ``vetbot`` subcommand."""

from __future__ import annotations

import argparse
import ast
import inspect

import pytest

from vetbot import argparse_zh, cli

ENGLISH = (
    "usage:",
    "positional arguments",
    "options:",
    "show this help message and exit",
    "the following arguments are required",
    "invalid choice",
    "error:",
    "unrecognized arguments",
    "expected one argument",
)


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                found.extend(_subparsers(child))
    return found


def test_every_subcommand_help_is_chinese() -> None:
    parsers = _subparsers(cli.build_parser())
    assert len(parsers) > 20  # users add, cases close ...: all of them, not only the top level
    for parser in parsers:
        text = parser.format_help()
        assert "用法：" in text and "显示本帮助信息并退出" in text, parser.prog
        assert not [w for w in ENGLISH if w in text], (parser.prog, text)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["users", "add"], "缺少必需的参数：username, --role"),
        (["users", "add", "x", "--role", "boss"], "无效的选项值 'boss'"),
        (["users", "frobnicate"], "无效的选项值 'frobnicate'"),
        (["cases", "list", "--limit", "many"], "无效的 int 值：'many'"),
        (["cases", "list", "--limit"], "需要一个值"),
        (["db", "upgrade", "--bogus"], "无法识别的参数：--bogus"),
    ],
)
def test_usage_errors_are_chinese(argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert "用法：" in err and "：错误：" in err and expected in err, err
    assert not [w for w in ENGLISH if w in err], err


def test_other_parsers_stay_untouched() -> None:
    # The catalogue is bound only while a vetbot parser works; other programs' parsers keep English.
    cli.build_parser().format_help()
    assert "usage:" in argparse.ArgumentParser(prog="x").format_help()


def test_the_catalogue_covers_every_argparse_message() -> None:
    tree = ast.parse(inspect.getsource(argparse))
    singular, plural = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                if node.func.id == "_":
                    singular.add(first.value)
                elif node.func.id == "ngettext":
                    plural.add(first.value)
    assert singular and plural
    assert singular - set(argparse_zh.MESSAGES) == set()
    assert plural - set(argparse_zh.PLURAL_MESSAGES) == set()
