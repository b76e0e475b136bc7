"""合并: fold a duplicate case into another (the same complainant, or the same issue).

The duplicate leaves the lifecycle as 已合并 with ``merged_into`` set and the result
"已合并至 <ticket>"; the surviving case gets a 并入 entry on its timeline, so both histories
show the merge. The duplicate's complainant is told through the outbox and keeps tracking:
``/status <old ticket>`` follows the merge (``merged_target``) and shows the surviving case's
progress, masked.

Errors: ``InvalidInputError`` (merging into itself, unrelated cases), ``NotFoundError`` (an
unknown ticket), ``PermissionDeniedError`` / ``InvalidTransitionError`` / ``CaseError`` as for
every ``CaseService.act`` action.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import object_session

from complaints import lifecycle as lc
from complaints.models import Case, CaseEvent
from complaints.queries import load_case
from complaints.service import CaseService
from complaints.tickets import normalize_ticket
from complaints.types import Actor, CaseView
from complaints.validation import clean_note
from vetbot.errors import InvalidInputError, NotFoundError

MAX_FOLLOW = 5  # merge chains are short; a bound keeps a bad row from looping


def same_issue(a: Case, b: Case) -> bool:
    """Whether two cases may be merged: the same complainant (Telegram chat or phone), or the
    same theme in the same region (several people reporting one bus line)."""
    if a.complainant_chat_id is not None and a.complainant_chat_id == b.complainant_chat_id:
        return True
    if a.complainant_phone and a.complainant_phone == b.complainant_phone:
        return True
    return a.theme == b.theme and a.region == b.region


def merge(service: CaseService, ticket: str, actor: Actor, into: str, note: str | None = None) -> CaseView:
    """Merge the open case ``ticket`` into the case ``into``; returns the merged (duplicate) case."""
    target_ticket = normalize_ticket(into)
    if target_ticket == normalize_ticket(ticket):
        raise InvalidInputError("merge into itself", user_message="不能把案件合并到它自己。")
    note_text = clean_note(note)
    actor = service.recorded_actor(actor)  # the target's event is written here, not by act()

    def apply(case: Case, now: datetime) -> str:
        session = object_session(case)
        assert session is not None  # act() hands in a row of its open session
        target = load_case(session, target_ticket, for_update=True)
        if target.status == lc.MERGED:
            raise InvalidInputError(
                f"{target.ticket} is merged",
                user_message=f"案件 {target.ticket} 本身已合并至 {target.merged_into}，请合并至该案件。",
            )
        if not same_issue(case, target):
            raise InvalidInputError(
                f"{case.ticket} and {target.ticket} unrelated",
                user_message="只能合并同一信访人或同一地区同一主题的重复投诉。",
            )
        case.merged_into = target.ticket
        case.result = f"已合并至 {target.ticket}"
        case.closed_at = now
        target.updated_at = now
        session.add(
            CaseEvent(
                case_id=target.id,
                at=now,
                actor_id=actor.id[:64],
                actor_name=(actor.name or actor.id)[:64],
                actor_role=actor.role,
                action="merged_in",
                from_status=target.status,
                to_status=target.status,
                note=f"并入 {case.ticket}" + (f"：{note_text}" if note_text else ""),
            )
        )
        return f"合并至 {target.ticket}" + (f"：{note_text}" if note_text else "")

    return service.act(
        ticket,
        actor,
        "merge",
        apply,
        lambda c: (
            f"您的投诉（编号 {c.ticket}）与编号 {c.merged_into} 的投诉为同一事项，已合并办理。"
            f"您仍可发送 /status {c.ticket} 查询办理进度。"
        ),
    )


def merged_target(service: CaseService, view: CaseView) -> CaseView | None:
    """The case a merged ``view`` now lives in (following chains), masked; None if not merged."""
    current = view
    for _ in range(MAX_FOLLOW):
        if not current.merged_into:
            break
        try:
            current = service.get(current.merged_into)
        except NotFoundError:
            return None
    return current if current is not view else None


__all__ = ["merge", "merged_target", "same_issue"]
