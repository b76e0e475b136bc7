"""Masking of personal data: ID-card, phone and bank-card numbers.

Used by logging, complaint displays, dashboards and exports. Only the assigned handler sees
unmasked contact data.
"""

from __future__ import annotations

import logging
import re

# 18-digit resident ID (last char may be X), optionally 15-digit legacy IDs.
_ID_CARD = re.compile(r"(?<!\d)(\d{6})(\d{8})(\d{3}[\dXx])(?!\d)|(?<!\d)(\d{6})(\d{6})(\d{3})(?!\d)")
# Mainland mobile numbers, optionally with +86 / 86 prefix and separators.
_PHONE = re.compile(r"(?<!\d)((?:\+?86[- ]?)?1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
# Bank / card numbers: 12-19 digits, possibly grouped by spaces or dashes (not complaint
# tickets TS-YYYYMMDD-NNNN, which are public case numbers).
_CARD = re.compile(r"(?<!\d)(?<!TS-)(\d{4})((?:[ -]?\d){4,11})([ -]?\d{4})(?!\d)")
# Landlines like 0531-12345678.
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})-(\d{3,4})(\d{4})(?!\d)")


def _mask_id(m: re.Match[str]) -> str:
    if m.group(1):
        return f"{m.group(1)[:3]}***********{m.group(3)[-4:]}"
    return f"{m.group(4)[:3]}********{m.group(6)[-4:]}"


def mask_text(text: str) -> str:
    """Return ``text`` with ID-card, phone and card numbers masked."""
    if not text:
        return text
    text = _ID_CARD.sub(_mask_id, text)
    # Landlines first: "0531-88886666" would otherwise look like a grouped card number.
    text = _LANDLINE.sub(lambda m: f"{m.group(1)}-****{m.group(3)}", text)
    text = _PHONE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    text = _CARD.sub(lambda m: f"{m.group(1)} **** **** {m.group(3).strip(' -')}", text)
    return text


def mask_phone(phone: str | None) -> str | None:
    """Mask a phone number field, keeping the first three and last four digits."""
    if not phone:
        return phone
    digits = re.sub(r"\D", "", phone)
    if len(digits) < 7:
        return "****"
    return f"{digits[:3]}****{digits[-4:]}"


class MaskingFilter(logging.Filter):
    """Logging filter that masks personal numbers in every record's final message."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message with personal numbers masked."""
        try:
            message = record.getMessage()
        except Exception:  # a malformed record must not break logging
            return True
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
