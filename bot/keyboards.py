"""Keyboards of the bot: the reply menu and every inline keyboard, with their callback data.

Callback data is ``<prefix>:<argument>[:<argument>]``, a short prefix per purpose because
Telegram caps it at 64 bytes and tickets or region names take most of that. Buttons stay in
users' chats for months and are answered by pattern (``bot.app``), so a prefix is a wire
contract: renaming one would break every button already sent. The prefixes:

=========  =============================  ============================================
prefix     data                           button
=========  =============================  ============================================
``fb``     ``fb:<qa_log id>:up|down``     👍/👎 under an answer
``src``    ``src:<qa_log id>:<index>``    「查看原文」 under an answer
``cpl``    ``cpl:<qa_log id or 0>``       「我要投诉」 under an answer
``reg``    ``reg:<region>`` / ``reg:*``   /region choice (``*`` = nationwide)
``th``     ``th:<theme code>``            complaint filing: theme
``rg``     ``rg:<index>``                 complaint filing: region option
``ph``     ``ph:skip``                    complaint filing: no phone number
``cf``     ``cf:ok|edit|cancel``          complaint filing: the summary
``ed``     ``ed:<part>|back``             complaint filing: what to change
``rt``     ``rt:<ticket>:<index>``        satisfaction rating of a concluded case
``ca``     ``ca:<action>:<ticket>``       a caseworker's action on a case notice
``noop``   ``noop``                       a label that only acknowledges the press
=========  =============================  ============================================
"""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyKeyboardMarkup

from bot import texts

MAX_CALLBACK_BYTES = 64

# Caseworker (承办人) actions offered as buttons, in display order, with their labels.
CASE_ACTIONS = ("accept", "reject", "transfer", "conclude", "reply", "extend")
CASE_ACTION_LABELS = {
    "accept": "受理",
    "reject": "不予受理",
    "transfer": "转办",
    "conclude": "办结",
    "reply": "中间答复",
    "extend": "延期",
}
# Satisfaction ratings in button order; ``rt:<ticket>:<index>`` indexes this tuple.
RATINGS = ("满意", "基本满意", "不满意")


def menu_markup() -> ReplyKeyboardMarkup:
    """The persistent reply keyboard of common topics."""
    return ReplyKeyboardMarkup(texts.MENU_ROWS, resize_keyboard=True, is_persistent=True)


def inline(rows: Sequence[Sequence[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """An inline keyboard from rows of (label, callback_data).

    Raises ValueError when a callback_data is over Telegram's 64 bytes (UTF-8).
    """
    for row in rows:
        for _, data in row:
            if len(data.encode()) > MAX_CALLBACK_BYTES:
                raise ValueError(f"callback_data too long: {data!r}")
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


def rows_of(buttons: Sequence[tuple[str, str]], per_row: int) -> list[list[tuple[str, str]]]:
    """Group (label, callback_data) pairs into rows of ``per_row`` (the last row may be shorter)."""
    return [list(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row)]


def case_action_markup(ticket: str, allowed: Sequence[str] | None = None) -> InlineKeyboardMarkup | None:
    """Buttons for the caseworker actions on ``ticket`` (all four, or those in ``allowed``).

    None when none of the actions is allowed. Two per row.
    """
    shown = [a for a in CASE_ACTIONS if allowed is None or a in allowed]
    if not shown:
        return None
    return inline(rows_of([(CASE_ACTION_LABELS[a], f"ca:{a}:{ticket}") for a in shown], 2))


def rating_markup(ticket: str) -> InlineKeyboardMarkup:
    """Inline buttons 满意 / 基本满意 / 不满意 for ``ticket``."""
    return inline([[(label, f"rt:{ticket}:{i}") for i, label in enumerate(RATINGS)]])
