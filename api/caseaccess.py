"""Who may see and do what on the web case pages (``api.casepages``, ``api.casepartner``).

- Caseworker (承办人): the cases of their own unit; acts on those assigned to them.
- Office (双拥办) and admin: every case; 督办/催办, 改派, 合并, 协办 on any.
- Partner unit (协办单位): only the cases sent to its unit (转办 to it or 协办 asked of it); a
  case outside that answers 404 like an unknown ticket; may answer its open 协办 request.

Personal data: the assigned caseworker and an admin see names and ID/phone/card numbers in
clear, everyone else masked (张** / 138****5678); each unmasked view is written to the audit log.
"""

from __future__ import annotations

from fastapi import Request

from api.login import client_ip
from api.routers.complaints import case_actor
from api.runtime import Runtime
from api.users import PERM_CASES_ALL, Principal
from complaints import lifecycle as lc
from complaints.partners import AssistView, check_partner_sees
from complaints.types import Actor, CaseFilter, CaseView
from complaints.views import with_name_for
from vetbot.errors import PermissionDeniedError

# Web form action -> label on the buttons, in display order.
ACTION_LABELS = {
    "accept": "签收/受理",
    "start": "开始办理",
    "reply": "中间答复",
    "extend": "延期",
    "assist": "发起协办",
    "transfer": "转办",
    "conclude": "办结",
    "reject": "不予受理",
    "merge": "合并重复件",
    "reassign": "改派",
    "supervise": "督办/催办",
    "followup": "回访",
    "assist_reply": "答复协办",
    "note": "内部备注",
    "phone": "补登/更正联系电话",
}

VIEW_LABELS = {"mine": "我的案件", "unit": "本单位", "all": "全部案件", "partner": "转交/协办本单位"}


def case_actor_of(principal: Principal) -> Actor:
    """The case-store actor of a web user; ``PermissionDeniedError`` for one outside the case store."""
    actor = case_actor(principal)
    if actor is None:
        raise PermissionDeniedError("no case actor", user_message="该身份不能办理案件。")
    return actor


def views_for(principal: Principal) -> list[str]:
    """The queue views this user may switch between (the first is the default)."""
    if principal.role == "partner":
        return ["partner"]
    return ["all"] if principal.can(PERM_CASES_ALL) else ["mine", "unit"]


def unit_of(runtime: Runtime, actor: Actor) -> str | None:
    """The unit of a caseworker (or partner) actor, None for office/admin."""
    caseworker = runtime.cases.routing.handlers.get(actor.id)
    if caseworker is not None:
        return caseworker.unit
    partner = runtime.cases.routing.partners.get(actor.id) if actor.role == "partner" else None
    return partner.unit if partner else None


def load_for_viewer(runtime: Runtime, principal: Principal, ticket: str) -> tuple[Actor, CaseView]:
    """The case as this principal may see it (names masked unless entitled).

    403 for a caseworker of another unit; 404 for a partner the case was not sent to."""
    actor = case_actor_of(principal)
    if actor.role == "partner":
        check_partner_sees(runtime.cases, ticket, actor.id)
    view = runtime.cases.get(ticket, actor, reveal=principal.role == "admin")
    same_unit = view.assigned_unit is not None and view.assigned_unit == unit_of(runtime, actor)
    if (
        actor.role != "partner"
        and not principal.can(PERM_CASES_ALL)
        and view.assigned_handler_id != actor.id
        and not same_unit
    ):
        raise PermissionDeniedError(
            f"{actor.id} viewing {view.ticket}", user_message="该案件不属于您所在单位，无权查看。"
        )
    return actor, with_name_for(view, admin=principal.role == "admin")


def actions_for(
    principal: Principal,
    actor: Actor,
    view: CaseView,
    assists: list[AssistView] | None = None,
    duplicates: list[CaseView] | None = None,
) -> list[str]:
    """The web actions this principal may take on the case now (what the lifecycle allows).

    合并 is offered only when ``duplicates`` (candidate cases to merge into) is not empty."""
    if actor.role == "partner":
        waiting = any(a.partner_id == actor.id and a.answer is None for a in assists or [])
        return ["assist_reply"] if waiting else []
    office = principal.can(PERM_CASES_ALL)
    if not office and view.assigned_handler_id != actor.id:
        return []
    # 督办 and 改派 are the office's; 回访 only while unrated; the complainant's own rating is not staff's.
    allowed = set(view.allowed_actions) - {"supervise", "followup", "rate"}
    if office and view.status in lc.OPEN_STATUSES:
        allowed.add("supervise")
    elif not office:
        allowed.discard("reassign")
    if view.status == lc.CONCLUDED and view.rating is None:
        allowed.add("followup")
    if not duplicates:
        allowed.discard("merge")
    # Whoever may act on the case may add a note, and add or correct the complainant's phone.
    allowed.update(("note", "phone"))
    return [a for a in ACTION_LABELS if a in allowed]


def merge_candidates(runtime: Runtime, actor: Actor, view: CaseView) -> list[CaseView]:
    """Cases ``view`` could be merged into: the complainant's other cases and open cases of the
    same theme and region that the actor can see (not the case itself, none already merged)."""
    if actor.role == "partner" or view.status not in lc.OPEN_STATUSES:
        return []
    cases = runtime.cases
    same_person = cases.related_cases(view.ticket)
    same_issue = [
        c
        for status in lc.OPEN_STATUSES
        for c in cases.list_cases(
            CaseFilter(theme=view.theme, region=view.region, status=status, sort="created", limit=20), actor
        )
    ]
    seen: dict[str, CaseView] = {}
    for c in [*same_person, *same_issue]:
        if c.ticket != view.ticket and c.status != lc.MERGED and c.ticket not in seen:
            seen[c.ticket] = c
    return list(seen.values())


def audit_unmasked(
    runtime: Runtime, principal: Principal, request: Request, view: CaseView, what: str
) -> None:
    """Write ``case.view_unmasked`` to the audit log when ``view`` shows personal data in clear."""
    if not view.masked:
        runtime.users.audit(
            principal.audit_name,
            "case.view_unmasked",
            f"case:{view.ticket}",
            {"page": what},
            ip=client_ip(request),
        )


__all__ = [
    "ACTION_LABELS",
    "VIEW_LABELS",
    "actions_for",
    "audit_unmasked",
    "case_actor_of",
    "load_for_viewer",
    "merge_candidates",
    "unit_of",
    "views_for",
]
