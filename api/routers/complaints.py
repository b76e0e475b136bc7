"""Complaint endpoints: intake, status, caseworker/office lists and caseworker actions.

Every change goes through ``CaseService`` and so lands in the case's append-only event log;
intake is also written to the audit log because the event names the complainant, not the
staff member who typed the complaint in.
"""

from __future__ import annotations

import threading
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

from api.deps import RuntimeDep, require
from api.errors import field_error
from api.login import client_ip
from api.runtime import Runtime
from api.schemas import clean_question, clean_region
from api.users import PERM_CASES_ALL, PERM_CASES_FILE, PERM_CASES_OWN, PERM_CASES_VIEW, Principal
from complaints import lifecycle as lc
from complaints.contact import set_contact_phone
from complaints.merging import merge
from complaints.partners import answer_assist, check_partner_sees, request_assist, transfer_to_partner
from complaints.supervision import add_note, follow_up, supervise
from complaints.themes import THEMES
from complaints.tickets import normalize_ticket
from complaints.types import Actor, CaseFilter, CaseView, ComplaintIntake
from complaints.validation import check_complaint_substance, check_phone
from complaints.views import with_name_for
from vetbot.errors import InvalidInputError, NotFoundError, PermissionDeniedError

router = APIRouter(tags=["投诉办理"])

MAX_COMPLAINT_CHARS = 5000
ActionName = Literal[
    "accept",
    "reject",
    "transfer",
    "start",
    "reply",
    "conclude",
    "extend",
    "reassign",
    "assist",
    "assist_reply",
    "merge",
    "note",
    "supervise",
    "followup",
    "phone",
]
STATUS_HELP = "待受理/已受理/办理中/已办结/不予受理/已转办"


class ComplaintIn(BaseModel):
    """``POST /v1/complaints``: a complaint received at a service station or by phone/letter."""

    text: str = Field(description="投诉内容（1–5000 字）")
    channel: Literal["web", "phone", "visit", "letter"] = Field("web", description="受理渠道")
    region: str | None = Field(None, max_length=32, description="地区，如 济南市")
    theme: str | None = Field(None, max_length=32, description="主题代码；不填由系统自动分类")
    complainant_name: str | None = Field(None, max_length=64)
    complainant_phone: str | None = Field(None, max_length=32)

    @field_validator("text", mode="before")
    @classmethod
    def _text(cls, value: object) -> str:
        return clean_question(value, MAX_COMPLAINT_CHARS, "投诉内容")

    @field_validator("region", mode="before")
    @classmethod
    def _region(cls, value: object) -> str | None:
        return clean_region(value)

    @field_validator("theme")
    @classmethod
    def _theme(cls, value: str | None) -> str | None:
        # Checked here too (the service is the authority) so that a bad theme is reported
        # before the route's check of the text's substance.
        if value is not None and value not in THEMES:
            raise PydanticCustomError("theme_unknown", f"未知的投诉主题：{value}。")
        return value


class ActionIn(BaseModel):
    """``POST /v1/complaints/{ticket}/actions``."""

    action: ActionName = Field(
        description="accept 受理 / reject 不予受理 / transfer 转办 / start 开始办理 / reply 答复 / "
        "conclude 办结 / extend 延期 / reassign 改派（双拥办） / note 内部备注（信访人不可见） / "
        "supervise 督办或催办（双拥办） / followup 回访满意度 / assist 发起协办（partner_id） / "
        "assist_reply 协办单位答复 / merge 合并重复件（into） / phone 补登或更正信访人联系电话（phone）"
    )
    note: str | None = Field(None, max_length=2000, description="说明；reject/reply/conclude/extend 必填")
    to: str | None = Field(None, max_length=128, description="transfer：转办的有权处理机关")
    partner_id: str | None = Field(
        None, max_length=64, description="assist：协办单位编号；transfer：转办至该协办单位（代替 to）"
    )
    into: str | None = Field(None, max_length=32, description="merge：合并至的受理编号")
    days: int | None = Field(None, ge=1, le=30, description="extend：延期天数（1–30）；assist：答复期限天数")
    handler_id: str | None = Field(None, max_length=64, description="reassign：新的承办人编号")
    kind: Literal["督办", "催办"] = Field("督办", description="supervise：督办或催办")
    rating: str | None = Field(None, max_length=8, description="followup：满意/基本满意/不满意")
    phone: str | None = Field(
        None, max_length=32, description="phone：11 位手机号或带区号的固定电话（记录中隐去中间四位）"
    )


# Web roles that act in the case store, as the store's actor roles.
_CASE_ROLES: dict[str, Literal["handler", "office", "admin", "partner"]] = {
    "handler": "handler",
    "partner": "partner",
    "office": "office",
    "admin": "admin",
}


class CaseList(BaseModel):
    """``GET /v1/complaints``: one page of cases and the number matching the filters."""

    total: int = Field(description="符合条件的案件总数（不受 limit/offset 限制）")
    limit: int
    offset: int
    next_offset: int | None = Field(None, description="下一页的 offset；没有下一页时为 null")
    cases: list[CaseView]


# Retries of one key arrive close together: one at a time, so the second sees the first.
_IDEMPOTENCY_LOCK = threading.Lock()


def case_actor(principal: Principal) -> Actor | None:
    """The case-store actor of a caller; None for plain staff (who only see masked views).

    The web role ``handler`` is a caseworker (承办人); office and admin act as themselves.
    """
    role = _CASE_ROLES.get(principal.role)
    if role is None:
        return None
    name = principal.display_name or principal.name
    return Actor(id=principal.actor_id or principal.name, name=name, role=role)


@router.post("/complaints", response_model=CaseView, status_code=201, summary="登记投诉")
async def file_complaint(
    body: ComplaintIn,
    request: Request,
    runtime: RuntimeDep,
    principal: Annotated[Principal, Depends(require(PERM_CASES_FILE))],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=128,
            pattern=r"^[!-~]+$",
            description="重试同一次登记时带上相同的值，不会重复立案",
        ),
    ] = None,
) -> CaseView:
    """Register a complaint; it is routed to a caseworker and the ticket returned (masked view).

    With an ``Idempotency-Key`` the same caller retrying the same key gets the case filed the
    first time instead of a second case (recorded in the audit log, so it survives restarts).
    """
    try:  # the same rule as the bot's description step
        check_complaint_substance(body.text)
    except InvalidInputError as exc:
        raise field_error(["body", "text"], exc.user_message) from exc
    try:  # the same rule as the walk-in form
        phone = check_phone(body.complainant_phone)
    except InvalidInputError as exc:
        raise field_error(["body", "complainant_phone"], exc.user_message) from exc
    intake = ComplaintIntake(
        text=body.text,
        channel=body.channel,
        region=body.region,
        theme=body.theme,
        complainant_name=body.complainant_name,
        complainant_phone=phone,
    )

    def work() -> CaseView:
        if idempotency_key is None:
            return file()
        target = f"idempotency:{idempotency_key}"
        with _IDEMPOTENCY_LOCK:
            earlier = runtime.users.audit_detail(principal.audit_name, "complaint.idempotency", target)
            if earlier is not None:
                return runtime.cases.get(str(earlier["ticket"]), case_actor(principal))
            view = file()
            record = {"ticket": view.ticket}
            runtime.users.audit(principal.audit_name, "complaint.idempotency", target, record)
            return view

    def file() -> CaseView:
        view = runtime.cases.intake(intake)
        runtime.users.audit(
            principal.audit_name,
            "complaint.intake",
            f"case:{view.ticket}",
            {"channel": body.channel, "theme": view.theme, "region": view.region},
            ip=client_ip(request),
        )
        return view

    view = await run_in_threadpool(work)
    request.app.state.metrics.complaints.labels(channel=body.channel).inc()
    return with_name_for(view, admin=principal.role == "admin")


@router.get("/complaints/{ticket}", response_model=CaseView, summary="查询投诉办理状态")
def get_complaint(
    ticket: str,
    runtime: RuntimeDep,
    principal: Annotated[Principal, Depends(require(PERM_CASES_VIEW))],
) -> CaseView:
    """Status and history; personal data masked unless the caller is the assigned caseworker.

    The complainant's name is shown in full only to the assigned caseworker and admins. Staff
    (users and API keys without case permissions) see only the cases they filed. NotFoundError
    (404) for an unknown ticket and, with the same message, for a case the caller may not see.
    """
    ticket = normalize_ticket(ticket)
    if not principal.can(PERM_CASES_OWN) and not runtime.users.did(
        principal.audit_name, "complaint.intake", f"case:{ticket}"
    ):
        # Word for word the answer for an unknown ticket, so the two cannot be told apart.
        raise NotFoundError(f"{ticket} not filed by caller", user_message=f"未找到编号为 {ticket} 的投诉。")
    view = runtime.cases.get(ticket, case_actor(principal))
    return with_name_for(view, admin=principal.role == "admin")


@router.get("/complaints", response_model=CaseList, summary="案件列表（承办人：本人；双拥办：全部）")
def list_complaints(
    runtime: RuntimeDep,
    principal: Annotated[Principal, Depends(require(PERM_CASES_OWN))],
    status: Annotated[str | None, Query(max_length=8, description=STATUS_HELP)] = None,
    theme: Annotated[str | None, Query(max_length=32)] = None,
    region: Annotated[str | None, Query(max_length=32)] = None,
    caseworker: Annotated[
        str | None, Query(alias="handler", max_length=64, description="承办人编号（双拥办）")
    ] = None,
    unit: Annotated[str | None, Query(max_length=128, description="承办单位（承办人只能查本单位）")] = None,
    q: Annotated[str | None, Query(max_length=100, description="全文检索：受理编号或投诉内容")] = None,
    sort: Annotated[
        str, Query(max_length=16, description="排序：created/due/updated/ticket/status，前加 - 为倒序")
    ] = "-created",
    overdue: bool = False,
    due_soon: bool = False,
    created_from: date | None = None,
    created_to: date | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> CaseList:
    """Caseworkers get their own cases; office and admin all cases, with filters.

    422 for a caller outside the case store; PermissionDeniedError (403) when a caseworker
    asks for another caseworker's cases.
    """
    actor = case_actor(principal)
    if actor is None:  # an API key with a role outside the case store
        raise field_error(["query"], "该身份不能查看案件列表。")
    if not principal.can(PERM_CASES_ALL) and caseworker and caseworker != actor.id:
        raise PermissionDeniedError(
            "caseworker listing others", user_message="承办人只能查看分派给自己的案件。"
        )
    filters = CaseFilter(
        status=status or None,
        theme=theme or None,
        region=region or None,
        handler_id=caseworker or None,
        unit=unit or None,
        q=q or None,
        sort=sort,
        overdue=overdue,
        due_soon=due_soon,
        created_from=created_from,
        created_to=created_to,
        limit=limit,
        offset=offset,
    )
    admin = principal.role == "admin"
    cases = [with_name_for(v, admin=admin) for v in runtime.cases.list_cases(filters, actor)]
    total = runtime.cases.count_cases(filters, actor)
    following = offset + len(cases)
    return CaseList(
        total=total,
        limit=limit,
        offset=offset,
        next_offset=following if following < total else None,
        cases=cases,
    )


@router.post("/complaints/{ticket}/actions", response_model=CaseView, summary="办理操作")
def act_on_complaint(
    ticket: str,
    body: ActionIn,
    runtime: RuntimeDep,
    principal: Annotated[Principal, Depends(require(PERM_CASES_OWN))],
) -> CaseView:
    """accept / reject / transfer / start / reply / conclude / extend / reassign, with a note.

    Only the assigned caseworker (or office/admin) may act (PermissionDeniedError, 403); the
    lifecycle decides what is allowed in the current status (InvalidTransitionError, 409);
    a missing note, unit or day count is a 422.
    """
    view = _perform(ticket, body, runtime, principal)
    # The name is masked for all but the assigned caseworker and admin, as on every other answer.
    return with_name_for(view, admin=principal.role == "admin")


def _perform(ticket: str, body: ActionIn, runtime: Runtime, principal: Principal) -> CaseView:
    actor = case_actor(principal)
    if actor is None:
        raise PermissionDeniedError("no case actor", user_message="该身份不能办理案件。")
    cases = runtime.cases
    note = (body.note or "").strip() or None
    action = body.action
    if action == "accept":
        return cases.accept(ticket, actor, note)
    if action == "start":
        return cases.start(ticket, actor, note)
    if action == "reject":
        return cases.reject(ticket, actor, _need(note, "note", "请填写不予受理的理由，理由将告知信访人。"))
    if action == "reply":
        return cases.reply(ticket, actor, _need(note, "note", "回复内容不能为空。"))
    if action == "conclude":
        return cases.conclude(ticket, actor, _need(note, "note", "请填写办理结果，结果将答复信访人。"))
    if action == "transfer" and body.partner_id:
        return transfer_to_partner(cases, ticket, actor, body.partner_id, note)
    if action == "transfer":
        return cases.transfer(ticket, actor, _need(body.to, "to", "请填写转办的有权处理机关或单位。"), note)
    if action == "assist":
        partner = _need(body.partner_id, "partner_id", "请选择协办单位。")
        request = _need(note, "note", "请填写需要协办单位办理或答复的事项。")
        return request_assist(cases, ticket, actor, partner, request, body.days or lc.ASSIST_DAYS)
    if action == "assist_reply":
        if actor.role == "partner":  # a case not sent to the unit answers like an unknown one
            check_partner_sees(cases, ticket, actor.id)
        return answer_assist(cases, ticket, actor, _need(note, "note", "请填写协办答复内容。"))
    if action == "merge":
        return merge(cases, ticket, actor, _need(body.into, "into", "请填写合并至的受理编号。"), note)
    if action == "extend":
        if body.days is None:
            raise field_error(["body", "days"], "延期必须填写延期天数（1–30 天）。")
        reason = _need(note, "note", "延期必须填写延期理由，并将告知信访人。")
        return cases.extend(ticket, actor, body.days, reason)
    if action == "note":
        return add_note(cases, ticket, actor, _need(note, "note", "备注内容不能为空。"))
    if action == "supervise":
        return supervise(cases, ticket, actor, body.kind, _need(note, "note", "请填写督办意见。"))
    if action == "followup":
        return follow_up(cases, ticket, actor, _need(body.rating, "rating", "请选择回访满意度。"), note)
    if action == "phone":
        phone = _need(body.phone, "phone", "请填写信访人联系电话。")
        return set_contact_phone(cases, ticket, actor, phone, note)
    # reassign: office and admin only (a caseworker may not hand work to someone else)
    if not principal.can(PERM_CASES_ALL):
        raise PermissionDeniedError("caseworker reassigning", user_message="只有双拥办或管理员可以改派案件。")
    return cases.reassign(ticket, actor, _need(body.handler_id, "handler_id", "请填写新的承办人编号。"), note)


def _need(value: str | None, field: str, message: str) -> str:
    cleaned = (value or "").strip()
    if not cleaned:
        raise field_error(["body", field], message)
    return cleaned
