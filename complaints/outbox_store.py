"""The outbox table's operations: claiming, marking and releasing notices, and the office views.

Short transactions only; the send itself happens outside any transaction, in
``complaints.outbox``. A claim is a token and a lease (``claimed_until``) on a row; every mark
checks the token, so a dispatcher whose lease ran out cannot overwrite another's work.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from complaints.models import (
    NOTICE_DELIVERED,
    NOTICE_FAILED,
    NOTICE_PENDING,
    NOTICE_SKIPPED,
    NOTICE_STATES,
    CaseNotice,
)
from complaints.notices import Notice
from vetbot.clock import as_utc, utcnow
from vetbot.errors import InvalidInputError, NotFoundError, VetbotError
from vetbot.privacy import mask_text

SessionFactory = Callable[[], Session]

_MAX_ERROR_CHARS = 500


class PermanentDeliveryError(VetbotError):
    """Raised by ``send`` when retrying cannot help (the user blocked the bot, chat not found):
    the notice is marked ``failed`` at once."""

    default_message = "通知无法送达。"


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff of failed sends: ``base_delay * 2**(attempts-1)``, capped at ``max_delay``.

    With the defaults the 10 attempts span about 4 hours (30 s, 1 min, 2 min … 2 h 8 min).
    ``lease`` is how long a claim lasts; a dispatcher stops a batch before its lease runs out.
    """

    max_attempts: int = 10
    base_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(hours=6)
    lease: timedelta = timedelta(minutes=5)

    def delay(self, attempts: int) -> timedelta:
        """Wait before the attempt after ``attempts`` failed ones."""
        seconds = self.base_delay.total_seconds() * (2 ** max(attempts - 1, 0))
        return timedelta(seconds=min(seconds, self.max_delay.total_seconds()))


DEFAULT_POLICY = RetryPolicy()


@dataclass(frozen=True)
class OutboxEntry:
    """An undelivered notice as the office sees it (text masked)."""

    id: int
    ticket: str
    kind: str
    chat_id: int | None
    handler_id: str | None
    status: str
    action: str
    text: str
    state: str
    created_at: datetime
    attempts: int
    last_error: str | None
    next_attempt_at: datetime


@dataclass(frozen=True)
class NoticeStats:
    """Outbox counts for the office dashboard."""

    pending: int
    due: int  # pending and due now (not backing off)
    failed: int
    delivered: int
    skipped: int
    oldest_pending_at: datetime | None


# --------------------------------------------------------------------------------------------
# claim / mark primitives
# --------------------------------------------------------------------------------------------


def _claimable(now: datetime) -> ColumnElement[bool]:
    earlier = aliased(CaseNotice)
    return and_(
        CaseNotice.state == NOTICE_PENDING,
        CaseNotice.next_attempt_at <= now,
        or_(CaseNotice.claimed_until.is_(None), CaseNotice.claimed_until < now),
        # per-chat order: wait until every earlier notice to this chat is settled
        ~exists().where(
            earlier.chat_id == CaseNotice.chat_id,
            earlier.state == NOTICE_PENDING,
            earlier.id < CaseNotice.id,
        ),
    )


def claim(sessions: SessionFactory, now: datetime, limit: int, lease: timedelta) -> tuple[str, list[Notice]]:
    """Atomically take up to ``limit`` due notices; return ``(claim token, notices)``."""
    token = uuid.uuid4().hex
    candidates = (
        select(CaseNotice.id)
        .where(_claimable(now))
        .order_by(CaseNotice.id)
        .limit(limit)
        # PostgreSQL: rows another dispatcher is claiming are skipped, not waited for.
        # SQLite ignores it; its write lock makes the single UPDATE atomic.
        .with_for_update(skip_locked=True, of=CaseNotice)
    )
    stmt = (
        update(CaseNotice)
        .where(
            CaseNotice.id.in_(candidates),
            CaseNotice.state == NOTICE_PENDING,
            or_(CaseNotice.claimed_until.is_(None), CaseNotice.claimed_until < now),
        )
        .values(claim_token=token, claimed_until=now + lease)
        .execution_options(synchronize_session=False)
    )
    with sessions() as session, session.begin():
        session.execute(stmt)
        rows = session.scalars(
            select(CaseNotice).where(CaseNotice.claim_token == token).order_by(CaseNotice.id)
        ).all()
        notices = [Notice.from_row(r) for r in rows]
    return token, notices


def mark_delivered(sessions: SessionFactory, notice_id: int, token: str, now: datetime) -> bool:
    """Mark a claimed notice delivered; False when the claim was lost meanwhile."""
    stmt = (
        update(CaseNotice)
        .where(
            CaseNotice.id == notice_id, CaseNotice.claim_token == token, CaseNotice.state == NOTICE_PENDING
        )
        .values(
            state=NOTICE_DELIVERED,
            delivered_at=now,
            attempts=CaseNotice.attempts + 1,
            claim_token=None,
            claimed_until=None,
        )
        .execution_options(synchronize_session=False)
    )
    with sessions() as session, session.begin():
        return bool(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def _retry_after(exc: BaseException) -> timedelta | None:
    # telegram.error.RetryAfter carries seconds (int) or a timedelta (PTB ≥ 22)
    value = getattr(exc, "retry_after", None)
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and value > 0:
        return timedelta(seconds=float(value))
    return None


def mark_failed(
    sessions: SessionFactory,
    notice_id: int,
    token: str,
    now: datetime,
    exc: BaseException,
    policy: RetryPolicy,
) -> str | None:
    """Record a failed attempt; return the new state, or None when the claim was lost."""
    error = mask_text(f"{type(exc).__name__}: {exc}")[:_MAX_ERROR_CHARS]
    with sessions() as session, session.begin():
        row = session.scalars(
            select(CaseNotice).where(CaseNotice.id == notice_id, CaseNotice.claim_token == token)
        ).one_or_none()
        if row is None or row.state != NOTICE_PENDING:
            return None
        attempts = (row.attempts or 0) + 1
        permanent = isinstance(exc, PermanentDeliveryError)
        delay = policy.delay(attempts)
        hinted = _retry_after(exc)
        if hinted is not None and hinted > delay:
            delay = hinted
        row.attempts = attempts
        row.last_error = error
        row.next_attempt_at = now + delay
        row.state = NOTICE_FAILED if permanent or attempts >= policy.max_attempts else NOTICE_PENDING
        row.claim_token = None
        row.claimed_until = None
        return row.state


def release(sessions: SessionFactory, ids: Sequence[int], token: str) -> None:
    """Give claimed notices back unsent (their lease ends now)."""
    if not ids:
        return
    stmt = (
        update(CaseNotice)
        .where(CaseNotice.id.in_(list(ids)), CaseNotice.claim_token == token)
        .values(claim_token=None, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    with sessions() as session, session.begin():
        session.execute(stmt)


# --------------------------------------------------------------------------------------------
# office views
# --------------------------------------------------------------------------------------------


def list_undelivered(
    sessions: SessionFactory,
    limit: int = 100,
    states: Sequence[str] = (NOTICE_PENDING, NOTICE_FAILED),
) -> list[OutboxEntry]:
    """Notices in ``states`` (default: not yet delivered), oldest first, text masked."""
    unknown = set(states) - set(NOTICE_STATES)
    if unknown:
        raise InvalidInputError(
            f"unknown notice states {sorted(unknown)}",
            user_message=f"未知的通知状态：{'、'.join(sorted(unknown))}。",
        )
    stmt = (
        select(CaseNotice)
        .where(CaseNotice.state.in_(list(states)))
        .order_by(CaseNotice.id)
        .limit(max(1, min(limit, 5000)))
    )
    with sessions() as session:
        return [
            OutboxEntry(
                id=r.id,
                ticket=r.ticket,
                kind=r.kind,
                chat_id=r.chat_id,
                handler_id=r.handler_id,
                status=r.status,
                action=r.action,
                text=mask_text(r.text),
                state=r.state,
                created_at=r.created_at,
                attempts=r.attempts,
                last_error=r.last_error,
                next_attempt_at=r.next_attempt_at,
            )
            for r in session.scalars(stmt)
        ]


def outbox_stats(sessions: SessionFactory, now: datetime | None = None) -> NoticeStats:
    """Counts per state, pending notices due at ``now`` and the oldest pending one's time."""
    at = as_utc(now) if now is not None else utcnow()
    with sessions() as session:
        counts = dict(
            session.execute(select(CaseNotice.state, func.count()).group_by(CaseNotice.state)).tuples().all()
        )
        due, oldest = session.execute(
            select(
                func.count().filter(CaseNotice.next_attempt_at <= at),
                func.min(CaseNotice.created_at),
            ).where(CaseNotice.state == NOTICE_PENDING)
        ).one()
    return NoticeStats(
        pending=int(counts.get(NOTICE_PENDING, 0)),
        due=int(due or 0),
        failed=int(counts.get(NOTICE_FAILED, 0)),
        delivered=int(counts.get(NOTICE_DELIVERED, 0)),
        skipped=int(counts.get(NOTICE_SKIPPED, 0)),
        oldest_pending_at=as_utc(oldest) if isinstance(oldest, datetime) else None,
    )


def requeue(sessions: SessionFactory, notice_id: int, now: datetime | None = None) -> None:
    """Make a ``failed`` notice pending again with a fresh attempt count."""
    at = as_utc(now) if now is not None else utcnow()
    with sessions() as session, session.begin():
        row = session.get(CaseNotice, notice_id)
        if row is None or row.state != NOTICE_FAILED:
            raise NotFoundError(
                f"no failed notice {notice_id}", user_message=f"未找到发送失败的通知（编号 {notice_id}）。"
            )
        row.state, row.attempts, row.next_attempt_at = NOTICE_PENDING, 0, at
        row.claim_token, row.claimed_until = None, None


def purge_delivered(sessions: SessionFactory, older_than: datetime) -> int:
    """Delete delivered and skipped notices created before ``older_than``; return how many.

    The case history (``case_events``) keeps the facts; the notice texts need not be kept.
    """
    stmt = (
        delete(CaseNotice)
        .where(
            CaseNotice.state.in_((NOTICE_DELIVERED, NOTICE_SKIPPED)),
            CaseNotice.created_at < as_utc(older_than),
        )
        .execution_options(synchronize_session=False)
    )
    with sessions() as session, session.begin():
        return int(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


__all__ = [
    "DEFAULT_POLICY",
    "NoticeStats",
    "OutboxEntry",
    "PermanentDeliveryError",
    "RetryPolicy",
    "SessionFactory",
    "claim",
    "list_undelivered",
    "mark_delivered",
    "mark_failed",
    "outbox_stats",
    "purge_delivered",
    "release",
    "requeue",
]
