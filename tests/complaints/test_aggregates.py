"""Office aggregates (``complaints.aggregates``) over cases filed through the real CaseService."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from sqlalchemy.orm import Session

from complaints.aggregates import AggregateRow, case_summary, theme_counts
from complaints.queries import lower_bound, upper_bound
from complaints.records import load_case_records
from complaints.service import CaseService
from vetbot.errors import InvalidInputError

from .conftest import OFFICE, T0, FakeClock
from .conftest import file_case as _intake


def test_theme_aggregates_count_per_period_region_theme(
    service: CaseService, clock: FakeClock, session_factory: Callable[[], Session]
) -> None:
    _intake(service, "1")
    _intake(service, "2")
    _intake(service, "3", region="扬州市", theme="transit")
    clock.advance(days=7)  # next ISO week, same month
    _intake(service, "4")
    clock.advance(days=28)  # April
    _intake(service, "5", region="扬州", theme="transit")

    def counts(period: str, start: date | None, end: date | None, **kw: str) -> list[AggregateRow]:
        if "region" in kw:  # the caller names the region as the routing table spells it
            kw["region"] = service.routing.canonical_region(kw["region"])
        with session_factory() as session:
            records = load_case_records(
                session,
                start=lower_bound(start) if start else None,
                end=upper_bound(end) if end else None,
            )
        return sorted(
            theme_counts(records, period, **kw), key=lambda a: (a.period_start, a.region, a.theme)
        )

    weekly = counts("week", date(2026, 3, 1), date(2026, 4, 30))
    assert [(a.period, a.region, a.theme, a.count) for a in weekly] == [
        ("2026-W10", "扬州市", "transit", 1),
        ("2026-W10", "济南市", "card", 2),
        ("2026-W11", "济南市", "card", 1),
        ("2026-W15", "扬州市", "transit", 1),
    ]
    assert weekly[0].period_start == date(2026, 3, 2)
    monthly = counts("month", date(2026, 3, 1), date(2026, 4, 30), region="济南")
    assert [(a.period, a.theme, a.count) for a in monthly] == [("2026-03", "card", 3)]
    only_transit = counts("month", None, None, theme="transit")
    assert [(a.period, a.count) for a in only_transit] == [("2026-03", 1), ("2026-04", 1)]
    assert counts("month", date(2026, 3, 3), date(2026, 3, 8)) == []
    fields = {f.name for f in dataclasses.fields(AggregateRow)}
    assert fields == {"period", "period_start", "region", "theme", "theme_label", "count"}
    with pytest.raises(InvalidInputError):
        counts("year", None, None)


def test_case_summary(
    service: CaseService, clock: FakeClock, session_factory: Callable[[], Session]
) -> None:
    t1 = _intake(service)
    t2 = _intake(service)
    t3 = _intake(service)
    clock.advance(days=2)
    service.accept(t1, OFFICE)
    clock.advance(days=2)
    service.accept(t2, OFFICE)
    clock.advance(days=6)
    service.conclude(t1, OFFICE, "好")
    service.rate(t1, 555, "基本满意")
    service.reject(t3, OFFICE, "重复投诉")
    with session_factory() as session:
        records = load_case_records(session)
    stats = case_summary(records, now=T0 + timedelta(days=100))
    assert stats.total == 3 and stats.open == 1 and stats.concluded == 1 and stats.rejected == 1
    assert stats.avg_days_to_accept == 3.0  # (2 + 4) / 2
    assert stats.avg_days_to_conclude == 8.0 and stats.avg_days_total == 10.0
    assert stats.ratings == {"满意": 0, "基本满意": 1, "不满意": 0}
    assert stats.overdue == 1  # t2: accepted day 4, due day 64
