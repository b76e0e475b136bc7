"""The complaint case service: intake, handler actions, queries and office aggregates.

Plain synchronous Python over an injected SQLAlchemy session factory (call it from async code
with ``asyncio.to_thread``). It knows nothing of Telegram or HTTP: the complainant and the
handlers are told about changes through a notification outbox: every notice is written to
``case_notices`` in the same transaction as the change (``complaints.outbox`` delivers it,
retrying until Telegram takes it), and after the commit the injected ``Notifier`` port, if
any, is called with the notice (carrying its ``notice_id``) as a hint to deliver now. A
failing notifier never loses a change nor its notice.

Privacy: every ``CaseView`` has ID-card, phone and card numbers masked unless the viewer is
the case's assigned handler; aggregates carry counts only.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from complaints import lifecycle as lc
from complaints.models import NOTICE_PENDING, NOTICE_SKIPPED, Case, CaseEvent, CaseNotice
from complaints.routing import Handler, RouteTarget, RoutingTable, normalize_region
from complaints.tickets import CHINA_TZ, next_ticket, normalize_ticket
from vetbot.errors import CaseError, InvalidInputError, NotFoundError, PermissionDeniedError
from vetbot.privacy import mask_phone, mask_text

if TYPE_CHECKING:
    from complaints.classifier import ComplaintClassifier
    from complaints.outbox import NoticeStats, OutboxEntry

logger = logging.getLogger(__name__)

Role = Literal["handler", "office", "admin", "system", "complainant"]
ROLES: tuple[str, ...] = ("handler", "office", "admin", "system", "complainant")
STAFF_ROLES: tuple[str, ...] = ("office", "admin")
MAX_TEXT_CHARS = 5000
MAX_NOTE_CHARS = 2000
MAX_ATTACHMENTS = 20
ATTACHMENT_KEYS = ("file_id", "kind", "mime", "size", "name")
_INTAKE_TRIES = 8


def utcnow() -> datetime:
    """The default clock: now, timezone-aware UTC."""
    return datetime.now(UTC)


# --------------------------------------------------------------------------------------------
# value objects
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """Who performs an action. Handlers use their routing-table id as ``id``."""

    id: str
    name: str
    role: Role
    telegram_chat_id: int | None = None


SYSTEM_ACTOR = Actor(id="system", name="系统", role="system")


@dataclass(frozen=True)
class Attachment:
    """Metadata of a file sent with a complaint (the bytes stay on Telegram)."""

    file_id: str
    kind: str = "document"  # photo / document / voice / video
    mime: str | None = None
    size: int | None = None
    name: str | None = None


@dataclass(frozen=True)
class ComplaintIntake:
    """A new complaint as a channel received it. ``theme=None`` lets the classifier decide."""

    text: str
    channel: str = "telegram"
    complainant_chat_id: int | None = None
    complainant_name: str | None = None
    complainant_phone: str | None = None
    region: str | None = None
    theme: str | None = None
    attachments: Sequence[Attachment | dict[str, Any]] = ()


@dataclass(frozen=True)
class CaseEventView:
    """One history entry as shown to a viewer (note masked unless assigned handler)."""

    at: datetime
    actor_id: str
    actor_name: str
    actor_role: str
    action: str
    action_label: str
    from_status: str | None
    to_status: str | None
    note: str | None


@dataclass(frozen=True)
class CaseView:
    """A case as one viewer may see it. ``masked`` tells whether personal numbers were masked.

    ``events`` is filled by ``get`` (single-case views); list queries leave it empty.
    ``due_at`` is the deadline of the current status (None once closed).
    """

    ticket: str
    status: str
    theme: str
    theme_label: str
    region: str
    channel: str
    text: str
    complainant_chat_id: int | None
    complainant_name: str | None
    complainant_phone: str | None
    attachments: list[Attachment]
    assigned_handler_id: str | None
    assigned_handler_name: str | None
    assigned_unit: str | None
    created_at: datetime
    accepted_at: datetime | None
    concluded_at: datetime | None
    closed_at: datetime | None
    accept_due: datetime
    conclude_due: datetime | None
    extended: bool
    extension_days: int | None
    extension_reason: str | None
    result: str | None
    transferred_to: str | None
    rating: str | None
    rated_at: datetime | None
    due_at: datetime | None
    overdue: bool
    masked: bool
    allowed_actions: list[str] = field(default_factory=list)
    events: list[CaseEventView] = field(default_factory=list)


@dataclass(frozen=True)
class CaseFilter:
    """Filters of ``list_cases``. Dates are China-local days (``created_to`` inclusive);
    datetimes are exact bounds (``created_to`` exclusive)."""

    status: str | None = None
    theme: str | None = None
    region: str | None = None
    handler_id: str | None = None
    unit: str | None = None
    created_from: date | datetime | None = None
    created_to: date | datetime | None = None
    overdue: bool = False
    due_soon: bool = False
    due_soon_days: int = 3
    limit: int = 200
    offset: int = 0


@dataclass(frozen=True)
class ThemeAggregate:
    """Number of complaints of one theme in one region and period; never any text."""

    period: str  # "2026-W05" or "2026-02"
    period_start: date
    region: str
    theme: str
    theme_label: str
    count: int


@dataclass(frozen=True)
class TimingStats:
    """Office dashboard figures. Days to conclude are counted from acceptance (XF 34)."""

    total: int
    open: int
    overdue: int
    accepted: int
    concluded: int
    rejected: int
    transferred: int
    avg_days_to_accept: float | None
    avg_days_to_conclude: float | None
    avg_days_total: float | None
    ratings: dict[str, int]


@dataclass(frozen=True)
class Notice:
    """A message for the complainant (``kind="complainant"``) or a handler (``"handler"``).

    ``notice_id`` is the ``case_notices`` row of the outbox (None for notices built by hand).
    """

    chat_id: int
    ticket: str
    status: str
    text: str
    kind: Literal["complainant", "handler"] = "complainant"
    action: str = ""
    handler_id: str | None = None
    notice_id: int | None = None

    @classmethod
    def from_row(cls, row: CaseNotice) -> Notice:
        """The notice an outbox row stands for."""
        return cls(
            chat_id=int(row.chat_id or 0),
            ticket=row.ticket,
            status=row.status,
            text=row.text,
            kind="handler" if row.kind == "handler" else "complainant",
            action=row.action,
            handler_id=row.handler_id,
            notice_id=row.id,
        )


class Notifier(Protocol):
    """Told about each new notice right after commit (the bot implements it).

    Must not block; errors are logged by the caller. A notice with a ``notice_id`` is owned by
    the outbox: the notifier should only wake the outbox dispatcher
    (``complaints.outbox.OutboxDispatcher.notify``), not send it itself, or the dispatcher
    would send it a second time.
    """

    def notify(self, notice: Notice) -> None:
        """Handle ``notice`` (a hint that the outbox has something to deliver)."""
        ...


@dataclass(frozen=True)
class _NoticeDraft:
    """A notice to write to the outbox inside the change's transaction."""

    chat_id: int | None
    kind: Literal["complainant", "handler"]
    status: str
    action: str
    text: str
    handler_id: str | None = None


class ComplaintClassifierLike(Protocol):
    """What intake needs from ``complaints.classifier.ComplaintClassifier``."""

    def classify(self, text: str) -> Any:
        """Return an object with a ``theme`` attribute."""
        ...


# --------------------------------------------------------------------------------------------
# the service
# --------------------------------------------------------------------------------------------


class CaseService:
    """Complaint cases: intake, lifecycle actions, queries and office aggregates."""

    def __init__(
        self,
        session_factory: Callable[[], Session],
        routing: RoutingTable,
        notifier: Notifier | None = None,
        classifier: ComplaintClassifier | ComplaintClassifierLike | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = session_factory
        self.routing = routing
        self.notifier = notifier
        self.classifier = classifier
        self._clock = clock

    # ---------------------------------------------------------------- helpers
    @property
    def session_factory(self) -> Callable[[], Session]:
        """The injected session factory (used by ``complaints.outbox``)."""
        return self._sessions

    def now(self) -> datetime:
        """The service clock's current time, aware UTC (the outbox schedules retries with it)."""
        return self._now()

    def _now(self) -> datetime:
        now = self._clock()
        return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)

    def handler_actor(self, handler_id: str) -> Actor:
        """An ``Actor`` for a handler of the routing table (``NotFoundError`` if unknown)."""
        h = self.routing.handler(handler_id)
        return Actor(id=h.id, name=h.name, role="handler", telegram_chat_id=h.telegram_chat_id)

    @staticmethod
    def _themes() -> dict[str, str]:
        from complaints.themes import THEMES

        return THEMES

    # ---------------------------------------------------------------- intake
    def intake(self, intake: ComplaintIntake) -> CaseView:
        """File a complaint: classify (if needed), route, assign, commit, then notify the handler.

        The case is committed before this returns, so the ticket shown to the complainant
        always exists. The returned view is masked (the complainant is not the handler).
        """
        text = (intake.text or "").strip()
        if not text:
            raise InvalidInputError("empty complaint", user_message="投诉内容不能为空，请写明反映的问题。")
        if len(text) > MAX_TEXT_CHARS:
            raise InvalidInputError(
                "complaint too long",
                user_message=f"投诉内容过长（超过 {MAX_TEXT_CHARS} 字），请精简后再提交。",
            )
        channel = (intake.channel or "").strip() or "unknown"
        attachments = _clean_attachments(intake.attachments)
        theme = self._theme_for(intake.theme, text)
        region = self.routing.canonical_region(intake.region)
        target = self.routing.route(theme, region)

        last_exc: Exception | None = None
        for attempt in range(1, _INTAKE_TRIES + 1):
            now = self._now()
            try:
                with self._sessions() as session:
                    with session.begin():
                        # The counter row is written first: on SQLite that takes the write lock at
                        # the start of the transaction, so nothing read before can go stale.
                        ticket = next_ticket(session, now)
                        handler = self._pick_handler(session, target)
                        case = Case(
                            ticket=ticket,
                            channel=channel[:16],
                            complainant_chat_id=intake.complainant_chat_id,
                            complainant_name=(intake.complainant_name or "").strip()[:64] or None,
                            complainant_phone=(intake.complainant_phone or "").strip()[:32] or None,
                            region=region[:32],
                            theme=theme,
                            text=text,
                            attachments=attachments,
                            status=lc.PENDING,
                            assigned_handler_id=handler.id,
                            assigned_unit=handler.unit,
                            created_at=now,
                            accept_due=lc.accept_due(now),
                            extended=False,
                            updated_at=now,
                        )
                        session.add(case)
                        session.flush()
                        complainant = Actor(
                            id=str(intake.complainant_chat_id)
                            if intake.complainant_chat_id is not None
                            else "anonymous",
                            name=case.complainant_name or "信访人",
                            role="complainant",
                        )
                        events = [
                            _event(case, complainant, "intake", None, lc.PENDING, f"渠道：{channel}", now),
                            _event(
                                case,
                                SYSTEM_ACTOR,
                                "assign",
                                None,
                                lc.PENDING,
                                _assign_note(handler, target),
                                now,
                            ),
                        ]
                        session.add_all(events)
                        notices = self._enqueue(
                            session,
                            case,
                            [
                                _NoticeDraft(
                                    chat_id=handler.telegram_chat_id,
                                    kind="handler",
                                    status=lc.PENDING,
                                    action="intake",
                                    text=self._handler_new_case_text(case),
                                    handler_id=handler.id,
                                )
                            ],
                            now,
                        )
                    view = self._view(case, None, events)
                break
            except IntegrityError as exc:  # ticket collision (counter reset or imported cases)
                last_exc = exc
                logger.warning("ticket collision on intake (attempt %d), retrying", attempt)
            except OperationalError as exc:
                if not _is_transient(exc):
                    raise
                last_exc = exc
                logger.warning("database busy on intake (attempt %d), retrying", attempt)
                time.sleep(min(0.05 * attempt, 0.5) + random.random() * 0.05)
        else:
            raise CaseError(
                f"intake failed after {_INTAKE_TRIES} attempts: {last_exc}",
                user_message="投诉暂时未能登记，请稍后再试，或拨打 12345 政务服务热线。",
            )
        logger.info("case %s filed: theme=%s region=%s handler=%s", ticket, theme, region, handler.id)
        self._notify_all(notices)
        return view

    def _theme_for(self, theme: str | None, text: str) -> str:
        themes = self._themes()
        if theme is not None:
            if theme not in themes:
                raise InvalidInputError(f"unknown theme {theme!r}", user_message=f"未知的投诉主题：{theme}。")
            return theme
        if self.classifier is None:
            logger.warning("no classifier injected; complaint filed under theme 'other'")
            return "other"
        code = getattr(self.classifier.classify(text), "theme", "other")
        return code if code in themes else "other"

    def _pick_handler(self, session: Session, target: RouteTarget) -> Handler:
        members = self.routing.members(target)
        if len(members) == 1:
            return members[0]
        load = _open_load(session, [m.id for m in members])
        return min(members, key=lambda m: load.get(m.id, 0))  # ties: first in file order

    def _handler_new_case_text(self, case: Case) -> str:
        excerpt = case.text if len(case.text) <= 200 else case.text[:200] + "…"
        return (
            f"【新投诉待受理】编号 {case.ticket}\n"
            f"主题：{self._themes().get(case.theme, case.theme)}；地区：{case.region}\n"
            f"内容：{excerpt}\n"
            f"请于 {_fmt_day(case.accept_due)} 前决定是否受理（{lc.LEGAL_BASIS['accept']}）。"
        )

    # ---------------------------------------------------------------- reads
    def get(self, ticket: str, actor: Actor | None = None) -> CaseView:
        """One case with its history; masked unless ``actor`` is the assigned handler."""
        ticket = normalize_ticket(ticket)
        with self._sessions() as session:
            case = self._load(session, ticket)
            return self._view(case, actor, _events_of(session, case.id))

    def get_for_complainant(self, ticket: str, chat_id: int) -> CaseView:
        """A complainant's own case; someone else's ticket reads as not found."""
        view = self.get(ticket)
        if view.complainant_chat_id != chat_id:
            raise NotFoundError(f"{ticket} not filed by {chat_id}", user_message="未找到您提交的这件投诉。")
        return view

    def list_for_complainant(self, chat_id: int) -> list[CaseView]:
        """Cases filed from this Telegram chat, newest first (masked)."""
        with self._sessions() as session:
            rows = session.scalars(
                select(Case)
                .where(Case.complainant_chat_id == chat_id)
                .order_by(Case.created_at.desc(), Case.id.desc())
            ).all()
            return [self._view(c, None) for c in rows]

    def list_cases(self, filters: CaseFilter, actor: Actor) -> list[CaseView]:
        """Cases matching ``filters``, newest first.

        Handlers see only their own cases; office/admin/system see all.
        """
        if actor.role == "complainant":
            raise PermissionDeniedError("complainant listing cases", user_message="您没有权限查看案件列表。")
        if actor.role not in ROLES:
            raise PermissionDeniedError(f"unknown role {actor.role!r}")
        handler_id = filters.handler_id
        if actor.role == "handler":
            if handler_id and handler_id != actor.id:
                raise PermissionDeniedError(
                    "handler listing another handler", user_message="承办人只能查看分派给自己的案件。"
                )
            handler_id = actor.id
        now = self._now()
        stmt = select(Case)
        if filters.status:
            if filters.status not in lc.STATUSES:
                raise InvalidInputError(
                    f"bad status {filters.status!r}",
                    user_message=f"未知的案件状态：{filters.status}（可选：{'、'.join(lc.STATUSES)}）。",
                )
            stmt = stmt.where(Case.status == filters.status)
        if filters.theme:
            if filters.theme not in self._themes():
                raise InvalidInputError(
                    f"bad theme {filters.theme!r}", user_message=f"未知的投诉主题：{filters.theme}。"
                )
            stmt = stmt.where(Case.theme == filters.theme)
        if filters.region:
            stmt = stmt.where(Case.region.in_(self._region_variants(filters.region)))
        if handler_id:
            stmt = stmt.where(Case.assigned_handler_id == handler_id)
        if filters.unit:
            stmt = stmt.where(Case.assigned_unit == filters.unit)
        if filters.created_from is not None:
            stmt = stmt.where(Case.created_at >= _lower_bound(filters.created_from))
        if filters.created_to is not None:
            stmt = stmt.where(Case.created_at < _upper_bound(filters.created_to))
        if filters.overdue:
            stmt = stmt.where(_overdue_clause(now))
        if filters.due_soon:
            stmt = stmt.where(_due_soon_clause(now, filters.due_soon_days))
        limit = max(1, min(filters.limit, 5000))
        stmt = (
            stmt.order_by(Case.created_at.desc(), Case.id.desc()).offset(max(filters.offset, 0)).limit(limit)
        )
        with self._sessions() as session:
            rows = session.scalars(stmt).all()
            return [self._view(c, actor, now=now) for c in rows]

    def overdue(self, now: datetime | None = None) -> list[CaseView]:
        """Open cases past the deadline of their current status, most overdue first (masked)."""
        at = _as_utc(now) if now is not None else self._now()
        with self._sessions() as session:
            rows = session.scalars(select(Case).where(_overdue_clause(at))).all()
            views = [self._view(c, None, now=at) for c in rows]
        return sorted(views, key=lambda v: (v.due_at or at, v.ticket))

    def due_soon(self, days: int = 3, now: datetime | None = None) -> list[CaseView]:
        """Open cases whose current deadline falls within ``days`` days, soonest first (masked)."""
        at = _as_utc(now) if now is not None else self._now()
        with self._sessions() as session:
            rows = session.scalars(select(Case).where(_due_soon_clause(at, days))).all()
            views = [self._view(c, None, now=at) for c in rows]
        return sorted(views, key=lambda v: (v.due_at or at, v.ticket))

    # ---------------------------------------------------------------- handler actions
    def accept(self, ticket: str, actor: Actor, note: str | None = None) -> CaseView:
        """受理: start the 60-day conclusion clock (XF 34)."""

        def apply(case: Case, now: datetime) -> str:
            case.accepted_at = now
            case.conclude_due = lc.conclude_due(now)
            return _clean_note(note) or ""

        return self._act(
            ticket,
            actor,
            "accept",
            apply,
            lambda c: (
                f"您的投诉（编号 {c.ticket}）已受理，承办单位：{c.assigned_unit}。"
                f"我们将在 {_fmt_day(c.conclude_due)} 前办结并答复您。"
            ),
        )

    def reject(self, ticket: str, actor: Actor, reason: str) -> CaseView:
        """不予受理, with a mandatory reason that is told to the complainant."""
        reason_text = _required(reason, "请填写不予受理的理由，理由将告知信访人。")

        def apply(case: Case, now: datetime) -> str:
            case.result = reason_text
            case.closed_at = now
            return reason_text

        return self._act(
            ticket,
            actor,
            "reject",
            apply,
            lambda c: (
                f"您的投诉（编号 {c.ticket}）不予受理。理由：{reason_text}\n"
                "如有疑问，可拨打 12345 政务服务热线，或到当地退役军人服务站咨询。"
            ),
        )

    def transfer(self, ticket: str, actor: Actor, to: str, note: str | None = None) -> CaseView:
        """已转办: hand the case to the competent agency outside this system (XF 22/23)."""
        target = _required(to, "请填写转办的有权处理机关或单位。")
        note_text = _clean_note(note)

        def apply(case: Case, now: datetime) -> str:
            case.transferred_to = target[:128]
            case.result = note_text or f"转{target}办理"
            case.closed_at = now
            return f"转至：{target}" + (f"；{note_text}" if note_text else "")

        return self._act(
            ticket,
            actor,
            "transfer",
            apply,
            lambda c: (
                f"您的投诉（编号 {c.ticket}）已转交{target}办理，请留意其答复。"
                + (f"\n说明：{note_text}" if note_text else "")
            ),
        )

    def start(self, ticket: str, actor: Actor, note: str | None = None) -> CaseView:
        """办理中: the handler is working on it."""
        return self._act(
            ticket,
            actor,
            "start",
            lambda case, now: _clean_note(note) or "",
            lambda c: f"您的投诉（编号 {c.ticket}）正在办理中，承办单位：{c.assigned_unit}。",
        )

    def reply(self, ticket: str, actor: Actor, text: str) -> CaseView:
        """Send the complainant a message about the case (an event; no status change)."""
        body = _required(text, "回复内容不能为空。")
        return self._act(
            ticket,
            actor,
            "reply",
            lambda case, now: body,
            lambda c: f"关于您的投诉（编号 {c.ticket}），承办人回复：\n{body}",
        )

    def conclude(self, ticket: str, actor: Actor, result: str) -> CaseView:
        """已办结, with the result told to the complainant, who may then rate it."""
        result_text = _required(result, "请填写办理结果，结果将答复信访人。")

        def apply(case: Case, now: datetime) -> str:
            case.result = result_text
            case.concluded_at = now
            case.closed_at = now
            return result_text

        return self._act(
            ticket,
            actor,
            "conclude",
            apply,
            lambda c: (
                f"您的投诉（编号 {c.ticket}）已办结。办理结果：\n{result_text}\n"
                f"请对办理结果进行评价：{' / '.join(lc.RATINGS)}。"
                "如对处理意见不服，可自收到答复之日起 30 日内向上一级机关请求复查"
                "（《信访工作条例》第三十五条）。"
            ),
        )

    def extend(self, ticket: str, actor: Actor, days: int, reason: str) -> CaseView:
        """Extend the conclusion deadline once, by at most 30 days, with a reason (XF 34)."""

        def apply(case: Case, now: datetime) -> str:
            cleaned = lc.check_extension(case.extended, days, reason)
            assert case.conclude_due is not None  # accepted cases always have one
            case.conclude_due = case.conclude_due + timedelta(days=days)
            case.extended = True
            case.extension_days = days
            case.extension_reason = cleaned
            return f"延期 {days} 天：{cleaned}"

        return self._act(
            ticket,
            actor,
            "extend",
            apply,
            lambda c: (
                f"您的投诉（编号 {c.ticket}）因情况复杂，办理期限延长 {c.extension_days} 天，"
                f"将于 {_fmt_day(c.conclude_due)} 前办结。延期理由：{c.extension_reason}"
            ),
        )

    def reassign(self, ticket: str, actor: Actor, handler_id: str, note: str | None = None) -> CaseView:
        """Give the case to another handler of the routing table (an event; status unchanged)."""
        new = self.routing.handler(handler_id)
        note_text = _clean_note(note)
        previous: dict[str, str | None] = {}

        def apply(case: Case, now: datetime) -> str:
            if case.assigned_handler_id == new.id:
                raise CaseError("same handler", user_message=f"案件已由“{new.name}”承办，无需改派。")
            previous["id"] = case.assigned_handler_id
            case.assigned_handler_id = new.id
            case.assigned_unit = new.unit
            old = self.routing.handlers.get(previous["id"] or "")
            old_label = f"{old.name}（{old.unit}）" if old else (previous["id"] or "无")
            return f"由 {old_label} 改派至 {new.name}（{new.unit}）" + (f"：{note_text}" if note_text else "")

        def handler_notice(case: Case) -> list[_NoticeDraft]:
            return [
                _NoticeDraft(
                    chat_id=new.telegram_chat_id,
                    kind="handler",
                    status=case.status,
                    action="reassign",
                    text=f"【改派】案件 {case.ticket} 已改派给您承办，当前状态：{case.status}。"
                    + (f"\n说明：{note_text}" if note_text else ""),
                    handler_id=new.id,
                )
            ]

        return self._act(ticket, actor, "reassign", apply, None, handler_notice)

    def rate(self, ticket: str, chat_id: int, rating: str) -> CaseView:
        """The complainant's satisfaction rating (满意/基本满意/不满意), once, after 已办结."""
        rating = (rating or "").strip()
        if rating not in lc.RATINGS:
            raise InvalidInputError(
                f"bad rating {rating!r}", user_message=f"评价只能是：{'、'.join(lc.RATINGS)}。"
            )
        ticket = normalize_ticket(ticket)
        now = self._now()
        with self._sessions() as session:
            with session.begin():
                case = self._load(session, ticket, for_update=True)
                if case.complainant_chat_id is None or case.complainant_chat_id != chat_id:
                    raise PermissionDeniedError(
                        f"chat {chat_id} rating {ticket}", user_message="只有提交该投诉的信访人本人可以评价。"
                    )
                lc.check_transition(case.status, "rate")
                if case.rating is not None:
                    raise CaseError(
                        f"{ticket} already rated",
                        user_message=f"您已评价过该投诉（{case.rating}），感谢您的反馈。",
                    )
                case.rating, case.rated_at, case.updated_at = rating, now, now
                actor = Actor(id=str(chat_id), name=case.complainant_name or "信访人", role="complainant")
                session.add(_event(case, actor, "rate", case.status, case.status, rating, now))
                self._flush(session, ticket)
                events = _events_of(session, case.id)
            view = self._view(case, None, events)
        logger.info("case %s rated %s", ticket, rating)
        return view

    # ---------------------------------------------------------------- action machinery
    def _act(
        self,
        ticket: str,
        actor: Actor,
        action: str,
        apply: Callable[[Case, datetime], str],
        complainant_text: Callable[[Case], str] | None,
        other_notices: Callable[[Case], list[_NoticeDraft]] | None = None,
    ) -> CaseView:
        """Check permission and lifecycle, apply, append the event and the outbox notices,
        commit, then notify."""
        ticket = normalize_ticket(ticket)
        now = self._now()
        with self._sessions() as session:
            with session.begin():
                case = self._load(session, ticket, for_update=True)
                _check_permission(case, actor)
                from_status = case.status
                to_status = lc.check_transition(from_status, action)
                note = apply(case, now)
                case.status = to_status
                case.updated_at = now
                session.add(_event(case, actor, action, from_status, to_status, note or None, now))
                self._flush(session, ticket)
                events = _events_of(session, case.id)
                drafts: list[_NoticeDraft] = []
                if complainant_text is not None:
                    drafts.append(
                        _NoticeDraft(
                            chat_id=case.complainant_chat_id,
                            kind="complainant",
                            status=to_status,
                            action=action,
                            text=complainant_text(case),
                        )
                    )
                if other_notices is not None:
                    drafts.extend(other_notices(case))
                notices = self._enqueue(session, case, drafts, now)
            view = self._view(case, actor, events)
        logger.info("case %s: %s by %s (%s -> %s)", ticket, action, actor.id, from_status, to_status)
        self._notify_all(notices)
        return view

    @staticmethod
    def _flush(session: Session, ticket: str) -> None:
        try:
            session.flush()
        except StaleDataError as exc:
            raise CaseError(
                f"{ticket} changed concurrently", user_message="该案件刚被其他人更新，请刷新后重试。"
            ) from exc

    @staticmethod
    def _enqueue(session: Session, case: Case, drafts: Sequence[_NoticeDraft], now: datetime) -> list[Notice]:
        """Write ``drafts`` to the outbox in the caller's transaction; return those to send.

        A notice with no Telegram chat id (web, phone or letter complainant; a handler without
        Telegram) or of a demo case is stored as ``skipped``: the row records that the person
        must be told some other way, and nothing will ever try to send it.
        """
        from complaints.analytics import DEMO_CHANNEL

        rows: list[CaseNotice] = []
        for d in drafts:
            sendable = d.chat_id is not None and case.channel != DEMO_CHANNEL
            row = CaseNotice(
                case_id=case.id,
                ticket=case.ticket,
                kind=d.kind,
                handler_id=d.handler_id,
                chat_id=d.chat_id,
                status=d.status,
                action=d.action,
                text=d.text,
                state=NOTICE_PENDING if sendable else NOTICE_SKIPPED,
                created_at=now,
                attempts=0,
                next_attempt_at=now,
            )
            session.add(row)
            rows.append(row)
        session.flush()  # assigns the ids handed to the notifier
        return [Notice.from_row(r) for r in rows if r.state == NOTICE_PENDING and r.chat_id is not None]

    def _notify_all(self, notices: Sequence[Notice]) -> None:
        for notice in notices:
            self._notify(notice)

    def _notify(self, notice: Notice) -> None:
        """Hint the notifier after commit; a failure is logged and never undoes the change
        (the notice stays in the outbox and is delivered later)."""
        if self.notifier is None:
            return
        try:
            self.notifier.notify(notice)
        except Exception:
            logger.exception("notifier failed for %s (%s, %s)", notice.ticket, notice.kind, notice.action)

    # ---------------------------------------------------------------- notification outbox
    def pending_notices(self, limit: int = 100) -> list[OutboxEntry]:
        """Undelivered notices (pending and failed), oldest first, text masked (for the office)."""
        from complaints.outbox import list_undelivered

        return list_undelivered(self._sessions, limit=limit)

    def notice_stats(self) -> NoticeStats:
        """Counts of outbox notices per state, how many are due now, and the oldest pending."""
        from complaints.outbox import outbox_stats

        return outbox_stats(self._sessions, now=self._now())

    def retry_notice(self, notice_id: int) -> None:
        """Put a failed notice back in the queue (e.g. after the complainant unblocked the bot)."""
        from complaints.outbox import requeue

        requeue(self._sessions, notice_id, now=self._now())

    @staticmethod
    def _load(session: Session, ticket: str, for_update: bool = False) -> Case:
        stmt = select(Case).where(Case.ticket == ticket)
        if for_update:
            stmt = stmt.with_for_update()
        case = session.scalars(stmt).one_or_none()
        if case is None:
            raise NotFoundError(f"case {ticket} not found", user_message=f"未找到编号为 {ticket} 的投诉。")
        return case

    # ---------------------------------------------------------------- views
    def _view(
        self,
        case: Case,
        viewer: Actor | None,
        events: Sequence[CaseEvent] = (),
        now: datetime | None = None,
    ) -> CaseView:
        now = now or self._now()
        full = viewer is not None and viewer.role == "handler" and viewer.id == case.assigned_handler_id
        m: Callable[[str | None], str | None] = (
            (lambda s: s) if full else (lambda s: mask_text(s) if s else s)
        )
        handler = self.routing.handlers.get(case.assigned_handler_id or "")
        return CaseView(
            ticket=case.ticket,
            status=case.status,
            theme=case.theme,
            theme_label=self._themes().get(case.theme, case.theme),
            region=case.region,
            channel=case.channel,
            text=m(case.text) or "",
            complainant_chat_id=case.complainant_chat_id,
            complainant_name=case.complainant_name,
            complainant_phone=case.complainant_phone if full else mask_phone(case.complainant_phone),
            attachments=[
                Attachment(
                    file_id=str(a.get("file_id", "")),
                    kind=str(a.get("kind") or "document"),
                    mime=a.get("mime"),
                    size=a.get("size"),
                    name=m(a.get("name")),
                )
                for a in (case.attachments or [])
            ],
            assigned_handler_id=case.assigned_handler_id,
            assigned_handler_name=handler.name if handler else None,
            assigned_unit=case.assigned_unit,
            created_at=case.created_at,
            accepted_at=case.accepted_at,
            concluded_at=case.concluded_at,
            closed_at=case.closed_at,
            accept_due=case.accept_due,
            conclude_due=case.conclude_due,
            extended=bool(case.extended),
            extension_days=case.extension_days,
            extension_reason=m(case.extension_reason),
            result=m(case.result),
            transferred_to=case.transferred_to,
            rating=case.rating,
            rated_at=case.rated_at,
            due_at=lc.active_deadline(case.status, case.accept_due, case.conclude_due),
            overdue=lc.is_overdue(case.status, case.accept_due, case.conclude_due, now),
            masked=not full,
            allowed_actions=lc.allowed_actions(case.status),
            events=[
                CaseEventView(
                    at=e.at,
                    actor_id=e.actor_id,
                    actor_name=e.actor_name,
                    actor_role=e.actor_role,
                    action=e.action,
                    action_label=lc.ACTION_LABELS.get(e.action, e.action),
                    from_status=e.from_status,
                    to_status=e.to_status,
                    note=m(e.note),
                )
                for e in events
            ],
        )

    # ---------------------------------------------------------------- aggregates
    def _region_variants(self, region: str) -> list[str]:
        canonical = self.routing.canonical_region(region)
        base = normalize_region(region)
        return sorted({region.strip(), canonical, base, base + "市", base + "省"})

    def _aggregate_rows(
        self,
        start: date | datetime | None,
        end: date | datetime | None,
        region: str | None,
        theme: str | None,
        columns: Sequence[Any],
    ) -> list[Any]:
        stmt: Select[Any] = select(*columns)
        if start is not None:
            stmt = stmt.where(Case.created_at >= _lower_bound(start))
        if end is not None:
            stmt = stmt.where(Case.created_at < _upper_bound(end))
        if region:
            stmt = stmt.where(Case.region.in_(self._region_variants(region)))
        if theme:
            stmt = stmt.where(Case.theme == theme)
        with self._sessions() as session:
            return list(session.execute(stmt).all())

    def theme_aggregates(
        self,
        period: str,
        start: date | datetime | None = None,
        end: date | datetime | None = None,
        region: str | None = None,
        theme: str | None = None,
    ) -> list[ThemeAggregate]:
        """Complaint counts per period ('week' = ISO week, 'month') × region × theme.

        Periods are China-local; a ``date`` ``end`` is inclusive, a ``datetime`` exclusive.
        Only counts are returned: no text, names or contact data.
        """
        if period not in ("week", "month"):
            raise InvalidInputError(
                f"bad period {period!r}", user_message="统计周期只能是 week（周）或 month（月）。"
            )
        themes = self._themes()
        if theme and theme not in themes:
            raise InvalidInputError(f"bad theme {theme!r}", user_message=f"未知的投诉主题：{theme}。")
        rows = self._aggregate_rows(start, end, region, theme, (Case.created_at, Case.region, Case.theme))
        counts: Counter[tuple[date, str, str, str]] = Counter()
        for created_at, reg, th in rows:
            local = _as_utc(created_at).astimezone(CHINA_TZ).date()
            if period == "week":
                iso = local.isocalendar()
                p_start, label = local - timedelta(days=local.weekday()), f"{iso.year}-W{iso.week:02d}"
            else:
                p_start, label = local.replace(day=1), f"{local.year}-{local.month:02d}"
            counts[(p_start, label, reg, th)] += 1
        return [
            ThemeAggregate(
                period=label,
                period_start=p_start,
                region=reg,
                theme=th,
                theme_label=themes.get(th, th),
                count=n,
            )
            for (p_start, label, reg, th), n in sorted(counts.items())
        ]

    def timing_stats(
        self,
        start: date | datetime | None = None,
        end: date | datetime | None = None,
        region: str | None = None,
        theme: str | None = None,
        now: datetime | None = None,
    ) -> TimingStats:
        """Counts per outcome, average days to accept / to conclude (from acceptance) / in total,
        and the rating distribution, for cases filed in the range."""
        at = _as_utc(now) if now is not None else self._now()
        rows = self._aggregate_rows(
            start,
            end,
            region,
            theme,
            (
                Case.status,
                Case.created_at,
                Case.accepted_at,
                Case.concluded_at,
                Case.accept_due,
                Case.conclude_due,
                Case.rating,
            ),
        )
        statuses: Counter[str] = Counter()
        ratings: dict[str, int] = dict.fromkeys(lc.RATINGS, 0)
        to_accept: list[float] = []
        to_conclude: list[float] = []
        total_days: list[float] = []
        overdue = 0
        for status, created, accepted, concluded, a_due, c_due, rating in rows:
            statuses[status] += 1
            if accepted is not None:
                to_accept.append(_days(created, accepted))
            if concluded is not None:
                total_days.append(_days(created, concluded))
                if accepted is not None:
                    to_conclude.append(_days(accepted, concluded))
            if rating in ratings:
                ratings[rating] += 1
            if lc.is_overdue(status, _as_utc(a_due), _as_utc(c_due) if c_due else None, at):
                overdue += 1
        return TimingStats(
            total=len(rows),
            open=sum(statuses[s] for s in lc.OPEN_STATUSES),
            overdue=overdue,
            accepted=len(to_accept),
            concluded=statuses[lc.CONCLUDED],
            rejected=statuses[lc.REJECTED],
            transferred=statuses[lc.TRANSFERRED],
            avg_days_to_accept=_mean(to_accept),
            avg_days_to_conclude=_mean(to_conclude),
            avg_days_total=_mean(total_days),
            ratings=ratings,
        )


# --------------------------------------------------------------------------------------------
# module helpers
# --------------------------------------------------------------------------------------------


def _check_permission(case: Case, actor: Actor) -> None:
    if actor.role in STAFF_ROLES:
        return
    if actor.role == "handler" and actor.id == case.assigned_handler_id:
        return
    raise PermissionDeniedError(
        f"{actor.role}:{actor.id} may not act on {case.ticket}",
        user_message=f"只有本案承办人或双拥办/管理员可以办理投诉 {case.ticket}。",
    )


def _event(
    case: Case,
    actor: Actor,
    action: str,
    from_status: str | None,
    to_status: str | None,
    note: str | None,
    at: datetime,
) -> CaseEvent:
    return CaseEvent(
        case_id=case.id,
        at=at,
        actor_id=actor.id[:64],
        actor_name=(actor.name or actor.id)[:64],
        actor_role=actor.role,
        action=action,
        from_status=from_status,
        to_status=to_status,
        note=note,
    )


def _events_of(session: Session, case_id: int) -> list[CaseEvent]:
    return list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)))


def _open_load(session: Session, handler_ids: list[str]) -> dict[str, int]:
    rows = session.execute(
        select(Case.assigned_handler_id, func.count())
        .where(Case.assigned_handler_id.in_(handler_ids), Case.status.in_(lc.OPEN_STATUSES))
        .group_by(Case.assigned_handler_id)
    ).all()
    return {str(h): int(n) for h, n in rows}


def _assign_note(handler: Handler, target: RouteTarget) -> str:
    how = {"rule": "按分派规则", "default": "按主题默认", "fallback": "兜底"}[target.via]
    group = f"（{target.id} 组内按工作量）" if target.kind == "group" else ""
    return f"{how}自动分派至 {handler.name}（{handler.unit}）{group}"


def _clean_attachments(items: Sequence[Attachment | dict[str, Any]]) -> list[dict[str, Any]]:
    if len(items) > MAX_ATTACHMENTS:
        raise InvalidInputError("too many attachments", user_message=f"附件最多 {MAX_ATTACHMENTS} 个。")
    out: list[dict[str, Any]] = []
    for item in items:
        data = asdict(item) if isinstance(item, Attachment) else dict(item)
        file_id = str(data.get("file_id") or "").strip()
        if not file_id:
            raise InvalidInputError("attachment without file_id", user_message="附件信息不完整，请重新上传。")
        size = data.get("size")
        out.append(
            {
                "file_id": file_id,
                "kind": str(data.get("kind") or "document"),
                "mime": data.get("mime"),
                "size": int(size) if size is not None else None,
                "name": data.get("name"),
            }
        )
    return out


def _clean_note(note: str | None) -> str | None:
    cleaned = (note or "").strip()
    if len(cleaned) > MAX_NOTE_CHARS:
        raise InvalidInputError("note too long", user_message=f"说明文字过长（超过 {MAX_NOTE_CHARS} 字）。")
    return cleaned or None


def _required(text: str | None, message: str) -> str:
    cleaned = _clean_note(text)
    if not cleaned:
        raise InvalidInputError("required text missing", user_message=message)
    return cleaned


def _is_transient(exc: OperationalError) -> bool:
    msg = str(exc.orig).lower() if exc.orig is not None else str(exc).lower()
    return "locked" in msg or "busy" in msg or "deadlock" in msg or "could not serialize" in msg


def _as_utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _lower_bound(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return _as_utc(value)
    return datetime.combine(value, dtime.min, tzinfo=CHINA_TZ).astimezone(UTC)


def _upper_bound(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return _as_utc(value)
    return datetime.combine(value + timedelta(days=1), dtime.min, tzinfo=CHINA_TZ).astimezone(UTC)


def _overdue_clause(now: datetime) -> Any:
    return or_(
        and_(Case.status == lc.PENDING, Case.accept_due < now),
        and_(Case.status.in_((lc.ACCEPTED, lc.IN_PROGRESS)), Case.conclude_due < now),
    )


def _due_soon_clause(now: datetime, days: int) -> Any:
    horizon = now + timedelta(days=days)
    return or_(
        and_(Case.status == lc.PENDING, Case.accept_due >= now, Case.accept_due <= horizon),
        and_(
            Case.status.in_((lc.ACCEPTED, lc.IN_PROGRESS)),
            Case.conclude_due >= now,
            Case.conclude_due <= horizon,
        ),
    )


def _days(a: datetime, b: datetime) -> float:
    return (_as_utc(b) - _as_utc(a)).total_seconds() / 86400


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def _fmt_day(dt: datetime | None) -> str:
    if dt is None:
        return "—"
    local = _as_utc(dt).astimezone(CHINA_TZ)
    return f"{local.year}年{local.month}月{local.day}日"


__all__ = [
    "ROLES",
    "Actor",
    "Attachment",
    "CaseEventView",
    "CaseFilter",
    "CaseService",
    "CaseView",
    "ComplaintIntake",
    "Notice",
    "Notifier",
    "ThemeAggregate",
    "TimingStats",
    "utcnow",
]
