"""The complainant's contact phone on an existing case: added or corrected by staff.

Walk-in cases are often registered without a phone (or with a wrong one); the window staff or
the caseworker adds it later, so the complainant can be called back and can follow the case in
Telegram with the number's last four digits (``complaints.followers``). The change is one event
in the case history, written through ``CaseService.act`` (so the caseworker / office / admin
permission applies as for every other action, in every status: the assigned caseworker, and
office / admin on any case, exactly as for accepting, replying or concluding). The event note and
the log carry the number masked only (138****5678); the complainant is not notified (they may
have no chat, and the number is theirs).

A correction unlinks every chat that followed the case (``complaints.followers.unlink_followers``):
they proved the old number's digits, and a corrected number is usually one that belonged to
somebody else. They must verify again with the new number; the event note says how many chats
were unlinked, so the caseworker knows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import object_session

from complaints.followers import unlink_followers
from complaints.models import Case
from complaints.service import CaseService
from complaints.types import Actor, CaseView
from complaints.validation import check_contact_phone, clean_note
from vetbot.errors import CaseError
from vetbot.privacy import mask_phone


def set_contact_phone(
    service: CaseService, ticket: str, actor: Actor, phone: str, note: str | None = None
) -> CaseView:
    """Record ``phone`` (a mainland mobile or a landline with its area code, stored normalised:
    ``13812345678`` / ``0531-88881234``) as the complainant's contact phone, with an optional
    reason. Returns the case as ``actor`` may see it.

    Raises ``InvalidInputError`` for a malformed phone or a too long note, ``CaseError`` when it
    is the number already on file, and as ``CaseService`` says (``NotFoundError``,
    ``PermissionDeniedError``)."""
    number = check_contact_phone(phone)
    reason = clean_note(note)

    def apply(case: Case, now: datetime) -> str:
        previous = case.complainant_phone
        if previous and _same(previous, number):
            raise CaseError(f"{case.ticket} phone unchanged", user_message="与登记的联系电话相同，无需更改。")
        case.complainant_phone = number
        masked = mask_phone(number)
        what = f"由 {mask_phone(previous)} 更正为 {masked}" if previous else f"补登 {masked}"
        unlinked = _unlink(case) if previous else []
        dropped = ""
        if unlinked:
            dropped = f"；已取消 {len(unlinked)} 个按原号码核验的 Telegram 关注，需用新号码重新核验"
        return f"联系电话{what}" + (f"；{reason}" if reason else "") + dropped

    return service.act(ticket, actor, "phone", apply, None)


def _unlink(case: Case) -> list[int]:
    """The case's followers, unlinked in the action's own transaction."""
    session = object_session(case)
    if session is None:  # the service always hands a loaded, attached row
        raise RuntimeError(f"case {case.ticket} is not attached to a session")
    return unlink_followers(session, case.id)


def _same(stored: str, number: str) -> bool:
    """True when a stored phone (any spelling) has the digits of ``number``."""
    return "".join(ch for ch in stored if ch.isdigit()).endswith("".join(ch for ch in number if ch.isdigit()))


__all__ = ["set_contact_phone"]
