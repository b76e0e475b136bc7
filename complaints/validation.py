"""Limits and cleaning of what people type into a case: complaint text, notes, attachments.

Every violation raises ``InvalidInputError`` with a Chinese ``user_message`` that says what to fix.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from complaints.types import Attachment
from knowledge import smalltalk
from vetbot.errors import InvalidInputError
from vetbot.textnorm import clean_input, normalize

MAX_TEXT_CHARS = 5000
# A complaint must say something a caseworker can act on: at least this many letters or
# digits (punctuation, spaces and emoji do not count), and not only a greeting or thanks.
MIN_SUBSTANCE_CHARS = 10
TOO_SHORT_MESSAGE = f"描述太简短了，请补充时间、地点、经过和您的诉求（至少 {MIN_SUBSTANCE_CHARS} 个字）。"
SMALLTALK_MESSAGE = (
    "这是一句问候或客套话，还不是投诉内容。"
    f"请写明时间、地点、经过和您的诉求（至少 {MIN_SUBSTANCE_CHARS} 个字）。"
)
MAX_NOTE_CHARS = 2000
PHONE_MESSAGE = ("联系电话格式不正确：请填写 11 位手机号或带区号的固定电话（如 0531-88881234）；"
                 "不想留可以不填。")
CONTACT_PHONE_MESSAGE = (
    "联系电话格式不正确：请填写 11 位手机号（如 13812345678）或带区号的固定电话（如 0531-88881234）。"
)
# A mainland mobile, or a landline with its area code: 010 and 02X are the only three-digit
# codes (北京, 上海, 天津, 重庆, 广州, …), every other one has four digits; then 7–8 digits.
_MOBILE_RE = re.compile(r"1[3-9]\d{9}")
_LANDLINE_RE = re.compile(r"(0[12]\d|0[3-9]\d{2})([2-9]\d{6,7})")
_COUNTRY_CODE_RE = re.compile(r"^(?:\+|00)86")
ID_NUMBER_MESSAGE = "身份证号应为 18 位（最后一位可以是 X）或 15 位数字；不想留可以不填。"
_PHONE_RE = re.compile(r"\+?[\d\s\-()]+")
_ID_NUMBER_RE = re.compile(r"\d{17}[\dX]|\d{15}")
MAX_ATTACHMENTS = 20


def clean_complaint_text(text: str | None) -> str:
    """The stripped complaint text; ``InvalidInputError`` when empty or over ``MAX_TEXT_CHARS``."""
    cleaned = (text or "").strip()
    if not cleaned:
        raise InvalidInputError("empty complaint", user_message="投诉内容不能为空，请写明反映的问题。")
    if len(cleaned) > MAX_TEXT_CHARS:
        raise InvalidInputError(
            "complaint too long",
            user_message=f"投诉内容过长（超过 {MAX_TEXT_CHARS} 字），请精简后再提交。",
        )
    return cleaned


def substance_chars(text: str) -> int:
    """How many letters and digits ``text`` has (punctuation, spaces, symbols and emoji excluded)."""
    return sum(1 for ch in text if unicodedata.category(ch)[0] in "LN")


def check_complaint_substance(text: str) -> None:
    """Refuse a complaint with nothing to act on (the bot's description step and the API).

    Raises ``InvalidInputError`` with :data:`SMALLTALK_MESSAGE` for a greeting, thanks or
    goodbye (你好, 谢谢), or :data:`TOO_SHORT_MESSAGE` under :data:`MIN_SUBSTANCE_CHARS`
    letters or digits.
    """
    if smalltalk.detect(clean_input(text)) is not None:
        raise InvalidInputError("complaint is small talk", user_message=SMALLTALK_MESSAGE)
    if substance_chars(text) < MIN_SUBSTANCE_CHARS:
        raise InvalidInputError("complaint too short", user_message=TOO_SHORT_MESSAGE)


def check_phone(phone: str | None) -> str | None:
    """A complainant's phone number, stripped; None when blank.

    7 to 15 digits, with spaces, dashes, brackets or a leading + (a mobile, a landline with its
    area code, +86 …); full-width digits count. ``InvalidInputError`` (:data:`PHONE_MESSAGE`)
    otherwise: a typo would leave the caseworker no number to call and the visitor no last four
    digits to follow the case with.
    """
    text = normalize(phone or "").strip()
    if not text:
        return None
    if not _PHONE_RE.fullmatch(text) or not 7 <= sum(ch.isdigit() for ch in text) <= 15:
        raise InvalidInputError("bad phone number", user_message=PHONE_MESSAGE)
    return text


def check_contact_phone(phone: str | None) -> str:
    """A phone staff add to or correct on a case: a mainland mobile (``1[3-9]`` and 9 digits,
    returned as 11 digits) or a landline with its area code (returned as ``0531-88881234``).

    Spaces, dashes, brackets, full-width digits and a +86 / 0086 prefix are accepted. Stricter than
    :func:`check_phone`: the number is typed at a desk to let the complainant follow the case by
    its last four digits, so it must be a number that can be reached. ``InvalidInputError``
    (:data:`CONTACT_PHONE_MESSAGE`) for anything else, blank included.
    """
    text = normalize(phone or "").strip()
    if not text or not _PHONE_RE.fullmatch(text):
        raise InvalidInputError("bad contact phone", user_message=CONTACT_PHONE_MESSAGE)
    digits = re.sub(r"\D", "", _COUNTRY_CODE_RE.sub("", text))
    if _MOBILE_RE.fullmatch(digits):
        return digits
    landline = _LANDLINE_RE.fullmatch(digits)
    if landline:
        return f"{landline.group(1)}-{landline.group(2)}"
    raise InvalidInputError("bad contact phone", user_message=CONTACT_PHONE_MESSAGE)


def check_id_number(value: str | None) -> str | None:
    """An ID-card number, spaces removed and x upper-cased; None when blank.

    ``InvalidInputError`` (:data:`ID_NUMBER_MESSAGE`) unless 18 characters (17 digits and a digit
    or X) or 15 digits; the check digit is not verified.
    """
    text = "".join(normalize(value or "").split()).upper()
    if not text:
        return None
    if not _ID_NUMBER_RE.fullmatch(text):
        raise InvalidInputError("bad id number", user_message=ID_NUMBER_MESSAGE)
    return text


def clean_attachments(items: Sequence[Attachment | dict[str, Any]]) -> list[dict[str, Any]]:
    """Attachment metadata as stored in ``Case.attachments`` (``InvalidInputError`` if bad)."""
    if len(items) > MAX_ATTACHMENTS:
        raise InvalidInputError("too many attachments", user_message=f"附件最多 {MAX_ATTACHMENTS} 个。")
    out: list[dict[str, Any]] = []
    for item in items:
        data = asdict(item) if isinstance(item, Attachment) else dict(item)
        file_id = str(data.get("file_id") or "").strip()
        if not file_id:
            raise InvalidInputError("attachment without file_id", user_message="附件信息不完整，请重新上传。")
        size = data.get("size")
        out.append(
            {
                "file_id": file_id,
                "kind": str(data.get("kind") or "document"),
                "mime": data.get("mime"),
                "size": int(size) if size is not None else None,
                "name": data.get("name"),
                # Set when the bytes are kept under the case-files root (complaints.attachments).
                **({"stored": str(data["stored"])} if data.get("stored") else {}),
            }
        )
    return out


def clean_note(note: str | None) -> str | None:
    """A stripped optional note (None when blank); ``InvalidInputError`` when too long."""
    cleaned = (note or "").strip()
    if len(cleaned) > MAX_NOTE_CHARS:
        raise InvalidInputError("note too long", user_message=f"说明文字过长（超过 {MAX_NOTE_CHARS} 字）。")
    return cleaned or None


def required_text(text: str | None, message: str) -> str:
    """A stripped mandatory text; ``InvalidInputError`` carrying ``message`` when blank."""
    cleaned = clean_note(text)
    if not cleaned:
        raise InvalidInputError("required text missing", user_message=message)
    return cleaned


__all__ = [
    "CONTACT_PHONE_MESSAGE",
    "MAX_ATTACHMENTS",
    "MAX_NOTE_CHARS",
    "MAX_TEXT_CHARS",
    "MIN_SUBSTANCE_CHARS",
    "SMALLTALK_MESSAGE",
    "TOO_SHORT_MESSAGE",
    "check_complaint_substance",
    "check_contact_phone",
    "clean_attachments",
    "clean_complaint_text",
    "clean_note",
    "required_text",
    "substance_chars",
]
