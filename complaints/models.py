"""ORM models of the complaint case store.

``complaint_cases`` holds one row per complaint (信访/投诉事项); ``case_events`` is its
append-only history (every intake, assignment, status change, reply, extension and rating);
``case_ticket_counters`` hands out the per-day ticket sequence atomically; ``case_notices``
is the notification outbox (see ``complaints.outbox``).

``case_assists`` holds 协办 requests to partner units (``complaints.partners``);
``case_followers`` the Telegram chats that follow a case they did not file
(``complaints.followers``).

The schema is created by the Alembic revisions ``0002_complaints``, ``0005_notice_outbox``,
``0016_partner_units`` and ``0017_case_followers``; keep them in step.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from vetbot.clock import as_utc
from vetbot.db import Base
from vetbot.errors import CaseError

# Channel of cases filed by ``vetbot demo-data``; dashboards can hide them, the outbox never
# sends their notices.
DEMO_CHANNEL = "demo"


def _now() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend.

    SQLite stores datetimes without an offset, so values are normalised to UTC on the way in
    and marked UTC on the way out; comparisons in SQL then work the same as on PostgreSQL.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert to UTC (naive values are taken as UTC already)."""
        return None if value is None else as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime."""
        return None if value is None else as_utc(value)


class Case(Base):
    """One complaint (信访/投诉事项) and its current state."""

    __tablename__ = "complaint_cases"
    __table_args__ = (
        Index("ix_complaint_cases_status_theme", "status", "theme"),
        Index("ix_complaint_cases_assigned_handler_id_status", "assigned_handler_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # TS-YYYYMMDD-NNNN, the number shown to the complainant; unique across all days.
    ticket: Mapped[str] = mapped_column(String(32), unique=True)
    channel: Mapped[str] = mapped_column(String(16))  # telegram / web / phone / visit / letter
    complainant_chat_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True, index=True)
    complainant_name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    complainant_phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    region: Mapped[str] = mapped_column(String(32), index=True)
    theme: Mapped[str] = mapped_column(String(32), index=True)
    text: Mapped[str] = mapped_column(Text)
    # [{"file_id", "kind", "mime", "size", "name"}]: Telegram file ids, never the bytes.
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(8), index=True)
    assigned_handler_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    assigned_unit: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now, index=True)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    concluded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    accept_due: Mapped[datetime] = mapped_column(UTCDateTime())
    conclude_due: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    extended: Mapped[bool] = mapped_column(Boolean, default=False)
    extension_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    extension_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Conclusion text (已办结), refusal reason (不予受理) or transfer note (已转办).
    result: Mapped[str | None] = mapped_column(Text, nullable=True)
    transferred_to: Mapped[str | None] = mapped_column(String(128), nullable=True)
    rating: Mapped[str | None] = mapped_column(String(8), nullable=True, index=True)
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Ticket of the case this one was merged into (合并: a duplicate of the same person/issue).
    merged_into: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)
    # Optimistic lock: two handlers acting at once cannot both move the case (SQLite has no
    # SELECT ... FOR UPDATE); the loser gets StaleDataError.
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads it as a dict)


class CaseEvent(Base):
    """One entry of a case's history. Append-only: rows are never updated or deleted."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("complaint_cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)
    actor_id: Mapped[str] = mapped_column(String(64))
    actor_name: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str | None] = mapped_column(String(8), nullable=True)
    to_status: Mapped[str | None] = mapped_column(String(8), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class TicketCounter(Base):
    """Last ticket sequence number handed out for one day (``YYYYMMDD``)."""

    __tablename__ = "case_ticket_counters"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


NOTICE_PENDING = "pending"  # waiting to be sent (maybe backing off after a failed attempt)
NOTICE_DELIVERED = "delivered"  # sent; delivered_at is set
NOTICE_FAILED = "failed"  # gave up (too many attempts, or a permanent error); office follows up
NOTICE_SKIPPED = "skipped"  # nothing to send to (no Telegram chat id, demo data); kept as a record
NOTICE_STATES = (NOTICE_PENDING, NOTICE_DELIVERED, NOTICE_FAILED, NOTICE_SKIPPED)


class CaseNotice(Base):
    """One notice for a complainant or caseworker, written in the transaction of the change.

    The outbox of ``complaints.outbox``: a committed status change always has its row, and a
    dispatcher (the bot process) sends pending rows, so nothing is lost when Telegram is down
    or the change was made from the CLI / web API. ``delivered_at`` is null until sent.
    ``claim_token`` / ``claimed_until`` are a dispatcher's lease on the row while it sends.
    """

    __tablename__ = "case_notices"
    __table_args__ = (
        Index("ix_case_notices_state_next_attempt_at", "state", "next_attempt_at"),
        Index("ix_case_notices_chat_id_state", "chat_id", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("complaint_cases.id"), index=True)
    ticket: Mapped[str] = mapped_column(String(32))
    # complainant / handler ("handler" = the caseworker; stored value, kept)
    kind: Mapped[str] = mapped_column(String(16))
    handler_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    status: Mapped[str] = mapped_column(String(8))  # case status the notice announces
    action: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12), default=NOTICE_PENDING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Masked (vetbot.privacy.mask_text): errors may echo the message text.
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)
    claim_token: Mapped[str | None] = mapped_column(String(36), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class CaseAssist(Base):
    """A 协办 request: the owner keeps the case, a partner unit answers by ``due_at``."""

    __tablename__ = "case_assists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("complaint_cases.id"), index=True)
    partner_id: Mapped[str] = mapped_column(String(64), index=True)
    partner_unit: Mapped[str] = mapped_column(String(128))
    requested_by: Mapped[str] = mapped_column(String(64))
    request_note: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    answered_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class CaseFollower(Base):
    """A Telegram chat that follows a case it did not file: a walk-in complainant (or a relative)
    who proved the last four digits of the phone on the case. It is told what the filer is told."""

    __tablename__ = "case_followers"
    __table_args__ = (UniqueConstraint("case_id", "chat_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("complaint_cases.id"), index=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)


@event.listens_for(CaseEvent, "before_update")
@event.listens_for(CaseEvent, "before_delete")
def _events_are_append_only(_mapper: Any, _connection: Any, target: CaseEvent) -> None:
    # The history is evidence of how a complaint was handled; the ORM refuses to rewrite it.
    raise CaseError(
        f"case_events row {target.id} is append-only", user_message="案件办理记录不可修改或删除。"
    )
