"""Query analysis: a question's tokens, synonym expansions and the concepts it asks about.

A *concept* is one thing the question asks about: a content word (with its synonyms and
sub-words) or an answer type (a duration, a time of day, a share, an amount). The coverage
reranker (:mod:`knowledge.retrieval.reranker`) scores passages by the concepts they state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING

from knowledge.persons import asked_group
from knowledge.retrieval.answer_types import ANSWER_TYPES
from knowledge.retrieval.corpus import CorpusStats
from knowledge.retrieval.focus import question_focus
from knowledge.retrieval.forms import rewrite_forms, unglued
from knowledge.retrieval.intents import Intent, asked_action, detect_intents
from knowledge.synonyms import FILLER_WEIGHT
from knowledge.text import STOPWORDS, normalize
from vetbot import regions
from vetbot.privacy import without_personal_numbers

if TYPE_CHECKING:
    from knowledge.synonyms import SynonymTable
    from knowledge.text import ChineseTokenizer
    from knowledge.thesaurus import Thesaurus

# Credit for a concept matched through a synonym instead of the question's own word.
SYNONYM_CREDIT = 0.8
# Weight of a concept that only a letter's story sentences name (knowledge.retrieval.focus),
# relative to its IDF: it says who and what happened, the question sentences say what is asked.
CONTEXT_WEIGHT = 0.4
# Credit for a colloquial short form found as its full form (村委会 in 村民委员会, 信访局 as
# 信访工作机构): as good as a synonym from the table.
SHORT_FORM_CREDIT = SYNONYM_CREDIT
_SHORT_FORM_GAP = 2  # characters the full form may insert between two of the short form's
_NOT_IN_WORD = r"[^\s，。；：、,.;:！？!?（）()《》“”\"]"
_CJK = re.compile(r"^[\u4e00-\u9fff]{2,6}$")
_CITED_TITLE = re.compile(r"《[^《》]{1,40}》")
# The names of the answer types (金额, 条件): as a word in a passage they state nothing.
_TYPE_NAMES = frozenset(label for _ask, label, _answer in ANSWER_TYPES)
_CJK_CHAR = re.compile(r"^[\u4e00-\u9fff]$")
# A government body named by its short colloquial name (信访局, 民政局, 教育厅) is written in
# the texts as the matter followed by a generic body (信访部门, 教育行政部门, 信访工作机构).
_AGENCY_SUFFIX = ("局", "厅")
_AGENCY_WORDS = r"(?:部门|机关|机构)"

# First characters that make an out-of-vocabulary two-character "word" a fused function word
# (我爸, 我能, 能领, 两张) rather than a topic.
# Place words are handled by region preference, not by term matching: a question that names a
# place the KB has no rule for is still answerable from national rules. 老家/家乡 ("hometown")
# stand for a place the asker does not name.
_HOMETOWN_WORDS = frozenset({"老家", "家乡"})
# Heads that make a group word a sum or a card rather than the people it names: 退伍费 is a
# payment, not 退伍 (退伍兵 and 退伍军人 are still 退伍).
_THING_HEADS = frozenset({"费", "金", "钱", "款", "证", "卡", "费用", "补贴", "补助", "津贴"})
_FUNCTION_PREFIX = frozenset("我你他她咱您能会要想可两几每这那哪该就都还")
# First letters of jieba part-of-speech tags of words that frame a question but are never its
# topic: pronouns (有人, 哪一天), adverbs (不好), conjunctions (接着), locality words (以前),
# numerals and measure words (好几个), prepositions, particles, interjections, time words
# (今年, 当时, 年纪: the asker's story), idioms (跑不动). Only applied to words the corpus never
# uses and the domain lexicon does not map: 优先 (vn) or 一次性 (d) in a law stay topics, and
# so does 揭不开锅 (l), which the lexicon reads as 生活困难.
_FUNCTION_TAGS = frozenset("rdcfmqpuyeotl")
# A yes/no question asked as A-not-A (算不算, 管不管).
_A_NOT_A = re.compile(r"(.{1,2})不\1")

# Interrogatives and fillers that say what kind of answer is wanted, not what it is about.
QUESTION_WORDS = frozenset(
    "哪些 需要 怎么办 怎么样 能否 是否 可否 多少 请问 谁 哪个 哪家 哪种 为啥 为什么 应该 什么样 "
    "还能 还要 吗 呢 啊 不 咋办 咋整 咋弄".split()
)

@dataclass
class Concept:
    """One thing the question asks about: a word, its synonyms, or an answer type."""

    label: str
    weight: float  # IDF of the word (or a stand-in for unseen words and answer types)
    alternates: tuple[str, ...]  # any of these in a passage covers the concept
    partial: tuple[str, ...] = ()  # sub-words: half credit
    pattern: re.Pattern[str] | None = None  # answer-type pattern (durations, amounts)
    full_form: re.Pattern[str] | None = None  # the full forms of a short word (see short_form_pattern)

    def coverage(self, text: str) -> float:
        """1 when ``text`` (normalised, lower case) has the word itself, 0.8 a synonym or the
        word's full form, 0.5 a part."""
        # Plain loops, not any(): this runs for every concept of every candidate of every ask.
        if self.pattern is not None:
            # An answer type is stated by its pattern only: 符合条件的 names conditions and
            # 金额由…确定 an amount, stating neither.
            if self.pattern.search(text) or (self.label in text and self.label not in _TYPE_NAMES):
                return 1.0
        elif self.label in text:
            return 1.0
        # The user's own word is stronger evidence than a synonym from the table.
        # A synonym or a part inside a cited title (抚恤 in 《军人抚恤优待条例》) names that
        # document, not what the passage says.
        for a in self.alternates:
            if a in text and _outside_titles(a, text):
                return SYNONYM_CREDIT
        if self.full_form is not None and self.full_form.search(text):
            return SHORT_FORM_CREDIT
        for p in self.partial:
            if p in text and _outside_titles(p, text):
                return 0.5
        return 0.0


def _outside_titles(word: str, text: str) -> bool:
    """True when ``word`` occurs in ``text`` outside the titles it cites (《…》)."""
    return "《" not in text or word in _without_titles(text)


@lru_cache(maxsize=4096)
def _without_titles(text: str) -> str:
    # Cached: coverage runs for every concept of every candidate, and a str caches its hash.
    return _CITED_TITLE.sub("", text)


def short_form_pattern(word: str) -> re.Pattern[str] | None:
    """What a colloquial short form stands for in official text, as a regex; None for words
    that are not 2–6 Chinese characters.

    - An abbreviation: the word's characters in order inside one short span, at most
      ``_SHORT_FORM_GAP`` characters of the same phrase between two of them (村委会 →
      村民委员会, 社保 → 社会保险, 军属 → 军人家属).
    - A body named 某局/某厅: the matter, up to four characters, then 部门/机关/机构
      (信访局 → 信访部门 / 信访工作机构, 教育厅 → 教育行政部门).
    """
    if not _CJK.match(word):
        return None
    gap = f"{_NOT_IN_WORD}{{0,{_SHORT_FORM_GAP}}}"
    forms = [gap.join(re.escape(ch) for ch in word)]
    if word.endswith(_AGENCY_SUFFIX) and len(word) >= 3:
        forms.append(f"{re.escape(word[:-1])}{_NOT_IN_WORD}{{0,4}}{_AGENCY_WORDS}")
    return re.compile("|".join(forms))


def _covered(concept: Concept, text: str, title: str) -> float:
    """``concept``'s coverage of a passage: of its text, else half credit from its title."""
    own = concept.coverage(text)
    # The title can only add its half credit: skip looking at it when the text gives as much.
    if own >= 0.5 or not title:
        return own
    return 0.5 if concept.coverage(title) else own


# Concepts weighing at least this share of the heaviest one are the question's focus: IDF ties
# (two words each used once in the corpus) are common, and either may be what it is about.
FOCUS_SHARE = 0.95


def focus_concepts(concepts: list[Concept]) -> list[Concept]:
    """The heaviest of ``concepts`` (within ``FOCUS_SHARE`` of the top weight); [] for none."""
    top = max((c.weight for c in concepts), default=0.0)
    return [c for c in concepts if c.weight >= FOCUS_SHARE * top] if concepts else []


@dataclass
class QueryAnalysis:
    """How a question was turned into search terms."""

    query: str
    tokens: list[str]  # the question's own search tokens, in order, without duplicates
    expansions: list[str]  # synonym terms added by the synonym table
    expansion_tokens: list[str]  # their words not already among ``tokens``
    concepts: list[Concept] = field(default_factory=list)
    # What was searched: the question itself, or the asking part of a letter-style text
    # (knowledge.retrieval.focus); empty means ``query``.
    focus: str = ""
    # Kinds of rule asked for (exclusion, liability, procedure; knowledge.retrieval.intents).
    intents: tuple[Intent, ...] = ()

    @property
    def searched(self) -> str:
        """The text tokens and concepts come from (``focus`` when set, else ``query``)."""
        return self.focus or self.query

    def coverage(self, text: str, title: str = "") -> float:
        """IDF-weighted share (0..1) of the question's concepts that ``text`` covers.

        A concept found only in the document ``title`` gets half credit: the title says what
        the whole document is about, not what this passage says.
        """
        concepts = self.concepts
        total = sum(c.weight for c in concepts)
        if total <= 0:
            return 0.0
        values = [_covered(c, text, title) for c in concepts]
        # An amount or a duration only answers the question next to what it is about.
        on_topic = False
        pairs = list(zip(concepts, values, strict=True))
        for c, v in pairs:
            if v > 0 and (c.pattern is None or c.alternates):
                on_topic = True
                break
        return sum([c.weight * v for c, v in pairs if on_topic or c.pattern is None]) / total

    @property
    def terms(self) -> list[str]:
        """Original tokens followed by expansion terms (for highlighting)."""
        return list(dict.fromkeys([*self.tokens, *self.expansions]))


def content_words(text: str, words: list[str]) -> list[str]:
    """The question's words (lower case) as concepts see them, two segmentation slips mended.

    - Two single characters, neither a stop word, that end a clause (then punctuation, a stop
      word or the end) are one word jieba did not know (到账 of 多久能到账 cut into 到/账):
      single characters are never concepts, so the word would be lost. Before a content word
      they are a verb and its complement (写/进 县志) and stay apart.
    - A fragment that reaches into an asked-for answer type (天内 of 多少天内) is part of
      the question word, which the answer-type concept stands for; it is left out. A word lying
      wholly inside the phrase (标准 of 标准是多少) stays a word.

    ``text`` is the normalised, lower-cased question the ``words`` were cut from.
    """
    asks = [m.span() for ask, _label, _answer in ANSWER_TYPES for m in ask.finditer(text)]
    located: list[tuple[str, int, int]] = []
    pos = 0
    for raw in words:
        word = raw.lower()
        start = text.find(word, pos)
        if start >= 0:
            pos = start + len(word)
        located.append((word, start, start + len(word) if start >= 0 else -1))

    def single(i: int) -> bool:
        word = located[i][0]
        content = word not in STOPWORDS and word not in QUESTION_WORDS
        return len(word) == 1 and bool(_CJK_CHAR.match(word)) and content

    def ends_clause(i: int) -> bool:
        # After word i: the end, punctuation (a gap in the located words) or a stop word.
        if i + 1 >= len(located):
            return True
        nxt, start, _end = located[i + 1]
        return start != located[i][2] or nxt in STOPWORDS or nxt in QUESTION_WORDS

    out: list[str] = []
    i = 0
    while i < len(located):
        word, start, end = located[i]
        if (
            i + 1 < len(located) and single(i) and single(i + 1) and located[i + 1][1] == end
            and (i == 0 or not single(i - 1)) and ends_clause(i + 1)
        ):
            out.append(word + located[i + 1][0])
            i += 2
            continue
        i += 1
        straddles = start >= 0 and any((a < start < b < end) or (start < a < end < b) for a, b in asks)
        if straddles and not any(ask.search(word) for ask, _l, _a in ANSWER_TYPES):
            continue
        out.append(word)
    return out


def _a_not_a(word: str, text: str) -> bool:
    """Whether ``word`` is (the tail of) an A-not-A question form in ``text``: 算不算, or
    不能 / 不会 of 能不能 / 会不会 — a yes/no question's frame, not its topic."""
    if _A_NOT_A.fullmatch(word):
        return True
    return len(word) >= 2 and word[0] == "不" and f"{word[1:]}{word}" in text


def _is_noun(tag: str) -> bool:
    """Whether a jieba part-of-speech tag is a noun's (n, nr, nz...: a domain term is nz) or a
    verbal noun's (vn)."""
    return tag[:1] == "n" or tag == "vn"


def _names_a_thing(word: str, part: str) -> bool:
    """Whether ``word`` is a group word ``part`` plus a head that names a thing of its own
    (退伍费 = 退伍 + 费): the word then does not share the group word's synonyms. Other words
    keep their part's (保险金 is still about 保险)."""
    return word.startswith(part) and word[len(part):] in _THING_HEADS and asked_group(part) is not None


def _asks_type(word: str) -> bool:
    """Whether ``word`` is (part of) a question for an answer type (多久, 多少钱)."""
    return any(ask.search(word) for ask, _label, _answer in ANSWER_TYPES)


@dataclass(frozen=True)
class QueryAnalyzer:
    """Turns a question into a :class:`QueryAnalysis` against one corpus.

    ``unseen_weight``: weight of a word absent from the corpus, relative to the maximum IDF;
    ``thesaurus``: everyday synonyms looked up for words the corpus never uses.
    """

    tokenizer: ChineseTokenizer
    synonyms: SynonymTable
    unseen_weight: float = 0.6
    thesaurus: Thesaurus | None = None

    def analyze(self, query: str, stats: CorpusStats) -> QueryAnalysis:
        """Tokenise ``query`` (a letter: its asking part), find its synonym expansions and concepts."""
        tok = self.tokenizer
        parts = question_focus(without_personal_numbers(query))
        # Not what to do (优待证丢了怎么办): how to get the card.
        focus = rewrite_forms(parts.text, stats.df)
        tokens = list(dict.fromkeys(tok.tokens(focus)))
        expansions = self.synonyms.expansions(tokens, focus)
        present = set(tokens)
        exp_tokens: list[str] = []
        for term in expansions:
            # Precise-mode words only: the sub-words of search mode (军人 in 退役军人) would
            # turn a specific synonym into a generic match.
            words = [w.lower() for w in tok.words(term) if w.lower() not in STOPWORDS]
            if len(words) > 1:
                words = [w for w in words if len(w) > 1]
            for t in words:
                if t not in present:
                    present.add(t)
                    exp_tokens.append(t)
        concepts = self.concepts(focus, tokens, stats)
        # Wordings of the texts found for the question's everyday words (the thesaurus) are
        # searched too, like the synonym table's.
        for c in concepts:
            for a in c.alternates:
                if a not in present and stats.df.get(a, 0) > 0:
                    present.add(a)
                    exp_tokens.append(a)
        intents = detect_intents(parts.asking)
        concepts, intents = self._intent_concepts(concepts, intents, parts.asking)
        if parts.context:
            asking = normalize(parts.asking).lower()
            for c in concepts:
                if c.pattern is None and not any(a in asking for a in (c.label, *c.alternates)):
                    c.weight *= CONTEXT_WEIGHT
        return QueryAnalysis(
            query=query, tokens=tokens, expansions=expansions, expansion_tokens=exp_tokens, concepts=concepts,
            focus=focus if focus != query else "", intents=intents,
        )

    def _intent_concepts(
        self, concepts: list[Concept], intents: tuple[Intent, ...], asking: str
    ) -> tuple[list[Concept], tuple[Intent, ...]]:
        """Drop the words that only frame an intent (情况 in 什么情况下…不给); add the action a
        procedure question asks about (怎么招 → 招), weighted like an average content word."""
        if not intents:
            return concepts, intents
        frame = set().union(*(i.frame_words for i in intents))
        kept = [c for c in concepts if c.label not in frame] or concepts
        action = asked_action([w.lower() for w in self.tokenizer.words(asking)])
        content = [c for c in kept if c.pattern is None]
        if action and content and any(i.name == "procedure" for i in intents):
            intents = tuple(replace(i, action=action) if i.name == "procedure" else i for i in intents)
            if not any(action in c.label for c in content):
                kept.append(Concept(action, sum(c.weight for c in content) / len(content), (action,)))
        return kept, intents

    def _weight(self, word: str, stats: CorpusStats, unseen: bool) -> float:
        """A concept's weight: the word's IDF (a stand-in for unseen words); a colloquial
        filler (家里, 具体) keeps ``FILLER_WEIGHT`` of it, since it says who asks or how, not
        what about, and a law never uses it."""
        weight = self.unseen_weight * stats.max_idf if unseen else stats.idf(word)
        return weight * FILLER_WEIGHT if word in self.synonyms.fillers else weight

    def _join_fusions(self, words: list[str], stats: CorpusStats, domain_terms: frozenset[str]) -> list[str]:
        """``words`` with each HMM fusion (a string the dictionary does not know, that the
        corpus never uses) joined to the loose single characters beside it: jieba cut
        要交个税 into 要交个 + 税, and the noun 个税 is only found in the whole span. A word of
        the synonym table (评残 of 评残去哪) is a word of its own, never a fusion."""
        tok = self.tokenizer

        def loose(w: str) -> bool:
            return bool(_CJK_CHAR.match(w)) and w not in STOPWORDS and w not in QUESTION_WORDS

        out: list[str] = []
        i = 0
        while i < len(words):
            word = words[i]
            low = word.lower()
            if (
                len(word) >= 2 and not tok.known(word) and stats.df.get(low, 0) == 0
                and low not in domain_terms and low not in self.synonyms.terms and not _asks_type(low)
            ):
                if out and loose(out[-1]):
                    word = out.pop() + word
                while i + 1 < len(words) and loose(words[i + 1]):
                    i += 1
                    word += words[i]
            out.append(word)
            i += 1
        return out

    def _fragment(self, word: str) -> list[str] | None:
        """What stands for a word the corpus never uses, when it is no word of its own: the
        nouns inside a string jieba's HMM fused from leftover characters (少交税 → 交税,
        要交个税 → 个税; its verbs, 交过 of 前交过, are the asker's story), or nothing for a
        word that only frames the question (``_FUNCTION_TAGS``: 以前, 有人, 好几个). None keeps
        the word (a fusion with no noun inside, 前交过, is kept by the caller at a filler's
        weight)."""
        tok = self.tokenizer
        if not tok.known(word):
            return [w for w in tok.known_parts(word) if _is_noun(tok.pos(w))] or None
        if tok.pos(word)[:1] in _FUNCTION_TAGS and word not in self.synonyms.colloquial:
            return []
        return None

    def concepts(self, query: str, tokens: list[str], stats: CorpusStats) -> list[Concept]:
        """The question's content words with their synonyms, plus its answer type."""
        tok = self.tokenizer
        text = normalize(query).lower()
        # Synonym terms as written in the question (substring) or as one of its tokens.
        written = self.synonyms.written_in(text, tokens)
        concepts: list[Concept] = []
        seen: set[str] = set()
        # Colloquial heads of one-way wordings are not domain words (see SynonymTable.colloquial).
        domain_terms = self.synonyms.domain_terms
        raw = self._join_fusions(tok.words(query), stats, domain_terms)
        segmented = {w.lower() for w in raw}
        queue = content_words(text, raw)
        while queue:
            word = queue.pop(0)
            # A word the tokenizer cut out of a longer term of the synonym table (工作 of 找工作,
            # 替 of 替我去) stands for that term: 优待工作 is no 找工作.
            longer = [
                t for t in written if word in t and t != word and t in text
                # A single character only for a term cut into single characters: 考 of
                # 考公务员 is not needed, 公务员 stands for it.
                and (len(word) > 1 or all(len(w) == 1 for w in tok.words(t)))
            ]
            if longer and word not in self.synonyms.terms:
                # Longest first; a tie goes to the one written first (``written`` is a set:
                # its order differs between processes, and answers must not).
                word = min(longer, key=lambda t: (-len(t), text.find(t), t))
                if word in seen:
                    continue
            if stats.df.get(word, 0) == 0 and word not in self.synonyms.terms:
                word = unglued(word, text)
            if word in seen or word in STOPWORDS or word in QUESTION_WORDS:
                continue
            if len(word) < 2 and not word.isdigit():
                continue
            seen.add(word)
            if word in _HOMETOWN_WORDS or regions.is_place_word(word) or _a_not_a(word, text):
                continue
            unseen = stats.df.get(word, 0) == 0 and word not in domain_terms
            if unseen and len(word) == 2 and word[0] in _FUNCTION_PREFIX:
                continue
            fused = False
            if unseen and word in segmented and not _asks_type(word) and word not in self.synonyms.terms:
                fragment = self._fragment(word)
                if fragment is not None:
                    queue[:0] = fragment  # its words, or none for a function word
                    continue
                # A fusion without a word of its own may still hide the topic in its single
                # characters (要交个 of 要交个税): it stays, weighing like a filler.
                fused = not tok.known(word)
            alternates = {word}
            for term in written:
                if word in term or (term in word and not _names_a_thing(word, term)):
                    for gid in self.synonyms.matched_groups([term]):
                        alternates.update(self.synonyms.groups[gid])
            if unseen and len(alternates) == 1 and self.thesaurus is not None:
                # A word of everyday language the texts never use: their wording may be its
                # synonym (扫墓 → 祭扫, 户口 → 户籍), or a synonym of the word inside it
                # (回老家 → 老家 → 原籍).
                kin = self.thesaurus.kin(word) or tuple(
                    k for part in tok.tokens(word) if part != word and len(part) >= 2
                    and not _names_a_thing(word, part) for k in self.thesaurus.kin(part)
                )
                alternates.update(k for k in kin if stats.df.get(k, 0) > 0)
            partial = tuple(t for t in tok.tokens(word) if t != word and len(t) >= 2
                            and t not in alternates and not _names_a_thing(word, t))
            pattern = None
            for ask, _label, answer in ANSWER_TYPES:
                if ask.search(word):
                    pattern = answer
            weight = self._weight(word, stats, unseen) * (FILLER_WEIGHT if fused else 1.0)
            # A concept is as informative as its most common wording: 退伍 is rare in texts
            # that say 退役 everywhere, and must not weigh like a rare topic word.
            common = max((stats.df.get(a, 0) for a in alternates if a != word), default=0)
            if common > stats.df.get(word, 0):
                weight = min(weight, stats.idf_of_df(common))
            # Only a word the texts never use is looked for as a short form of their wording.
            full_form = short_form_pattern(word) if stats.df.get(word, 0) == 0 and pattern is None else None
            concepts.append(Concept(word, weight, tuple(sorted(alternates)), partial, pattern, full_form))
        # An answer type weighs like an average content word: it must be there, but it must not
        # let any passage that happens to state some amount outrank the passages on the topic.
        typed_weight = self.unseen_weight * stats.max_idf
        if concepts:
            typed_weight = sum(c.weight for c in concepts) / len(concepts)
        for ask, label, answer in ANSWER_TYPES:
            if ask.search(text) and not any(c.pattern is answer for c in concepts):
                concepts.append(Concept(label, typed_weight, (), (), answer))
        return concepts
