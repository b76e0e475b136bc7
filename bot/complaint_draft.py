"""The complaint draft kept in ``user_data["complaint"]``: its full text, fitting new text into it,
and the region step's buttons (the place its text names first).

A draft is a JSON-only dict (``text``, ``details``, ``notes``, ``attachments``...), so that the
database persistence can store it and a restart resumes the flow at the same step.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from vetbot.regions import most_specific, pickable


def full_text(draft: dict[str, Any]) -> str:
    """The case text a draft would file: what was typed, the added details, the photo captions."""
    parts = [draft.get("text") or ""]
    if draft.get("details"):
        parts.append(("补充说明：" if draft.get("text") else "") + draft["details"])
    for note in draft.get("notes", []):
        parts.append(f"照片说明：{note}")
    return "\n".join(p for p in parts if p).strip()


def fit_text(
    draft: dict[str, Any], text: str, message_ref: str, max_chars: int, *, replacing_details: bool = True
) -> str:
    """``text`` cut to what the case text (``max_chars`` characters) can still hold.

    Nothing is dropped: when ``text`` does not fit, the whole message is referenced as a
    ``kind="text"`` attachment (``message_ref`` = ``tg-msg:<chat>:<message_id>``, the user's
    Telegram message) and ``draft["overflow_notice"]`` is set so the summary says so.
    ``replacing_details``: the text replaces the draft's details rather than adding to them.
    """
    rest_of_draft = {**draft, "details": ""} if replacing_details else draft
    room = max_chars - len(full_text(rest_of_draft)) - 1
    if len(text) <= room:
        return text
    rest = len(text) - max(room, 0)
    name = f"投诉描述全文（共 {len(text)} 字，超出案件正文的 {rest} 字见此消息）"
    attachment = {"file_id": message_ref, "kind": "text", "mime": "text/plain", "name": name}
    draft.setdefault("attachments", []).append({**attachment, "size": len(text.encode())})
    draft["overflow_notice"] = True
    return text[: max(room, 0)]


def named_region(draft: dict[str, Any]) -> str | None:
    """The place the draft's text names (金华双龙洞景区… → 金华市), by the one gazetteer
    (``vetbot.regions``); preselected at the region step as the classifier's theme is at the
    theme step. None when it names none."""
    text = "\n".join(p for p in (draft.get("text"), draft.get("details")) if p)
    place = most_specific(text) if text else None
    return place.name if place is not None else None


def region_options(kb_regions: Iterable[str], named: str | None, own: str | None) -> list[str]:
    """The region buttons, in order: the place the complaint names, the chat's own region
    (/region), then the knowledge base's regions that can be picked (never 全国)."""
    options: list[str] = []
    for region in (named, own, *pickable(kb_regions)):
        if region and region != "全国" and region not in options:
            options.append(region)
    return options
