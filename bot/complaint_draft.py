"""The complaint draft kept in ``user_data["complaint"]``: its full text and summary, fitting new
text into it, what a message typed where a button is expected adds to it, and the region step's
buttons (the place its text names first).

A draft is a JSON-only dict (``text``, ``details``, ``notes``, ``attachments``...), so that the
database persistence can store it and a restart resumes the flow at the same step.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Literal

from bot import texts
from bot.formatting import esc
from complaints.themes import THEMES
from knowledge.conversation_input import has_question
from vetbot.privacy import mask_phone, mask_text
from vetbot.regions import most_specific, pickable
from vetbot.textnorm import clean_input

StrayKind = Literal["detail", "question", "noise"]
_HAN = re.compile(r"[\u3400-\u9fff]")


def full_text(draft: dict[str, Any]) -> str:
    """The case text a draft would file: what was typed, the added details, the photo captions."""
    parts = [draft.get("text") or ""]
    if draft.get("details"):
        parts.append(("补充说明：" if draft.get("text") else "") + draft["details"])
    for note in draft.get("notes", []):
        parts.append(f"照片说明：{note}")
    return "\n".join(p for p in parts if p).strip()


def summary_html(draft: dict[str, Any]) -> str:
    """The summary shown before 确认提交 (Telegram HTML). Chat history outlives the case, so
    ID-card, bank-card and phone numbers stay masked here."""
    phone = mask_phone(draft.get("phone")) if draft.get("phone") else "未留"
    # Only photos: a description over the length limit is kept as a kind="text" attachment,
    # which the summary already announces with OVERFLOW_KEPT.
    photos = sum(1 for a in draft.get("attachments", []) if a.get("kind") == "photo")
    lines = [
        texts.CONFIRM_HEADER,
        f"类别：{esc(THEMES.get(draft.get('theme') or 'other', '其他'))}",
        f"地区：{esc(draft.get('region') or '未填写')}",
        f"姓名：{esc(draft.get('name') or '未留')}",
        f"联系电话：{esc(phone)}",
        f"照片：{photos} 张" if photos else "照片：无",
        "内容：",
        f"<i>{esc(mask_text(full_text(draft)))}</i>",
        texts.OVERFLOW_KEPT if draft.get("overflow_notice") else "",
        "",
        texts.CONFIRM_FOOTER,
    ]
    return "\n".join(lines)


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


def stray_text_kind(text: str) -> StrayKind:
    """What a message typed where a button is expected (the category, the summary) is.

    ``noise``: no Chinese character once emoji are dropped (😀👍, ``asdkjh qwe 123``, a lone
    number); ``question``: it asks something (优待证怎么办理, 老兵坐火車半價嗎: traditional is
    folded first), most likely a policy question rather than part of the complaint; ``detail``:
    anything else (车牌号是鲁A12345), which belongs in the complaint text.
    """
    plain = clean_input(text)
    if not _HAN.search(plain):
        return "noise"
    return "question" if has_question(plain) else "detail"


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
