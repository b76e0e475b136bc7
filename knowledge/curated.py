"""Curated answers (官方口径): staff-approved answers to a question pattern, with citations.

A curated answer is kept in the database (table ``kb_curated_answers``, Alembic revision
``0015_kb_admin``) and published into the knowledge base as a synthetic document
``curated:<id>`` (metadata ``kind=curated``) whose one passage is the question pattern plus
the answer, so it is retrieved like any passage. When a question retrieves it (at any rank) and
paraphrases its pattern (:func:`is_paraphrase`, the retriever's synonym-aware concepts
compared both ways), and it has not expired, :func:`curated_answer` turns it into the answer,
shown as 官方口径 with the passages it cites; otherwise curated passages are left out of ordinary
answers (:func:`without_curated`).
Expired ones are never used and are removed from the knowledge base by the admin's review sweep.

Citations are ``{"doc_id", "passage_key"}`` (``passage_key`` "" cites the whole document: its
first passage is shown); passage keys are those of :func:`knowledge.overlay.passage_keys`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from knowledge.overlay import passage_keys
from knowledge.retrieval.query import QueryAnalysis
from knowledge.retrieval.retriever import RetrievalResult, passage_from_chunk
from knowledge.store import ChunkRecord, DocumentRecord, KnowledgeStore
from knowledge.text import normalize
from knowledge.types import NATIONAL, Passage
from knowledge.versions import VersionIndex
from vetbot.clock import utcnow
from vetbot.db import Base

CURATED_PREFIX = "curated:"
CURATED_KIND = "curated"
CURATED_TITLE = "官方口径"
OFFICIAL_MARK = "【官方口径】"

# When a question is the curated question (0..1 shares of concept weight; a synonym counts 0.8).
# The asked question must ask everything the pattern asks: every concept of the pattern covered
# and PATTERN_COVERAGE of its weight. The pattern need only cover ASKED_COVERAGE of the asked
# question: an asker adds circumstances (我的优待证弄丢了，补办需要什么证件) without asking
# another question. Measured against the pattern 退役军人优待证补办要带什么材料: paraphrases
# cover it 0.85-1.0 (and it covers them 0.47-1.0 on a small KB); another aspect of the same document
# (…补办需要多少天) leaves 材料 uncovered; the same aspect of another certificate
# (残疾军人证补办需要什么材料) covers 0.85 but leaves 优待证 uncovered; another topic
# (退役士兵安置需要什么材料) 0.45. Embedding cosines (e5-small: 0.93-0.97 for all of these)
# and character ratios (rapidfuzz) did not separate them.
PATTERN_COVERAGE = 0.8
ASKED_COVERAGE = 0.4


class CuratedAnswer(Base):
    """One curated answer: the question pattern, the approved answer, its citations, its expiry."""

    __tablename__ = "kb_curated_answers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    # [{"doc_id": ..., "passage_key": ...}]
    citations: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    region: Mapped[str] = mapped_column(String(32), default=NATIONAL)
    expires_on: Mapped[date] = mapped_column(Date)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    source_log_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(96), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(96), default="")

    @property
    def doc_id(self) -> str:
        """The synthetic document's id in the knowledge base."""
        return f"{CURATED_PREFIX}{self.id}"

    def expired(self, today: date) -> bool:
        """True from the day after ``expires_on``."""
        return self.expires_on < today

    def describe(self) -> dict[str, Any]:
        """JSON-ready view (audit before/after)."""
        return {
            "question": self.question,
            "answer": self.answer,
            "citations": list(self.citations or []),
            "region": self.region,
            "expires_on": self.expires_on.isoformat(),
            "retired": self.retired,
        }


def is_curated(metadata: Mapping[str, Any]) -> bool:
    """True for the passages and documents of curated answers."""
    return metadata.get("kind") == CURATED_KIND or str(metadata.get("doc_id", "")).startswith(CURATED_PREFIX)


def _citations_value(citations: list[dict[str, str]]) -> str:
    return "|".join(f"{c.get('doc_id', '')}#{c.get('passage_key', '')}" for c in citations)


def _parse_citations(value: str) -> list[tuple[str, str]]:
    out = []
    for item in (value or "").split("|"):
        doc_id, _, key = item.partition("#")
        if doc_id:
            out.append((doc_id, key))
    return out


def curated_record(row: CuratedAnswer) -> DocumentRecord:
    """The synthetic document that publishes ``row`` into the knowledge base."""
    text = f"{row.question}\n{row.answer}"
    sha = hashlib.sha256(
        f"{text}\x00{_citations_value(row.citations)}\x00{row.region}\x00{row.expires_on}".encode()
    ).hexdigest()
    doc_id = row.doc_id
    chunk_id = f"{doc_id}:{sha[:12]}:0"
    region = row.region or NATIONAL
    common: dict[str, Any] = {
        "title": f"{CURATED_TITLE}：{row.question[:40]}",
        "kind": CURATED_KIND,
        "region": region,
        "scope": "national" if region == NATIONAL else "local",
        "topics": "",
        "issuer": "",
        "doc_number": "",
        "date_effective": "",
        "citations": _citations_value(row.citations),
        "expires_on": row.expires_on.isoformat(),
    }
    chunk = ChunkRecord(
        chunk_id=chunk_id,
        text=text,
        metadata={
            **common,
            "doc_id": doc_id,
            "chunk_id": chunk_id,
            "article": "",
            "article_no": 0,
            "heading": CURATED_TITLE,
            "path": "",
        },
    )
    return DocumentRecord(doc_id=doc_id, path="", sha256=sha, metadata=common, chunks=[chunk])


def cited_passages(
    citations: list[tuple[str, str]],
    documents: Mapping[str, DocumentRecord],
    versions: VersionIndex | None = None,
) -> list[Passage]:
    """The passages a curated answer cites, in order; citations the KB no longer holds are skipped."""
    out: list[Passage] = []
    for doc_id, key in citations:
        doc = documents.get(doc_id)
        if doc is None or not doc.chunks:
            continue
        chunk: ChunkRecord | None = doc.chunks[0]
        if key:
            chunk = dict(zip(passage_keys(doc.chunks), doc.chunks, strict=True)).get(key)
        if chunk is not None:
            status = versions.status(doc_id) if versions is not None else None
            out.append(passage_from_chunk(chunk, 1.0, status))
    return out


@dataclass(frozen=True)
class CuratedReply:
    """The answer built from a curated answer: its text and the passages it cites."""

    text: str
    sources: list[Passage]
    doc_id: str


def is_paraphrase(asked: QueryAnalysis, pattern: QueryAnalysis) -> bool:
    """True when ``asked`` is the question ``pattern`` states (see ``PATTERN_COVERAGE``):
    it covers every concept of the pattern and ``PATTERN_COVERAGE`` of their weight, and the
    pattern covers ``ASKED_COVERAGE`` of the asked question's concept weight."""
    asked_text = normalize(asked.query).lower()
    if any(c.coverage(asked_text) <= 0 for c in pattern.concepts):
        return False
    return (
        pattern.coverage(asked_text) >= PATTERN_COVERAGE
        and asked.coverage(normalize(pattern.query).lower()) >= ASKED_COVERAGE
    )


def _candidates(result: RetrievalResult, store: KnowledgeStore) -> Iterator[ChunkRecord]:
    """The curated passages the retrieval found (ranked hits first, then the other candidates)
    that apply to the asker: national ones and those of the asker's own region."""
    ids = [h.chunk_id for h in result.hits] + [cid for cid, _ in (*result.dense, *result.sparse)]
    for chunk_id in dict.fromkeys(ids):
        chunk = store.chunks.get(chunk_id)
        if (
            chunk is not None
            and is_curated(chunk.metadata)
            and str(chunk.metadata.get("region") or NATIONAL) in (NATIONAL, result.region)
        ):
            yield chunk


def curated_answer(
    result: RetrievalResult,
    store: KnowledgeStore,
    today: date,
    versions: VersionIndex | None = None,
    *,
    analyze: Callable[[str], QueryAnalysis],
) -> CuratedReply | None:
    """The curated answer whose question pattern the question paraphrases, else None.

    Candidates are the curated passages among the retrieval's hits and candidates, in rank
    order; the first that has not expired and that the question paraphrases
    (:func:`is_paraphrase`) is used. ``analyze`` is the retriever's query analysis
    (``HybridRetriever.analyze``), applied to the curated question patterns.
    """
    for chunk in _candidates(result, store):
        expires = str(chunk.metadata.get("expires_on", ""))
        if not expires or date.fromisoformat(expires) < today:
            continue
        pattern, _, answer = chunk.text.partition("\n")
        if is_paraphrase(result.analysis, analyze(pattern)):
            return _reply(chunk, answer, store, versions)
    return None


def _reply(
    chunk: ChunkRecord, answer: str, store: KnowledgeStore, versions: VersionIndex | None
) -> CuratedReply:
    citations = _parse_citations(str(chunk.metadata.get("citations", "")))
    sources = cited_passages(citations, store.documents, versions)
    basis = "；".join(p.citation for p in sources)
    text = f"{OFFICIAL_MARK}{answer.strip()}" + (f"\n依据：{basis}" if basis else "")
    return CuratedReply(text=text, sources=sources, doc_id=str(chunk.metadata.get("doc_id", "")))


def without_curated(result: RetrievalResult, chunks: Mapping[str, ChunkRecord]) -> RetrievalResult:
    """``result`` without curated passages (ordinary answers quote the official texts only)."""
    hits = [h for h in result.hits if h.chunk_id in chunks and not is_curated(chunks[h.chunk_id].metadata)]
    if len(hits) == len(result.hits):
        return result
    return RetrievalResult(
        analysis=result.analysis, hits=hits, dense=result.dense, sparse=result.sparse, region=result.region
    )
