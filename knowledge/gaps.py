"""The knowledge-gap report: questions the knowledge base could not answer well, grouped.

Refused, low-confidence and 👎-rated questions from the question log (``qa_log``) become
``GapItem`` objects (question text masked, each keeping its retrieved passages so pages can
link to them) and are grouped by ``knowledge.clustering.cluster_texts``. ``confidence`` is the
answer's confidence in ``[0, 1]``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from langchain_core.embeddings import Embeddings
from sqlalchemy.orm import Session

from knowledge.clustering import DEFAULT_DISTANCE_THRESHOLD, DEFAULT_LEXICAL_WEIGHT, cluster_texts
from knowledge.questionlog import knowledge_gaps
from knowledge.text import ChineseTokenizer, default_tokenizer
from vetbot.clock import as_utc
from vetbot.privacy import mask_text


@dataclass(frozen=True)
class GapItem:
    """One question the knowledge base could not answer well."""

    id: int
    created_at: datetime
    question: str  # masked
    reason: Literal["refused", "low_confidence", "rated_down"]
    refusal_reason: str | None
    confidence: float
    region: str | None
    channel: str
    # {"title", "article", "chunk_id", "doc_id", "score"} and "status" (the label) when not in force
    sources: list[dict[str, Any]]

    @property
    def reason_label(self) -> str:
        """Chinese label of why this is a gap."""
        return {"refused": "拒答", "low_confidence": "低置信度", "rated_down": "用户点踩"}[self.reason]


@dataclass(frozen=True)
class GapCluster:
    """Similar knowledge-gap questions with their keywords."""

    id: int
    keywords: list[str]
    example: str
    items: list[GapItem]  # newest first
    reasons: dict[str, int]

    @property
    def size(self) -> int:
        """Number of questions."""
        return len(self.items)

    @property
    def label(self) -> str:
        """Keywords joined for display."""
        return "、".join(self.keywords)


def gap_item(row: Any) -> GapItem:
    """Turn a ``knowledge.questionlog.QuestionLog`` row into a ``GapItem``."""
    reason: Literal["refused", "low_confidence", "rated_down"]
    if row.rating == "down":
        reason = "rated_down"
    elif row.refused:
        reason = "refused"
    else:
        reason = "low_confidence"
    sources = [
        {k: s.get(k) for k in ("title", "article", "chunk_id", "doc_id", "score", "status")}
        for s in (row.sources or [])
        if isinstance(s, dict)
    ]
    return GapItem(
        id=row.id,
        created_at=as_utc(row.created_at),
        question=mask_text(row.question),
        reason=reason,
        refusal_reason=row.refusal_reason,
        confidence=float(row.confidence or 0.0),
        region=row.region,
        channel=row.channel,
        sources=sources,
    )


def load_knowledge_gaps(
    session: Session, *, since: datetime | None = None, low_confidence: float = 0.5, limit: int = 500
) -> list[GapItem]:
    """Refused, low-confidence and 👎 questions from the question log (newest first)."""
    rows = knowledge_gaps(session, since=since, low_confidence=low_confidence, limit=limit)
    return [gap_item(r) for r in rows]


def knowledge_gap_clusters(
    items: Sequence[GapItem],
    embeddings: Embeddings,
    *,
    distance_threshold: float = DEFAULT_DISTANCE_THRESHOLD,
    lexical_weight: float = DEFAULT_LEXICAL_WEIGHT,
    tokenizer: ChineseTokenizer | None = None,
    top_keywords: int = 5,
) -> list[GapCluster]:
    """Group gap questions by similarity; each question appears in exactly one group.

    Questions that match no other form singleton groups (after the real clusters), so the
    office still sees every gap.
    """
    if not items:
        return []
    if tokenizer is None:
        tokenizer = default_tokenizer()
    texts = [i.question for i in items]
    clusters = cluster_texts(
        texts, embeddings, tokenizer=tokenizer, distance_threshold=distance_threshold,
        lexical_weight=lexical_weight, min_size=1, top_keywords=top_keywords,
    )
    out = []
    for c in clusters:
        members = sorted((items[i] for i in c.members), key=lambda i: i.created_at, reverse=True)
        out.append(
            GapCluster(
                id=c.id,
                keywords=c.keywords,
                example=items[c.representative].question,
                items=members,
                reasons=dict(Counter(i.reason for i in members).most_common()),
            )
        )
    return out


__all__ = ["GapCluster", "GapItem", "gap_item", "knowledge_gap_clusters", "load_knowledge_gaps"]
