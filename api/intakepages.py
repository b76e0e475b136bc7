"""Walk-in intake (窗口登记) for service-station staff, and the visitor's printable receipt.

Many elderly veterans complain at the station window. ``/intake`` is a form: the complaint
text, the theme (left empty, the classifier suggests it), the region from the gazetteer
(``vetbot.regions``), optional name, phone and ID-card number, and photos or PDFs. The case is
filed through ``CaseService.intake`` (channel ``visit``), written to the audit log, and the
clerk gets ``/intake/{ticket}/receipt``: the ticket number and how to follow the case (the
Telegram bot's /status, the 12345 hotline, the station). The receipt shows personal numbers
masked.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.casepages import attachment_store
from api.deps import RuntimeDep, page_require
from api.login import client_ip
from api.templating import render
from api.users import PERM_CASES_FILE, Principal
from complaints.themes import THEMES
from complaints.types import ComplaintIntake
from complaints.validation import check_complaint_substance, check_id_number, check_phone
from vetbot import regions
from vetbot.errors import InvalidInputError, VetbotError

router = APIRouter(include_in_schema=False)

ClerkPrincipal = Annotated[Principal, Depends(page_require(PERM_CASES_FILE))]
MAX_TEXT_CHARS = 5000


def _form(
    request: Request, principal: Principal, runtime: RuntimeDep, status: int = 200, **values: object
) -> HTMLResponse:
    defaults: dict[str, object] = {
        "text": "",
        "theme": "",
        "region": principal.region or "",
        "name": "",
        "phone": "",
        "id_number": "",
    }
    defaults.update(values)
    return render(
        request,
        "cases/intake.html",
        status,
        title="窗口登记投诉",
        themes=THEMES,
        regions=runtime.cases.routing.regions(),
        form=defaults,
        error=values.get("error"),
    )


@router.get("/intake", response_class=HTMLResponse)
def intake_form(request: Request, runtime: RuntimeDep, principal: ClerkPrincipal) -> HTMLResponse:
    """The walk-in form."""
    return _form(request, principal, runtime)


@router.post("/intake", response_model=None)
async def intake_submit(
    request: Request,
    runtime: RuntimeDep,
    principal: ClerkPrincipal,
    text: Annotated[str, Form(max_length=MAX_TEXT_CHARS)] = "",
    theme: Annotated[str, Form(max_length=32)] = "",
    region: Annotated[str, Form(max_length=32)] = "",
    name: Annotated[str, Form(max_length=64)] = "",
    phone: Annotated[str, Form(max_length=32)] = "",
    id_number: Annotated[str, Form(max_length=18)] = "",
    files: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    """File the complaint and go to the receipt; the form again with the reason when invalid."""
    uploads = [(await f.read(), f.content_type or "", f.filename) for f in (files or []) if f.filename]
    values = {
        "text": text,
        "theme": theme,
        "region": region,
        "name": name,
        "phone": phone,
        "id_number": id_number,
    }

    def work() -> str:
        # The one check of a typed region (as the bot and POST /v1/complaints): 金华市婺城区 and
        # 浙江省金华市 are places as much as 婺城区; routing finds the unit from the address.
        try:
            place = regions.validate_region(region)
        except InvalidInputError as exc:
            raise InvalidInputError(
                f"unknown region {region!r}",
                user_message=f"未找到地区“{region}”，请填写市或县区名称（如 金华市、婺城区、浙江省金华市）。",
            ) from exc
        body = text.strip()
        if not body:
            raise InvalidInputError("empty walk-in text", user_message="请填写投诉内容。")
        check_complaint_substance(body)  # the same rule as the API and the bot
        phone_number, id_card = check_phone(phone), check_id_number(id_number)
        if id_card:
            # No column of its own: the number travels in the text, which is masked for everyone
            # but the assigned caseworker.
            body += f"\n（窗口登记）身份证号：{id_card}"
        store = attachment_store(runtime)
        attachments = []
        for data, mime, filename in uploads:
            stored = store.save_unfiled(data, mime)
            attachments.append(
                {
                    "file_id": f"web:{stored}",
                    "kind": "photo" if mime.startswith("image/") else "document",
                    "mime": mime,
                    "size": len(data),
                    "name": filename,
                    "stored": stored,
                }
            )
        view = runtime.cases.intake(
            ComplaintIntake(
                text=body,
                channel="visit",
                region=place,
                theme=theme or None,
                complainant_name=name.strip() or None,
                complainant_phone=phone_number,
                attachments=attachments,
            )
        )
        runtime.users.audit(
            principal.audit_name,
            "complaint.intake",
            f"case:{view.ticket}",
            {"channel": "visit", "theme": view.theme, "region": view.region, "files": len(attachments)},
            ip=client_ip(request),
        )
        return view.ticket

    try:
        ticket = await run_in_threadpool(work)
    except VetbotError as exc:
        return _form(request, principal, runtime, 422, error=exc.user_message, **values)
    return RedirectResponse(f"/intake/{ticket}/receipt", status_code=303)


@router.get("/intake/{ticket}/receipt", response_class=HTMLResponse)
def intake_receipt(
    request: Request, runtime: RuntimeDep, principal: ClerkPrincipal, ticket: str
) -> HTMLResponse:
    """The printable receipt (回执) for the visitor: ticket, deadlines, how to follow the case."""
    view = runtime.cases.get(ticket)  # masked: the clerk is not the caseworker
    return render(
        request,
        "cases/receipt.html",
        title=f"回执 {view.ticket}",
        case=view,
        complainant=view.complainant_name or "",
    )


__all__ = ["router"]
