"""Human-friendly ticket numbers ``TS-YYYYMMDD-NNNN`` (per-day sequence, China time).

The sequence comes from one counter row per day, bumped with a single atomic
``INSERT ... ON CONFLICT (day) DO UPDATE SET n = n + 1 RETURNING n`` inside the intake
transaction: PostgreSQL locks the row until commit and SQLite holds its write lock, so two
concurrent intakes never get the same number. The unique constraint on the ticket column is
the last line of defence; the service retries on a collision.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from complaints.models import TicketCounter
from vetbot.clock import to_china
from vetbot.errors import InvalidInputError
from vetbot.privacy import mask_text

TICKET_RE = re.compile(r"^TS-(\d{8})-(\d{4,})$")
# How much of a rejected input the error quotes back (a pasted letter is not echoed whole).
_ECHO_CHARS = 30


def ticket_day(at: datetime) -> str:
    """``YYYYMMDD`` of ``at`` in China time (naive datetimes are taken as UTC)."""
    # A complaint filed at 07:00 China time on the 2nd gets a ticket of the 2nd although it
    # is still the 1st in UTC.
    return to_china(at).strftime("%Y%m%d")


def format_ticket(day: str, n: int) -> str:
    """``TS-{day}-{n:04d}`` (a fifth digit appears only past 9999 cases a day)."""
    return f"TS-{day}-{n:04d}"


def normalize_ticket(value: str) -> str:
    """Canonical form of a ticket typed by a user (case, spaces, full-width dashes tolerated).

    Raises ``InvalidInputError`` when it is not a ticket number at all.
    """
    cleaned = "".join((value or "").split()).upper().replace("－", "-").replace("—", "-")
    if cleaned.isdigit() and len(cleaned) >= 12:  # 202601020001 typed without separators
        cleaned = f"TS-{cleaned[:8]}-{cleaned[8:]}"
    if not TICKET_RE.match(cleaned):
        # Users paste anything after /status, ID-card and phone numbers included: quote it
        # back masked (the message also reaches logs) and shortened.
        shown = mask_text((value or "").strip())
        if len(shown) > _ECHO_CHARS:
            shown = shown[:_ECHO_CHARS] + "…"
        raise InvalidInputError(
            f"bad ticket {shown!r}",
            user_message=f"“{shown}”不是有效的投诉编号，编号格式如 TS-20260102-0001。",
        )
    return cleaned


def next_ticket(session: Session, at: datetime) -> str:
    """Reserve the next ticket number of ``at``'s day inside the caller's transaction."""
    day = ticket_day(at)
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        stmt: Any
        if dialect == "postgresql":
            base = pg_insert(TicketCounter).values(day=day, n=1)
            stmt = base.on_conflict_do_update(
                index_elements=[TicketCounter.day], set_={"n": TicketCounter.n + 1}
            ).returning(TicketCounter.n)
        else:
            lite = sqlite_insert(TicketCounter).values(day=day, n=1)
            stmt = lite.on_conflict_do_update(
                index_elements=[TicketCounter.day], set_={"n": TicketCounter.n + 1}
            ).returning(TicketCounter.n)
        n = int(session.execute(stmt).scalar_one())
    else:  # other backends: update-then-insert; the unique ticket constraint catches races
        result = session.execute(
            update(TicketCounter).where(TicketCounter.day == day).values(n=TicketCounter.n + 1)
        )
        if getattr(result, "rowcount", 0):
            n = int(session.scalars(select(TicketCounter.n).where(TicketCounter.day == day)).one())
        else:
            session.add(TicketCounter(day=day, n=1))
            session.flush()
            n = 1
    return format_ticket(day, n)
