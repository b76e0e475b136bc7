"""Chinese messages for argparse: the parser class every ``vetbot`` command is built with.

argparse writes its own words ("usage:", "options", "the following arguments are required",
"invalid choice" ...) through ``gettext``, looked up at call time as the module globals
``argparse._`` and ``argparse.ngettext``. The process-wide gettext domain depends on the
machine's locale variables and would also translate other programs' parsers, so instead
:class:`ChineseArgumentParser` binds those two names to :data:`MESSAGES` only while one of its
own methods runs (construction, parsing, help, errors) and restores them afterwards. Subparsers
inherit the class (``add_parser`` builds ``type(parent)``), so a command registered with
``sub.add_parser`` is Chinese too; a parser used as ``parents=[...]`` must be built with this
class as well, or its English group titles come along.

Not thread-safe by design: parsing happens once, in the main thread, before any work starts.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

# Every message argparse 3.11–3.13 passes through ``_()``; keys are argparse's own text, so a
# message missing here is shown in English rather than lost (tests check the coverage).
MESSAGES: dict[str, str] = {
    "usage: ": "用法：",
    "positional arguments": "位置参数",
    "options": "选项",
    "optional arguments": "选项",
    "subcommands": "子命令",
    "show this help message and exit": "显示本帮助信息并退出",
    "show program's version number and exit": "显示程序版本并退出",
    "%(prog)s: error: %(message)s\n": "%(prog)s：错误：%(message)s\n",
    "argument %(argument_name)s: %(message)s": "参数 %(argument_name)s：%(message)s",
    "the following arguments are required: %s": "缺少必需的参数：%s",
    "one of the arguments %s is required": "必须提供以下参数之一：%s",
    "unrecognized arguments: %s": "无法识别的参数：%s",
    "ambiguous option: %(option)s could match %(matches)s": "选项 %(option)s 有歧义，可能是：%(matches)s",
    "invalid choice: %(value)r (choose from %(choices)s)": "无效的选项值 %(value)r（可选：%(choices)s）",
    "invalid %(type)s value: %(value)r": "无效的 %(type)s 值：%(value)r",
    "expected one argument": "需要一个值",
    "expected at most one argument": "最多需要一个值",
    "expected at least one argument": "至少需要一个值",
    "not allowed with argument %s": "不能与参数 %s 同时使用",
    "ignored explicit argument %r": "忽略了多余的值 %r",
    "unexpected option string: %s": "意外的选项：%s",
    "unknown parser %(parser_name)r (choices: %(choices)s)":
        "未知的子命令 %(parser_name)r（可选：%(choices)s）",
    "can't open '%(filename)s': %(error)s": "无法打开“%(filename)s”：%(error)s",
    "argument \"-\" with mode %r": "参数“-”不支持模式 %r",
    "%r is not callable": "%r 不可调用",
    ".__call__() not defined": ".__call__() 未定义",
    "'required' is an invalid argument for positionals": "位置参数不能使用 required",
    "mutually exclusive arguments must be optional": "互斥参数必须是可选参数",
    "cannot merge actions - two groups are named %r": "无法合并参数：有两个参数组都叫 %r",
    "invalid option string %(option)r: must start with a character %(prefix_chars)r":
        "无效的选项名 %(option)r：必须以 %(prefix_chars)r 开头",
    "dest= is required for options like %r": "选项 %r 需要指定 dest=",
    "invalid conflict_resolution value: %r": "无效的 conflict_resolution 值：%r",
    "cannot have multiple subparser arguments": "只能有一组子命令",
    "conflicting subparser: %s": "子命令重名：%s",
    "conflicting subparser alias: %s": "子命令别名重名：%s",
}

# ngettext messages, keyed by the singular form; Chinese has one form for both.
PLURAL_MESSAGES: dict[str, str] = {
    "conflicting option string: %s": "选项名冲突：%s",
    "expected %s argument": "需要 %s 个值",
}


def translate(message: str) -> str:
    """The Chinese text of an argparse message, or the message itself when it has none."""
    return MESSAGES.get(message, message)


def translate_plural(singular: str, plural: str, n: int) -> str:
    """The Chinese text of an argparse singular/plural message pair (``ngettext`` signature)."""
    if singular in PLURAL_MESSAGES:
        return PLURAL_MESSAGES[singular]
    return singular if n == 1 else plural


@contextmanager
def chinese_messages() -> Iterator[None]:
    """Bind argparse's message lookups to the Chinese catalogue for the duration of the block.

    Re-entrant: each block restores what it found, so nested calls (a parser's ``parse_args``
    calling its subparser's) leave argparse as it was.
    """
    module: Any = argparse  # the two names are argparse's imports from gettext
    saved: tuple[Callable[..., str], Callable[..., str]] = (module._, module.ngettext)
    module._, module.ngettext = translate, translate_plural
    try:
        yield
    finally:
        module._, module.ngettext = saved


class ChineseArgumentParser(argparse.ArgumentParser):
    """An ``argparse.ArgumentParser`` whose usage, help and error messages are Simplified Chinese.

    Same constructor and behaviour as the base class; errors still exit with status 2.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        with chinese_messages():  # the default group titles and the -h help are set here
            super().__init__(*args, **kwargs)

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        with chinese_messages():
            return super().add_argument(*args, **kwargs)

    def add_subparsers(self, **kwargs: Any) -> argparse._SubParsersAction:  # type: ignore[type-arg]
        with chinese_messages():
            return super().add_subparsers(**kwargs)

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        with chinese_messages():  # "unrecognized arguments" is worded here, not in parse_known_args
            return super().parse_args(args, namespace)

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        with chinese_messages():
            return super().parse_known_args(args, namespace)

    def format_usage(self) -> str:
        with chinese_messages():
            return super().format_usage()

    def format_help(self) -> str:
        with chinese_messages():
            return super().format_help()

    def error(self, message: str) -> NoReturn:
        with chinese_messages():
            super().error(message)
