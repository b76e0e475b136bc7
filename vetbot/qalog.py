"""Log of questions asked on any channel, with the bot's confidence and the user's rating.

The office's knowledge-gap report reads it: refused or low-confidence answers and answers
rated 👎 show what policy is missing from the knowledge base. Questions are stored masked.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, DateTime, Float, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from vetbot.db import Base
from vetbot.errors import InvalidInputError, NotFoundError
from vetbot.privacy import mask_text

if TYPE_CHECKING:
    from knowledge.types import Answer

RATINGS = ("up", "down")


def _now() -> datetime:
    return datetime.now(UTC)


class QuestionLog(Base):
    """One asked question and what the bot answered."""

    __tablename__ = "qa_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, index=True)
    channel: Mapped[str] = mapped_column(String(16))  # telegram / web / api / cli
    user_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    region: Mapped[str | None] = mapped_column(String(32), nullable=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    refused: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    refusal_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    intent: Mapped[str] = mapped_column(String(16), default="question")
    theme: Mapped[str | None] = mapped_column(String(32), nullable=True)
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    rating: Mapped[str | None] = mapped_column(String(8), nullable=True, index=True)
    rated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


def record_question(
    session: Session, answer: Answer, *, channel: str, user_ref: str | None = None, region: str | None = None
) -> QuestionLog:
    """Store an answered (or refused) question; personal numbers are masked first."""
    row = QuestionLog(
        channel=channel,
        user_ref=user_ref,
        region=region,
        question=mask_text(answer.question),
        answer=mask_text(answer.answer),
        refused=answer.refused,
        refusal_reason=answer.refusal_reason,
        confidence=answer.confidence,
        intent=answer.intent,
        theme=answer.theme,
        sources=[
            {"title": s.title, "article": s.article, "score": round(s.score, 4), "chunk_id": s.chunk_id,
             "doc_id": s.doc_id}
            for s in answer.sources[:5]
        ],
    )
    session.add(row)
    session.flush()
    return row


def rate_question(session: Session, log_id: int, rating: str) -> QuestionLog:
    """Attach a 👍 (``up``) or 👎 (``down``) rating to a logged question."""
    if rating not in RATINGS:
        raise InvalidInputError(f"bad rating {rating!r}", user_message="评价只能是“有用”或“没用”。")
    row = session.get(QuestionLog, log_id)
    if row is None:
        raise NotFoundError(f"qa_log {log_id}", user_message="未找到这条问答记录。")
    row.rating, row.rated_at = rating, _now()
    return row


def knowledge_gaps(
    session: Session, since: datetime | None = None, low_confidence: float = 0.5, limit: int = 500
) -> list[QuestionLog]:
    """Questions refused, answered with low confidence, or rated 👎 (newest first)."""
    stmt = select(QuestionLog).where(
        (QuestionLog.refused.is_(True))
        | (QuestionLog.confidence < low_confidence)
        | (QuestionLog.rating == "down")
    )
    if since is not None:
        stmt = stmt.where(QuestionLog.created_at >= since)
    stmt = stmt.where(QuestionLog.intent == "question").order_by(QuestionLog.created_at.desc()).limit(limit)
    return list(session.scalars(stmt))
