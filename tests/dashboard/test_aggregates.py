"""Counts by theme × period × region, trends, drill-down, times and satisfaction."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from complaints.aggregates import (
    average_times,
    average_times_by_unit,
    drill_down,
    period_key,
    period_keys,
    satisfaction,
    theme_counts,
    trend_series,
)
from complaints.records import CaseRecord, load_case_records
from complaints.types import Actor, CaseFilter, ComplaintIntake
from vetbot.errors import InvalidInputError

from .conftest import CST

OFFICE = Actor(id="office-1", name="双拥办", role="office")

# Known structure: (theme, month, region) -> count. Zero cells are absent on purpose.
EXPECTED = {
    ("card", "2026-01", "济南市"): 3,
    ("card", "2026-01", "扬州市"): 1,
    ("card", "2026-02", "济南市"): 2,
    ("transit", "2026-02", "扬州市"): 4,
    ("transit", "2026-03", "济南市"): 1,
    ("transit", "2026-03", "扬州市"): 2,
    ("medical", "2026-03", "金华市"): 5,
}


def _records() -> list[CaseRecord]:
    out = []
    n = itertools.count(1)
    for (theme, month, region), count in EXPECTED.items():
        year, mon = map(int, month.split("-"))
        for i in range(count):
            at = datetime(year, mon, 3 + i * 5, 10, 0, tzinfo=CST)
            out.append(CaseRecord(ticket=f"TS-{year}{mon:02d}{3 + i:02d}-{next(n):04d}", theme=theme,
                                  region=region, text=f"{theme} 投诉 {i}", status="待受理", created_at=at))
    return out


def test_counts_by_theme_month_region_are_exact() -> None:
    rows = theme_counts(_records(), "month")
    got = {(r.theme, r.period, r.region): r.count for r in rows}
    assert got == EXPECTED
    assert all(r.theme_label for r in rows)
    assert next(r for r in rows if r.theme == "medical").theme_label == "就医优待"


def test_filters_and_range_bounds() -> None:
    recs = _records()
    only_jn = theme_counts(recs, "month", region="济南市")
    assert {(r.theme, r.period): r.count for r in only_jn} == {
        ("card", "2026-01"): 3, ("card", "2026-02"): 2, ("transit", "2026-03"): 1,
    }
    feb = theme_counts(
        recs, "month", start=datetime(2026, 2, 1, tzinfo=CST), end=datetime(2026, 3, 1, tzinfo=CST)
    )
    assert sum(r.count for r in feb) == 6
    assert {r.period for r in feb} == {"2026-02"}
    assert theme_counts(recs, "month", theme="education") == []


def test_month_boundary_uses_china_time() -> None:
    # 2026-01-31 20:00 UTC is already 1 February in China.
    rec = CaseRecord(ticket="T1", theme="card", region="济南市", text="x", status="待受理",
                     created_at=datetime(2026, 1, 31, 20, 0, tzinfo=UTC))
    assert period_key(rec.created_at, "month") == "2026-02"
    naive = datetime(2026, 1, 31, 15, 59)  # naive = UTC (what SQLite returns): 23:59 in China
    assert period_key(naive, "month") == "2026-01"


def test_iso_weeks_across_the_new_year() -> None:
    assert period_key(datetime(2025, 12, 29, 12, tzinfo=CST), "week") == "2026-W01"
    assert period_key(datetime(2025, 12, 28, 12, tzinfo=CST), "week") == "2025-W52"
    keys = period_keys(datetime(2025, 12, 20, tzinfo=CST), datetime(2026, 1, 12, tzinfo=CST), "week")
    assert keys == ["2025-W51", "2025-W52", "2026-W01", "2026-W02"]
    with pytest.raises(InvalidInputError):
        period_key(datetime(2026, 1, 1, tzinfo=CST), "year")


def test_trend_series_is_zero_filled_and_ordered() -> None:
    trend = trend_series(
        _records(), "month", datetime(2025, 12, 1, tzinfo=CST), datetime(2026, 4, 1, tzinfo=CST)
    )
    assert trend.periods == ["2025-12", "2026-01", "2026-02", "2026-03"]
    assert trend.series["card"] == [0, 4, 2, 0]
    assert trend.series["transit"] == [0, 0, 4, 3]
    assert trend.series["medical"] == [0, 0, 0, 5]
    assert list(trend.series) == ["transit", "card", "medical"]  # largest totals first (7, 6, 5)
    assert trend.totals == {"transit": 7, "card": 6, "medical": 5}
    by_region = trend_series(_records(), "month", datetime(2026, 1, 1, tzinfo=CST),
                             datetime(2026, 4, 1, tzinfo=CST), group_by="region")
    assert by_region.series["扬州市"] == [1, 4, 2]
    assert by_region.labels["扬州市"] == "扬州市"


def test_drill_down_lists_the_cell_masked_newest_first() -> None:
    recs = [
        *_records(),
        CaseRecord(ticket="TS-20260210-0099", theme="card", region="济南市", status="待受理",
                   text="我的手机13912345678，身份证号370102199001011234，优待证一直没办好",
                   created_at=datetime(2026, 2, 27, 9, tzinfo=CST), complainant_name="张建国",
                   complainant_phone="139 1234 5678", unit="济南市退役军人事务局优抚科"),
    ]
    rows = drill_down(recs, theme="card", region="济南市", period="2026-02")
    assert rows[0].ticket == "TS-20260210-0099"
    assert len(rows) == 3
    top = rows[0]
    assert "13912345678" not in top.text and "370102199001011234" not in top.text
    assert "139****5678" in top.text
    assert top.complainant_phone == "139****5678"
    assert top.complainant_name == "张**"
    assert drill_down(recs, theme="card", limit=1)[0].ticket == "TS-20260210-0099"
    assert [r.ticket for r in drill_down(recs, unit="济南市退役军人事务局优抚科")] == ["TS-20260210-0099"]


def test_average_times_and_satisfaction() -> None:
    t0 = datetime(2026, 1, 5, 9, tzinfo=CST)
    recs = [
        CaseRecord(ticket="A", theme="card", region="济南市", text="", status="已办结", created_at=t0,
                   accepted_at=t0 + timedelta(days=2), concluded_at=t0 + timedelta(days=12), rating="满意",
                   unit="U1"),
        CaseRecord(ticket="B", theme="card", region="济南市", text="", status="已办结", created_at=t0,
                   accepted_at=t0 + timedelta(days=4), concluded_at=t0 + timedelta(days=24),
                   rating="不满意", unit="U1"),
        CaseRecord(ticket="C", theme="card", region="济南市", text="", status="已受理", created_at=t0,
                   accepted_at=t0 + timedelta(days=3), unit="U2"),
        CaseRecord(ticket="D", theme="card", region="济南市", text="", status="已办结", created_at=t0,
                   accepted_at=t0 + timedelta(days=1), concluded_at=t0 + timedelta(days=6), unit="U2"),
        CaseRecord(ticket="E", theme="card", region="济南市", text="", status="待受理", created_at=t0),
    ]
    stats = average_times(recs)
    assert stats.accepted == 4
    assert stats.avg_days_to_accept == pytest.approx((2 + 4 + 3 + 1) / 4)
    assert stats.concluded == 3
    assert stats.avg_days_to_conclude == pytest.approx((10 + 20 + 5) / 3, abs=0.01)
    assert stats.avg_days_total == pytest.approx((12 + 24 + 6) / 3)
    per_unit = average_times_by_unit(recs)
    assert per_unit["U1"].avg_days_to_conclude == 15.0
    assert per_unit["未分派"].accepted == 0 and per_unit["未分派"].avg_days_to_accept is None
    sat = satisfaction(recs)
    assert sat.counts == {"满意": 1, "基本满意": 0, "不满意": 1, "未评价": 1}
    assert sat.rated == 2 and sat.concluded == 3
    assert sat.satisfied_rate == 0.5
    assert satisfaction([]).satisfied_rate is None


def test_records_from_the_real_case_store_match_the_service_aggregates(
    service, session_factory, clock
) -> None:
    """Cases filed through CaseService come back with the right periods, and agree with
    the cases the service lists."""
    plan = [("card", "济南市", 0), ("card", "济南市", 1), ("transit", "扬州市", 8), ("card", "金华市", 35),
            ("transit", "济南市", 36), ("transit", "济南市", 40)]
    start = clock.now
    for theme, region, day in plan:
        clock.now = start + timedelta(days=day)
        service.intake(ComplaintIntake(text=f"关于{theme}的投诉，电话13800001111", channel="web",
                                       region=region, theme=theme, complainant_phone="13800001111"))
    with session_factory() as session:
        recs = load_case_records(session)
    assert len(recs) == 6
    ours = {(r.theme, r.period, r.region): r.count for r in theme_counts(recs, "month")}
    assert ours == {("card", "2026-03", "济南市"): 2, ("transit", "2026-03", "扬州市"): 1,
                    ("card", "2026-04", "金华市"): 1, ("transit", "2026-04", "济南市"): 2}
    listed = service.list_cases(CaseFilter(), OFFICE)
    theirs = dict(Counter((v.theme, period_key(v.created_at, "month"), v.region) for v in listed))
    assert ours == theirs
    weekly = dict(Counter((v.theme, period_key(v.created_at, "week"), v.region) for v in listed))
    assert {(r.theme, r.period, r.region): r.count for r in theme_counts(recs, "week")} == weekly
    assert all(r.unit for r in recs) and recs[0].handler_id == "jn-yfk"
    with session_factory() as session:
        assert len(load_case_records(session, region="济南市", theme="transit")) == 2
        assert len(load_case_records(session, include_demo=False)) == 6
