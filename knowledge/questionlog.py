"""The question log: every question asked on any channel, the answer's confidence and its rating.

The office's knowledge-gap report reads it: refused or low-confidence answers and answers
rated 👎 show what policy is missing from the knowledge base. Questions and answers are
stored masked (``vetbot.privacy.mask_text``).

:class:`QuestionLogService` is the one implementation of "ask, log, rate" used by the bot and
the API; the ORM model :class:`QuestionLog` (table ``qa_log``, Alembic revision 0001) is
registered with ``vetbot.db.import_all_models`` through the ``vetbot.models`` entry point.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from knowledge.types import Answer
from vetbot.clock import utcnow
from vetbot.db import Base
from vetbot.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from vetbot.privacy import mask_text

logger = logging.getLogger(__name__)

RATINGS = ("up", "down")
# The log keeps the first five passages of an answer (the bot offers 「查看原文」 for each).
LOGGED_PASSAGES = 5
# Refusals that are a hint to rephrase, not an answer: a message with no searchable word (emoji
# only, punctuation) and one not in Chinese. There is nothing to rate under them.
HINT_REASONS = frozenset({"empty", "language"})
# Refusals that are no gap in the knowledge base: out of the service's scope (天气), someone's own
# application status (优待证办好了吗: no text can know it), a prompt injection.
NOT_GAP_REASONS = HINT_REASONS | {"off_topic", "personal_status", "injection"}


def offers_rating(answer: Answer) -> bool:
    """True when 👍/👎 belong under ``answer``; False for a hint to rephrase (:data:`HINT_REASONS`)."""
    return not (answer.refused and answer.refusal_reason in HINT_REASONS)


class QuestionLog(Base):
    """One asked question and what the assistant answered."""

    __tablename__ = "qa_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
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
    # The first LOGGED_PASSAGES passages: title, article, score (4 decimals), chunk_id, doc_id.
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    rating: Mapped[str | None] = mapped_column(String(8), nullable=True, index=True)
    rated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


@dataclass(frozen=True)
class LoggedAnswer:
    """An answer and the id of its question-log row (None when logging failed)."""

    answer: Answer
    log_id: int | None


class QuestionLogService:
    """Records answered questions, their 👍/👎 ratings, and lists the knowledge gaps.

    Synchronous (call it from async code with ``asyncio.to_thread``); each method opens and
    commits its own session from ``session_factory``.
    """

    def __init__(self, session_factory: Callable[[], Session]) -> None:
        self.session_factory = session_factory

    def record(
        self, answer: Answer, *, channel: str, user_ref: str | None = None, region: str | None = None
    ) -> int:
        """Store an answered (or refused) question, masked; returns the new row's id.

        Raises whatever the database raises (SQLAlchemyError); see :meth:`try_record`
        for the variant that never raises.
        """
        with self.session_factory() as session:
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
                    {"title": s.title, "article": s.article, "score": round(s.score, 4),
                     "chunk_id": s.chunk_id, "doc_id": s.doc_id,
                     # A text not in force (尚未施行, the only match of a refusal) says so on the gap page.
                     **({} if s.in_force else {"status": s.status_note})}
                    for s in answer.sources[:LOGGED_PASSAGES]
                ],
            )
            session.add(row)
            session.commit()
            return row.id

    def try_record(
        self, answer: Answer, *, channel: str, user_ref: str | None = None, region: str | None = None
    ) -> int | None:
        """:meth:`record` that never raises: a failure is logged and gives None.

        The question log is secondary; a broken database must not lose the asker's answer.
        """
        try:
            return self.record(answer, channel=channel, user_ref=user_ref, region=region)
        except Exception:
            logger.exception("could not record the question in the qa log")
            return None

    def ask_and_record(
        self,
        ask: Callable[[str, str | None], Answer],
        question: str,
        region: str | None,
        *,
        channel: str,
        user_ref: str | None,
    ) -> LoggedAnswer:
        """``ask(question, region)``, then :meth:`try_record` the answer.

        Errors of ``ask`` (InvalidInputError, KnowledgeBaseError, ServiceNotReadyError) propagate;
        a failure to write the log gives ``log_id=None``.
        """
        answer = ask(question, region)
        log_id = self.try_record(answer, channel=channel, user_ref=user_ref, region=region)
        return LoggedAnswer(answer, log_id)

    def get(self, log_id: int) -> QuestionLog:
        """One logged question; NotFoundError when there is no row ``log_id``."""
        with self.session_factory() as session:
            row = session.get(QuestionLog, log_id)
            if row is None:
                raise NotFoundError(f"qa_log {log_id}", user_message="未找到这条问答记录。")
            return row

    def rate(self, log_id: int, rating: str, *, rater: str | None, unowned_ok: bool = True,
             override: bool = False) -> None:
        """Attach 👍 (``up``) or 👎 (``down``) to a logged question.

        Only the asker may rate: a row with a ``user_ref`` can be rated by that ``rater`` only;
        a row without one (anonymous, demo data) only when ``unowned_ok`` (the caller proved it
        asked, e.g. with the API's rating token). ``override`` skips both checks (staff giving a
        reason, audited by the caller). Raises InvalidInputError for another rating,
        NotFoundError for an unknown ``log_id``, PermissionDeniedError for another rater.
        """
        if rating not in RATINGS:
            raise InvalidInputError(f"bad rating {rating!r}", user_message="评价只能是“有用”或“没用”。")
        with self.session_factory() as session:
            row = session.get(QuestionLog, log_id)
            if row is None:
                raise NotFoundError(f"qa_log {log_id}", user_message="未找到这条问答记录。")
            owned_by_other = row.user_ref != rater if row.user_ref else not unowned_ok
            if owned_by_other and not override:
                raise PermissionDeniedError(
                    f"{rater} rating {row.user_ref or 'an unowned'} answer",
                    user_message="只能评价自己提出的问题。",
                )
            row.rating, row.rated_at = rating, utcnow()
            session.commit()

    def cited_passage(self, log_id: int, index: int) -> dict[str, Any] | None:
        """The ``index``-th logged passage of a question (keys as in ``QuestionLog.sources``), or None."""
        with self.session_factory() as session:
            row = session.get(QuestionLog, log_id)
            if row is None or not 0 <= index < len(row.sources or []):
                return None
            return dict(row.sources[index])

    def knowledge_gaps(
        self, since: datetime | None = None, low_confidence: float = 0.5, limit: int = 500
    ) -> list[QuestionLog]:
        """See :func:`knowledge_gaps`; opens its own session."""
        with self.session_factory() as session:
            return knowledge_gaps(session, since=since, low_confidence=low_confidence, limit=limit)


def knowledge_gaps(
    session: Session, since: datetime | None = None, low_confidence: float = 0.5, limit: int = 500
) -> list[QuestionLog]:
    """Questions refused, answered with confidence below ``low_confidence`` (0..1), or rated 👎.

    Complaints are left out, and so are refusals that point at no missing policy
    (:data:`NOT_GAP_REASONS`: a message of emoji or punctuation only or not in Chinese, an
    out-of-scope or personal-status question, an injection); newest first, at most ``limit`` rows.
    """
    stmt = select(QuestionLog).where(
        (QuestionLog.refused.is_(True))
        | (QuestionLog.confidence < low_confidence)
        | (QuestionLog.rating == "down")
    )
    stmt = stmt.where(
        QuestionLog.refusal_reason.is_(None) | QuestionLog.refusal_reason.not_in(sorted(NOT_GAP_REASONS))
    )
    if since is not None:
        stmt = stmt.where(QuestionLog.created_at >= since)
    stmt = stmt.where(QuestionLog.intent == "question").order_by(QuestionLog.created_at.desc()).limit(limit)
    return list(session.scalars(stmt))
