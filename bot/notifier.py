"""``TelegramNotifier``: the bot's implementation of the ``complaints.service.Notifier`` port.

CaseService writes every notice to its outbox (``case_notices``) in the transaction of the
change, then calls ``notify`` as a hint. For outbox notices (``notice_id`` set) this notifier
only wakes a ``complaints.outbox.OutboxDispatcher`` running on the application's event loop;
the dispatcher claims the row, sends it through :meth:`TelegramNotifier.send` and retries
with backoff, so a notice is never lost (and not sent twice by us). Notices built by hand
(no ``notice_id``) are sent directly, once.

``notify`` never blocks: CaseService is synchronous and the bot calls it through
``asyncio.to_thread``, so ``notify`` usually runs in a worker thread; work is handed to the
application's loop (``call_soon_threadsafe`` / ``run_coroutine_threadsafe``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from typing import TYPE_CHECKING, Any

from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden

from bot.formatting import esc, split_message
from bot.keyboards import case_action_markup, rating_markup
from complaints.lifecycle import PENDING, allowed_actions
from complaints.outbox import OutboxDispatcher, PermanentDeliveryError

if TYPE_CHECKING:
    from telegram.ext import Application

    from complaints.notices import Notice
    from complaints.service import CaseService

logger = logging.getLogger(__name__)

# Hand-built notices kept while the bot is not running (a process that never starts it must
# not grow without bound). Outbox notices are never buffered here: they wait in the database.
_MAX_BUFFER = 1000


class TelegramNotifier:
    """Delivers case notices to complainants and caseworkers through the bot, without blocking."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any] | None = None,
        *,
        outbox_interval: float = 10.0,
    ) -> None:
        self._app = application
        self._cases: CaseService | None = None
        self._outbox_interval = outbox_interval
        self._dispatcher: OutboxDispatcher | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._buffer: list[Notice] = []
        self._inflight: set[concurrent.futures.Future[Any] | asyncio.Future[Any]] = set()

    def attach(
        self, application: Application[Any, Any, Any, Any, Any, Any], cases: CaseService | None = None
    ) -> None:
        """Deliver through ``application``'s bot; ``cases`` enables the outbox dispatcher."""
        self._app = application
        if cases is not None:
            self._cases = cases

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Bind to the running loop, start the outbox dispatcher, send buffered notices."""
        loop = loop or asyncio.get_running_loop()
        if self._cases is not None and self._dispatcher is None:
            self._dispatcher = OutboxDispatcher(self._cases, self.send, interval=self._outbox_interval)
        if self._dispatcher is not None:
            self._dispatcher.start()  # its first pass delivers what piled up while we were down
        with self._lock:
            self._loop = loop
            buffered, self._buffer = self._buffer, []
        for notice in buffered:
            self.notify(notice)

    async def stop(self) -> None:
        """Stop the dispatcher; later hand-built notices are buffered until the next start."""
        with self._lock:
            self._loop = None
        dispatcher, self._dispatcher = self._dispatcher, None
        if dispatcher is not None:
            await dispatcher.stop()

    @property
    def started(self) -> bool:
        """Whether notices are being delivered (rather than left for a later start)."""
        return self._loop is not None and self._app is not None

    def notify(self, notice: Notice) -> None:
        """Wake the outbox (or schedule a direct send); returns at once and never raises."""
        try:
            if notice.notice_id is not None:
                if self._dispatcher is not None:
                    self._dispatcher.notify(notice)
                # Not started: the row waits in the outbox for the dispatcher's first pass.
                return
            with self._lock:
                loop = self._loop
                if loop is None or self._app is None or loop.is_closed():
                    if len(self._buffer) < _MAX_BUFFER:
                        self._buffer.append(notice)
                    else:
                        logger.warning("notice buffer full; notice for case %s dropped", notice.ticket)
                    return
            try:
                running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            future: concurrent.futures.Future[Any] | asyncio.Future[Any]
            if running is loop:
                future = loop.create_task(self._send_once(notice))
            else:
                future = asyncio.run_coroutine_threadsafe(self._send_once(notice), loop)
            with self._lock:
                self._inflight.add(future)
            future.add_done_callback(self._done)
        except Exception:  # the port must never break the caller's committed change
            logger.exception("could not schedule notice for case %s", notice.ticket)

    def _done(self, future: Any) -> None:
        with self._lock:
            self._inflight.discard(future)

    async def send(self, notice: Notice) -> None:
        """Send one notice (the outbox dispatcher's ``send``): return = delivered.

        Blocked bot or unknown chat raise ``PermanentDeliveryError`` (no retry); network
        errors and flood waits propagate so that the outbox backs off and retries; RuntimeError
        when the notifier is not attached to an application.
        """
        app = self._app
        if app is None:
            raise RuntimeError("TelegramNotifier is not attached to an application")
        text, markup = render_notice(notice)
        parts = split_message(text)
        try:
            for i, part in enumerate(parts):
                await app.bot.send_message(
                    notice.chat_id,
                    part,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup if i == len(parts) - 1 else None,
                )
        except (Forbidden, BadRequest) as exc:
            raise PermanentDeliveryError(f"telegram refused the notice: {exc}") from exc

    async def _send_once(self, notice: Notice) -> None:
        try:
            await self.send(notice)
        except Exception as exc:  # a hand-built notice is best effort: log and move on
            logger.warning("notice for case %s not delivered: %s", notice.ticket, exc)

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait until direct sends and due outbox notices have gone out (tests, shutdown)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        with self._lock:
            pending = list(self._inflight)
        if pending:
            wrapped = [
                asyncio.wrap_future(f) if isinstance(f, concurrent.futures.Future) else f for f in pending
            ]
            await asyncio.wait(wrapped, timeout=timeout)
        if self._dispatcher is None or self._cases is None:
            return
        cases = self._cases
        while loop.time() < deadline:
            stats = await asyncio.to_thread(cases.notice_stats)
            if stats.due == 0:
                return
            self._dispatcher.notify(None)  # type: ignore[arg-type]  # only a wake-up
            await asyncio.sleep(0.02)
        logger.warning("outbox still has due notices after %.1f s", timeout)


def offered_actions(status: str, extended: bool = False) -> list[str]:
    """Case actions offered as Telegram buttons in ``status``: what the lifecycle allows (no 延期
    once ``extended``), except 中间答复 before 受理 (the first answer to a new case is the decision
    whether to accept it)."""
    allowed = allowed_actions(status, extended)
    return [a for a in allowed if not (a == "reply" and status == PENDING)]


def render_notice(notice: Notice) -> tuple[str, Any]:
    """Telegram HTML and buttons for a notice.

    A caseworker's new (or reassigned) case gets the actions its status allows; a complainant's
    concluded case gets the satisfaction rating buttons. (``notice.kind == "handler"`` is the
    outbox's stored name for a caseworker notice.)
    """
    text = esc(notice.text)
    markup: Any = None
    if notice.kind == "handler" and notice.action in ("intake", "reassign"):
        # Only what the case's current status allows (a new case has no 办结: it needs 受理 first).
        markup = case_action_markup(notice.ticket, offered_actions(notice.status))
        if markup is not None:
            text += "\n\n请点击下方按钮办理。"
    elif notice.kind == "complainant" and notice.action == "conclude":
        markup = rating_markup(notice.ticket)
    return text, markup
