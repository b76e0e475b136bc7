"""The read side of the case store: single cases, filtered lists, overdue and due-soon cases.

``CaseQueries`` holds the injected session factory, routing table and clock; the case service
(``complaints.service.CaseService``) extends it with the actions. Every view is built by
``complaints.views.case_view``, so personal numbers are masked unless the viewer is the case's
assigned caseworker.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from datetime import time as dtime
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from complaints import lifecycle as lc
from complaints.models import Case, CaseAssist, CaseEvent
from complaints.routing import RoutingTable
from complaints.themes import THEMES
from complaints.tickets import normalize_ticket
from complaints.types import ROLES, SORTS, Actor, CaseFilter, CaseView
from complaints.views import case_view
from vetbot import regions
from vetbot.clock import CHINA_TZ, as_utc, utcnow
from vetbot.errors import InvalidInputError, NotFoundError, PermissionDeniedError

MAX_LIST_LIMIT = 5000


class CaseQueries:
    """Read-only access to complaint cases (no notifier, no classifier needed)."""

    def __init__(
        self,
        session_factory: Callable[[], Session],
        routing: RoutingTable,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = session_factory
        self.routing = routing
        self._clock = clock

    @property
    def session_factory(self) -> Callable[[], Session]:
        """The injected session factory (used by ``complaints.outbox``)."""
        return self._sessions

    def now(self) -> datetime:
        """The clock's current time, aware UTC (the outbox schedules retries with it)."""
        return as_utc(self._clock())

    def _view(
        self,
        case: Case,
        viewer: Actor | None,
        events: list[CaseEvent] | None = None,
        now: datetime | None = None,
        reveal: bool = False,
        for_complainant: bool = False,
    ) -> CaseView:
        return case_view(
            case,
            viewer,
            self.routing,
            now or self.now(),
            events or (),
            reveal=reveal,
            for_complainant=for_complainant,
        )

    def get(
        self, ticket: str, actor: Actor | None = None, *, reveal: bool = False, for_complainant: bool = False
    ) -> CaseView:
        """One case with its history; masked unless ``actor`` is the assigned caseworker or the
        caller entitles the viewer with ``reveal`` (an admin; the caller audits it).
        ``for_complainant``: the caller has checked that the viewer is the complainant (the filing
        chat or a verified follower); phone numbers in staff-written texts stay readable
        (``complaints.views.case_view``).

        Raises ``InvalidInputError`` for a malformed ticket, ``NotFoundError`` for an unknown one.
        """
        ticket = normalize_ticket(ticket)
        with self._sessions() as session:
            case = load_case(session, ticket)
            return self._view(
                case, actor, events_of(session, case.id), reveal=reveal, for_complainant=for_complainant
            )

    def get_for_complainant(self, ticket: str, chat_id: int) -> CaseView:
        """A complainant's own case; someone else's ticket raises ``NotFoundError`` too."""
        view = self.get(ticket, for_complainant=True)
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
            now = self.now()
            return [self._view(c, None, now=now, for_complainant=True) for c in rows]

    def list_cases(self, filters: CaseFilter, actor: Actor) -> list[CaseView]:
        """Cases matching ``filters``, sorted by ``filters.sort`` (at most ``MAX_LIST_LIMIT``).

        Caseworkers see only their own cases unless ``filters.unit`` is their own unit;
        office/admin/system see all. Raises ``PermissionDeniedError`` for complainants,
        unknown roles and a caseworker asking for another's cases or another unit;
        ``InvalidInputError`` for an unknown status, theme or sort key.
        """
        now = self.now()
        stmt = select(Case).where(*self._conditions(filters, actor, now))
        limit = max(1, min(filters.limit, MAX_LIST_LIMIT))
        stmt = stmt.order_by(*_order_by(filters.sort)).offset(max(filters.offset, 0)).limit(limit)
        with self._sessions() as session:
            rows = session.scalars(stmt).all()
            return [self._view(c, actor, now=now) for c in rows]

    def count_cases(self, filters: CaseFilter, actor: Actor) -> int:
        """How many cases match ``filters`` (ignoring limit/offset); same errors as ``list_cases``."""
        conditions = self._conditions(filters, actor, self.now())
        with self._sessions() as session:
            return int(session.scalar(select(func.count(Case.id)).where(*conditions)) or 0)

    def _conditions(self, filters: CaseFilter, actor: Actor, now: datetime) -> list[Any]:
        if actor.role == "complainant":
            raise PermissionDeniedError("complainant listing cases", user_message="您没有权限查看案件列表。")
        if actor.role not in ROLES:
            raise PermissionDeniedError(f"unknown role {actor.role!r}")
        caseworker_id = filters.handler_id
        conditions: list[Any] = []
        if actor.role == "partner":
            # A partner unit sees only the cases sent to it (转办 or 协办), whatever it asks for.
            partner = self.routing.partners.get(actor.id)
            conditions.append(partner_clause(partner.unit if partner else None, actor.id))
        if actor.role == "handler":
            own_unit = self.routing.handlers.get(actor.id)
            if filters.unit and (own_unit is None or filters.unit != own_unit.unit):
                raise PermissionDeniedError(
                    "caseworker listing another unit", user_message="承办人只能查看本单位的案件。"
                )
            if caseworker_id and caseworker_id != actor.id:
                raise PermissionDeniedError(
                    "caseworker listing another caseworker", user_message="承办人只能查看分派给自己的案件。"
                )
            if not filters.unit:
                caseworker_id = actor.id
        if filters.status:
            if filters.status not in lc.STATUSES:
                raise InvalidInputError(
                    f"bad status {filters.status!r}",
                    user_message=f"未知的案件状态：{filters.status}（可选：{'、'.join(lc.STATUSES)}）。",
                )
            conditions.append(Case.status == filters.status)
        if filters.theme:
            if filters.theme not in THEMES:
                raise InvalidInputError(
                    f"bad theme {filters.theme!r}", user_message=f"未知的投诉主题：{filters.theme}。"
                )
            conditions.append(Case.theme == filters.theme)
        if filters.region:
            conditions.append(Case.region.in_(self._region_variants(filters.region)))
        if caseworker_id:
            conditions.append(Case.assigned_handler_id == caseworker_id)
        if filters.unit:
            conditions.append(Case.assigned_unit == filters.unit)
        if filters.created_from is not None:
            conditions.append(Case.created_at >= lower_bound(filters.created_from))
        if filters.created_to is not None:
            conditions.append(Case.created_at < upper_bound(filters.created_to))
        if filters.overdue:
            conditions.append(overdue_clause(now))
        if filters.due_soon:
            conditions.append(due_soon_clause(now, filters.due_soon_days))
        if filters.q and filters.q.strip():
            needle = f"%{_escape_like(filters.q.strip())}%"
            conditions.append(
                or_(Case.ticket.ilike(needle, escape="\\"), Case.text.ilike(needle, escape="\\"))
            )
        if filters.complainant_phone:
            conditions.append(Case.complainant_phone == filters.complainant_phone)
        if filters.complainant_chat_id is not None:
            conditions.append(Case.complainant_chat_id == filters.complainant_chat_id)
        return conditions

    def related_cases(self, ticket: str, limit: int = 20) -> list[CaseView]:
        """The complainant's other cases (same Telegram chat or same phone), newest first, masked.

        Raises ``InvalidInputError`` / ``NotFoundError`` for a malformed / unknown ticket."""
        ticket = normalize_ticket(ticket)
        with self._sessions() as session:
            case = load_case(session, ticket)
            same = []
            if case.complainant_chat_id is not None:
                same.append(Case.complainant_chat_id == case.complainant_chat_id)
            if case.complainant_phone:
                same.append(Case.complainant_phone == case.complainant_phone)
            if not same:
                return []
            rows = session.scalars(
                select(Case)
                .where(or_(*same), Case.id != case.id)
                .order_by(Case.created_at.desc(), Case.id.desc())
                .limit(limit)
            ).all()
            now = self.now()
            return [self._view(c, None, now=now) for c in rows]

    def overdue(self, now: datetime | None = None) -> list[CaseView]:
        """Open cases past the deadline of their current status, most overdue first (masked)."""
        at = as_utc(now) if now is not None else self.now()
        with self._sessions() as session:
            rows = session.scalars(select(Case).where(overdue_clause(at))).all()
            views = [self._view(c, None, now=at) for c in rows]
        return sorted(views, key=lambda v: (v.due_at or at, v.ticket))

    def due_soon(self, days: int = 3, now: datetime | None = None) -> list[CaseView]:
        """Open cases whose current deadline falls within ``days`` days, soonest first (masked)."""
        at = as_utc(now) if now is not None else self.now()
        with self._sessions() as session:
            rows = session.scalars(select(Case).where(due_soon_clause(at, days))).all()
            views = [self._view(c, None, now=at) for c in rows]
        return sorted(views, key=lambda v: (v.due_at or at, v.ticket))

    def _region_variants(self, region: str) -> list[str]:
        # Cases store the table's spelling or, for a place the table lacks, what was typed.
        canonical = self.routing.canonical_region(region)
        return sorted({region.strip(), canonical, *regions.spellings(region), *regions.spellings(canonical)})


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _order_by(sort: str) -> list[Any]:
    """ORDER BY for a ``CaseFilter.sort`` key; ``InvalidInputError`` for an unknown key."""
    key = (sort or "-created").strip()
    descending = key.startswith("-")
    key = key.lstrip("-")
    if key not in SORTS:
        raise InvalidInputError(f"bad sort {sort!r}", user_message=f"未知的排序方式：{sort}。")
    column: Any
    if key == "due":
        # The deadline of the current status; closed cases (no deadline) sort last.
        column = case(
            (Case.status == lc.PENDING, Case.accept_due),
            (Case.status.in_((lc.ACCEPTED, lc.IN_PROGRESS)), Case.conclude_due),
            else_=None,
        )
        return [column.is_(None), column.desc() if descending else column.asc(), Case.id]
    column = {
        "created": Case.created_at,
        "updated": Case.updated_at,
        "ticket": Case.ticket,
        "status": Case.status,
    }[key]
    return [column.desc() if descending else column.asc(), Case.id.desc() if descending else Case.id]


def load_case(session: Session, ticket: str, for_update: bool = False) -> Case:
    """The case row of ``ticket`` (locked with ``for_update``); ``NotFoundError`` if none."""
    stmt = select(Case).where(Case.ticket == ticket)
    if for_update:
        stmt = stmt.with_for_update()
    case = session.scalars(stmt).one_or_none()
    if case is None:
        raise NotFoundError(f"case {ticket} not found", user_message=f"未找到编号为 {ticket} 的投诉。")
    return case


def events_of(session: Session, case_id: int) -> list[CaseEvent]:
    """The history of one case, oldest first."""
    return list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)))


def lower_bound(value: date | datetime) -> datetime:
    """Inclusive lower bound: a ``date`` is the start of that China-local day."""
    if isinstance(value, datetime):
        return as_utc(value)
    return as_utc(datetime.combine(value, dtime.min, tzinfo=CHINA_TZ))


def upper_bound(value: date | datetime) -> datetime:
    """Exclusive upper bound: a ``date`` counts in full (the start of the next China-local day)."""
    if isinstance(value, datetime):
        return as_utc(value)
    return as_utc(datetime.combine(value + timedelta(days=1), dtime.min, tzinfo=CHINA_TZ))


def partner_clause(unit: str | None, partner_id: str) -> Any:
    """SQL condition: the case was sent to a partner unit (transferred to ``unit`` or 协办 asked)."""
    asked = Case.id.in_(select(CaseAssist.case_id).where(CaseAssist.partner_id == partner_id))
    return or_(Case.transferred_to == unit, asked) if unit else asked


def overdue_clause(now: datetime) -> Any:
    """SQL condition: the deadline of the case's current status passed before ``now``."""
    return or_(
        and_(Case.status == lc.PENDING, Case.accept_due < now),
        and_(Case.status.in_((lc.ACCEPTED, lc.IN_PROGRESS)), Case.conclude_due < now),
    )


def due_soon_clause(now: datetime, days: int) -> Any:
    """SQL condition: the current deadline falls within ``[now, now + days]``."""
    horizon = now + timedelta(days=days)
    return or_(
        and_(Case.status == lc.PENDING, Case.accept_due >= now, Case.accept_due <= horizon),
        and_(
            Case.status.in_((lc.ACCEPTED, lc.IN_PROGRESS)),
            Case.conclude_due >= now,
            Case.conclude_due <= horizon,
        ),
    )


__all__ = [
    "MAX_LIST_LIMIT",
    "CaseQueries",
    "due_soon_clause",
    "events_of",
    "load_case",
    "lower_bound",
    "overdue_clause",
    "partner_clause",
    "upper_bound",
]
