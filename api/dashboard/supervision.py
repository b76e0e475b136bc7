"""督办 / 催办 of a whole unit from the dashboard's unit table (office and admin).

``POST /dashboard/units/supervise`` (form: ``unit``, ``kind`` 督办|催办, ``text``) supervises every
open case of the unit through ``complaints.supervision.supervise_unit`` (each case's timeline
gets the entry, each caseworker the Telegram notice), writes one audit entry and goes back to
the dashboard with a confirmation or the reason it failed.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from api.deps import RuntimeDep, page_require
from api.login import client_ip
from api.routers.complaints import case_actor
from api.users import PERM_CASES_ALL, Principal
from complaints.supervision import supervise_unit
from vetbot.errors import PermissionDeniedError, VetbotError

router = APIRouter(include_in_schema=False)

OfficePrincipal = Annotated[Principal, Depends(page_require(PERM_CASES_ALL))]


@router.post("/dashboard/units/supervise", response_model=None)
async def supervise_unit_action(
    request: Request,
    runtime: RuntimeDep,
    principal: OfficePrincipal,
    unit: Annotated[str, Form(max_length=128)],
    text: Annotated[str, Form(max_length=2000)],
    kind: Annotated[str, Form(max_length=8)] = "督办",
) -> RedirectResponse:
    """督办/催办 every open case of ``unit``; back to /dashboard#units with the outcome."""

    def work() -> list[str]:
        actor = case_actor(principal)
        if actor is None:
            raise PermissionDeniedError("no case actor", user_message="该身份不能督办案件。")
        tickets = supervise_unit(runtime.cases, unit, actor, kind, text)
        runtime.users.audit(
            principal.audit_name,
            "unit.supervise",
            f"unit:{unit}",
            {"kind": kind, "cases": len(tickets)},
            ip=client_ip(request),
        )
        return tickets

    try:
        tickets = await run_in_threadpool(work)
    except VetbotError as exc:
        return RedirectResponse(f"/dashboard?{urlencode({'error': exc.user_message})}#units", status_code=303)
    done = f"已向{unit}发出{kind}，涉及在办案件 {len(tickets)} 件。"
    return RedirectResponse(f"/dashboard?{urlencode({'done': done})}#units", status_code=303)


__all__ = ["router"]
