"""The hybrid retriever: dense (Chroma, e5) + sparse (BM25 over jieba tokens), fused and reranked.

Pipeline of :meth:`HybridRetriever.retrieve`:

1. query analysis (:mod:`~knowledge.retrieval.query`): the asking part of a letter
   (:mod:`~knowledge.retrieval.focus`), tokens, synonym expansions, concepts, and the kind of
   rule asked for (:mod:`~knowledge.retrieval.intents`);
2. candidate filters (:mod:`~knowledge.retrieval.filters`): topic, region, document (staff
   search filters a topic by passage, :meth:`HybridRetriever.search`);
3. ``fetch_k`` candidates from each of dense search and BM25 (BM25 queries repeat the user's
   own tokens so that synonym expansions, added once, weigh half);
4. fusion (:mod:`~knowledge.retrieval.fusion`): RRF (default) or a weighted sum;
5. the coverage reranker (:mod:`~knowledge.retrieval.reranker`), with the intent bonus;
6. region preference (:mod:`~knowledge.retrieval.regions`): the asker's local rules boosted,
   other places' local rules ranked below every national rule.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field, PrivateAttr

from knowledge.retrieval.corpus import CorpusStats
from knowledge.retrieval.docnumbers import named_documents, named_first
from knowledge.retrieval.filters import filter_doc_ids, passage_topics_field, topic_passage_ids
from knowledge.retrieval.fusion import FUSION_METHODS, rrf_fuse, weighted_fuse
from knowledge.retrieval.query import QueryAnalysis, QueryAnalyzer
from knowledge.retrieval.regions import RegionPreference
from knowledge.retrieval.reranker import CoverageReranker
from knowledge.retrieval.versionorder import current_first
from knowledge.synonyms import SynonymTable
from knowledge.text import normalize
from knowledge.types import NATIONAL, Passage
from knowledge.versions import DocumentStatus, VersionIndex
from vetbot import regions
from vetbot.clock import china_today
from vetbot.errors import InvalidInputError

if TYPE_CHECKING:
    from knowledge.store import ChunkRecord, KnowledgeStore

FILTER_CACHE_SIZE = 64  # distinct filters remembered per generation
# Most candidates taken from each search when a topic filters passages: the candidates come
# from the documents holding such passages and are widened by their share of them.
PASSAGE_FILTER_MAX_DEPTH = 2000


@dataclass(frozen=True)
class TopicPassages:
    """The passages of one topic (:func:`topic_passage_ids`): every id, and per document its
    ids in document order."""

    chunk_ids: frozenset[str]
    per_doc: dict[str, list[str]]


@dataclass
class _GenerationMemo:
    """What the retriever computed for one generation (and day), in a plain object: reading a
    pydantic private attribute costs ~2 µs, and :meth:`HybridRetriever.versions` runs for every
    passage shown. Each entry is one tuple, replaced whole: (chunks it is for, [day,] value)."""

    stats: tuple[Any, CorpusStats] | None = None
    versions: tuple[Any, str, VersionIndex] | None = None


@dataclass
class Hit:
    """One ranked chunk with the evidence behind its rank.

    ``score`` is the reranked score (0..1) times the region factor (so up to 1.5 for the
    asker's own local rule); ``fused`` the raw fusion score (RRF sums are ~0.01-0.03, weighted
    sums 0..1); ``dense`` a cosine similarity, ``bm25`` a raw BM25 score; ranks start at 1.
    """

    chunk_id: str
    score: float
    fused: float
    dense: float | None = None
    bm25: float | None = None
    dense_rank: int | None = None
    bm25_rank: int | None = None
    coverage: float = 0.0  # share (0..1) of the question's concepts the passage covers
    tier: int = 0  # 0: national or the asker's own region; 1: another place's local rule
    superseded: bool = False  # the document is superseded or repealed (knowledge.versions)


@dataclass
class RetrievalResult:
    """Ranked hits plus the raw signals used by the refusal decision.

    ``dense`` / ``sparse``: the ``(chunk_id, score)`` candidate lists, best first, after filters;
    ``region``: the asker's region in the KB's spelling (None when unknown).
    """

    analysis: QueryAnalysis
    hits: list[Hit]
    dense: list[tuple[str, float]] = field(default_factory=list)
    sparse: list[tuple[str, float]] = field(default_factory=list)
    region: str | None = None


def _check_fusion(fusion: str) -> None:
    if fusion not in FUSION_METHODS:
        raise InvalidInputError(f"unknown fusion {fusion!r}", user_message=f"未知的融合方式：{fusion}")


class HybridRetriever(BaseRetriever):
    """Dense + BM25 retrieval over a :class:`KnowledgeStore`, fused by RRF or a weighted sum.

    ``search()`` returning :class:`Passage` objects is the main entry; as a LangChain retriever
    it returns Documents whose metadata carries ``score``. InvalidInputError for an unknown
    fusion method or topic.
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
    fetch_k: int = 40  # candidates taken from each of dense search and BM25 (at least 4 * k)
    reranker: CoverageReranker = Field(default_factory=CoverageReranker)
    unseen_weight: float = 0.6  # weight of a word absent from the corpus, relative to max IDF
    region_preference: RegionPreference = Field(default_factory=RegionPreference)
    expand_dense: bool = False
    thesaurus: Any = None  # knowledge.thesaurus.Thesaurus: everyday synonyms of unseen words

    _memo: _GenerationMemo = PrivateAttr(default_factory=lambda: _GenerationMemo())
    _filters: dict[tuple[Any, ...], frozenset[str] | None] = PrivateAttr(default_factory=dict)
    _filters_source: Any = PrivateAttr(default=None)
    _topic_passages: dict[str, TopicPassages] = PrivateAttr(default_factory=dict)

    def __init__(
        self,
        store: KnowledgeStore,
        synonyms: SynonymTable | None = None,
        fusion: str = "rrf",
        **kwargs: Any,
    ) -> None:
        _check_fusion(fusion)
        super().__init__(store=store, synonyms=synonyms or SynonymTable(), fusion=fusion, **kwargs)

    # ------------------------------------------------------------------ analysis
    def analyze(self, query: str) -> QueryAnalysis:
        """Tokenise ``query``, find its synonym expansions and the concepts it asks about."""
        analyzer = QueryAnalyzer(self.store.tokenizer, self.synonyms, self.unseen_weight, self.thesaurus)
        return analyzer.analyze(query, self.stats())

    def stats(self) -> CorpusStats:
        """Corpus statistics of the store's current generation (counted at its commit)."""
        chunks = self.store.chunks
        memo = self._memo
        cached = memo.stats
        # Identity of the live chunk dict: the store swaps in a new one with every generation.
        # The reference is kept, so a new dict can never reuse the old one's address.
        if cached is None or cached[0] is not chunks:
            cached = memo.stats = (chunks, CorpusStats.from_counts(self.store.corpus_counts, chunks))
        return cached[1]

    def versions(self) -> VersionIndex:
        """Which documents are in force today, China time (rebuilt after a reload and when the
        day changes: a text takes effect on its day; see :mod:`knowledge.versions`)."""
        chunks = self.store.chunks
        today = china_today()
        memo = self._memo
        cached = memo.versions
        if cached is None or cached[0] is not chunks or cached[1] != today:
            # One look per document (its first chunk carries the document's metadata).
            docs: dict[str, dict[str, Any]] = {}
            for doc in self.store.documents.values():
                if doc.chunks:
                    meta = doc.chunks[0].metadata
                    docs[str(meta.get("doc_id") or doc.doc_id)] = meta
            cached = memo.versions = (chunks, today, VersionIndex(docs, today))
        return cached[2]

    def status_of(self, chunk_id: str) -> DocumentStatus:
        """The version status of the document a chunk belongs to."""
        chunk = self.store.chunks.get(chunk_id)
        doc_id = str(chunk.metadata.get("doc_id", "")) if chunk is not None else ""
        return self.versions().status(doc_id)

    def allowed_doc_ids(self, *, topic: str | None = None, region: str | None = None,
                        document: str | None = None, strict: bool = False) -> frozenset[str] | None:
        """:func:`filter_doc_ids` over the current generation, remembered per filter until the
        next generation (a filter looks at every document: tens of ms at 100k chunks)."""
        if topic is None and region is None and document is None:
            return None
        chunks = self.store.chunks
        if self._filters_source is not chunks:  # a new generation (see stats())
            self._filters, self._topic_passages, self._filters_source = {}, {}, chunks
        key = (topic, region, document, strict)
        if key not in self._filters:
            found = filter_doc_ids(self.store.documents, topic=topic, region=region, document=document,
                                   strict=strict)
            if len(self._filters) >= FILTER_CACHE_SIZE:
                self._filters.clear()
            self._filters[key] = None if found is None else frozenset(found)
        return self._filters[key]

    def topic_passages(self, topic: str) -> TopicPassages:
        """:func:`topic_passage_ids` over the current generation, remembered until the next one.
        Raises InvalidInputError for an unknown topic."""
        chunks = self.store.chunks
        if self._filters_source is not chunks:  # a new generation (see stats())
            self._filters, self._topic_passages, self._filters_source = {}, {}, chunks
        found = self._topic_passages.get(topic)
        if found is None:
            per_doc = topic_passage_ids(self.store.documents, topic)
            ids = frozenset(c for doc_ids in per_doc.values() for c in doc_ids)
            found = self._topic_passages[topic] = TopicPassages(ids, per_doc)
        return found

    def _passage_filter(
        self, topic: str, allowed: frozenset[str] | None
    ) -> tuple[frozenset[str], frozenset[str], float]:
        """(documents to search, passages to keep, how much deeper to search) for a topic
        filtered by passage within the ``allowed`` documents (None: all)."""
        passages = self.topic_passages(topic)
        docs = frozenset(d for d in passages.per_doc if allowed is None or d in allowed)
        documents = self.store.documents
        wanted = sum(len(passages.per_doc[d]) for d in docs)
        total = sum(len(documents[d].chunks) for d in docs if d in documents)
        return docs, passages.chunk_ids, (total / wanted) if wanted else 1.0

    def regions(self) -> list[str]:
        """Regions present in the KB, national first."""
        return list(self.stats().regions)

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
        demote_superseded: bool = True,
        query_vector: Sequence[float] | None = None,
        by_passage: bool = False,
    ) -> RetrievalResult:
        """Rank chunks for ``query``; returns every candidate as a hit, best first.

        ``topic``/``region``/``document`` filter (see :func:`filter_doc_ids`);
        ``prefer_region`` is the asker's region for the region preference. Passages of
        superseded documents are ranked below every passage in force unless
        ``demote_superseded`` is False (staff search shows both, each by its own score).
        ``query_vector`` is ``query``'s embedding (``embed_query``) when the caller has it
        already: dense search then embeds nothing (ignored with ``expand_dense``, and for a
        letter-style question, whose dense query, its focus, differs from ``query``).
        ``by_passage`` filters ``topic`` by each passage's own topics
        (:func:`~knowledge.retrieval.filters.passage_topics_field`) instead of its document's.
        Raises InvalidInputError for an unknown fusion method or topic.
        """
        k = k or self.k
        fusion = fusion or self.fusion
        _check_fusion(fusion)
        analysis = self.analyze(query)
        live = self.store.chunks
        keep: frozenset[str] | None = None  # the passages a passage-level topic filter keeps
        widen = 1.0
        if by_passage and topic is not None:
            allowed = self.allowed_doc_ids(region=region, document=document, strict=strict)
            allowed, keep, widen = self._passage_filter(topic, allowed)
        else:
            allowed = self.allowed_doc_ids(topic=topic, region=region, document=document, strict=strict)
        if not live or (allowed is not None and not allowed):
            return RetrievalResult(analysis=analysis, hits=[], region=prefer_region)
        # Filters are pushed into both searches (Chroma ``where``, a BM25 row mask), so a
        # filtered search takes the same number of candidates as an unfiltered one; passages
        # are filtered afterwards, so their documents are searched deeper by their share.
        depth = max(self.fetch_k, 4 * k)
        if keep is not None:
            depth = max(depth, min(PASSAGE_FILTER_MAX_DEPTH, math.ceil(depth * widen)))
        depth = min(len(live), depth)

        # A letter is searched by its asking part (analysis.focus), in dense search as in BM25.
        dense_query = analysis.searched
        if self.expand_dense and analysis.expansions:
            dense_query = f"{dense_query} {' '.join(analysis.expansions)}"
        if query_vector is not None and dense_query == query:
            dense_raw = self.store.dense_search_by_vector(list(query_vector), depth, doc_ids=allowed)
        else:
            dense_raw = self.store.dense_search(dense_query, depth, doc_ids=allowed)
        dense = [(c, s) for c, s in dense_raw if c in live and (keep is None or c in keep)]
        bm25_tokens = [*analysis.tokens, *analysis.tokens, *analysis.expansion_tokens]
        sparse = [(c, s) for c, s in self.store.bm25_search(bm25_tokens, depth, doc_ids=allowed)
                  if c in live and (keep is None or c in keep)]

        # Both lists hold live, allowed ids only: fusion needs no id set.
        if fusion == "rrf":
            fused = rrf_fuse([dense, sparse], weights=self.rrf_weights, k0=self.rrf_k0)
        else:
            fused = weighted_fuse(dense, sparse, alpha=self.alpha)
        reranked = self.reranker.rerank(fused, analysis, self.stats())

        dense_pos = {c: (i + 1, s) for i, (c, s) in enumerate(dense)}
        sparse_pos = {c: (i + 1, s) for i, (c, s) in enumerate(sparse)}
        asker = (regions.canonical_name(prefer_region) or prefer_region) if prefer_region else None
        versions = self.versions()
        old_docs = versions.superseded_ids()
        hits: list[Hit] = []
        # Every fused candidate becomes a hit (~80 per ask): the loop is kept lean.
        adjust, coverage = self.region_preference.adjust, reranked.coverage
        for cid, score in reranked.scores.items():
            meta = live[cid].metadata
            adjusted, tier = adjust(score, meta, asker)
            d, b = dense_pos.get(cid), sparse_pos.get(cid)
            hits.append(
                Hit(
                    cid, adjusted, fused[cid],
                    d[1] if d else None, b[1] if b else None, d[0] if d else None, b[0] if b else None,
                    coverage[cid], tier,
                    bool(old_docs) and str(meta.get("doc_id", "")) in old_docs,
                )
            )
        hits.sort(key=lambda h: (h.superseded and demote_superseded, h.tier, -h.score, h.chunk_id))
        return RetrievalResult(analysis=analysis, hits=hits, dense=dense, sparse=sparse, region=asker)

    def to_passage(self, hit: Hit) -> Passage:
        """The :class:`Passage` view of a hit (its ``score`` is the hit's score)."""
        return passage_from_chunk(self.store.chunks[hit.chunk_id], hit.score, self.status_of(hit.chunk_id))

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
        """Top-``k`` passages for ``query``, best first, superseded ones included and marked
        (``Passage.status``), each after the text in force of the same article
        (:mod:`~knowledge.retrieval.versionorder`); raises as :meth:`retrieve`.

        Without a topic or document filter, only passages that contain at least one of the
        query's words or synonyms are listed: dense search always returns its nearest
        neighbours, so a query that matches nothing (``asdfgh``) gets an empty list rather than
        unrelated articles. With one, staff are browsing that topic or document, and its
        passages are listed in ranked order.

        A ``region`` is also the preferred region unless ``prefer_region`` names another: staff
        who pick 济南市 answer 济南's veterans, so 济南's local rules get the asker's boost of
        :class:`RegionPreference` and lead when they match about as well as the national ones
        (those delegate most transit and scenic-area benefits to local government).

        A query that names a document's 发文字号 (``金退役军人发〔2025〕12号``) lists that
        document's passages first (:mod:`~knowledge.retrieval.docnumbers`), those not ranked at
        all with score 0.

        A ``topic`` keeps the passages whose own text speaks of it (``passage_topics``; one that
        names no topic counts its document's): the article on free buses of a law that lists ten
        topics is found under 交通出行, not under 子女教育. An empty ``query`` with a filter
        browses: see :meth:`browse`.
        """
        k = k or self.k
        if not normalize(query) and (topic is not None or region is not None or document is not None):
            return self.browse(k, topic=topic, region=region, document=document, strict=strict)
        result = self.retrieve(
            query, k, topic=topic, region=region, document=document, strict=strict,
            prefer_region=prefer_region or region, demote_superseded=False, by_passage=True,
        )
        browsing = topic is not None or document is not None
        listed = [h for h in result.hits if browsing or h.coverage > 0]
        chunks, versions = self.store.chunks, self.versions()
        listed = current_first(
            listed,
            doc_of=lambda cid: str(chunks[cid].metadata.get("doc_id", "")),
            text_of=lambda cid: chunks[cid].text,
            successor_of=versions.in_force_successor,
        )
        allowed = self.allowed_doc_ids(region=region, document=document, strict=strict)
        keep: frozenset[str] | None = None
        if topic is not None:
            allowed, keep, _ = self._passage_filter(topic, allowed)
        named = named_documents(query, self.store.documents, allowed)
        if named:
            old_docs = versions.superseded_ids()
            documents = self.store.documents
            listed = named_first(
                listed, result.hits,
                {d: [c.chunk_id for c in documents[d].chunks
                     if c.chunk_id in chunks and (keep is None or c.chunk_id in keep)] for d in named},
                make_hit=lambda cid: Hit(chunk_id=cid, score=0.0, fused=0.0,
                                         superseded=str(chunks[cid].metadata.get("doc_id", "")) in old_docs),
            )
        return [self.to_passage(h) for h in listed[:k]]

    def browse(
        self,
        k: int | None = None,
        *,
        topic: str | None = None,
        region: str | None = None,
        document: str | None = None,
        strict: bool = False,
    ) -> list[Passage]:
        """The first ``k`` passages that pass the filters, with no query (score 0): staff
        browsing a topic or a place. Texts in force first, then national before local (by
        region), then by document title and the passages' order within each document. A topic
        filters by passage, as in :meth:`search`; raises InvalidInputError for an unknown topic.
        """
        k = k or self.k
        allowed = self.allowed_doc_ids(region=region, document=document, strict=strict)
        documents, chunks = self.store.documents, self.store.chunks
        if topic is not None:
            per_doc = self.topic_passages(topic).per_doc
            ids = {d: per_doc[d] for d in per_doc if allowed is None or d in allowed}
        else:
            ids = {d: [c.chunk_id for c in documents[d].chunks]
                   for d in (documents if allowed is None else allowed) if d in documents}
        old_docs = self.versions().superseded_ids()

        def order(doc_id: str) -> tuple[bool, bool, str, str, str]:
            doc = documents[doc_id]
            meta = doc.chunks[0].metadata if doc.chunks else doc.metadata
            place = str(meta.get("region") or NATIONAL)
            return doc_id in old_docs, place != NATIONAL, place, str(meta.get("title", "")), doc_id

        out: list[Passage] = []
        for doc_id in sorted((d for d in ids if d in documents), key=order):
            for cid in ids[doc_id]:
                if cid in chunks:
                    out.append(passage_from_chunk(chunks[cid], 0.0, self.status_of(cid)))
                    if len(out) >= k:
                        return out
        return out

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


def passage_from_chunk(chunk: ChunkRecord, score: float, status: DocumentStatus | None = None) -> Passage:
    """Build a :class:`Passage` from a stored chunk; ``score`` is rounded to 6 decimals.

    ``status`` is the document's version status (in force when None).
    """
    status = status or DocumentStatus()
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
        topics=[t for t in passage_topics_field(meta).split("|") if t],
        date_version=str(meta.get("date_version", "") or ""),
        status=status.status,
        superseded_by=status.superseded_by,
        status_date=status.status_date,
    )
