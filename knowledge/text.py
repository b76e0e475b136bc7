"""Chinese text utilities: jieba tokenisation with the domain dictionary, normalisation.

The tokenizer is an explicit object (not jieba's global one) so loading the dictionary is a
visible, one-time cost paid by whoever builds it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from vetbot.textnorm import canonical_article_refs, fold

DATA_DIR = Path(__file__).resolve().parent / "data"
USER_DICT = DATA_DIR / "userdict.txt"

_PUNCT = re.compile(r"^[\W_]+$", re.UNICODE)
_CJK_ONE = re.compile(r"^[\u4e00-\u9fff]+$")
# Texts up to this length (words, synonym terms) are segmented once and remembered: query
# analysis cuts the same vocabulary for every question. Questions themselves (longer, rarely
# repeated) are not kept.
_MEMO_CHARS = 8
_MEMO_SIZE = 8192

# Function words that carry no retrieval signal in colloquial questions.
STOPWORDS = frozenset(
    (
        "的 了 吗 呢 吧 啊 呀 么 嘛 哦 是 在 和 与 及 或 也 都 就 还 又 很 把 被 给 让 对 从 向 为 以 之 其 "
        "我 你 他 她 它 我们 你们 他们 咱 咱们 自己 这 那 这个 那个 这些 那些 哪 哪儿 哪里 什么 啥 咋 怎么 "
        "怎样 如何 多少 几 能 能不能 可以 可不可以 会 要 想 有 没有 没 不 是不是 有没有 请问 一下 一个 现在 "
        "已经 等 上 下 中 里 个 得 地 着 过 所 按照 依照 根据 应当 有关"
    ).split()
)


# Texts normalised and remembered (least recently used dropped first): every ask normalises
# the same candidate passages again and again (who they speak of, which sentences to quote),
# and a passage's fold (NFKC, OpenCC, article labels) costs more than all its other checks.
# At most ~2,000 passages of a few KB: a few MB.
NORMALIZE_CACHE = 2048


@lru_cache(maxsize=NORMALIZE_CACHE)
def normalize(text: str) -> str:
    """The matching form (:func:`vetbot.textnorm.fold`: NFKC, no zero-width characters,
    traditional → simplified, 第51条 → 第五十一条) with whitespace collapsed."""
    return _SPACES.sub(" ", canonical_article_refs(fold(text))).strip()


_SPACES = re.compile(r"\s+")


class ChineseTokenizer:
    """jieba tokenizer with the domain dictionary, for BM25 and keyword matching."""

    def __init__(self, user_dict: Path | None = USER_DICT) -> None:
        import jieba

        logging.getLogger("jieba").setLevel(logging.WARNING)
        self._jieba = jieba.Tokenizer()
        self._tags: dict[str, str] | None = None
        if user_dict is not None and user_dict.exists():
            self._jieba.load_userdict(str(user_dict))
        self._words: dict[str, tuple[str, ...]] = {}
        self._tokens: dict[str, tuple[str, ...]] = {}

    def words(self, text: str) -> list[str]:
        """Segment ``text`` into words (precise mode), keeping punctuation out."""
        return _memoized(self._words, self._cut_words, text)

    def known(self, word: str) -> bool:
        """Whether ``word`` is in the dictionary (jieba's or the domain one), i.e. not a string
        jieba's HMM fused from characters it could not place (前交过, 劝会)."""
        self._jieba.check_initialized()
        return self._jieba.FREQ.get(word, 0) > 0

    def known_parts(self, word: str) -> list[str]:
        """Every dictionary word of two or more characters inside ``word`` other than itself
        (jieba's full mode: 要交个税 → [个税]; 前交过 → [交过]; 写些 → [])."""
        parts = self._jieba.lcut(word, cut_all=True)
        return [w for w in parts if len(w) >= 2 and w != word and self.known(w)]

    def pos(self, word: str) -> str:
        """jieba's dictionary part-of-speech tag of ``word`` (n, v, r, d, f...); ``nz`` for a
        word only the domain dictionary has (it lists terms, which are nouns); "" when unknown."""
        tags = self._pos_tags()
        if word in tags:
            return tags[word]
        return "nz" if self.known(word) else ""

    def _pos_tags(self) -> dict[str, str]:
        if self._tags is None:
            import jieba.posseg

            jieba.posseg.dt.initialize()
            self._tags = dict(jieba.posseg.dt.word_tag_tab)
        return self._tags

    def tokens(self, text: str) -> list[str]:
        """Search-mode tokens without stopwords: long words plus their sub-words."""
        return _memoized(self._tokens, self._cut_tokens, text)

    def _cut_words(self, text: str) -> list[str]:
        return [w for w in self._jieba.lcut(normalize(text)) if w.strip() and not _PUNCT.match(w)]

    def _cut_tokens(self, text: str) -> list[str]:
        out = []
        prev = ""
        for w in self._jieba.lcut_for_search(normalize(text).lower()):
            w = w.strip()
            if not w or _PUNCT.match(w) or w in STOPWORDS:
                prev = ""
                continue
            # jieba splits a rare dictionary word into two single characters when both are
            # frequent (主管部门报到 → 报 + 到): the word is searchable all the same.
            if len(w) == 1 and len(prev) == 1 and _CJK_ONE.match(w + prev) and self.known(prev + w):
                out.append(prev + w)
            out.append(w)
            prev = w
        return out


def _memoized(memo: dict[str, tuple[str, ...]], cut: Callable[[str], list[str]], text: str) -> list[str]:
    """``cut(text)``, remembered in ``memo`` for short texts (synonym terms and concept words are
    segmented again on every question)."""
    if len(text) > _MEMO_CHARS:
        return cut(text)
    found = memo.get(text)
    if found is None:
        found = _remember(memo, text, tuple(cut(text)))
    return list(found)


def _remember(memo: dict[str, tuple[str, ...]], text: str, cut: tuple[str, ...]) -> tuple[str, ...]:
    """Keep ``cut`` for ``text``; a full memo is emptied first (bounded memory, no LRU bookkeeping)."""
    if len(memo) >= _MEMO_SIZE:
        memo.clear()
    memo[text] = cut
    return cut


@lru_cache(maxsize=1)
def default_tokenizer() -> ChineseTokenizer:
    """A process-wide tokenizer with the bundled dictionary (built on first use)."""
    return ChineseTokenizer()
