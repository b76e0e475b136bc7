"""Masking of personal data: ID-card, phone, landline and bank-card numbers.

Used by logging, complaint displays, dashboards and exports. Only the assigned caseworker
sees unmasked contact data.

Numbers are found on the :func:`vetbot.textnorm.normalize_mapped` form of the text (NFKC, so
full-width digits count; invisible format characters such as zero-width spaces dropped) and
may be split by separators (spaces, ``-``, ``.``, ``,``, ``，``, ``、``, ``/``, ``_``, ``·``...):
``138\\u200b1234\\u200b5678``, ``138.1234.5678`` and ``6222 0212 3456 7890 123`` are all masked.
Each run of digits and separators is classified by its digits alone: 18/15 digits → ID card,
11 digits starting 1[3-9] (optionally 86-prefixed) → mobile, 0-prefixed 10–12 digits → landline,
12–19 digits → card. A run that is none of these but holds 11+ digits (two numbers glued by a
space) is split at its separators and each part classified; what still cannot be classified
is masked as a whole. Public ticket numbers ``TS-YYYYMMDD-NNNN`` are kept.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import quote, unquote_plus

from vetbot.textnorm import normalize_mapped

# Separators between digits (after NFKC, so "，" is ","), at most three in a row.
_SEP = r"[\s\-.,_/|·、。'\"~*+]"
_RUN = re.compile(rf"(?<!\d)\d(?:{_SEP}{{0,3}}\d)*(?:{_SEP}{{0,3}}[Xx])?(?!\d)")
_TICKET = re.compile(r"TS-\d{8}-\d{4}(?!\d)")
_SPLIT = re.compile(rf"{_SEP}+")
_MIN_SECRET_DIGITS = 11


def _classify(digits: str) -> str | None:
    """The masked form of a number given by its digits (``X`` allowed last), None when not personal."""
    n = len(digits)
    if (n == 18 and digits[:17].isdigit()) or (n == 15 and digits.isdigit()):
        return f"{digits[:3]}{'*' * (n - 7)}{digits[-4:]}"
    if not digits.isdigit():
        return None
    if n == 11 and re.match(r"1[3-9]", digits):
        return f"{digits[:3]}****{digits[-4:]}"
    if n == 13 and re.match(r"861[3-9]", digits):
        return f"86 {digits[2:5]}****{digits[-4:]}"
    if digits.startswith("0") and 10 <= n <= 12:
        area = digits[:3] if digits[1] in "12" else digits[:4]
        return f"{area}-****{digits[-4:]}"
    if 12 <= n <= 19:
        return f"{digits[:4]} **** **** {digits[-4:]}"
    return None


def _mask_run(run: str) -> str | None:
    digits = re.sub(r"[^\dXx]", "", run).upper()
    masked = _classify(digits)
    if masked is not None or len(digits) < _MIN_SECRET_DIGITS:
        return masked
    parts = _SPLIT.split(run)
    if len(parts) > 1:
        # Glued numbers ("13812345678 370102198001011234"): classify each part.
        seps = _SPLIT.findall(run)
        out = []
        for i, part in enumerate(parts):
            masked_part = _mask_run(part)
            out.append(masked_part if masked_part is not None else part)
            if i < len(seps):
                out.append(seps[i])
        joined = "".join(out)
        if len(re.sub(r"\D", "", joined)) < _MIN_SECRET_DIGITS or any(
            _classify(re.sub(r"[^\dXx]", "", p).upper()) for p in parts
        ):
            return joined
    return f"{digits[:3]}****{digits[-4:]}"


def _is_phone(run: str) -> bool:
    digits = re.sub(r"[^\dXx]", "", run)
    return bool(re.fullmatch(r"(?:86)?1[3-9]\d{9}|0\d{9,11}", digits))


def mask_text(text: str, keep_phones: bool = False) -> str:
    """Return ``text`` with ID-card, phone, landline and card numbers masked (see module doc).

    ``keep_phones``: mobile and landline numbers stay readable (a contact number a caseworker
    writes into an answer to the complainant); ID-card and card numbers are masked all the same.
    """
    if not text:
        return text
    normal, origin = normalize_mapped(text)
    # Ticket numbers are public: blank them (same length, so offsets hold) before matching.
    normal = _TICKET.sub(lambda t: "T" * len(t.group()), normal)
    pieces: list[str] = []
    last = 0
    for m in _RUN.finditer(normal):
        masked = _mask_run(m.group())
        if masked is None or (keep_phones and _is_phone(m.group())):
            continue
        start, end = origin[m.start()], origin[m.end() - 1] + 1
        pieces.append(text[last:start])
        pieces.append(masked)
        last = end
    if not pieces:
        return text
    pieces.append(text[last:])
    return "".join(pieces)


# Words that label a personal number just before it (我的身份证号是…, 手机：…).
_NUMBER_LABEL = re.compile(
    r"(?:我的|本人)?(?:身份证(?:号码|号)?|手机(?:号码|号)?|电话(?:号码|号)?|银行卡(?:号)?|卡号|联系方式)"
    r"\s*(?:是|为|[:：])?\s*$"
)


def without_personal_numbers(text: str) -> str:
    """``text`` without its ID-card, phone and card numbers and the words that label them
    ("我的身份证号是370…，优待证怎么办" → ",优待证怎么办", NFKC-normalised): they are never search
    terms, and 身份证 in the label would match passages on showing one's ID card. ``text``
    itself, unchanged, when it has no such number."""
    normal, _origin = normalize_mapped(text)
    # Ticket numbers are public and stay; they are blanked only while numbers are looked for.
    scan = _TICKET.sub(lambda t: "T" * len(t.group()), normal)
    out: list[str] = []
    last = 0
    for m in _RUN.finditer(scan):
        if _mask_run(m.group()) is None:
            continue
        head = normal[last:m.start()]
        label = _NUMBER_LABEL.search(head)
        out.append(head[: label.start()] if label else head)
        last = m.end()
    if not out:
        return text  # unchanged, not even normalised: callers compare it with their input
    out.append(normal[last:])
    return "".join(out)


def mask_phone(phone: str | None) -> str | None:
    """Mask a phone number field, keeping the first three and last four digits."""
    if not phone:
        return phone
    digits = re.sub(r"\D", "", phone)
    if len(digits) < 7:
        return "****"
    return f"{digits[:3]}****{digits[-4:]}"


def mask_url(path: str) -> str:
    """A request path with its query decoded, masked and re-encoded onto one line.

    Percent-encoding would otherwise glue digits together (``%20`` between a phone and an ID)
    or hide them behind encoded text (``%E5%8F%B7%E7%A0%81622202...``).
    """
    base, sep, query = path.partition("?")
    if not sep:
        return path
    masked = mask_text(unquote_plus(query))
    return f"{base}?{quote(masked, safe='=&*/:,-')}"


class MaskingFilter(logging.Filter):
    """Logging filter that masks personal numbers in every record's final message.

    Access-log records (uvicorn: ``client, method, path, version, status``) get their path
    through :func:`mask_url`, so the client address is not mistaken for a number; any other
    message with percent-encoded text is masked in decoded form.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message with personal numbers masked."""
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            args = list(record.args)
            args[2] = mask_url(str(args[2]))
            record.args = tuple(args)
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed record must not break logging
            return True
        masked = mask_text(message)
        if "%" in masked:
            decoded = unquote_plus(masked)
            if mask_text(decoded) != decoded:
                masked = mask_text(decoded)
        if masked != message:
            record.msg, record.args = masked, None
        return True
