"""Case records: the detached, read-only copy of a case that office analytics work on.

Every office figure (``complaints.aggregates``, ``complaints.deadlines``,
``complaints.emerging``) is a plain function over a list of ``CaseRecord``; ``load_case_records``
reads them from a SQLAlchemy ``Session``. ``CaseRow`` is the masked display form the dashboard
and the exports show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from complaints import lifecycle as lc
from complaints.models import DEMO_CHANNEL, Case
from complaints.themes import theme_label
from vetbot.clock import as_utc
from vetbot.privacy import mask_phone, mask_text


@dataclass(frozen=True)
class CaseRecord:
    """The fields of one case that analytics needs (a detached copy of ``complaints.models.Case``).

    ``closed`` is true for cases that left the lifecycle without a conclusion (不予受理, 已转办):
    no deadline runs on them any more. ``handler_id`` is the assigned caseworker's id.
    """

    ticket: str
    theme: str
    region: str
    text: str
    status: str
    created_at: datetime
    channel: str = ""
    accepted_at: datetime | None = None
    concluded_at: datetime | None = None
    closed: bool = False
    accept_due: datetime | None = None
    conclude_due: datetime | None = None
    extended: bool = False
    unit: str = ""
    handler_id: str | None = None
    rating: str | None = None
    complainant_name: str | None = None
    complainant_phone: str | None = None
    complainant_chat_id: int | None = None

    @property
    def is_open(self) -> bool:
        """Whether a deadline still runs (not concluded and not closed otherwise)."""
        return self.concluded_at is None and not self.closed

    def accept_deadline(self) -> datetime:
        """Deadline to decide on acceptance: the stored one, else ``lifecycle.accept_due``."""
        if self.accept_due is not None:
            return as_utc(self.accept_due)
        return lc.accept_due(as_utc(self.created_at))

    def conclude_deadline(self) -> datetime | None:
        """Deadline to conclude (None before acceptance): the stored one, else
        ``lifecycle.conclude_due`` plus the longest extension when the case was extended."""
        if self.conclude_due is not None:
            return as_utc(self.conclude_due)
        if self.accepted_at is None:
            return None
        due = lc.conclude_due(as_utc(self.accepted_at))
        return due + lc.MAX_EXTENSION if self.extended else due


def load_case_records(
    session: Session,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    region: str | None = None,
    theme: str | None = None,
    include_demo: bool = True,
) -> list[CaseRecord]:
    """Read cases (intake in ``[start, end)``) from the database as ``CaseRecord`` objects.

    ``region`` and ``theme`` match the stored values exactly.
    """
    stmt = select(Case)
    if start is not None:
        stmt = stmt.where(Case.created_at >= start)
    if end is not None:
        stmt = stmt.where(Case.created_at < end)
    if region:
        stmt = stmt.where(Case.region == region)
    if theme:
        stmt = stmt.where(Case.theme == theme)
    if not include_demo:
        stmt = stmt.where(Case.channel != DEMO_CHANNEL)
    stmt = stmt.order_by(Case.created_at)
    return [record_from_case(c) for c in session.scalars(stmt)]


def record_from_case(case: Case) -> CaseRecord:
    """Copy a ``complaints.models.Case`` row into a ``CaseRecord``."""
    return CaseRecord(
        ticket=case.ticket,
        theme=case.theme,
        region=case.region,
        text=case.text,
        status=case.status,
        created_at=as_utc(case.created_at),
        channel=case.channel or "",
        accepted_at=as_utc(case.accepted_at) if case.accepted_at else None,
        concluded_at=as_utc(case.concluded_at) if case.concluded_at else None,
        # Refused (不予受理) or transferred out (已转办): closed without a conclusion.
        closed=case.status in (lc.REJECTED, lc.TRANSFERRED)
        or (case.closed_at is not None and case.concluded_at is None),
        accept_due=as_utc(case.accept_due) if case.accept_due else None,
        conclude_due=as_utc(case.conclude_due) if case.conclude_due else None,
        extended=bool(case.extended),
        unit=case.assigned_unit or "",
        handler_id=case.assigned_handler_id,
        rating=case.rating,
        complainant_name=case.complainant_name,
        complainant_phone=case.complainant_phone,
        complainant_chat_id=case.complainant_chat_id,
    )


def mask_name(name: str | None) -> str | None:
    """Keep the family name only: 张三 → 张*, 欧阳娜娜 → 欧***."""
    if not name:
        return name
    name = name.strip()
    return name[0] + "*" * max(len(name) - 1, 1)


@dataclass(frozen=True)
class CaseRow:
    """A case as the dashboard and exports show it: personal data masked."""

    ticket: str
    theme: str
    theme_label: str
    region: str
    status: str
    channel: str
    created_at: datetime
    accepted_at: datetime | None
    concluded_at: datetime | None
    unit: str
    handler_id: str | None
    rating: str | None
    text: str  # masked
    complainant_name: str | None  # masked
    complainant_phone: str | None  # masked


def mask_record(record: CaseRecord) -> CaseRow:
    """The masked display form of a case."""
    return CaseRow(
        ticket=record.ticket,
        theme=record.theme,
        theme_label=theme_label(record.theme, default=record.theme),
        region=record.region,
        status=record.status,
        channel=record.channel,
        created_at=record.created_at,
        accepted_at=record.accepted_at,
        concluded_at=record.concluded_at,
        unit=record.unit,
        handler_id=record.handler_id,
        rating=record.rating,
        text=mask_text(record.text),
        complainant_name=mask_name(record.complainant_name),
        complainant_phone=mask_phone(record.complainant_phone),
    )


__all__ = ["CaseRecord", "CaseRow", "load_case_records", "mask_name", "mask_record", "record_from_case"]
