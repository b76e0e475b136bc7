"""Running deadlines of open cases, grouped by unit and caseworker (overdue / due soon).

The deadlines themselves are those of ``complaints.lifecycle`` (《信访工作条例》: accept within
15 days of intake, conclude within 60 days of acceptance, +30 days with an extension), read
through ``CaseRecord.accept_deadline`` / ``conclude_deadline``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from complaints.records import CaseRecord
from vetbot.clock import as_utc


@dataclass(frozen=True)
class DeadlineItem:
    """One open case and its running deadline."""

    ticket: str
    stage: Literal["accept", "conclude"]  # 受理 or 办结
    due: datetime
    days_left: float  # negative when overdue
    theme: str
    region: str
    status: str
    extended: bool

    @property
    def stage_label(self) -> str:
        """受理 or 办结."""
        return "受理" if self.stage == "accept" else "办结"


@dataclass
class UnitDeadlines:
    """Open, overdue and due-soon cases of one unit and caseworker (``handler_id``/``handler_name``)."""

    unit: str
    handler_id: str | None
    handler_name: str | None = None
    open_count: int = 0
    overdue: list[DeadlineItem] = field(default_factory=list)
    due_soon: list[DeadlineItem] = field(default_factory=list)


def running_deadline(record: CaseRecord) -> tuple[Literal["accept", "conclude"], datetime] | None:
    """``(stage, due)`` of the deadline running on a case (stage ``"accept"`` or ``"conclude"``,
    ``due`` aware UTC), or None when the case is finished."""
    if not record.is_open:
        return None
    if record.accepted_at is None:
        return "accept", record.accept_deadline()
    due = record.conclude_deadline()
    return ("conclude", due) if due is not None else None


def deadline_report(
    records: Iterable[CaseRecord],
    now: datetime,
    *,
    due_soon_days: int = 3,
    handler_names: Mapping[str, str] | None = None,
) -> list[UnitDeadlines]:
    """Overdue and due-within-``due_soon_days`` open cases grouped by (unit, caseworker).

    Units with the most overdue cases come first; within a unit the most urgent case first.
    ``handler_names`` (caseworker id → name, e.g. from the routing table) fills ``handler_name``.
    ``days_left`` of each item is in fractional days, negative when overdue.
    """
    now = as_utc(now)
    soon = timedelta(days=due_soon_days)
    units: dict[tuple[str, str | None], UnitDeadlines] = {}
    for r in records:
        running = running_deadline(r)
        if running is None:
            continue
        stage, due = running
        key = (r.unit or "未分派", r.handler_id)
        if key not in units:
            name = (handler_names or {}).get(key[1] or "")
            units[key] = UnitDeadlines(unit=key[0], handler_id=key[1], handler_name=name)
        unit = units[key]
        unit.open_count += 1
        item = DeadlineItem(
            ticket=r.ticket, stage=stage, due=due, days_left=round((due - now) / timedelta(days=1), 2),
            theme=r.theme, region=r.region, status=r.status, extended=r.extended,
        )
        if due < now:
            unit.overdue.append(item)
        elif due - now <= soon:
            unit.due_soon.append(item)
    for unit in units.values():
        unit.overdue.sort(key=lambda i: i.due)
        unit.due_soon.sort(key=lambda i: i.due)
    return sorted(
        units.values(), key=lambda u: (-len(u.overdue), -len(u.due_soon), u.unit, u.handler_id or "")
    )


__all__ = ["DeadlineItem", "UnitDeadlines", "deadline_report", "running_deadline"]
