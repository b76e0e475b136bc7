"""发文字号 (document numbers): the one pattern, its canonical key and matching.

Two shapes are read:

- a 发文字号 ``<机关代字>〔<year>〕<number>号`` such as ``金退役军人发〔2025〕12号``; the year's
  brackets are written many ways (``〔〕`` officially, ``[]`` ``［］`` ``【】`` ``()`` ``（）`` in
  copied text), the number sometimes with ``第``;
- an order number ``<机关>令第<N>号`` such as ``国务院令第431号`` or ``主席令第六十三号``.

:func:`doc_number_key` gives the one comparison form (NFKC, no spaces, ``〔〕`` brackets, no
``第`` after the year, Arabic digits, no leading 中华人民共和国). Ingest reads a head line that
is a 发文字号 with :data:`DOC_NUMBER_LINE_RE`; staff search finds the numbers a query names with
:func:`find_doc_numbers` and compares them with a document's with :func:`same_doc_number`.
"""

from __future__ import annotations

import re

from vetbot.textnorm import chinese_to_int, normalize

__all__ = [
    "DOC_NUMBER_LINE_RE", "DOC_NUMBER_PATTERN", "doc_number_key", "find_doc_numbers", "same_doc_number",
]

_OPEN = "〔\\[［【(（"
_CLOSE = "〕\\]］】)）"
_CN_DIGITS = "〇零一二两三四五六七八九十百千"
DOC_NUMBER_PATTERN = rf"[\u4e00-\u9fff]{{1,16}}\s*[{_OPEN}]\s*\d{{4}}\s*[{_CLOSE}]\s*第?\s*\d+\s*号"
_ORDER_PATTERN = rf"[\u4e00-\u9fff]{{1,20}}令\s*第\s*[\d{_CN_DIGITS}]+\s*号"
# A head line that is only a 发文字号.
DOC_NUMBER_LINE_RE = re.compile(rf"^{DOC_NUMBER_PATTERN}$")
_FIND_RE = re.compile(rf"{DOC_NUMBER_PATTERN}|{_ORDER_PATTERN}")
_NUMBER_RE = re.compile(rf"(〕|令第)([\d{_CN_DIGITS}]+)号$")
# The shorter of two keys must keep at least this much of its issuer's code: 发〔2025〕12号
# alone names a number of every issuer.
_MIN_PREFIX = 2


def doc_number_key(text: str) -> str:
    """The comparison form of a 发文字号 or order number: ``鲁政办发[2020] 第5号`` →
    ``鲁政办发〔2020〕5号``, ``中华人民共和国主席令第六十三号`` → ``主席令第63号``; "" for ""."""
    key = re.sub(r"\s+", "", normalize(text))
    key = re.sub(rf"[{_OPEN}](\d{{4}})[{_CLOSE}]第?", r"〔\1〕", key)
    key = key.removeprefix("中华人民共和国")

    def arabic(m: re.Match[str]) -> str:
        try:
            return f"{m.group(1)}{chinese_to_int(m.group(2))}号"
        except ValueError:
            return m.group(0)

    return _NUMBER_RE.sub(arabic, key)


def find_doc_numbers(text: str) -> list[str]:
    """Keys (:func:`doc_number_key`) of the 发文字号 and order numbers written in ``text``, in
    order. A match may carry words before the issuer's code (``查金退役军人发〔2025〕12号``):
    :func:`same_doc_number` compares by the end."""
    return list(dict.fromkeys(doc_number_key(m.group(0)) for m in _FIND_RE.finditer(normalize(text))))


def same_doc_number(found: str, doc_number: str) -> bool:
    """True when ``found`` (a key from :func:`find_doc_numbers`) names the document numbered
    ``doc_number`` (as stored, any spelling): one key ends with the other, and the shorter keeps
    at least two characters of the issuer's code."""
    stored = doc_number_key(doc_number)
    if not found or not stored:
        return False
    short, long = sorted((found, stored), key=len)
    mark = short.find("〔") if "〔" in short else short.rfind("令第")
    return long.endswith(short) and mark >= _MIN_PREFIX
