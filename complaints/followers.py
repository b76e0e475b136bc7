"""Case followers: a chat that did not file a case follows it after proving the phone on it.

A walk-in complainant (窗口登记) gets a paper receipt with the ticket number but filed from no
chat, and a relative may file from their own phone for an elderly veteran. Like a 12345 / 信访
hotline that asks the caller for the registered phone number, a chat that does not own a case
sees it after giving the last four digits of the phone recorded on the case; the chat is then
linked (``case_followers``) and receives the complainant notices the filer receives
(``complaints.notices.enqueue_notices`` fans them out) and may rate the concluded case.

Guessing is bounded with the one rate limiter (``vetbot.ratelimit``): failures per chat
(``MAX_FAILURES_PER_CHAT`` an hour) and per case, whichever chats they come from
(``MAX_FAILURES_PER_CASE_HOUR`` an hour and ``MAX_FAILURES_PER_CASE`` a day), so switching
Telegram accounts buys no extra guesses and 10 000 combinations cannot be tried. The case's
counts are kept in the database (``rate_limit_windows``) whatever ``VETBOT_RATE_LIMIT_BACKEND``
says, so a restart hands out no fresh allowance. A paused case reopens when its window slides
(at most a day): the filer's own chat and chats already linked are never asked, and the
station can always help. Nobody is notified of a pause (a guesser would otherwise page the
caseworker at will); it is logged once per window, with the ticket only. The wrong guess that
uses up an allowance says so at once (``AttemptsUsedUpError``), and a chat asking about a paused
ticket is told so before it is asked for digits (``CaseAccess.paused``).

Nothing tells a guesser which tickets exist (they are sequential per day): an unknown ticket, a
case filed from another chat and a case with no phone on file all ask for the digits, count a
wrong guess and refuse it with the same message (which points to the station and 12345, where a
complainant without a phone on file is helped), and pause alike.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from complaints.models import NOTICE_PENDING, NOTICE_SKIPPED, Case, CaseFollower, CaseNotice
from complaints.queries import CaseQueries
from complaints.tickets import normalize_ticket
from complaints.types import CaseView
from vetbot.errors import InvalidInputError, PermissionDeniedError
from vetbot.ratelimit import SlidingWindowLimiter
from vetbot.ratelimit_db import limiter_for
from vetbot.settings import Settings
from vetbot.textnorm import normalize

logger = logging.getLogger(__name__)

MAX_FAILURES_PER_CHAT = 5
CHAT_WINDOW_S = 3600.0  # the Chinese message says 1 小时
MAX_FAILURES_PER_CASE_HOUR = 5  # as many as one chat gets: a second account adds nothing
CASE_HOUR_WINDOW_S = 3600.0
MAX_FAILURES_PER_CASE = 10
CASE_WINDOW_S = 86400.0

WRONG_DIGITS = (
    "手机号后四位与登记信息不符，请核对后重新输入（发送 /cancel 取消）。"
    "如登记时没有留手机号或已更换号码，请携带回执到登记的退役军人服务站查询，"
    "或拨打 12345 政务服务热线报受理编号查询。"
)
# The wrong guess that used up an allowance: said at once, not on the next message.
LAST_WRONG = "手机号后四位与登记信息不符。"
TOO_MANY = (
    "核验失败次数过多，已暂停该查询，请 1 小时后再试；也可携带回执到登记的退役军人服务站或拨打 12345 查询。"
)
_CASE_PAUSED = (
    "该投诉的手机号后四位核验失败次数过多，为保护投诉人信息，已暂停该投诉的在线查询，请 {wait}后再试；"
    "也可携带回执到登记的退役军人服务站或拨打 12345 查询。"
)
CASE_PAUSED_HOUR = _CASE_PAUSED.format(wait="1 小时")
CASE_PAUSED_DAY = _CASE_PAUSED.format(wait="24 小时")
BAD_DIGITS = "请输入登记手机号的后四位数字（例如 5678），发送 /cancel 取消。"

AccessKind = Literal["view", "verify"]

# The reply to 「请回复手机号后四位」: the digits (full-width too, maybe spaced, or a whole
# number) with at most the words and marks people put around them (「尾号是5678」,
# 「手机后四位：5678。」); nothing else, so a question with a number in it stays a question.
_DIGIT_WORDS = "尾号后四位末手机号码电话是为的"
DIGITS_REPLY = re.compile(rf"^[\s{_DIGIT_WORDS}:：,，]*[\s0-9０-９+\-－]{{1,24}}[\s.。!！]*$")


class TooManyAttemptsError(PermissionDeniedError):
    """The chat or the case used up its verification attempts for now."""


class AttemptsUsedUpError(PermissionDeniedError):
    """A wrong guess that used up the chat's or the case's attempts: its message says both."""


@dataclass(frozen=True)
class CaseAccess:
    """What a chat may do with a ticket: ``view`` (own or followed case, ``view`` set) or
    ``verify`` (ask for the phone's last four digits; also for an unknown ticket or a case with no
    phone, which no digits match). ``paused``: with ``verify``, the Chinese message when the
    ticket's or the chat's attempts are used up for now (say it instead of asking)."""

    kind: AccessKind
    ticket: str
    view: CaseView | None = None
    paused: str | None = None


def follower_chat_ids(session: Session, case_id: int) -> list[int]:
    """Chats following the case (not the filer's), in link order."""
    return list(
        session.scalars(
            select(CaseFollower.chat_id).where(CaseFollower.case_id == case_id).order_by(CaseFollower.id)
        )
    )


def is_follower(session: Session, case_id: int, chat_id: int) -> bool:
    """True when ``chat_id`` follows the case."""
    row = session.scalar(
        select(CaseFollower.id).where(CaseFollower.case_id == case_id, CaseFollower.chat_id == chat_id)
    )
    return row is not None


def unlink_followers(session: Session, case_id: int) -> list[int]:
    """Unlink every chat following the case, in the caller's transaction; return their chat ids.

    Called when the case's phone is corrected: each follower proved the digits of a number that
    was wrong (often somebody else's), so it loses the case (no notices, no /status, no rating)
    until it verifies again with the new number. Complainant notices still waiting in the outbox
    for those chats are marked ``skipped``, so nothing already queued reaches them either. The
    filer's own chat is not a follower and keeps the case."""
    chats = follower_chat_ids(session, case_id)
    if chats:
        session.execute(delete(CaseFollower).where(CaseFollower.case_id == case_id))
        session.execute(
            update(CaseNotice)
            .where(
                CaseNotice.case_id == case_id,
                CaseNotice.kind == "complainant",
                CaseNotice.state == NOTICE_PENDING,
                CaseNotice.chat_id.in_(chats),
            )
            .values(state=NOTICE_SKIPPED)
        )
    return chats


def phone_suffix(phone: str | None) -> str | None:
    """The last four digits of a stored phone number; None when it has fewer than four."""
    digits = re.sub(r"\D", "", normalize(phone or ""))
    return digits[-4:] if len(digits) >= 4 else None


def typed_suffix(text: str) -> str:
    """The four digits a person typed: four digits, or a whole phone number (its last four),
    maybe in a few words (``DIGITS_REPLY``: 「尾号是5678」).

    Raises ``InvalidInputError`` (``BAD_DIGITS``) for anything else; that is not a failed guess.
    """
    if not DIGITS_REPLY.match(text or ""):
        raise InvalidInputError("not four digits", user_message=BAD_DIGITS)
    digits = re.sub(r"\D", "", normalize(text))
    if digits.isdigit() and (len(digits) == 4 or 7 <= len(digits) <= 15):
        return digits[-4:]
    raise InvalidInputError("not four digits", user_message=BAD_DIGITS)


class CaseFollowing:
    """Which cases a chat may see, and linking a chat to a case by the phone's last four digits.

    Sync (call from async code with ``asyncio.to_thread``); views are the complainant's (masked,
    phone numbers in staff-written texts kept), like the filer's.
    """

    def __init__(
        self,
        queries: CaseQueries,
        chat_failures: SlidingWindowLimiter,
        case_failures: SlidingWindowLimiter,
        case_hourly: SlidingWindowLimiter | None = None,
    ) -> None:
        """``chat_failures``: failed guesses keyed by chat id; ``case_failures`` (the daily
        budget) and ``case_hourly``: keyed by ticket, counting every chat's failures."""
        self.queries = queries
        self.chat_failures = chat_failures
        self.case_failures = case_failures
        self.case_hourly = case_hourly

    @classmethod
    def from_settings(
        cls, settings: Settings, queries: CaseQueries, sessions: Callable[[], Session] | None = None
    ) -> CaseFollowing:
        """The per-chat limiter is the one ``VETBOT_RATE_LIMIT_BACKEND`` selects; the per-case
        ones are kept in the database through ``sessions`` (in memory only without it)."""
        return cls(
            queries,
            limiter_for(settings, "case-link:chat", MAX_FAILURES_PER_CHAT, CHAT_WINDOW_S, sessions),
            limiter_for(
                settings, "case-link:case", MAX_FAILURES_PER_CASE, CASE_WINDOW_S, sessions, durable=True
            ),
            limiter_for(
                settings,
                "case-link:case-hour",
                MAX_FAILURES_PER_CASE_HOUR,
                CASE_HOUR_WINDOW_S,
                sessions,
                durable=True,
            ),
        )

    def access(self, ticket: str, chat_id: int) -> CaseAccess:
        """What ``chat_id`` may do with ``ticket``: an unknown ticket reads like a case filed
        elsewhere (``verify``), so the answer reveals nothing.

        Raises ``InvalidInputError`` for a malformed ticket."""
        ticket = normalize_ticket(ticket)
        with self.queries.session_factory() as session:
            case = session.scalars(select(Case).where(Case.ticket == ticket)).one_or_none()
            own = case is not None and (
                case.complainant_chat_id == chat_id or is_follower(session, case.id, chat_id)
            )
        if own:
            return CaseAccess("view", ticket, self.queries.get(ticket, for_complainant=True))
        return CaseAccess("verify", ticket, paused=self._paused_for(ticket, chat_id))

    def list_for_chat(self, chat_id: int) -> list[CaseView]:
        """Cases filed from or followed by the chat, newest first (masked)."""
        followed = select(CaseFollower.case_id).where(CaseFollower.chat_id == chat_id)
        with self.queries.session_factory() as session:
            tickets = session.scalars(
                select(Case.ticket)
                .where(or_(Case.complainant_chat_id == chat_id, Case.id.in_(followed)))
                .order_by(Case.created_at.desc(), Case.id.desc())
            ).all()
        return [self.queries.get(t, for_complainant=True) for t in tickets]

    def verify(self, ticket: str, chat_id: int, typed: str) -> CaseView:
        """Link ``chat_id`` to the case when ``typed`` ends in the phone's last four digits.

        Returns the masked view. Raises ``InvalidInputError`` when ``typed`` is not four digits
        (not counted), ``TooManyAttemptsError`` when the case (``CASE_PAUSED_DAY`` /
        ``CASE_PAUSED_HOUR``) or the chat (``TOO_MANY``) has no attempts left, even for the right
        digits, ``PermissionDeniedError`` (``WRONG_DIGITS``) for wrong digits, an unknown ticket
        or a case without a phone, and its subclass ``AttemptsUsedUpError`` (``LAST_WRONG`` and
        the pause message) when that failure used up the chat's or the case's attempts."""
        ticket = normalize_ticket(ticket)
        suffix = typed_suffix(typed)
        paused = self.case_paused(ticket)
        if paused is not None:
            raise TooManyAttemptsError(f"case link paused for {ticket}", user_message=paused)
        if self.chat_failures.exceeded(chat_id):
            raise TooManyAttemptsError(f"case link attempts exhausted for {ticket}", user_message=TOO_MANY)
        with self.queries.session_factory() as session:
            case = session.scalars(select(Case).where(Case.ticket == ticket)).one_or_none()
            expected = phone_suffix(case.complainant_phone) if case is not None else None
            matched = expected is not None and hmac.compare_digest(expected, suffix)
            if case is None or expected is None or not matched:
                self._record_failure(ticket, chat_id)
                now_paused = self._paused_for(ticket, chat_id)
                if now_paused is not None:
                    raise AttemptsUsedUpError(
                        f"wrong phone digits for {ticket}; attempts used up",
                        user_message=LAST_WRONG + now_paused,
                    )
                raise PermissionDeniedError(f"wrong phone digits for {ticket}", user_message=WRONG_DIGITS)
            if case.complainant_chat_id != chat_id:
                _link(session, case.id, chat_id, self.queries.now())
                session.commit()
        self.chat_failures.reset(chat_id)
        logger.info("chat linked to case %s", ticket)
        return self.queries.get(ticket, for_complainant=True)

    def case_paused(self, ticket: str) -> str | None:
        """The Chinese message when ``ticket``'s online check is paused by failures from any
        chats (the daily budget's first), else None. ``ticket`` as normalised."""
        for limiter, message in ((self.case_failures, CASE_PAUSED_DAY), (self.case_hourly, CASE_PAUSED_HOUR)):
            if limiter is not None and limiter.exceeded(ticket):
                return message
        return None

    def _paused_for(self, ticket: str, chat_id: int) -> str | None:
        """The case's pause message, else the chat's when it has no attempts left, else None."""
        paused = self.case_paused(ticket)
        if paused is None and self.chat_failures.exceeded(chat_id):
            paused = TOO_MANY
        return paused

    def _record_failure(self, ticket: str, chat_id: int) -> None:
        self.chat_failures.record(chat_id)
        limiters = [lim for lim in (self.case_failures, self.case_hourly) if lim is not None]
        for limiter in limiters:
            limiter.record(ticket)
        logger.info("case link to %s refused: wrong phone digits", ticket)
        # Logged, not notified: whoever guesses must not be able to page the caseworker. Once
        # per window; no chat id and no digits.
        if any(lim.exceeded(ticket) and lim.should_warn(ticket) for lim in limiters):
            logger.warning("online check of case %s paused: too many wrong phone digits", ticket)


def _link(session: Session, case_id: int, chat_id: int, now: datetime) -> None:
    """Insert the follower row unless it exists (two taps at once must not fail)."""
    values = {"case_id": case_id, "chat_id": chat_id, "linked_at": now}
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        session.execute(insert(CaseFollower).values(**values).on_conflict_do_nothing())
    elif not is_follower(session, case_id, chat_id):
        session.add(CaseFollower(**values))


__all__ = [
    "CASE_PAUSED_DAY",
    "CASE_PAUSED_HOUR",
    "DIGITS_REPLY",
    "LAST_WRONG",
    "MAX_FAILURES_PER_CASE",
    "MAX_FAILURES_PER_CASE_HOUR",
    "MAX_FAILURES_PER_CHAT",
    "WRONG_DIGITS",
    "AttemptsUsedUpError",
    "CaseAccess",
    "CaseFollowing",
    "TooManyAttemptsError",
    "follower_chat_ids",
    "is_follower",
    "phone_suffix",
    "typed_suffix",
    "unlink_followers",
]
