"""Colloquial question forms read as the texts' wording, before and after segmentation.

- 优待证怎么办 asks how to get the card: 怎么办 after a card or paper is 怎么办理.
- 在哪办 / 去哪领: the bare 哪 is 哪里 (哪里办 is the synonym table's wording).
- A verb split by 个 (兼个职, 请个假) is the whole word when the texts use it (兼职).
- A modal the segmenter glued onto an unknown verb (闹访会 of 闹访会怎么处理) is not part of it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_APPLY_FOR = re.compile(r"(证|卡|证明|证件|户口)(要|该|应该|得)?(怎么|如何|怎样|咋)办(?!理)")
_BARE_WHERE = re.compile(r"(?<=[在去到])哪(?=[办领交报申])")
# Not after a numeral, a demonstrative or 有 (一个人, 这个月, 有个老战场).
_SEPARATED = re.compile(r"([^\W\d一二三四五六七八九十两几这那每各某哪半整有])个([^\W\d])")
_GLUED_MODALS = frozenset("会能要")
# What follows a modal's verb phrase (会怎么处理, 会被, 会不会): not a noun's next word.
_VERB_PHRASE_NEXT = frozenset("怎被不让把给再也还")


def rewrite_forms(text: str, df: Mapping[str, int]) -> str:
    """``text`` with 怎么办 after a card as 怎么办理, a bare 哪 before a verb as 哪里, and a
    verb split by 个 joined when ``df`` (word -> document frequency) has the joined word."""
    text = _APPLY_FOR.sub(r"\1\2\3办理", text)
    text = _BARE_WHERE.sub("哪里", text)
    return _SEPARATED.sub(lambda m: m[1] + m[2] if df.get(m[1] + m[2], 0) > 0 else m[0], text)


def unglued(word: str, text: str) -> str:
    """``word`` without a modal (会, 能, 要) the segmenter glued to its end, for a word of three
    or more characters the texts never use, when what follows it in ``text`` goes on the
    modal's verb phrase (闹访会怎么处理 → 闹访, 听劝会被… → 听劝); the word itself otherwise
    (村委会要搞… keeps 村委会)."""
    if len(word) < 3 or word[-1] not in _GLUED_MODALS:
        return word
    at = text.find(word)
    after = text[at + len(word): at + len(word) + 1] if at >= 0 else ""
    return word[:-1] if after and after in _VERB_PHRASE_NEXT else word
