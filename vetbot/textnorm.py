"""The one input normalisation of the project: for indexing, matching and user input.

Three layers, each a pure function of ``str`` → ``str``:

- :func:`normalize` — Unicode NFKC (full-width digits, letters and signs become ASCII:
  ``第５１条`` → ``第51条``, ``５０％`` → ``50%``) and removal of invisible format characters
  (Unicode category Cf: zero-width spaces and joiners, BOM, soft hyphen, bidi marks). Line
  breaks and other whitespace are kept, so the result can still be split into lines.
- :func:`fold` — :func:`normalize` plus traditional → simplified folding (OpenCC ``t2s``), for
  the BM25 index, keyword matching and questions. Stored and displayed text is never folded:
  documents keep the characters they were written in.
- Article labels: :func:`article_label` gives the one citation form, the Chinese numeral form
  used by official texts (``第51条``, ``第５１条`` and ``第五十一条`` → ``第五十一条``;
  ``第10条之1`` → ``第十条之一``); :func:`canonical_article_refs` rewrites every label inside a
  text, e.g. a question, to that form.

:func:`unify_radicals` repairs text extracted from PDFs: radical code points that fonts map
glyphs to (``⼈`` U+2F08, ``⻓`` U+2ED3) become the ideographs they show (``人``, ``长``).

For masking, :func:`normalize_mapped` gives the :func:`normalize` form together with the
position in the original text of each of its characters, so a match found in the normal
form can be replaced in the text as written (full-width punctuation kept).

Numerals: :func:`chinese_to_int` (``一百零二`` → 102) and :func:`int_to_chinese`
(102 → ``一百零二``, via cn2an). The OpenCC converter is built on first use.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = [
    "article_label",
    "canonical_article_refs",
    "chinese_to_int",
    "clean_input",
    "fold",
    "int_to_chinese",
    "normalize",
    "normalize_mapped",
    "to_simplified",
    "unify_radicals",
]

_DIGITS = dict(zip("〇零一二两三四五六七八九", (0, 0, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9), strict=True))
_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
_NUMERAL = r"[〇零一二两三四五六七八九十百千万0-9０-９]+"
_LABEL_RE = re.compile(
    rf"第(?P<num>{_NUMERAL})[条條](?:之(?P<sub>{_NUMERAL}))?(?:第(?P<kuan>{_NUMERAL})款)?"
    rf"(?:第(?P<xiang>{_NUMERAL})[项項])?"
)


# Unicode category Cf (format characters), as of Unicode 15.
_FORMAT_CHARS_RE = re.compile(
    "[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001"
    "\U000e0020-\U000e007f]"
)


# Lone UTF-16 surrogates (category Cs) are not characters: a JSON client can send "\ud800",
# but no encoder, database or OpenCC accepts them.
_SURROGATES_RE = re.compile("[\ud800-\udfff]")


# Kangxi Radicals (U+2F00–U+2FD5) all have NFKC forms; of the CJK Radicals Supplement only
# these stand for whole characters, and NFKC maps just two of them.
_KANGXI_RE = re.compile("[\u2f00-\u2fd5]")
_SUPPLEMENT_RADICALS = str.maketrans(
    "⺟⺠⻅⻆⻋⻓⻔⻘⻚⻛⻜⻝⻢⻤⻥⻦⻨⻩⻬⻮⻰⻳", "母民见角车长门青页风飞食马鬼鱼鸟麦黄齐齿龙龟"
)


def unify_radicals(text: str) -> str:
    """``text`` with radical code points replaced by the ideographs they show (⼈ → 人, ⻓ → 长).

    Many PDFs (Chromium's and Word's among them) map common glyphs to the Kangxi Radicals or
    CJK Radicals Supplement blocks; extracted text then looks right but matches nothing
    (``第⼀条`` is not ``第一条``). Everything else is returned unchanged.
    """
    if text.isascii():
        return text
    return _KANGXI_RE.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text).translate(
        _SUPPLEMENT_RADICALS
    )


def strip_surrogates(text: str) -> str:
    """``text`` without lone surrogates (they cannot be encoded, stored or shown)."""
    return _SURROGATES_RE.sub("", text)


def normalize(text: str) -> str:
    """NFKC-normalise ``text`` and drop invisible format (Cf) characters and lone surrogates;
    whitespace is kept."""
    if text.isascii():
        return text
    return _FORMAT_CHARS_RE.sub("", unicodedata.normalize("NFKC", strip_surrogates(text)))


def normalize_mapped(text: str) -> tuple[str, list[int]]:
    """``(normal, origin)``: ``text`` normalised character by character (NFKC, Cf dropped).

    ``origin[i]`` is the index in ``text`` of the character that produced ``normal[i]``
    (one character may expand to several, e.g. ``㈠`` → ``(一)``). Per-character NFKC differs
    from whole-string NFKC only for combining sequences, which never occur inside numbers.
    """
    if text.isascii():
        return text, list(range(len(text)))
    out: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        if ch.isascii():
            out.append(ch)
            origin.append(i)
            continue
        piece = _FORMAT_CHARS_RE.sub("", unicodedata.normalize("NFKC", ch))
        out.append(piece)
        origin.extend([i] * len(piece))
    return "".join(out), origin


@lru_cache(maxsize=1)
def _t2s() -> object:
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional → simplified Chinese (OpenCC t2s); simplified text comes back unchanged."""
    if text.isascii():
        return text
    return str(_t2s().convert(text))  # type: ignore[attr-defined]


def fold(text: str) -> str:
    """The matching form of ``text``: :func:`normalize` then traditional → simplified."""
    return to_simplified(normalize(text))


# Emoji and pictographs (So), emoji modifiers, variation selectors and the keycap mark: decoration
# that carries no words. Letters, digits, CJK and punctuation are kept.
_DECORATION_RE = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe00-\ufe0f\u20e3\U000e0100-\U000e01ef]"
)
_SPACES_RE = re.compile(r"[ \t\u3000]+")


def clean_input(text: str) -> str:
    """A typed message as the assistant reads it: :func:`fold` (NFKC, no Cf, traditional →
    simplified), emoji and variation selectors removed, runs of spaces collapsed, trimmed.

    Line breaks are kept (they separate sentences). Used for questions and chat messages, not
    for stored documents.
    """
    text = _DECORATION_RE.sub(" ", fold(text))
    return "\n".join(_SPACES_RE.sub(" ", line).strip() for line in text.splitlines()).strip()


def chinese_to_int(text: str) -> int:
    """A Chinese or Arabic numeral (full-width too) as int: 一百零二 → 102, 十五 → 15, ５１ → 51.

    Raises ``ValueError`` for anything that is not a numeral.
    """
    text = normalize(text).strip()
    if not text:
        raise ValueError("empty numeral")
    if text.isdigit():
        return int(text)
    total = 0  # completed 万 groups
    section = 0  # value below 万
    digit = -1  # pending digit, -1 when none
    for ch in text:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
        elif ch in _UNITS:
            unit = _UNITS[ch]
            if unit == 10000:
                section += max(digit, 0)
                total += (section or 1) * unit
                section, digit = 0, -1
            else:
                # A bare 十 at the start means 一十.
                section += (1 if digit < 0 else digit) * unit
                digit = -1
        else:
            raise ValueError(f"not a Chinese numeral: {text!r}")
    return total + section + max(digit, 0)


@lru_cache(maxsize=4096)
def int_to_chinese(number: int) -> str:
    """A non-negative int as the Chinese numeral official texts use: 51 → 五十一, 110 → 一百一十."""
    if number < 0:
        raise ValueError("negative numeral")
    import cn2an

    return str(cn2an.an2cn(str(number)))


def _chinese(numeral: str) -> str:
    # Chinese numerals are already in citation form; only digits need converting.
    if not any(ch.isdigit() for ch in numeral):
        return numeral
    return int_to_chinese(chinese_to_int(numeral))


def article_label(label: str) -> str:
    """The citation form of an article label: ``第51条第2款`` → ``第五十一条第二款``.

    Accepts labels with Arabic, full-width or Chinese numerals, traditional 條/項, and the
    inserted-article suffix (``第十条之一``); text after the label is dropped. Raises
    ``ValueError`` when ``label`` does not start with an article label.
    """
    m = _LABEL_RE.match(normalize(label).strip())
    if not m:
        raise ValueError(f"not an article label: {label!r}")
    return _render(m)


def _render(m: re.Match[str]) -> str:
    out = f"第{_chinese(m.group('num'))}条"
    if m.group("sub"):
        out += f"之{_chinese(m.group('sub'))}"
    if m.group("kuan"):
        out += f"第{_chinese(m.group('kuan'))}款"
    if m.group("xiang"):
        out += f"第{_chinese(m.group('xiang'))}项"
    return out


def canonical_article_refs(text: str) -> str:
    """``text`` with every article label in citation form (第51条 → 第五十一条); NFKC applied."""
    return _LABEL_RE.sub(_render, normalize(text))
