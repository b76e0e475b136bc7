"""How a stored case is shown to one viewer: ``CaseView`` with personal data masked.

Only the case's assigned caseworker sees ID-card, phone and card numbers in clear; everyone
else (office, admin, the complainant's own status page) gets them masked. The complainant's own
view (``for_complainant``: the filing chat or a chat that proved the phone on the case) keeps
phone numbers readable in what staff wrote to them (result, extension reason, history notes), as
the complainant notices do: a callback number is of no use masked.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime

from complaints import lifecycle as lc
from complaints.models import Case, CaseEvent
from complaints.records import mask_name
from complaints.routing import RoutingTable
from complaints.themes import THEMES
from complaints.types import UNNAMED_COMPLAINANT, Actor, Attachment, CaseEventView, CaseView
from vetbot.privacy import mask_phone, mask_text


def case_view(
    case: Case,
    viewer: Actor | None,
    routing: RoutingTable,
    now: datetime,
    events: Sequence[CaseEvent] = (),
    *,
    reveal: bool = False,
    for_complainant: bool = False,
) -> CaseView:
    """``case`` as ``viewer`` may see it (None: an anonymous, masked view) at ``now``.

    ``reveal`` unmasks for a viewer the caller has entitled (an admin on the web case page,
    which audits the view). ``for_complainant``: the masked view for the complainant's own
    chats, with phone numbers kept in staff-written texts (ID-card and card numbers masked)."""
    assigned = viewer is not None and viewer.role == "handler" and viewer.id == case.assigned_handler_id
    full = reveal or assigned
    m: Callable[[str | None], str | None] = (lambda s: s) if full else (lambda s: mask_text(s) if s else s)
    # What staff wrote to the complainant, as the complainant notices carry it.
    staff: Callable[[str | None], str | None] = (
        (lambda s: mask_text(s, keep_phones=True) if s else s) if for_complainant and not full else m
    )
    caseworker = routing.handlers.get(case.assigned_handler_id or "")
    return CaseView(
        ticket=case.ticket,
        status=case.status,
        theme=case.theme,
        theme_label=THEMES.get(case.theme, case.theme),
        region=case.region,
        channel=case.channel,
        text=m(case.text) or "",
        complainant_chat_id=case.complainant_chat_id,
        complainant_name=case.complainant_name,
        complainant_phone=case.complainant_phone if full else mask_phone(case.complainant_phone),
        attachments=[
            Attachment(
                file_id=str(a.get("file_id", "")),
                kind=str(a.get("kind") or "document"),
                mime=a.get("mime"),
                size=a.get("size"),
                name=m(a.get("name")),
                stored=a.get("stored"),
            )
            for a in (case.attachments or [])
        ],
        assigned_handler_id=case.assigned_handler_id,
        assigned_handler_name=caseworker.name if caseworker else None,
        assigned_unit=case.assigned_unit,
        created_at=case.created_at,
        accepted_at=case.accepted_at,
        concluded_at=case.concluded_at,
        closed_at=case.closed_at,
        accept_due=case.accept_due,
        conclude_due=case.conclude_due,
        extended=bool(case.extended),
        extension_days=case.extension_days,
        extension_reason=staff(case.extension_reason),
        result=staff(case.result),
        transferred_to=case.transferred_to,
        rating=case.rating,
        rated_at=case.rated_at,
        due_at=lc.active_deadline(case.status, case.accept_due, case.conclude_due),
        overdue=lc.is_overdue(case.status, case.accept_due, case.conclude_due, now),
        masked=not full,
        allowed_actions=lc.allowed_actions(case.status, bool(case.extended)),
        merged_into=case.merged_into,
        events=[
            CaseEventView(
                at=e.at,
                actor_id=e.actor_id,
                # The complainant's own entries carry their name: masked like the name field.
                actor_name=e.actor_name
                if full or e.actor_role != "complainant" or e.actor_name == UNNAMED_COMPLAINANT
                else mask_name(e.actor_name) or "",
                actor_role=e.actor_role,
                action=e.action,
                action_label=lc.ACTION_LABELS.get(e.action, e.action),
                from_status=e.from_status,
                to_status=e.to_status,
                note=m(e.note) if e.actor_role == "complainant" else staff(e.note),
            )
            for e in events
        ],
    )


def with_name_for(view: CaseView, *, admin: bool) -> CaseView:
    """``view`` with the complainant's name masked (张建国 → 张**) unless the viewer may see it.

    Only the assigned caseworker (an unmasked view) and an admin see the full name; staff,
    other caseworkers, office users and system clients get the family name only.
    """
    if admin or not view.masked:
        return view
    return dataclasses.replace(view, complainant_name=mask_name(view.complainant_name))


__all__ = ["case_view", "with_name_for"]
