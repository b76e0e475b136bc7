"""Hybrid retrieval: dense (Chroma, e5) + sparse (BM25 over jieba tokens), fused.

Two fusion methods are implemented and measured on the eval sets (``vetbot eval``):

* ``rrf`` — reciprocal rank fusion, ``sum_i w_i / (k0 + rank_i)``;
* ``weighted`` — ``alpha * dense_norm + (1 - alpha) * bm25_norm`` with dense cosine min-max
  normalised over the candidate list and BM25 divided by its best score.

BM25 queries repeat the user's own tokens so that synonym expansions (added once) weigh half.
The fused ranking is then blended with *concept coverage*: the IDF-weighted share of the
question's words (or their synonyms, or the answer type it asks for: a duration, an amount)
that a passage states, so that a passage answering every part of the question beats one that
only shares its most salient word. Both fusions were measured with ``vetbot eval`` on the dev,
bundled and a private tuning set; RRF is the default (``Settings.fusion``).

Filters (region, topic, document) are applied to the candidates before ranking. When the
asker's region is known, that region's local rules are boosted and other places' local rules
are ranked below every national rule, so a 金华 rule never answers a 济南 asker; when it is
unknown, local rules are mildly demoted so the national rule leads.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, PrivateAttr

from knowledge.synonyms import SynonymTable
from knowledge.text import STOPWORDS, normalize
from knowledge.types import NATIONAL, TOPICS, Passage
from vetbot.errors import InvalidInputError

if TYPE_CHECKING:
    from knowledge.store import ChunkRecord, KnowledgeStore

logger = logging.getLogger(__name__)

Fusion = Literal["rrf", "weighted"]
FUSION_METHODS: tuple[str, ...] = ("rrf", "weighted")

# Prefecture-level cities of the provinces whose local rules are bundled, so that a provincial
# regulation (浙江省) also counts as "local" for an asker in one of its cities (金华市).
CITY_PROVINCE: dict[str, str] = {
    **dict.fromkeys(
        "杭州 宁波 温州 嘉兴 湖州 绍兴 金华 衢州 舟山 台州 丽水".split(), "浙江省"
    ),
    **dict.fromkeys(
        "石家庄 唐山 秦皇岛 邯郸 邢台 保定 张家口 承德 沧州 廊坊 衡水".split(), "河北省"
    ),
    **dict.fromkeys(
        "济南 青岛 淄博 枣庄 东营 烟台 潍坊 济宁 泰安 威海 日照 临沂 德州 聊城 滨州 菏泽".split(),
        "山东省",
    ),
    **dict.fromkeys(
        "南京 无锡 徐州 常州 苏州 南通 连云港 淮安 盐城 扬州 镇江 泰州 宿迁".split(), "江苏省"
    ),
}

_REGION_SUFFIXES = ("特别行政区", "自治区", "省", "市")

# Place names are handled by region preference, not by term matching: a question that names
# a city the KB has no rule for is still answerable from national rules.
PLACE_NAMES: frozenset[str] = frozenset(
    """北京 天津 上海 重庆 河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 广东 海南
    四川 贵州 云南 陕西 甘肃 青海 台湾 内蒙古 广西 西藏 宁夏 新疆 香港 澳门 深圳 广州 武汉 成都 西安 沈阳
    长春 哈尔滨 郑州 长沙 合肥 福州 厦门 南昌 昆明 贵阳 南宁 兰州 西宁 银川 乌鲁木齐 拉萨 呼和浩特 太原
    海口 三亚 大连 珠海 东莞 佛山 老家 家乡""".split()
) | frozenset(CITY_PROVINCE)

# A sentence that only points elsewhere ("……见《退役军人保障法》第五十三条") is not evidence.
CROSS_REFERENCE = re.compile(r"见《|见本(法|条例|办法)?第|见第[一二三四五六七八九十百]+条|详见|参见")

# Credit for a concept matched through a synonym instead of the question's own word.
SYNONYM_CREDIT = 0.8

# First characters that make an out-of-vocabulary two-character "word" a fused function word
# (我爸, 我能, 能领, 两张) rather than a topic.
_FUNCTION_PREFIX = frozenset("我你他她咱您能会要想可两几每这那哪该就都还")

# Interrogatives and fillers that say what kind of answer is wanted, not what it is about.
QUESTION_WORDS = frozenset(
    "哪些 需要 怎么办 怎么样 能否 是否 可否 多少 请问 谁 哪个 哪家 哪种 为啥 为什么 应该 什么样 "
    "还能 还要 吗 呢 啊 不".split()
)

# Answer types: a question asking "how long" / "how much money" is only answered by a passage
# that states a duration / an amount. Each entry: (question pattern, label, answer pattern).
ANSWER_TYPES: tuple[tuple[re.Pattern[str], str, re.Pattern[str]], ...] = (
    (
        re.compile(r"多久|多长时间|多少天|几天|几个月|多少日|时限|期限|几个工作日"),
        "时限",
        # A span of time, not a calendar date: 30个工作日, 15日内, 5至15天 but not 2021年12月14日.
        re.compile(
            r"(?<![0-9年月])(?:[0-9]+|[一二三四五六七八九十百]+)\s*(?:个)?(?:工作日|日|天|个月|周|年)"
            r"(?![0-9一二三四五六七八九十]+[月日])"
        ),
    ),
    (
        re.compile(r"几点|几时|什么时间(开|关|营业)|营业时间|开放时间"),
        "时刻",
        re.compile(r"[0-9]{1,2}\s*[:：点时]|[一二三四五六七八九十]+点"),
    ),
    (
        re.compile(r"多少比例|百分之多少|几成|几折|打折"),
        "比例",
        re.compile(r"[0-9]+(\.[0-9]+)?\s*%|百分之[0-9一二三四五六七八九十]+|[一二三四五六七八九]成|[0-9一二三四五六七八九]折|半价|减半"),
    ),
    (
        re.compile(r"多少钱|多少元|几块钱|金额|标准是多少|发多少|给多少|能拿多少|领多少"),
        "金额",
        re.compile(r"[0-9一二三四五六七八九十百千万]+(\.[0-9]+)?\s*(万)?元"),
    ),
)


def region_key(name: str | None) -> str:
    """Comparable form of a place name: 济南市 / 济南 -> 济南, 浙江省 -> 浙江."""
    text = normalize(name or "").replace(" ", "")
    for suffix in _REGION_SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix) + 1:
            return text[: -len(suffix)]
    return text


def canonical_region(name: str | None, known: Iterable[str] = ()) -> str | None:
    """The KB spelling of ``name`` (济南 -> 济南市 when the KB has 济南市); None when empty."""
    if not name or not str(name).strip():
        return None
    key = region_key(name)
    if key in ("全国", "国家", "中国"):
        return NATIONAL
    for region in known:
        if region_key(region) == key:
            return region
    return normalize(str(name)).replace(" ", "")


def province_of(region: str | None) -> str | None:
    """The province of a known city (金华市 -> 浙江省), else None."""
    return CITY_PROVINCE.get(region_key(region)) if region else None


def rrf_fuse(
    rankings: Sequence[Sequence[tuple[str, float]]],
    *,
    weights: Sequence[float] | None = None,
    k0: float = 60.0,
    valid_ids: Iterable[str] | None = None,
) -> dict[str, float]:
    """Reciprocal rank fusion of ranked ``(id, score)`` lists; ids not in ``valid_ids`` dropped."""
    valid = set(valid_ids) if valid_ids is not None else None
    weights = list(weights) if weights is not None else [1.0] * len(rankings)
    fused: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        rank = 0
        for cid, _score in ranking:
            if valid is not None and cid not in valid:
                continue  # orphaned vector or chunk outside the live manifest: not a rank holder
            rank += 1
            fused[cid] = fused.get(cid, 0.0) + weight / (k0 + rank)
    return fused


def weighted_fuse(
    dense: Sequence[tuple[str, float]],
    sparse: Sequence[tuple[str, float]],
    *,
    alpha: float = 0.5,
    valid_ids: Iterable[str] | None = None,
) -> dict[str, float]:
    """``alpha * dense_norm + (1 - alpha) * bm25_norm`` over the union of both candidate lists.

    Dense cosines are min-max normalised over the candidates (e5 similarities are compressed
    into a narrow band, so raw values would barely move the sum); BM25 is divided by its max.
    An id missing from one list scores 0 there.
    """
    valid = set(valid_ids) if valid_ids is not None else None
    dense = [(c, s) for c, s in dense if valid is None or c in valid]
    sparse = [(c, s) for c, s in sparse if valid is None or c in valid]
    fused: dict[str, float] = {}
    if dense:
        hi = max(s for _, s in dense)
        lo = min(s for _, s in dense)
        span = hi - lo
        for cid, s in dense:
            norm = (s - lo) / span if span > 1e-9 else 1.0
            fused[cid] = fused.get(cid, 0.0) + alpha * norm
    if sparse:
        top = max(s for _, s in sparse)
        for cid, s in sparse:
            norm = s / top if top > 0 else 0.0
            fused[cid] = fused.get(cid, 0.0) + (1.0 - alpha) * norm
    return fused


@dataclass
class Concept:
    """One thing the question asks about: a word, its synonyms, or an answer type."""

    label: str
    weight: float
    alternates: tuple[str, ...]  # any of these in a passage covers the concept
    partial: tuple[str, ...] = ()  # sub-words: half credit
    pattern: re.Pattern[str] | None = None  # answer-type pattern (durations, amounts)

    def coverage(self, text: str) -> float:
        """1 when ``text`` (normalised, lower case) has the word itself, 0.8 a synonym, 0.5 a part."""
        if self.label in text:
            return 1.0
        if self.pattern is not None and self.pattern.search(text):
            return 1.0
        # The user's own word is stronger evidence than a synonym from the table.
        if any(a in text for a in self.alternates):
            return SYNONYM_CREDIT
        if any(p in text for p in self.partial):
            return 0.5
        return 0.0


@dataclass
class QueryAnalysis:
    """How a question was turned into search terms."""

    query: str
    tokens: list[str]
    expansions: list[str]
    expansion_tokens: list[str]
    concepts: list[Concept] = field(default_factory=list)

    def coverage(self, text: str, title: str = "") -> float:
        """IDF-weighted share of the question's concepts that ``text`` covers.

        A concept found only in the document ``title`` gets half credit: the title says what
        the whole document is about, not what this passage says.
        """
        total = sum(c.weight for c in self.concepts)
        if total <= 0:
            return 0.0
        scores = [
            (c, max(c.coverage(text), 0.5 if title and c.coverage(title) else 0.0)) for c in self.concepts
        ]
        # An amount or a duration only answers the question next to what it is about.
        on_topic = any(v > 0 for c, v in scores if c.pattern is None or c.alternates)
        return sum(c.weight * v for c, v in scores if on_topic or c.pattern is None) / total

    @property
    def terms(self) -> list[str]:
        """Original tokens followed by expansion terms (for highlighting)."""
        return list(dict.fromkeys([*self.tokens, *self.expansions]))


@dataclass
class Hit:
    """One ranked chunk with the evidence behind its rank."""

    chunk_id: str
    score: float
    fused: float  # raw fusion score (RRF or weighted sum) before the coverage blend and region rules
    dense: float | None = None
    bm25: float | None = None
    dense_rank: int | None = None
    bm25_rank: int | None = None
    coverage: float = 0.0  # share of the question's concepts the passage covers
    tier: int = 0  # 0: national or the asker's own region; 1: another place's local rule


@dataclass
class RetrievalResult:
    """Ranked hits plus the raw signals used by the refusal decision."""

    analysis: QueryAnalysis
    hits: list[Hit]
    dense: list[tuple[str, float]] = field(default_factory=list)
    sparse: list[tuple[str, float]] = field(default_factory=list)
    region: str | None = None


class CorpusStats:
    """Document frequencies of tokens over the live chunks (IDF for coverage and sentences)."""

    def __init__(self, chunks: Mapping[str, ChunkRecord], tokens_of: Any) -> None:
        self.n = max(1, len(chunks))
        df: Counter[str] = Counter()
        # Coverage text: heading and body. The title is left out on purpose: every chunk of
        # 军人抚恤优待条例 would otherwise "cover" 抚恤 and 优待 (BM25 and dense still see it).
        self.texts: dict[str, str] = {}
        self.titles: dict[str, str] = {}
        for cid, chunk in chunks.items():
            meta = chunk.metadata
            body = "\n".join(
                s for s in re.split(r"(?<=[。！？；])|\n", chunk.text) if not CROSS_REFERENCE.search(s)
            )
            text = normalize(f"{meta.get('heading', '')} {body}").lower()
            self.texts[cid] = text
            self.titles[cid] = normalize(str(meta.get("title", ""))).lower()
            df.update(set(tokens_of(text)))
        self.df = df
        self.max_idf = self.idf("\x00unseen")
        found = {str(c.metadata.get("region") or NATIONAL) for c in chunks.values()}
        self.regions: tuple[str, ...] = tuple(sorted(found, key=lambda r: (r != NATIONAL, r)))

    def idf(self, token: str) -> float:
        """Smoothed IDF; unseen tokens get the maximum."""
        return math.log(1.0 + (self.n - self.df.get(token, 0) + 0.5) / (self.df.get(token, 0) + 0.5))


class HybridRetriever(BaseRetriever):
    """Dense + BM25 retrieval over a :class:`KnowledgeStore`, fused by RRF or a weighted sum.

    ``search()`` returning :class:`Passage` objects is the main entry; as a LangChain retriever
    it returns Documents whose metadata carries ``score``.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: Any
    synonyms: Any = None
    fusion: str = "rrf"
    k: int = 5
    # Tuned on the eval sets (see `vetbot eval`): dense weight of the weighted sum.
    alpha: float = 0.5
    rrf_k0: float = 60.0
    rrf_weights: tuple[float, float] = (0.7, 1.0)  # dense, bm25: e5 ranks are noisier
    candidate_k: int = 40
    coverage_weight: float = 0.3
    unseen_weight: float = 0.6  # weight of a word absent from the corpus, relative to max IDF
    own_region_boost: float = 1.5
    unknown_region_local_factor: float = 0.8
    expand_dense: bool = False

    _stats: CorpusStats | None = PrivateAttr(default=None)
    _stats_source: Any = PrivateAttr(default=None)

    def __init__(
        self,
        store: KnowledgeStore,
        synonyms: SynonymTable | None = None,
        fusion: str = "rrf",
        **kwargs: Any,
    ) -> None:
        if fusion not in FUSION_METHODS:
            raise InvalidInputError(f"unknown fusion {fusion!r}", user_message=f"未知的融合方式：{fusion}")
        super().__init__(store=store, synonyms=synonyms or SynonymTable(), fusion=fusion, **kwargs)

    # ------------------------------------------------------------------ analysis
    def analyze(self, query: str) -> QueryAnalysis:
        """Tokenise ``query`` and find its synonym expansions."""
        tok = self.store.tokenizer
        tokens = list(dict.fromkeys(tok.tokens(query)))
        expansions = self.synonyms.expansions(tokens, query)
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
        concepts = self._concepts(query, tokens)
        return QueryAnalysis(
            query=query, tokens=tokens, expansions=expansions, expansion_tokens=exp_tokens, concepts=concepts
        )

    def _concepts(self, query: str, tokens: list[str]) -> list[Concept]:
        """The question's content words with their synonyms, plus its answer type."""
        tok = self.store.tokenizer
        stats = self.stats()
        text = normalize(query).lower()
        # Synonym terms as written in the question (substring) or as one of its tokens.
        written = [t for t in self.synonyms.terms if (len(t) >= 2 and t in text) or t in tokens]
        concepts: list[Concept] = []
        seen: set[str] = set()
        synonym_terms = self.synonyms.terms
        for word in tok.words(query):
            word = word.lower()
            if word in seen or word in STOPWORDS or word in QUESTION_WORDS:
                continue
            if len(word) < 2 and not word.isdigit():
                continue
            seen.add(word)
            if region_key(word) in PLACE_NAMES:
                continue
            unseen = stats.df.get(word, 0) == 0 and word not in synonym_terms
            if unseen and len(word) == 2 and word[0] in _FUNCTION_PREFIX:
                continue
            alternates = {word}
            for term in written:
                if word in term or term in word:
                    for gid in self.synonyms.matched_groups([term]):
                        alternates.update(self.synonyms.groups[gid])
            partial = tuple(t for t in tok.tokens(word) if t != word and len(t) >= 2 and t not in alternates)
            pattern = None
            for ask, _label, answer in ANSWER_TYPES:
                if ask.search(word):
                    pattern = answer
            weight = self.unseen_weight * stats.max_idf if unseen else stats.idf(word)
            concepts.append(Concept(word, weight, tuple(sorted(alternates)), partial, pattern))
        # An answer type weighs like an average content word: it must be there, but it must not
        # let any passage that happens to state some amount outrank the passages on the topic.
        typed_weight = self.unseen_weight * stats.max_idf
        if concepts:
            typed_weight = sum(c.weight for c in concepts) / len(concepts)
        for ask, label, answer in ANSWER_TYPES:
            if ask.search(text) and not any(c.pattern is answer for c in concepts):
                concepts.append(Concept(label, typed_weight, (), (), answer))
        return concepts

    def stats(self) -> CorpusStats:
        """Corpus statistics of the store's current generation (rebuilt after a reload)."""
        chunks = self.store.chunks
        # Identity of the live chunk dict: the store swaps in a new one on every reload. The
        # reference is kept, so a new dict can never reuse the old one's address.
        if self._stats is None or self._stats_source is not chunks:
            self._stats = CorpusStats(chunks, self.store.tokenizer.tokens)
            self._stats_source = chunks
        return self._stats

    def regions(self) -> list[str]:
        """Regions present in the KB, national first."""
        return list(self.stats().regions)

    # ------------------------------------------------------------------ filters
    def _filter_ids(
        self, *, topic: str | None, region: str | None, document: str | None, strict: bool
    ) -> set[str] | None:
        if topic is None and region is None and document is None:
            return None
        if topic is not None and topic not in TOPICS:
            raise InvalidInputError(
                f"unknown topic {topic!r}",
                user_message=f"未知的主题：{topic}（可选：{'、'.join(TOPICS)}）",
            )
        want_region = region_key(region) if region else None
        doc_query = normalize(document).lower() if document else None
        keep: set[str] = set()
        for cid, chunk in self.store.chunks.items():
            meta = chunk.metadata
            if topic is not None and f"|{topic}|" not in str(meta.get("topics", "")):
                continue
            if want_region is not None:
                chunk_region = str(meta.get("region") or NATIONAL)
                national = chunk_region == NATIONAL
                if region_key(chunk_region) != want_region and (strict or not national):
                    continue
            if doc_query is not None:
                doc_id = str(meta.get("doc_id", "")).lower()
                title = normalize(str(meta.get("title", ""))).lower()
                if doc_query != doc_id and doc_query not in title:
                    continue
            keep.add(cid)
        return keep

    # ------------------------------------------------------------------ ranking
    def retrieve(
        self,
        query: str,
        k: int | None = None,
        *,
        topic: str | None = None,
        region: str | None = None,
        document: str | None = None,
        strict: bool = False,
        prefer_region: str | None = None,
        fusion: str | None = None,
    ) -> RetrievalResult:
        """Rank chunks for ``query``; returns hits with their dense/BM25 evidence."""
        k = k or self.k
        fusion = fusion or self.fusion
        if fusion not in FUSION_METHODS:
            raise InvalidInputError(f"unknown fusion {fusion!r}", user_message=f"未知的融合方式：{fusion}")
        analysis = self.analyze(query)
        allowed = self._filter_ids(topic=topic, region=region, document=document, strict=strict)
        live = self.store.chunks
        if not live or (allowed is not None and not allowed):
            return RetrievalResult(analysis=analysis, hits=[], region=prefer_region)
        valid = allowed if allowed is not None else set(live)
        # Filtered searches look at every chunk: policy corpora are small, and a tight filter
        # would otherwise leave the top-N candidates empty.
        depth = len(live) if allowed is not None else min(len(live), max(self.candidate_k, 4 * k))

        dense_query = query
        if self.expand_dense and analysis.expansions:
            dense_query = f"{query} {' '.join(analysis.expansions)}"
        dense = [(c, s) for c, s in self.store.dense_search(dense_query, depth) if c in valid]
        bm25_tokens = [*analysis.tokens, *analysis.tokens, *analysis.expansion_tokens]
        sparse = [(c, s) for c, s in self.store.bm25_search(bm25_tokens, depth) if c in valid]

        if fusion == "rrf":
            fused = rrf_fuse([dense, sparse], weights=self.rrf_weights, k0=self.rrf_k0, valid_ids=valid)
        else:
            fused = weighted_fuse(dense, sparse, alpha=self.alpha, valid_ids=valid)

        # Rerank by concept coverage: a passage that speaks to every part of the question (who,
        # what, and the answer type) beats one that shares only the salient topic word.
        stats = self.stats()
        top_fused = max(fused.values(), default=0.0) or 1.0
        coverage = {
            cid: analysis.coverage(stats.texts.get(cid, ""), stats.titles.get(cid, "")) for cid in fused
        }
        gamma = self.coverage_weight if analysis.concepts else 0.0
        blended = {
            cid: (1.0 - gamma) * score / top_fused + gamma * coverage[cid] for cid, score in fused.items()
        }

        dense_pos = {c: (i + 1, s) for i, (c, s) in enumerate(dense)}
        sparse_pos = {c: (i + 1, s) for i, (c, s) in enumerate(sparse)}
        asker = canonical_region(prefer_region, self.regions()) if prefer_region else None
        asker_keys = {region_key(asker), region_key(province_of(asker))} - {""} if asker else set()
        hits: list[Hit] = []
        for cid, score in blended.items():
            meta = live[cid].metadata
            chunk_region = str(meta.get("region") or NATIONAL)
            local = chunk_region != NATIONAL or meta.get("scope") == "local"
            adjusted, tier = score, 0
            if local and asker and asker != NATIONAL:
                if region_key(chunk_region) in asker_keys:
                    adjusted = score * self.own_region_boost
                else:
                    tier = 1
            elif local:
                adjusted = score * self.unknown_region_local_factor
            d, b = dense_pos.get(cid), sparse_pos.get(cid)
            hits.append(
                Hit(
                    chunk_id=cid,
                    score=adjusted,
                    fused=fused[cid],
                    dense=d[1] if d else None,
                    bm25=b[1] if b else None,
                    dense_rank=d[0] if d else None,
                    bm25_rank=b[0] if b else None,
                    coverage=coverage[cid],
                    tier=tier,
                )
            )
        hits.sort(key=lambda h: (h.tier, -h.score, h.chunk_id))
        return RetrievalResult(analysis=analysis, hits=hits, dense=dense, sparse=sparse, region=asker)

    def to_source(self, hit: Hit) -> Passage:
        """The :class:`Passage` view of a hit."""
        chunk = self.store.chunks[hit.chunk_id]
        return source_from_chunk(chunk, hit.score)

    def search(
        self,
        query: str,
        k: int | None = None,
        *,
        topic: str | None = None,
        region: str | None = None,
        document: str | None = None,
        strict: bool = False,
        prefer_region: str | None = None,
    ) -> list[Passage]:
        """Top-``k`` passages for ``query`` as :class:`Passage` objects, best first."""
        k = k or self.k
        result = self.retrieve(
            query, k, topic=topic, region=region, document=document, strict=strict,
            prefer_region=prefer_region,
        )
        return [self.to_source(h) for h in result.hits[:k]]

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        result = self.retrieve(query, self.k)
        docs = []
        for hit in result.hits[: self.k]:
            doc = self.store.chunks[hit.chunk_id].to_document()
            doc.metadata["score"] = hit.score
            docs.append(doc)
        return docs


def source_from_chunk(chunk: ChunkRecord, score: float) -> Passage:
    """Build a :class:`Passage` from a stored chunk."""
    meta = chunk.metadata
    region = str(meta.get("region") or NATIONAL)
    scope = "local" if meta.get("scope") == "local" or region != NATIONAL else "national"
    return Passage(
        title=str(meta.get("title", "")),
        article=str(meta.get("article", "") or ""),
        text=chunk.text,
        score=round(float(score), 6),
        path=str(meta.get("path", "")),
        region=region,
        doc_id=str(meta.get("doc_id", "")),
        chunk_id=chunk.chunk_id,
        heading=str(meta.get("heading", "") or ""),
        scope=scope,
        topics=[t for t in str(meta.get("topics", "")).split("|") if t],
    )
