"""The caseworkers' workspace on the web: the case queue, the case page, its actions and files.

``/cases`` lists cases (caseworker: 我的案件 / 本单位; office and admin: 全部) with filters,
full-text search, sorting, pages and counts per view; ``/cases/{ticket}`` shows one case
(history, messages, internal notes, deadlines with their legal basis, the complainant's other
cases, attachments inline) with the actions valid in its current status (and, in every status,
内部备注 and 补登/更正联系电话: a walk-in case registered without a phone gets one later);
``/cases/{ticket}/print`` is the printable work order (打印工单). Every change goes through
``CaseService`` (and ``complaints.supervision`` / ``complaints.contact`` /
``complaints.attachments``), so it lands in the case history and the
complainant hears of it through the outbox. Forms work without JavaScript.

Who sees what: a caseworker sees the cases of their own unit and acts only on those assigned to
them; office (双拥办) and admin see and act on all. Personal numbers are shown unmasked only to
the assigned caseworker, and each such view is written to the audit log.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from api.caseaccess import (
    ACTION_LABELS,
    VIEW_LABELS,
    actions_for,
    audit_unmasked,
    case_actor_of,
    load_for_viewer,
    merge_candidates,
    unit_of,
    views_for,
)
from api.deps import RuntimeDep, page_require
from api.runtime import Runtime
from api.templating import render
from api.users import PERM_CASES_ALL, PERM_CASES_OWN, Principal
from complaints import lifecycle as lc
from complaints.attachments import AttachmentStore, attach_file, stored_attachment
from complaints.contact import set_contact_phone
from complaints.merging import merge
from complaints.partners import answer_assist, assists_of, request_assist, transfer_to_partner
from complaints.supervision import SUPERVISION_KINDS, add_note, follow_up, supervise
from complaints.themes import THEMES
from complaints.types import Actor, CaseFilter, CaseView
from vetbot.clock import to_china
from vetbot.errors import InvalidInputError, PermissionDeniedError, VetbotError

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 25
SORT_LABELS = {
    "-created": "登记时间（新→旧）",
    "created": "登记时间（旧→新）",
    "due": "期限（近→远）",
    "-updated": "最近更新",
    "ticket": "受理编号",
}
SOON_DAYS = 3

CaseworkPrincipal = Annotated[Principal, Depends(page_require(PERM_CASES_OWN))]


def _scope(runtime: Runtime, principal: Principal, actor: Actor, view: str) -> CaseFilter:
    if view == "unit":
        return CaseFilter(unit=unit_of(runtime, actor) or "—")
    if view == "mine":
        return CaseFilter(handler_id=actor.id)
    return CaseFilter()


def _day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInputError(f"bad date {value!r}", user_message="日期格式应为 YYYY-MM-DD。") from exc


def deadline_class(view: CaseView, now: Any) -> str:
    """CSS class of a case's deadline: ``overdue`` (red), ``soon`` (amber, ≤3 days) or ``""``."""
    if view.overdue:
        return "overdue"
    if view.due_at is not None and (view.due_at - now).total_seconds() <= SOON_DAYS * 86400:
        return "soon"
    return ""


@router.get("/cases", response_class=HTMLResponse)
def case_list(
    request: Request,
    runtime: RuntimeDep,
    principal: CaseworkPrincipal,
    view: str | None = None,
    status: str | None = None,
    theme: str | None = None,
    region: str | None = None,
    unit: str | None = None,
    overdue: bool = False,
    due_soon: bool = False,
    created_from: str | None = None,
    created_to: str | None = None,
    q: str | None = None,
    sort: str = "-created",
    page: int = 1,
) -> HTMLResponse:
    """The case queue with filters, search, sorting, pages and per-view counts."""
    actor = case_actor_of(principal)
    views = views_for(principal)
    current = view if view in views else views[0]
    scope = _scope(runtime, principal, actor, current)
    filters = replace(
        scope,
        status=status or None,
        theme=theme or None,
        region=region or None,
        unit=scope.unit or (unit or None),
        overdue=overdue,
        due_soon=due_soon,
        created_from=_day(created_from),
        created_to=_day(created_to),
        q=(q or "").strip()[:100] or None,
        sort=sort if sort in SORT_LABELS else "-created",
        limit=PAGE_SIZE,
        offset=(max(page, 1) - 1) * PAGE_SIZE,
    )
    cases = runtime.cases
    total = cases.count_cases(filters, actor)
    rows = cases.list_cases(filters, actor)
    counts = {
        v: cases.count_cases(replace(_scope(runtime, principal, actor, v), status=None), actor) for v in views
    }
    open_counts = {
        "overdue": cases.count_cases(replace(scope, overdue=True), actor),
        "due_soon": cases.count_cases(replace(scope, due_soon=True), actor),
    }
    params = {
        k: v
        for k, v in {
            "view": current,
            "status": status,
            "theme": theme,
            "region": region,
            "unit": unit,
            "overdue": "true" if overdue else None,
            "due_soon": "true" if due_soon else None,
            "created_from": created_from,
            "created_to": created_to,
            "q": q,
            "sort": sort,
        }.items()
        if v
    }
    now = cases.now()
    return render(
        request,
        "cases/list.html",
        title="案件办理",
        rows=[(c, deadline_class(c, now)) for c in rows],
        total=total,
        page=max(page, 1),
        pages=max(1, math.ceil(total / PAGE_SIZE)),
        query=urlencode(params),
        params=params,
        views=[(v, VIEW_LABELS[v], counts[v]) for v in views],
        current_view=current,
        open_counts=open_counts,
        statuses=lc.STATUSES,
        themes=THEMES,
        regions=cases.routing.regions(),
        units=sorted({h.unit for h in cases.routing.handlers.values()}),
        show_unit_filter=principal.can(PERM_CASES_ALL),
        sorts=SORT_LABELS,
    )


@router.get("/cases/{ticket}", response_class=HTMLResponse)
def case_page(
    request: Request,
    runtime: RuntimeDep,
    principal: CaseworkPrincipal,
    ticket: str,
    done: str | None = None,
    error: str | None = None,
) -> HTMLResponse:
    """One case: timeline, messages, notes, deadlines, other cases, files and valid actions."""
    actor, view = load_for_viewer(runtime, principal, ticket)
    audit_unmasked(runtime, principal, request, view, "case")
    assists = assists_of(runtime.cases, view.ticket)
    # A partner sees the case it was sent, not the complainant's other cases.
    others = [] if actor.role == "partner" else runtime.cases.related_cases(view.ticket)
    duplicates = merge_candidates(runtime, actor, view)
    now = runtime.cases.now()
    return render(
        request,
        "cases/detail.html",
        title=f"案件 {view.ticket}",
        case=view,
        deadline=deadline_class(view, now),
        actions=actions_for(principal, actor, view, assists, duplicates),
        assists=assists,
        partners=runtime.cases.routing.partners_for(view.theme, view.region),
        merge_targets=duplicates,
        action_labels=ACTION_LABELS,
        supervision_kinds=SUPERVISION_KINDS,
        ratings=lc.RATINGS,
        legal=lc.LEGAL_BASIS,
        caseworkers=sorted(runtime.cases.routing.handlers.values(), key=lambda h: h.id),
        others=others,
        internal=lc.INTERNAL_ACTIONS,
        done=done,
        error=error,
    )


@router.post("/cases/{ticket}/act", response_model=None)
async def case_action(
    request: Request,
    runtime: RuntimeDep,
    principal: CaseworkPrincipal,
    ticket: str,
    action: Annotated[str, Form(max_length=16)],
    note: Annotated[str, Form(max_length=2000)] = "",
    to: Annotated[str, Form(max_length=128)] = "",
    days: Annotated[str, Form(max_length=3)] = "",
    rating: Annotated[str, Form(max_length=8)] = "",
    kind: Annotated[str, Form(max_length=8)] = "",
    handler_id: Annotated[str, Form(max_length=64)] = "",
    partner_id: Annotated[str, Form(max_length=64)] = "",
    into: Annotated[str, Form(max_length=32)] = "",
    phone: Annotated[str, Form(max_length=32)] = "",
) -> RedirectResponse:
    """Perform one action; back to the case page with a confirmation or the reason it failed."""
    target = f"/cases/{quote(ticket)}"

    def work() -> None:
        actor, view = load_for_viewer(runtime, principal, ticket)
        assists = assists_of(runtime.cases, view.ticket)
        duplicates = merge_candidates(runtime, actor, view) if action == "merge" else []
        if action not in actions_for(principal, actor, view, assists, duplicates):
            raise PermissionDeniedError(
                f"{action} not offered",
                user_message=f"当前不能进行“{ACTION_LABELS.get(action, action)}”操作。",
            )
        form = _Form(
            note.strip(), to, days, rating, kind, handler_id, partner_id.strip(), into.strip(), phone.strip()
        )
        _perform(runtime, actor, view.ticket, action, form)

    try:
        await run_in_threadpool(work)
    except VetbotError as exc:
        return RedirectResponse(f"{target}?{urlencode({'error': exc.user_message})}", status_code=303)
    return RedirectResponse(
        f"{target}?{urlencode({'done': ACTION_LABELS.get(action, action)})}", status_code=303
    )


@dataclass(frozen=True)
class _Form:
    note: str
    to: str
    days: str
    rating: str
    kind: str
    handler_id: str
    partner_id: str
    into: str
    phone: str


def _days(value: str, default: int | None = None) -> int:
    if not value.strip() and default is not None:
        return default
    if not value.strip().isdigit():
        raise InvalidInputError("bad days", user_message="天数必须为 1 至 30 天。")
    return int(value)


def _perform(runtime: Runtime, actor: Actor, ticket: str, action: str, f: _Form) -> None:
    cases = runtime.cases
    text = f.note
    if action == "accept":
        cases.accept(ticket, actor, text or None)
    elif action == "start":
        cases.start(ticket, actor, text or None)
    elif action == "reply":
        cases.reply(ticket, actor, text)
    elif action == "conclude":
        cases.conclude(ticket, actor, text)
    elif action == "reject":
        cases.reject(ticket, actor, text)
    elif action == "transfer" and f.partner_id:
        transfer_to_partner(cases, ticket, actor, f.partner_id, text or None)
    elif action == "transfer":
        cases.transfer(ticket, actor, f.to, text or None)
    elif action == "extend":
        cases.extend(ticket, actor, _days(f.days), text)
    elif action == "assist":
        request_assist(cases, ticket, actor, f.partner_id, text, _days(f.days, lc.ASSIST_DAYS))
    elif action == "assist_reply":
        answer_assist(cases, ticket, actor, text)
    elif action == "merge":
        merge(cases, ticket, actor, f.into, text or None)
    elif action == "reassign":
        cases.reassign(ticket, actor, f.handler_id, text or None)
    elif action == "supervise":
        supervise(cases, ticket, actor, f.kind or "督办", text)
    elif action == "followup":
        follow_up(cases, ticket, actor, f.rating, text or None)
    elif action == "phone":
        set_contact_phone(cases, ticket, actor, f.phone, text or None)
    else:  # note
        add_note(cases, ticket, actor, text)


def attachment_store(runtime: Runtime) -> AttachmentStore:
    """Case files live under ``<data_dir>/case-files``."""
    return AttachmentStore(runtime.settings.data_dir / "case-files")


@router.post("/cases/{ticket}/files", response_model=None)
async def case_upload(
    runtime: RuntimeDep,
    principal: CaseworkPrincipal,
    ticket: str,
    file: Annotated[UploadFile, File()],
) -> RedirectResponse:
    """Add a photo or PDF to the case (assigned caseworker, office or admin)."""
    target = f"/cases/{quote(ticket)}"
    data = await file.read()

    def work() -> None:
        actor, view = load_for_viewer(runtime, principal, ticket)
        if "note" not in actions_for(principal, actor, view):
            raise PermissionDeniedError("upload", user_message="只有本案承办人或双拥办/管理员可以上传附件。")
        attach_file(
            runtime.cases,
            attachment_store(runtime),
            view.ticket,
            actor,
            data,
            mime=file.content_type or "",
            name=file.filename,
        )

    try:
        await run_in_threadpool(work)
    except VetbotError as exc:
        return RedirectResponse(f"{target}?{urlencode({'error': exc.user_message})}", status_code=303)
    return RedirectResponse(f"{target}?{urlencode({'done': '上传附件'})}", status_code=303)


@router.get("/cases/{ticket}/files/{index}", response_model=None)
def case_file(runtime: RuntimeDep, principal: CaseworkPrincipal, ticket: str, index: int) -> FileResponse:
    """One stored attachment, only for those who may see the case."""
    _, view = load_for_viewer(runtime, principal, ticket)
    stored, mime = stored_attachment(view, index)
    return FileResponse(
        attachment_store(runtime).path(stored),
        media_type=mime,
        headers={"Cache-Control": "private, no-store"},
    )


@router.get("/cases/{ticket}/print", response_class=HTMLResponse)
def case_print(
    request: Request, runtime: RuntimeDep, principal: CaseworkPrincipal, ticket: str
) -> HTMLResponse:
    """打印工单: the printable work order of a case."""
    _, view = load_for_viewer(runtime, principal, ticket)
    audit_unmasked(runtime, principal, request, view, "print")
    return render(
        request,
        "cases/print.html",
        title=f"工单 {view.ticket}",
        case=view,
        legal=lc.LEGAL_BASIS,
        printed_at=to_china(runtime.cases.now()),
    )


__all__ = ["ACTION_LABELS", "deadline_class", "router"]
