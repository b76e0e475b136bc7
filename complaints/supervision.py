"""Case actions beyond the statutory lifecycle: internal notes, 督办/催办 and 回访.

Each is one event in the case's append-only history, written through ``CaseService.act`` so
permission, lifecycle and the outbox work as for every other action:

- ``add_note``: an internal note (内部备注) for colleagues; never sent or shown to the complainant.
- ``supervise``: 督办 / 催办 by the office (双拥办) or an admin; the assigned caseworker is
  notified through the outbox.
- ``supervise_unit``: 督办 / 催办 of every open case of a unit at once.
- ``follow_up``: 回访 after 已办结: staff record the satisfaction the complainant gave by phone
  or at the window (the complainant's own rating in Telegram is ``CaseService.rate``).

Raise ``InvalidInputError`` for missing text or a bad rating, ``PermissionDeniedError`` when the
actor may not act, ``InvalidTransitionError`` when the status does not allow it, ``CaseError``
when the case was already rated.
"""

from __future__ import annotations

from datetime import datetime

from complaints import lifecycle as lc
from complaints.models import Case
from complaints.notices import NoticeDraft
from complaints.service import CaseService
from complaints.types import STAFF_ROLES, Actor, CaseFilter, CaseView
from complaints.validation import required_text
from vetbot.errors import CaseError, InvalidInputError, PermissionDeniedError

SUPERVISION_KINDS = ("督办", "催办")


def add_note(service: CaseService, ticket: str, actor: Actor, text: str) -> CaseView:
    """Append an internal note (assigned caseworker, office or admin); no notice is sent."""
    body = required_text(text, "备注内容不能为空。")
    return service.act(ticket, actor, "note", lambda case, now: body, None)


def supervise(service: CaseService, ticket: str, actor: Actor, kind: str, text: str) -> CaseView:
    """督办 or 催办 an open case (office/admin only); the caseworker gets the message in Telegram."""
    if actor.role not in STAFF_ROLES:
        raise PermissionDeniedError(
            f"{actor.role}:{actor.id} supervising {ticket}",
            user_message="只有双拥办或管理员可以督办、催办案件。",
        )
    if kind not in SUPERVISION_KINDS:
        raise InvalidInputError(f"bad supervision kind {kind!r}", user_message="督办类型只能是：督办、催办。")
    body = required_text(text, f"请填写{kind}意见。")

    def notices(case: Case) -> list[NoticeDraft]:
        caseworker = service.routing.handlers.get(case.assigned_handler_id or "")
        return [
            NoticeDraft(
                chat_id=caseworker.telegram_chat_id if caseworker else None,
                kind="handler",
                status=case.status,
                action="supervise",
                text=f"【{kind}】案件 {case.ticket}（{case.status}）：{body}",
                handler_id=case.assigned_handler_id,
            )
        ]

    return service.act(ticket, actor, "supervise", lambda case, now: f"{kind}：{body}", None, notices)


def supervise_unit(service: CaseService, unit: str, actor: Actor, kind: str, text: str) -> list[str]:
    """督办 or 催办 every open case of ``unit`` (office/admin only): each case gets the event and
    its caseworker the Telegram notice. Returns the tickets supervised (oldest first).

    Raises ``InvalidInputError`` for an unknown unit or missing text, ``PermissionDeniedError``
    for anyone but office/admin."""
    if actor.role not in STAFF_ROLES:
        raise PermissionDeniedError(
            f"{actor.role}:{actor.id} supervising unit {unit}",
            user_message="只有双拥办或管理员可以督办、催办案件。",
        )
    known = {h.unit for h in service.routing.handlers.values()}
    if unit not in known:
        raise InvalidInputError(f"unknown unit {unit!r}", user_message=f"投诉分派表中没有单位“{unit}”。")
    body = required_text(text, f"请填写{kind}意见。")
    tickets: list[str] = []
    for status in lc.OPEN_STATUSES:
        views = service.list_cases(CaseFilter(unit=unit, status=status, sort="created", limit=5000), actor)
        tickets.extend(v.ticket for v in views)
    for ticket in tickets:
        supervise(service, ticket, actor, kind, f"（对{unit}{kind}）{body}")
    return tickets


def follow_up(
    service: CaseService, ticket: str, actor: Actor, rating: str, note: str | None = None
) -> CaseView:
    """回访: record the complainant's satisfaction (满意/基本满意/不满意) for a concluded case."""
    rating = (rating or "").strip()
    if rating not in lc.RATINGS:
        raise InvalidInputError(
            f"bad rating {rating!r}", user_message=f"评价只能是：{'、'.join(lc.RATINGS)}。"
        )
    extra = (note or "").strip()

    def apply(case: Case, now: datetime) -> str:
        if case.rating is not None:
            raise CaseError(f"{case.ticket} already rated", user_message=f"该案件已有评价（{case.rating}）。")
        case.rating, case.rated_at = rating, now
        return f"回访满意度：{rating}" + (f"；{extra}" if extra else "")

    return service.act(ticket, actor, "followup", apply, None)


__all__ = ["SUPERVISION_KINDS", "add_note", "follow_up", "supervise", "supervise_unit"]
