"""Partner units (协办单位): transfer a case to one, or ask one for 协办 while keeping it.

Many refused benefits are fixed by other departments (交通运输局 for a bus company, 文化和旅游局
for a scenic area, 教育局 for school places...), coordinated by the 双拥办. The routing table
names them (``RoutingTable.partners``). Two ways to involve one:

- 转办 to a partner: ``CaseService.transfer`` with the partner's unit name (the case leaves the
  lifecycle as 已转办; the complainant is told "已转交X办理" and keeps tracking it).
- 协办 (``request_assist``): the owner keeps the case; a ``case_assists`` row asks the partner
  to answer by a deadline (``lifecycle.ASSIST_DAYS`` by default, at most ``MAX_ASSIST_DAYS``).
  The partner answers with ``answer_assist``; both are events on the case's timeline and the
  owner is notified of the answer through the outbox.

A partner account (actor role ``"partner"``, ``Actor.id`` = the partner's id) sees only the
cases sent to its unit (``partner_sees``), always masked.

Errors: ``InvalidInputError`` (missing text, bad days), ``NotFoundError`` (unknown ticket or
partner), ``PermissionDeniedError`` (the actor may not act), ``InvalidTransitionError``
(协办 on a closed case), ``CaseError`` (nothing open to answer).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from complaints import lifecycle as lc
from complaints.models import Case, CaseAssist
from complaints.notices import NoticeDraft
from complaints.queries import load_case, partner_clause
from complaints.routing import Partner
from complaints.service import CaseService
from complaints.tickets import normalize_ticket
from complaints.types import Actor, CaseView
from complaints.validation import required_text
from vetbot.clock import as_utc, to_china
from vetbot.errors import CaseError, InvalidInputError, NotFoundError, PermissionDeniedError
from vetbot.privacy import mask_text


@dataclass(frozen=True)
class AssistView:
    """One 协办 request as shown on the case page (texts masked)."""

    id: int
    partner_id: str
    partner_unit: str
    requested_by: str
    request_note: str
    requested_at: datetime
    due_at: datetime
    answer: str | None
    answered_by: str | None
    answered_at: datetime | None
    overdue: bool


def transfer_to_partner(
    service: CaseService, ticket: str, actor: Actor, partner_id: str, note: str | None = None
) -> CaseView:
    """转办 the case to a partner unit of the routing table (its account then sees the case)."""
    partner = service.routing.partner(partner_id)
    return service.transfer(ticket, actor, partner.unit, note)


def request_assist(
    service: CaseService,
    ticket: str,
    actor: Actor,
    partner_id: str,
    note: str,
    days: int = lc.ASSIST_DAYS,
) -> CaseView:
    """Ask ``partner_id`` for 协办 on an open case; the partner answers within ``days`` days."""
    partner = service.routing.partner(partner_id)
    body = required_text(note, "请填写需要协办单位办理或答复的事项。")
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= lc.MAX_ASSIST_DAYS:
        raise InvalidInputError(
            f"bad assist days {days!r}", user_message=f"协办答复期限必须为 1 至 {lc.MAX_ASSIST_DAYS} 天。"
        )
    due: dict[str, datetime] = {}

    def apply(case: Case, now: datetime) -> str:
        due["at"] = now + timedelta(days=days)
        _session(case).add(
            CaseAssist(
                case_id=case.id,
                partner_id=partner.id,
                partner_unit=partner.unit,
                requested_by=actor.name[:64],
                request_note=body,
                requested_at=now,
                due_at=due["at"],
            )
        )
        return f"请{partner.unit}协办，{_day(due['at'])}前答复：{body}"

    def notices(case: Case) -> list[NoticeDraft]:
        text = f"【协办请求】案件 {case.ticket}，请于 {_day(due['at'])} 前答复：{mask_text(body)}"
        return [_partner_notice(partner, case, text)]

    return service.act(ticket, actor, "assist", apply, None, notices)


def answer_assist(service: CaseService, ticket: str, actor: Actor, text: str) -> CaseView:
    """The partner's answer to its oldest open 协办 request on the case; the owner is notified."""
    body = required_text(text, "请填写协办答复内容。")
    answered: dict[str, str] = {}

    def authorize(case: Case, who: Actor) -> None:
        if who.role != "partner":
            raise PermissionDeniedError(
                f"{who.role}:{who.id} answering assist", user_message="只有被请求协办的单位可以答复协办。"
            )

    def apply(case: Case, now: datetime) -> str:
        row = (
            _session(case)
            .scalars(
                select(CaseAssist)
                .where(
                    CaseAssist.case_id == case.id,
                    CaseAssist.partner_id == actor.id,
                    CaseAssist.answer.is_(None),
                )
                .order_by(CaseAssist.id)
            )
            .first()
        )
        if row is None:
            raise CaseError(
                f"no open assist for {actor.id} on {case.ticket}",
                user_message="本单位在该案件上没有待答复的协办请求。",
            )
        row.answer, row.answered_by, row.answered_at = body, actor.name[:64], now
        answered["unit"] = row.partner_unit
        return f"{row.partner_unit}答复：{body}"

    def notices(case: Case) -> list[NoticeDraft]:
        owner = service.routing.handlers.get(case.assigned_handler_id or "")
        return [
            NoticeDraft(
                chat_id=owner.telegram_chat_id if owner else None,
                kind="handler",
                status=case.status,
                action="assist_reply",
                text=f"【协办答复】案件 {case.ticket}：{answered['unit']}已答复：{mask_text(body)}",
                handler_id=case.assigned_handler_id,
            )
        ]

    return service.act(ticket, actor, "assist_reply", apply, None, notices, authorize=authorize)


def assists_of(service: CaseService, ticket: str) -> list[AssistView]:
    """The 协办 requests of a case, oldest first; ``NotFoundError`` for an unknown ticket."""
    ticket = normalize_ticket(ticket)
    now = service.now()
    with service.session_factory() as session:
        case = load_case(session, ticket)
        rows = session.scalars(
            select(CaseAssist).where(CaseAssist.case_id == case.id).order_by(CaseAssist.id)
        )
        return [
            AssistView(
                id=r.id,
                partner_id=r.partner_id,
                partner_unit=r.partner_unit,
                requested_by=r.requested_by,
                request_note=mask_text(r.request_note),
                requested_at=as_utc(r.requested_at),
                due_at=as_utc(r.due_at),
                answer=mask_text(r.answer) if r.answer else None,
                answered_by=r.answered_by,
                answered_at=as_utc(r.answered_at) if r.answered_at else None,
                overdue=r.answer is None and now > as_utc(r.due_at),
            )
            for r in rows
        ]


def partner_sees(service: CaseService, ticket: str, partner_id: str) -> bool:
    """Whether the partner unit ``partner_id`` may see the case (sent to it)."""
    ticket = normalize_ticket(ticket)
    partner = service.routing.partners.get(partner_id)
    with service.session_factory() as session:
        found = session.scalar(
            select(Case.id).where(
                Case.ticket == ticket, partner_clause(partner.unit if partner else None, partner_id)
            )
        )
    return found is not None


def check_partner_sees(service: CaseService, ticket: str, partner_id: str) -> None:
    """``NotFoundError`` (the same answer as an unknown ticket) unless the case was sent to the partner."""
    if not partner_sees(service, ticket, partner_id):
        raise NotFoundError(
            f"{ticket} not sent to {partner_id}", user_message=f"未找到编号为 {ticket} 的投诉。"
        )


def _partner_notice(partner: Partner, case: Case, text: str) -> NoticeDraft:
    return NoticeDraft(
        chat_id=partner.telegram_chat_id,
        kind="handler",
        status=case.status,
        action="assist",
        text=text,
        handler_id=partner.id,
    )


def _session(case: Case) -> Session:
    session = object_session(case)
    assert session is not None  # act() hands in a row of its open session
    return session


def _day(dt: datetime) -> str:
    local = to_china(dt)
    return f"{local.year}年{local.month}月{local.day}日"


__all__ = [
    "AssistView",
    "answer_assist",
    "assists_of",
    "check_partner_sees",
    "partner_sees",
    "request_assist",
    "transfer_to_partner",
]
