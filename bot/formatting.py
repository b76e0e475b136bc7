"""Telegram HTML formatting: answers with citations, case summaries, message splitting.

Every dynamic string goes through ``html.escape``; the only markup added here is ``<b>``
and ``<i>`` inside a single line, so messages can be split at line boundaries safely.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from vetbot.clock import CHINA_TZ

if TYPE_CHECKING:
    from knowledge.types import Answer, Passage

# Telegram rejects messages over 4096 characters (counted after entity parsing); keep a
# margin because the limit is applied to UTF-16 code units.
TELEGRAM_LIMIT = 4096
SAFE_LIMIT = 3800

DISCLAIMER = (
    "以上内容依据所引政策条文整理，仅供参考，不构成法律意见，也不能代替主管部门的认定；"
    "具体以当地退役军人事务部门答复为准。"
)


def esc(value: object) -> str:
    """HTML-escape any value for Telegram's HTML parse mode."""
    return html.escape("" if value is None else str(value), quote=False)


def source_label(source: Passage) -> str:
    """Citation of a source with its region when local, e.g. 《…》第五条（济南市地方规定）, and
    the version label of a text no longer in force (``Passage.status_note``, as search shows it):
    《…》第五条（已被《…》取代（2024-09-21起施行））."""
    label = source.citation
    if source.scope == "local" or (source.region and source.region != "全国"):
        label = f"{label}（{source.region}地方规定）"
    if not source.in_force:
        label = f"{label}（{source.status_note}）"
    return label


def format_answer(answer: Answer) -> str:
    """The answer as Telegram HTML: text, numbered citations, disclaimer.

    The answer text already carries its local-rule notes (knowledge.answer); each local
    source is also marked 地方规定 in the citation list.
    """
    parts = [esc(answer.answer.strip())]
    if not answer.refused and answer.sources:
        lines = ["<b>政策依据：</b>"]
        for i, src in enumerate(answer.sources, 1):
            lines.append(f"{i}. {esc(source_label(src))}")
        if answer.related:
            lines.append("<b>相关条文：</b>")
            lines.extend(f"· {esc(source_label(src))}" for src in answer.related)
        parts.append("\n".join(lines))
        parts.append(f"<i>{esc(DISCLAIMER)}</i>")
    elif answer.refused and answer.related:
        # A refusal lists only a text not yet in force that it mentions (knowledge.pending).
        listed = (f"· {esc(source_label(src))}" for src in answer.related)
        parts.append("\n".join(["<b>相关条文：</b>", *listed]))
    return "\n\n".join(p for p in parts if p)


def format_source_text(source: dict[str, Any]) -> str:
    """The full text of one cited passage (for 「查看原文」)."""
    head = f"<b>{esc(source.get('label') or source.get('citation') or '')}</b>"
    meta = []
    if source.get("region"):
        meta.append(f"适用范围：{esc(source['region'])}")
    if source.get("heading"):
        meta.append(f"章节：{esc(source['heading'])}")
    body = esc(source.get("text", "").strip())
    return "\n".join([head, *meta, "", body]) if meta else f"{head}\n\n{body}"


def _cut_point(text: str, limit: int) -> int:
    """A position ≤ limit that does not fall inside an HTML entity or tag."""
    cut = limit
    amp = text.rfind("&", 0, cut)
    if amp != -1 and text.find(";", amp, cut) == -1:
        cut = amp
    lt = text.rfind("<", 0, cut)
    if lt != -1 and text.find(">", lt, cut) == -1:
        cut = lt
    return cut if cut > 0 else limit


def split_message(text: str, limit: int = SAFE_LIMIT) -> list[str]:
    """Split HTML text into messages under ``limit``, preferring paragraph boundaries.

    Paragraphs (blank-line separated) are packed greedily; a paragraph too long on its own is
    split at line breaks, and a line too long on its own is cut without breaking an entity.
    """
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    for para in text.split("\n\n"):
        if len(para) <= limit:
            pieces.append(para)
            continue
        for line in para.split("\n"):
            while len(line) > limit:
                cut = _cut_point(line, limit)
                pieces.append(line[:cut])
                line = line[cut:]
            pieces.append(line)
    out: list[str] = []
    current = ""
    for piece in pieces:
        sep = "\n\n" if current else ""
        if len(current) + len(sep) + len(piece) <= limit:
            current = current + sep + piece
        else:
            if current:
                out.append(current)
            current = piece
    if current:
        out.append(current)
    return [m for m in out if m.strip()] or [text[:limit]]


def format_dt(value: datetime | None) -> str:
    """A deadline or timestamp in Beijing time, e.g. 2026-12-07 10:30."""
    if value is None:
        return "—"
    if value.tzinfo is not None:
        value = value.astimezone(CHINA_TZ)
    return value.strftime("%Y-%m-%d %H:%M")


def bullet_lines(items: Iterable[tuple[str, object]]) -> str:
    """``label：value`` lines with escaped values, skipping empty values."""
    return "\n".join(f"{esc(k)}：{esc(v)}" for k, v in items if v not in (None, ""))


def normalise_phone(raw: str) -> str | None:
    """A mainland mobile number as 11 digits, or None when ``raw`` is not one."""
    digits = re.sub(r"[\s\-()（）]", "", raw.strip())
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits if re.fullmatch(r"1[3-9]\d{9}", digits) else None
