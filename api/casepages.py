"""The caseworkers' workspace on the web: the case queue, the case page, its actions and files.

``/cases`` lists cases (caseworker: 我的案件 / 本单位; office and admin: 全部) with filters,
full-text search, sorting, pages and counts per view; ``/cases/{ticket}`` shows one case
(history, messages, internal notes, deadlines with their legal basis, the complainant's other
cases, attachments inline) with the actions valid in its current status; ``/cases/{ticket}/print``
is the printable work order (打印工单). Every change goes through ``CaseService`` (and
``complaints.supervision`` / ``complaints.attachments``), so it lands in the case history and the
complainant hears of it through the outbox. Forms work without JavaScript.

Who sees what: a caseworker sees the cases of their own unit and acts only on those assigned to
them; office (双拥办) and admin see and act on all. Personal numbers are shown unmasked only to
the assigned caseworker, and each such view is written to the audit log.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from api.deps import RuntimeDep, page_require
from api.login import client_ip
from api.routers.complaints import case_actor
from api.runtime import Runtime
from api.templating import render
from api.users import PERM_CASES_ALL, PERM_CASES_OWN, Principal
from complaints import lifecycle as lc
from complaints.attachments import AttachmentStore, attach_file, stored_attachment
from complaints.supervision import SUPERVISION_KINDS, add_note, follow_up, supervise
from complaints.themes import THEMES
from complaints.types import Actor, CaseFilter, CaseView
from vetbot.clock import to_china
from vetbot.errors import InvalidInputError, PermissionDeniedError, VetbotError

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 25
VIEW_LABELS = {"mine": "我的案件", "unit": "本单位", "all": "全部案件"}
SORT_LABELS = {
    "-created": "登记时间（新→旧）",
    "created": "登记时间（旧→新）",
    "due": "期限（近→远）",
    "-updated": "最近更新",
    "ticket": "受理编号",
}
# Web form action -> label on the buttons, in display order.
ACTION_LABELS = {
    "accept": "签收/受理",
    "start": "开始办理",
    "reply": "中间答复",
    "extend": "延期",
    "transfer": "转办",
    "conclude": "办结",
    "reject": "不予受理",
    "reassign": "改派",
    "supervise": "督办/催办",
    "followup": "回访",
    "note": "内部备注",
}
SOON_DAYS = 3

CaseworkPrincipal = Annotated[Principal, Depends(page_require(PERM_CASES_OWN))]


def _actor(principal: Principal) -> Actor:
    actor = case_actor(principal)
    if actor is None:
        raise PermissionDeniedError("no case actor", user_message="该身份不能办理案件。")
    return actor


def _views_for(principal: Principal) -> list[str]:
    return ["all"] if principal.can(PERM_CASES_ALL) else ["mine", "unit"]


def _unit_of(runtime: Runtime, actor: Actor) -> str | None:
    caseworker = runtime.cases.routing.handlers.get(actor.id)
    return caseworker.unit if caseworker else None


def _scope(runtime: Runtime, principal: Principal, actor: Actor, view: str) -> CaseFilter:
    if view == "unit":
        return CaseFilter(unit=_unit_of(runtime, actor) or "—")
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
    actor = _actor(principal)
    views = _views_for(principal)
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


def _load_for_viewer(runtime: Runtime, principal: Principal, ticket: str) -> tuple[Actor, CaseView]:
    """The case as this principal may see it; 403 for a caseworker of another unit."""
    actor = _actor(principal)
    view = runtime.cases.get(ticket, actor)
    same_unit = view.assigned_unit is not None and view.assigned_unit == _unit_of(runtime, actor)
    if not principal.can(PERM_CASES_ALL) and view.assigned_handler_id != actor.id and not same_unit:
        raise PermissionDeniedError(
            f"{actor.id} viewing {view.ticket}", user_message="该案件不属于您所在单位，无权查看。"
        )
    return actor, view


def _actions_for(principal: Principal, actor: Actor, view: CaseView) -> list[str]:
    may_act = principal.can(PERM_CASES_ALL) or view.assigned_handler_id == actor.id
    if not may_act:
        return []
    # 督办 and 改派 are the office's; 回访 only while unrated; the complainant's own rating is not staff's.
    allowed = set(view.allowed_actions) - {"supervise", "followup", "rate"}
    if principal.can(PERM_CASES_ALL) and view.status in lc.OPEN_STATUSES:
        allowed.add("supervise")
    elif not principal.can(PERM_CASES_ALL):
        allowed.discard("reassign")
    if view.status == lc.CONCLUDED and view.rating is None:
        allowed.add("followup")
    if view.extended:
        allowed.discard("extend")
    allowed.add("note")
    return [a for a in ACTION_LABELS if a in allowed]


def _audit_unmasked(
    runtime: Runtime, principal: Principal, request: Request, view: CaseView, what: str
) -> None:
    if not view.masked:
        runtime.users.audit(
            principal.audit_name,
            "case.view_unmasked",
            f"case:{view.ticket}",
            {"page": what},
            ip=client_ip(request),
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
    actor, view = _load_for_viewer(runtime, principal, ticket)
    _audit_unmasked(runtime, principal, request, view, "case")
    others = runtime.cases.related_cases(view.ticket)
    now = runtime.cases.now()
    return render(
        request,
        "cases/detail.html",
        title=f"案件 {view.ticket}",
        case=view,
        deadline=deadline_class(view, now),
        actions=_actions_for(principal, actor, view),
        action_labels=ACTION_LABELS,
        supervision_kinds=SUPERVISION_KINDS,
        ratings=lc.RATINGS,
        legal=lc.LEGAL_BASIS,
        caseworkers=sorted(runtime.cases.routing.handlers.values(), key=lambda h: h.id),
        others=others,
        internal=("note", "supervise", "assign", "reassign", "attach"),
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
) -> RedirectResponse:
    """Perform one action; back to the case page with a confirmation or the reason it failed."""
    target = f"/cases/{quote(ticket)}"

    def work() -> None:
        actor, view = _load_for_viewer(runtime, principal, ticket)
        if action not in _actions_for(principal, actor, view):
            raise PermissionDeniedError(
                f"{action} not offered",
                user_message=f"当前不能进行“{ACTION_LABELS.get(action, action)}”操作。",
            )
        _perform(runtime, actor, view.ticket, action, note, to, days, rating, kind, handler_id)

    try:
        await run_in_threadpool(work)
    except VetbotError as exc:
        return RedirectResponse(f"{target}?{urlencode({'error': exc.user_message})}", status_code=303)
    return RedirectResponse(
        f"{target}?{urlencode({'done': ACTION_LABELS.get(action, action)})}", status_code=303
    )


def _perform(
    runtime: Runtime,
    actor: Actor,
    ticket: str,
    action: str,
    note: str,
    to: str,
    days: str,
    rating: str,
    kind: str,
    handler_id: str,
) -> None:
    cases = runtime.cases
    text = note.strip()
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
    elif action == "transfer":
        cases.transfer(ticket, actor, to, text or None)
    elif action == "extend":
        if not days.strip().isdigit():
            raise InvalidInputError("bad days", user_message="延期天数必须为 1 至 30 天。")
        cases.extend(ticket, actor, int(days), text)
    elif action == "reassign":
        cases.reassign(ticket, actor, handler_id, text or None)
    elif action == "supervise":
        supervise(cases, ticket, actor, kind or "督办", text)
    elif action == "followup":
        follow_up(cases, ticket, actor, rating, text or None)
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
        actor, view = _load_for_viewer(runtime, principal, ticket)
        if "note" not in _actions_for(principal, actor, view):
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
    _, view = _load_for_viewer(runtime, principal, ticket)
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
    _, view = _load_for_viewer(runtime, principal, ticket)
    _audit_unmasked(runtime, principal, request, view, "print")
    return render(
        request,
        "cases/print.html",
        title=f"工单 {view.ticket}",
        case=view,
        legal=lc.LEGAL_BASIS,
        printed_at=to_china(runtime.cases.now()),
    )


__all__ = ["ACTION_LABELS", "deadline_class", "router"]
