"""Case notices: the message type shared by the case service and the outbox, and the write side.

A change that must be told to someone writes its notices to ``case_notices`` in the change's
own transaction (``enqueue_notices``); ``complaints.outbox`` delivers them later. After the
commit the service hints an injected ``Notifier`` (the bot) that something is waiting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal, Protocol

from sqlalchemy.orm import Session

from complaints.followers import follower_chat_ids
from complaints.models import DEMO_CHANNEL, NOTICE_PENDING, NOTICE_SKIPPED, Case, CaseNotice

# "handler" is the caseworker (承办人); the value is stored in case_notices.kind.
NoticeKind = Literal["complainant", "handler"]


@dataclass(frozen=True)
class Notice:
    """A message for the complainant (``kind="complainant"``) or a caseworker (``"handler"``).

    ``notice_id`` is the ``case_notices`` row of the outbox (None for notices built by hand);
    ``handler_id`` is the addressed caseworker's routing-table id.
    """

    chat_id: int
    ticket: str
    status: str
    text: str
    kind: NoticeKind = "complainant"
    action: str = ""
    handler_id: str | None = None
    notice_id: int | None = None

    @classmethod
    def from_row(cls, row: CaseNotice) -> Notice:
        """The notice an outbox row stands for."""
        return cls(
            chat_id=int(row.chat_id or 0),
            ticket=row.ticket,
            status=row.status,
            text=row.text,
            kind="handler" if row.kind == "handler" else "complainant",
            action=row.action,
            handler_id=row.handler_id,
            notice_id=row.id,
        )


class Notifier(Protocol):
    """Told about each new notice right after commit (the bot implements it).

    Must not block; errors are logged by the caller. A notice with a ``notice_id`` is owned by
    the outbox: the notifier should only wake the outbox dispatcher
    (``complaints.outbox.OutboxDispatcher.notify``), not send it itself, or the dispatcher
    would send it a second time.
    """

    def notify(self, notice: Notice) -> None:
        """Handle ``notice`` (a hint that the outbox has something to deliver)."""
        ...


@dataclass(frozen=True)
class NoticeDraft:
    """A notice to write to the outbox inside the change's transaction.

    ``chat_id`` None means the person has no Telegram chat (the row is stored as skipped).
    """

    chat_id: int | None
    kind: NoticeKind
    status: str
    action: str
    text: str
    handler_id: str | None = None


def enqueue_notices(
    session: Session, case: Case, drafts: Sequence[NoticeDraft], now: datetime
) -> list[Notice]:
    """Write ``drafts`` to the outbox in the caller's transaction; return those to send.

    A notice with no Telegram chat id (web, phone or letter complainant; a caseworker without
    Telegram) or of a demo case is stored as ``skipped``: the row records that the person
    must be told some other way, and nothing will ever try to send it. A complainant notice
    also goes to every chat following the case (``complaints.followers``), each its own row.
    """
    drafts = _with_followers(session, case, drafts)
    rows: list[CaseNotice] = []
    for d in drafts:
        sendable = d.chat_id is not None and case.channel != DEMO_CHANNEL
        row = CaseNotice(
            case_id=case.id,
            ticket=case.ticket,
            kind=d.kind,
            handler_id=d.handler_id,
            chat_id=d.chat_id,
            status=d.status,
            action=d.action,
            text=d.text,
            state=NOTICE_PENDING if sendable else NOTICE_SKIPPED,
            created_at=now,
            attempts=0,
            next_attempt_at=now,
        )
        session.add(row)
        rows.append(row)
    session.flush()  # assigns the ids handed to the notifier
    return [Notice.from_row(r) for r in rows if r.state == NOTICE_PENDING and r.chat_id is not None]


def _with_followers(session: Session, case: Case, drafts: Sequence[NoticeDraft]) -> list[NoticeDraft]:
    out = list(drafts)
    if not any(d.kind == "complainant" for d in drafts):
        return out
    followers = follower_chat_ids(session, case.id)
    for d in drafts:
        if d.kind != "complainant":
            continue
        for chat_id in followers:
            if chat_id != d.chat_id:
                out.append(replace(d, chat_id=chat_id))
    return out


__all__ = ["Notice", "NoticeDraft", "NoticeKind", "Notifier", "enqueue_notices"]
