"""Notification outbox: reliable delivery of case notices to complainants and handlers.

Every change that must be told to someone (intake → the caseworker; 受理 / 不予受理 / 转办 /
开始办理 / 答复 / 延期 / 办结 → the complainant; 改派 → the new caseworker) writes a row to
``case_notices`` IN THE SAME TRANSACTION as the change (``CaseService._enqueue``). A committed
change therefore always has its notice, whichever process made it (bot, web API, ``vetbot
cases``), and a rolled-back change has none. Delivery is separate: a dispatcher claims pending
rows, calls ``send`` and marks each delivered, or records the failure and retries with
exponential backoff; after ``RetryPolicy.max_attempts`` attempts (or a
``PermanentDeliveryError``) the row is ``failed`` and stays visible to the office
(``CaseService.pending_notices`` / ``notice_stats`` / ``retry_notice``). The table operations
are in ``complaints.outbox_store``; this module runs the delivery passes.

Row states (``complaints.models.NOTICE_*``): ``pending`` (``delivered_at`` null, due at
``next_attempt_at``), ``delivered``, ``failed`` (gave up), ``skipped`` (nobody to send to: no
Telegram chat id — a web, phone or letter complainant or a caseworker without Telegram — or a
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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from complaints.models import NOTICE_DELIVERED, NOTICE_FAILED
from complaints.notices import Notice
from complaints.outbox_store import (
    DEFAULT_POLICY,
    PermanentDeliveryError,
    RetryPolicy,
    SessionFactory,
    claim,
    mark_delivered,
    mark_failed,
    release,
)
from vetbot.clock import as_utc, utcnow
from vetbot.errors import InvalidInputError
from vetbot.privacy import mask_text

logger = logging.getLogger(__name__)


@runtime_checkable
class CaseStore(Protocol):
    """What delivery needs of ``complaints.service.CaseService``: its sessions and its clock."""

    @property
    def session_factory(self) -> SessionFactory:
        """The injected session factory."""
        ...

    def now(self) -> datetime:
        """The current time, aware UTC."""
        ...


CaseSource = CaseStore | SessionFactory
SyncSend = Callable[[Notice], object]  # returns None; checked at run time against coroutines
AsyncSend = Callable[[Notice], Awaitable[None]] | Callable[[Notice], None]


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


def _resolve(
    source: CaseSource, clock: Callable[[], datetime] | None
) -> tuple[SessionFactory, Callable[[], datetime]]:
    if isinstance(source, CaseStore):
        return source.session_factory, clock or source.now
    return source, clock or utcnow


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
        token, batch = claim(sessions, as_utc(now_fn()), limit - report.attempted, policy.lease)
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
                _settle(sessions, report, notice, token, as_utc(now_fn()), error, policy)
                done += 1
        finally:
            release(sessions, [n.notice_id or 0 for n in batch[done:]], token)
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
        outcome: str | None = NOTICE_DELIVERED if mark_delivered(sessions, nid, token, now) else None
    else:
        outcome = mark_failed(sessions, nid, token, now, error, policy)
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
        claiming = asyncio.ensure_future(
            asyncio.to_thread(claim, sessions, as_utc(now_fn()), limit - report.attempted, policy.lease)
        )
        try:
            token, batch = await asyncio.shield(claiming)
        except asyncio.CancelledError:
            # the claim runs on in its thread: give its rows back rather than leave them leased
            with contextlib.suppress(Exception):
                token, batch = await claiming
                await asyncio.to_thread(release, sessions, [n.notice_id or 0 for n in batch], token)
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
                at = as_utc(now_fn())
                settle = asyncio.ensure_future(
                    asyncio.to_thread(_settle, sessions, report, notice, token, at, error, policy)
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
                await asyncio.shield(asyncio.to_thread(release, sessions, rest, token))
    return report


class OutboxDispatcher:
    """Runs ``adeliver_pending`` every ``interval`` seconds and whenever ``notify`` is called.

    Implements the ``complaints.notices.Notifier`` port, so it can be injected into (or set as
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


__all__ = [
    "DEFAULT_POLICY",
    "CaseSource",
    "CaseStore",
    "DeliveryReport",
    "OutboxDispatcher",
    "PermanentDeliveryError",
    "RetryPolicy",
    "adeliver_pending",
    "deliver_pending",
]
