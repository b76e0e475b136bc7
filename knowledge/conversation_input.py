"""Messages as people type them, made into questions retrieval can use.

Three steps, all pure functions over ``str`` (the bot, the web ask page and the CLI reach them
through ``knowledge.conversation.ConversationService``):

- :func:`clean_message` — ``vetbot.textnorm.clean_input`` (NFKC, zero-width characters and
  emoji removed, traditional → simplified, whitespace collapsed), then, for a message over
  ``limit`` characters, the sentences that carry the question (:func:`question_part`) so that
  a long story ending with a question keeps its question.
- :class:`TypoCorrector` — domain-word typos (优代证 → 优待证): candidates come from rapidfuzz
  over the domain vocabulary (the jieba user dictionary and the synonym table in
  ``knowledge/data``); a candidate is taken only when it differs from the typed text in one
  character with the same pinyin (ignoring tones), the typical input-method slip, so that a
  real word (军人家庭) is never "corrected" into another (军人家属).
- :func:`foreign_language` — True for a message with letters but no Chinese characters;
  :func:`english_hint_question` maps a few English domain words to a Chinese question to
  suggest (``"Do veterans get free bus rides?"`` → ``退役军人坐公交免费吗？``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Hamming

from vetbot.textnorm import clean_input, fold, normalize

MAX_MESSAGE_CHARS = 500
# A message longer than this that asks something is a story around a question: retrieval gets
# the question sentences (the newest ones, within this length), not the story.
STORY_CHARS = 150

_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_SENTENCE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;\n]?")
_QUESTION_MARK = re.compile(r"[？?]|吗|呢|怎么|如何|能否|能不能|可以吗|可不可以|哪些|哪里|多少|是否|什么")


def clean_message(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """The message in matching form, at most ``limit`` characters, its question kept.

    Returns "" for a message with nothing left (only emoji or invisible characters).
    """
    text = clean_input(text)
    return question_part(text, limit) if len(text) > limit else text


def retrieval_text(typed: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """What to send to retrieval: ``typed`` itself when cleaning would only change character
    widths (the service normalises those), else :func:`clean_message`'s result."""
    typed = typed.strip()
    plain = normalize(typed)
    if len(typed) > STORY_CHARS and has_question(typed):
        return question_part(clean_input(typed), STORY_CHARS)
    if len(typed) <= limit and fold(typed) == plain and clean_input(typed) == plain.strip():
        return typed
    return clean_message(typed, limit)


def question_part(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """The sentences of ``text`` that ask something, newest kept first, within ``limit`` chars.

    Sentences ending in ？ are preferred to those that only contain a question word.

    Without any question-like sentence, the first ``limit`` characters.
    """
    sentences = [s.strip() for s in _SENTENCE.findall(text) if s.strip()]
    # Sentences ending in a question mark, when there are any; else any that asks.
    asking = [i for i, s in enumerate(sentences) if s.endswith(("?", "？"))]
    asking = asking or [i for i, s in enumerate(sentences) if _QUESTION_MARK.search(s)]
    if not asking:
        return text[:limit]
    chosen: list[int] = []
    used = 0
    for i in reversed(asking):
        if used + len(sentences[i]) > limit:
            break
        chosen.append(i)
        used += len(sentences[i])
    if not chosen:  # one question sentence longer than the limit: keep its end, where it asks
        return sentences[asking[-1]][-limit:]
    return "".join(sentences[i] for i in sorted(chosen))


def has_question(text: str) -> bool:
    """True when some sentence of ``text`` asks something (？, 吗, 怎么, 哪些, ...)."""
    return any(_QUESTION_MARK.search(s) for s in _SENTENCE.findall(text))


def foreign_language(text: str) -> bool:
    """True when ``text`` has words in Latin letters and no Chinese character at all."""
    return not _CJK.search(text) and bool(_LATIN_WORD.search(text))


# A few English domain words and the Chinese wording to suggest for them.
_ENGLISH_TERMS: tuple[tuple[str, str, str], ...] = (
    # (regex, kind, Chinese) — kind "who" is a person, "what" a benefit
    (r"disabled (veteran|soldier)s?", "who", "残疾军人"),
    (r"veterans?|ex-?servicem[ae]n|retired soldiers?", "who", "退役军人"),
    (r"(active|serving) (soldier|servicem[ae]n)s?|soldiers?", "who", "现役军人"),
    (r"martyrs?'? famil(y|ies)", "who", "烈士遗属"),
    (r"bus(es)?|subway|metro", "what", "坐公交免费吗？"),
    (r"trains?|railway|rail", "what", "坐火车有什么优待？"),
    (r"flights?|plane|airline", "what", "坐飞机有什么优待？"),
    (r"(scenic|tourist|park|museum)s?", "what", "游览景区有什么优待？"),
    (r"(preferential|veteran) ?card|id card", "what", "优待证怎么办理？"),
    (r"school|education|exam", "what", "子女教育有哪些优待？"),
    (r"jobs?|employment|work", "what", "就业创业有哪些扶持？"),
    (r"pension|subsidy|allowance", "what", "有哪些抚恤补助？"),
    (r"hospital|medical|doctor", "what", "看病有什么优待？"),
    (r"complain(t)?", "what", "怎么投诉？"),
)


def english_hint_question(text: str) -> str | None:
    """A Chinese question suggested for an English one, or None when no domain word is known."""
    lowered = text.lower()
    who = what = None
    for pattern, kind, chinese in _ENGLISH_TERMS:
        if re.search(rf"\b(?:{pattern})\b", lowered):
            if kind == "who" and who is None:
                who = chinese
            elif kind == "what" and what is None:
                what = chinese
    if what is None:
        return None
    return f"{who or '退役军人'}{what}"


@dataclass(frozen=True)
class Correction:
    """One corrected word: ``typed`` (as in the message) became ``word`` (from the vocabulary)."""

    typed: str
    word: str


@lru_cache(maxsize=8192)
def _pinyin(ch: str) -> str:
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin(ch))


class TypoCorrector:
    """Corrects input-method typos of domain words; see the module docstring.

    ``vocabulary``: the domain words (``KnowledgeService.vocabulary``); only Chinese words of
    three or more characters are candidates, short words being too easy to hit by accident.
    """

    MIN_LEN = 3
    MAX_LEN = 8

    def __init__(self, vocabulary: Iterable[str]) -> None:
        words = {w for w in vocabulary if self.MIN_LEN <= len(w) <= self.MAX_LEN and _all_cjk(w)}
        self._known = frozenset(vocabulary)
        # Every piece of a known word: a window inside a real word is not a typo.
        self._pieces = frozenset(
            w[a:b] for w in self._known for a in range(len(w)) for b in range(a + self.MIN_LEN, len(w) + 1)
        )
        self._by_len: dict[int, list[str]] = {}
        for w in sorted(words):
            self._by_len.setdefault(len(w), []).append(w)

    def correct(self, text: str) -> tuple[str, list[Correction]]:
        """``text`` with domain-word typos replaced, and the corrections made (in order)."""
        corrections: list[Correction] = []
        i = 0
        out: list[str] = []
        while i < len(text):
            found = self._match_at(text, i)
            if found is None:
                out.append(text[i])
                i += 1
                continue
            typed, word = found
            corrections.append(Correction(typed, word))
            out.append(word)
            i += len(typed)
        return "".join(out), corrections

    def _match_at(self, text: str, i: int) -> tuple[str, str] | None:
        for length in sorted(self._by_len, reverse=True):
            window = text[i : i + length]
            if len(window) < length or not _all_cjk(window):
                continue
            if window in self._pieces:
                continue
            candidates = process.extract(
                window, self._by_len[length], scorer=fuzz.ratio,
                score_cutoff=100.0 * (length - 1) / length - 1e-6, limit=5,
            )
            for word, _score, _ in candidates:
                if Hamming.distance(window, word) == 1 and self._same_sound(window, word):
                    return window, word
        return None

    def _same_sound(self, typed: str, word: str) -> bool:
        typed_ch, word_ch = next((a, b) for a, b in zip(typed, word, strict=True) if a != b)
        return _pinyin(typed_ch) == _pinyin(word_ch)


def _all_cjk(text: str) -> bool:
    return all(_CJK.match(ch) for ch in text)
