"""Keyboards of the bot: the reply menu and every inline keyboard, with their callback data.

Callback data is ``<prefix>:<argument>[:<argument>]``, a short prefix per purpose because
Telegram caps it at 64 bytes and tickets or region names take most of that. Buttons stay in
users' chats for months and are answered by pattern (``bot.app``), so a prefix is a wire
contract: renaming one would break every button already sent. The prefixes:

=========  =============================  ============================================
prefix     data                           button
=========  =============================  ============================================
``fb``     ``fb:<qa_log id>:up|down``     👍/👎 under an answer
``src``    ``src:<qa_log id>:<index>``    a cited passage under an answer (short label)
``mr``     ``mr:<qa_log id>:1|0``         「更多依据」 / 「收起」 under an answer
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

import re
from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyKeyboardMarkup

from bot import texts
from knowledge.types import Passage

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


# Source buttons under an answer: a few, collapsed; 「更多依据」 shows up to MAX_SOURCES_EXPANDED
# (the question log keeps five passages, and buttons are answered from it).
SOURCES_SHOWN = 3
MAX_SOURCES_EXPANDED = 5
MAX_SOURCE_LABEL = 18
Row = list[tuple[str, str]]

_TITLE_NOISE = re.compile(r"^中华人民共和国|[（(][^（）()]*[)）]$")


def short_source_label(title: str, article: str = "", heading: str = "") -> str:
    """A button label for a cited passage: short document name + article, e.g. 退役军人保障法 第五十三条.

    ``中华人民共和国`` and a trailing （要点） are dropped; the result is at most 18 characters
    (the document name is cut, never the article).
    """
    name = _TITLE_NOISE.sub("", _TITLE_NOISE.sub("", title.strip())) or title.strip()
    where = article or (heading.split(" > ")[-1].strip() if heading else "")
    if where == title:
        where = ""
    room = MAX_SOURCE_LABEL - len(where) - (1 if where else 0)
    if len(name) > room:
        name = name[: max(room - 1, 4)] + "…"
    return f"{name} {where}".strip()


def distinct_labels(labels: Sequence[str]) -> list[str]:
    """``labels`` with repeats numbered (…（2）) so that no two buttons look alike."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label}（{seen[label]}）")
    return out


def source_rows(log_id: int, labels: Sequence[str], *, expanded: bool = False) -> list[Row]:
    """A row per shown source (📄 查看原文 n：label), then the 更多依据 / 收起 toggle if there are more."""
    labels = distinct_labels(labels)[:MAX_SOURCES_EXPANDED]
    shown = labels if expanded else labels[:SOURCES_SHOWN]
    rows: list[Row] = [
        [(f"📄 查看原文 {i + 1}：{label}", f"src:{log_id}:{i}")] for i, label in enumerate(shown)
    ]
    if len(labels) > SOURCES_SHOWN:
        rows.append([("收起依据", f"mr:{log_id}:0")] if expanded else [("更多依据 ▾", f"mr:{log_id}:1")])
    return rows


def rating_row(log_id: int) -> Row:
    """👍/👎 under an answer."""
    return [("👍 有用", f"fb:{log_id}:up"), ("👎 没用", f"fb:{log_id}:down")]


def answer_markup(
    log_id: int | None, sources: Sequence[Passage], *, offer_complaint: bool = False
) -> InlineKeyboardMarkup | None:
    """Keyboard under an answer: up to three source buttons, 更多依据, one rating row, 我要投诉.

    Without a log id (logging failed) only the complaint offer can be shown. None when empty.
    """
    rows: list[Row] = []
    if log_id is not None:
        labels = [short_source_label(s.title, s.article, s.heading) for s in sources]
        rows += source_rows(log_id, labels)
        rows.append(rating_row(log_id))
    if offer_complaint:
        rows.append([("📝 我要投诉", f"cpl:{log_id or 0}")])
    return inline(rows) if rows else None


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
