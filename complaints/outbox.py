"""Notification outbox: reliable delivery of case notices to complainants and handlers.

Every change that must be told to someone (intake → the handler; 受理 / 不予受理 / 转办 /
开始办理 / 答复 / 延期 / 办结 → the complainant; 改派 → the new handler) writes a row to
``case_notices`` IN THE SAME TRANSACTION as the change (``CaseService._enqueue``). A committed
change therefore always has its notice, whichever process made it (bot, web API, ``vetbot
cases``), and a rolled-back change has none. Delivery is separate: a dispatcher claims pending
rows, calls ``send`` and marks each delivered, or records the failure and retries with
exponential backoff; after ``RetryPolicy.max_attempts`` attempts (or a
``PermanentDeliveryError``) the row is ``failed`` and stays visible to the office
(``CaseService.pending_notices`` / ``notice_stats`` / ``retry_notice``).

Row states (``complaints.models.NOTICE_*``): ``pending`` (``delivered_at`` null, due at
``next_attempt_at``), ``delivered``, ``failed`` (gave up), ``skipped`` (nobody to send to: no
Telegram chat id — a web, phone or letter complainant or a handler without Telegram — or a
demo case; written anyway so the record shows the person must be told another way).

Guarantees: at-least-once delivery; no duplicate in the normal case — a row is claimed by one
dispatcher at a time (PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED`` inside the claiming
``UPDATE``; SQLite: the same conditional ``UPDATE``, atomic under SQLite's write lock) with a
lease (``claimed_until``) after which a crashed dispatcher's rows are picked up again. Only
then, or if the process dies between the send and the mark, can a notice go out twice. Notices
to the same chat are sent in order: a notice is not claimed while an earlier one to the same
chat is still pending (so "已办结" never overtakes a retried "已受理").

How the Telegram bot uses it (bot/app.py, bot/notifier.py)::

    from complaints.outbox import OutboxDispatcher, PermanentDeliveryError

    async def send(notice: Notice) -> None:          # raise on failure; return = delivered
        text, markup = render_notice(notice)
        try:
            await application.bot.send_message(notice.chat_id, text, parse_mode="HTML",
                                               reply_markup=markup)
        except (Forbidden, BadRequest) as exc:       # blocked bot, chat not found: no retry
            raise PermanentDeliveryError(str(exc)) from exc
        # NetworkError / RetryAfter / TimedOut: let them propagate; the outbox backs off
        # (``retry_after`` of RetryAfter is honoured). Do not retry inside ``send``.

    dispatcher = OutboxDispatcher(cases, send, interval=10.0)
    cases.notifier = dispatcher        # or: TelegramNotifier.notify(n) -> dispatcher.notify(n)
    # post_init:     dispatcher.start()          (on the running loop)
    # post_shutdown: await dispatcher.stop()

``OutboxDispatcher`` runs ``adeliver_pending(cases, send)`` every ``interval`` seconds and
at once when ``notify`` is called (CaseService calls it right after each commit, from any
thread), so bot-made changes are delivered immediately and CLI / web changes within
``interval``. The notifier must NOT send a notice that has a ``notice_id`` itself: the
dispatcher would send it again. Without a dispatcher, ``deliver_pending(cases, send_sync)``
does one synchronous pass (scripts, tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from complaints.models import (
    NOTICE_DELIVERED,
    NOTICE_FAILED,
    NOTICE_PENDING,
    NOTICE_SKIPPED,
    NOTICE_STATES,
    CaseNotice,
)
from complaints.service import CaseService, Notice
from vetbot.errors import InvalidInputError, NotFoundError, VetbotError
from vetbot.privacy import mask_text

logger = logging.getLogger(__name__)

SessionFactory = Callable[[], Session]
CaseSource = CaseService | SessionFactory
SyncSend = Callable[[Notice], object]  # returns None; checked at run time against coroutines
AsyncSend = Callable[[Notice], Awaitable[None]] | Callable[[Notice], None]

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


@dataclass
class DeliveryReport:
    """What one delivery pass did (notice ids)."""

    delivered: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)  # failed this time, will be retried
    gave_up: list[int] = field(default_factory=list)  # now ``failed``: attempts exhausted / permanent
    lost_claim: list[int] = field(default_factory=list)  # lease expired and another dispatcher took it

    @property
    def attempted(self) -> int:
        """Number of sends tried."""
        return len(self.delivered) + len(self.retrying) + len(self.gave_up) + len(self.lost_claim)

    def merge(self, other: DeliveryReport) -> None:
        """Add ``other``'s ids to this report."""
        self.delivered += other.delivered
        self.retrying += other.retrying
        self.gave_up += other.gave_up
        self.lost_claim += other.lost_claim


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
# claim / mark primitives (short transactions; the send happens outside any transaction)
# --------------------------------------------------------------------------------------------


def _resolve(
    source: CaseSource, clock: Callable[[], datetime] | None
) -> tuple[SessionFactory, Callable[[], datetime]]:
    if isinstance(source, CaseService):
        return source.session_factory, clock or source.now
    return source, clock or (lambda: datetime.now(UTC))


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


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


def _claim(sessions: SessionFactory, now: datetime, limit: int, lease: timedelta) -> tuple[str, list[Notice]]:
    """Atomically take up to ``limit`` due notices; return the claim token and the notices."""
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


def _mark_delivered(sessions: SessionFactory, notice_id: int, token: str, now: datetime) -> bool:
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


def _mark_failed(
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


def _release(sessions: SessionFactory, ids: Sequence[int], token: str) -> None:
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


def _record(report: DeliveryReport, notice: Notice, outcome: str | None, exc: BaseException | None) -> None:
    nid = notice.notice_id or 0
    if exc is None:
        if outcome == NOTICE_DELIVERED:
            report.delivered.append(nid)
        else:
            report.lost_claim.append(nid)
            logger.warning("notice %d for %s was sent but its claim had expired", nid, notice.ticket)
        return
    if outcome is None:
        report.lost_claim.append(nid)
    elif outcome == NOTICE_FAILED:
        report.gave_up.append(nid)
        logger.error(
            "notice %d for %s (%s, %s) gave up: %s",
            nid,
            notice.ticket,
            notice.kind,
            notice.action,
            mask_text(str(exc)),
        )
    else:
        report.retrying.append(nid)
        logger.warning(
            "notice %d for %s (%s, %s) not delivered, will retry: %s",
            nid,
            notice.ticket,
            notice.kind,
            notice.action,
            mask_text(str(exc)),
        )


def _check_limit(limit: int) -> int:
    if limit < 1:
        raise InvalidInputError(f"bad limit {limit}", user_message="每次发送的通知数至少为 1。")
    return limit


# --------------------------------------------------------------------------------------------
# delivery passes
# --------------------------------------------------------------------------------------------


def deliver_pending(
    source: CaseSource,
    send: SyncSend,
    limit: int = 100,
    *,
    policy: RetryPolicy = DEFAULT_POLICY,
    clock: Callable[[], datetime] | None = None,
) -> DeliveryReport:
    """Send up to ``limit`` due notices with the synchronous ``send``; return what happened.

    ``source`` is a ``CaseService`` (its session factory and clock are used) or a session
    factory. ``send(notice)`` returning means delivered; raising means a failed attempt
    (``PermanentDeliveryError``: give up at once). Safe to run in several processes at once.
    """
    sessions, now_fn = _resolve(source, clock)
    limit = _check_limit(limit)
    report = DeliveryReport()
    while report.attempted < limit:
        token, batch = _claim(sessions, _utc(now_fn()), limit - report.attempted, policy.lease)
        if not batch:
            break
        started, done = time.monotonic(), 0
        try:
            for notice in batch:
                if time.monotonic() - started > policy.lease.total_seconds() * 0.8:
                    return report  # the rest is released below, before the lease runs out
                error: BaseException | None = None
                try:
                    result = send(notice)
                except Exception as exc:
                    error = exc
                else:
                    if inspect.isawaitable(result):
                        if inspect.iscoroutine(result):
                            result.close()  # never awaited: nothing was sent
                        raise TypeError("deliver_pending needs a synchronous send; use adeliver_pending")
                _settle(sessions, report, notice, token, _utc(now_fn()), error, policy)
                done += 1
        finally:
            _release(sessions, [n.notice_id or 0 for n in batch[done:]], token)
    return report


def _settle(
    sessions: SessionFactory,
    report: DeliveryReport,
    notice: Notice,
    token: str,
    now: datetime,
    error: BaseException | None,
    policy: RetryPolicy,
) -> None:
    """Mark one sent (or failed) notice and add it to ``report``."""
    nid = notice.notice_id or 0
    if error is None:
        outcome: str | None = NOTICE_DELIVERED if _mark_delivered(sessions, nid, token, now) else None
    else:
        outcome = _mark_failed(sessions, nid, token, now, error, policy)
    _record(report, notice, outcome, error)


async def adeliver_pending(
    source: CaseSource,
    send: AsyncSend,
    limit: int = 100,
    *,
    policy: RetryPolicy = DEFAULT_POLICY,
    clock: Callable[[], datetime] | None = None,
) -> DeliveryReport:
    """Async ``deliver_pending``: ``send`` may be a coroutine function (or a plain one); the
    database work runs in worker threads so the event loop is never blocked by it."""
    sessions, now_fn = _resolve(source, clock)
    limit = _check_limit(limit)
    report = DeliveryReport()
    while report.attempted < limit:
        claim = asyncio.ensure_future(
            asyncio.to_thread(_claim, sessions, _utc(now_fn()), limit - report.attempted, policy.lease)
        )
        try:
            token, batch = await asyncio.shield(claim)
        except asyncio.CancelledError:
            # the claim runs on in its thread: give its rows back rather than leave them leased
            with contextlib.suppress(Exception):
                token, batch = await claim
                await asyncio.to_thread(_release, sessions, [n.notice_id or 0 for n in batch], token)
            raise
        if not batch:
            break
        started, done = time.monotonic(), 0
        try:
            for notice in batch:
                if time.monotonic() - started > policy.lease.total_seconds() * 0.8:
                    return report
                error: BaseException | None = None
                try:
                    result = send(notice)
                    if inspect.isawaitable(result):
                        await result
                except Exception as exc:
                    error = exc
                settle = asyncio.ensure_future(
                    asyncio.to_thread(_settle, sessions, report, notice, token, _utc(now_fn()), error, policy)
                )
                try:
                    await asyncio.shield(settle)
                except asyncio.CancelledError:
                    # Cancelled while marking a notice that was already sent: finish the mark
                    # before the release below, or the notice would be sent again.
                    await settle
                    done += 1
                    raise
                done += 1
        finally:
            # Also on cancellation (shutdown mid-send): hand the rest back now, not after the lease.
            rest = [n.notice_id or 0 for n in batch[done:]]
            if rest:
                await asyncio.shield(asyncio.to_thread(_release, sessions, rest, token))
    return report


class OutboxDispatcher:
    """Runs ``adeliver_pending`` every ``interval`` seconds and whenever ``notify`` is called.

    Implements the ``complaints.service.Notifier`` port, so it can be injected into (or set as
    ``notifier`` of) the bot's ``CaseService``: ``notify`` is thread-safe and never blocks; it
    only wakes the delivery loop. Call ``start()`` on the running event loop and ``await
    stop()`` at shutdown. A failing pass (database down) is logged and retried next tick.
    """

    def __init__(
        self,
        source: CaseSource,
        send: AsyncSend,
        *,
        interval: float = 10.0,
        limit: int = 100,
        policy: RetryPolicy = DEFAULT_POLICY,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._source = source
        self._send = send
        self.interval = interval
        self.limit = _check_limit(limit)
        self.policy = policy
        self._clock = clock
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self.last_report: DeliveryReport | None = None
        self.passes = 0

    def notify(self, notice: Notice) -> None:
        """Wake the loop (from any thread); before ``start`` the next pass picks it up anyway."""
        with self._lock:
            loop, wake = self._loop, self._wake
        if loop is None or wake is None or loop.is_closed():
            return
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            wake.set()
        else:
            with contextlib.suppress(RuntimeError):  # loop closed in between
                loop.call_soon_threadsafe(wake.set)

    def start(self) -> asyncio.Task[None]:
        """Start the delivery loop on the running event loop (first pass at once)."""
        if self._task is not None and not self._task.done():
            return self._task
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()
        wake.set()  # deliver what accumulated while the bot was down
        with self._lock:
            self._loop, self._wake = loop, wake
        self._task = loop.create_task(self._run(), name="vetbot-notice-outbox")
        return self._task

    async def stop(self) -> None:
        """Stop the loop (an in-flight send is cancelled and its notice released)."""
        with self._lock:
            self._loop, self._wake = None, None
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run_once(self) -> DeliveryReport:
        """One delivery pass."""
        report = await adeliver_pending(
            self._source, self._send, self.limit, policy=self.policy, clock=self._clock
        )
        self.last_report = report
        self.passes += 1
        return report

    async def _run(self) -> None:
        wake = self._wake
        assert wake is not None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=self.interval)
            wake.clear()
            try:
                report = await self.run_once()
            except Exception:
                logger.exception("notice outbox pass failed; retrying in %.0f s", self.interval)
                continue
            if report.attempted >= self.limit:
                wake.set()  # more may be waiting: go again without sleeping


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
    at = _utc(now) if now is not None else datetime.now(UTC)
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
        oldest_pending_at=_utc(oldest) if isinstance(oldest, datetime) else None,
    )


def requeue(sessions: SessionFactory, notice_id: int, now: datetime | None = None) -> None:
    """Make a ``failed`` notice pending again with a fresh attempt count."""
    at = _utc(now) if now is not None else datetime.now(UTC)
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
    from sqlalchemy import delete

    stmt = (
        delete(CaseNotice)
        .where(
            CaseNotice.state.in_((NOTICE_DELIVERED, NOTICE_SKIPPED)),
            CaseNotice.created_at < _utc(older_than),
        )
        .execution_options(synchronize_session=False)
    )
    with sessions() as session, session.begin():
        return int(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


__all__ = [
    "DEFAULT_POLICY",
    "DeliveryReport",
    "NoticeStats",
    "OutboxDispatcher",
    "OutboxEntry",
    "PermanentDeliveryError",
    "RetryPolicy",
    "adeliver_pending",
    "deliver_pending",
    "list_undelivered",
    "outbox_stats",
    "purge_delivered",
    "requeue",
]
