"""The printable monthly summary (/dashboard/monthly): one sheet per month, from the database."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.dashboard import data
from api.dashboard.charts import Series, color, hbar_chart, stacked_bar_chart
from api.dashboard.filters import add_months, china_midnight
from complaints.aggregates import Satisfaction, satisfaction, trend_series
from complaints.deadlines import deadline_report
from complaints.models import Case
from complaints.records import load_case_records, record_from_case
from complaints.themes import theme_label

TREND_MONTHS = 6
TOP_THEMES = 5
MONTHLY_OVERDUE_ROWS = 15


@dataclass
class OverdueLine:
    """One overdue case on the monthly sheet."""

    ticket: str
    unit: str
    caseworker: str  # name, or id when the routing table has no name
    stage: str
    days_over: float
    theme: str
    region: str


@dataclass
class MonthSheet:
    """One printed page of the monthly summary."""

    month: date
    cutoff: datetime
    partial: bool  # the month is not over yet
    total: int
    previous: int
    accepted: int
    concluded: int
    satisfaction: Satisfaction
    top_themes: list[tuple[str, str, int, int]]  # (code, label, count, previous month's count)
    regions: list[tuple[str, int]]
    overdue: list[OverdueLine]
    overdue_total: int
    trend_chart: Markup
    trend_legend: list[tuple[str, str]]
    themes_chart: Markup

    @property
    def title(self) -> str:
        """2026年3月."""
        return f"{self.month.year}年{self.month.month}月"


def _count_between(
    session: Session, column: Any, start: datetime, end: datetime, region: str | None
) -> list[Any]:
    stmt = select(Case).where(column >= start, column < end)
    if region:
        stmt = stmt.where(Case.region == region)
    return [record_from_case(c) for c in session.scalars(stmt)]


def month_sheet(
    session: Session, month: date, region: str | None, now: datetime, names: Mapping[str, str]
) -> MonthSheet:
    """Totals, top themes, regions, overdue cases (at month end) and a six-month trend.

    ``names`` maps caseworker ids to names (see ``data.caseworker_names``).
    """
    m_start, m_end = china_midnight(month), china_midnight(add_months(month, 1))
    cutoff = min(m_end, now)
    first = add_months(month, -(TREND_MONTHS - 1))
    records = load_case_records(session, start=china_midnight(first), end=m_end, region=region)
    in_month = [r for r in records if m_start <= r.created_at < m_end]
    prev_start = china_midnight(add_months(month, -1))
    in_prev = [r for r in records if prev_start <= r.created_at < m_start]
    counts, prev_counts = Counter(r.theme for r in in_month), Counter(r.theme for r in in_prev)
    top = [
        (code, theme_label(code), n, prev_counts.get(code, 0))
        for code, n in counts.most_common(TOP_THEMES)
    ]
    trend = trend_series(records, "month", china_midnight(first), m_end, group_by="theme")
    top_codes = [code for code, *_ in top] or list(trend.series)[:TOP_THEMES]
    series = [
        Series(trend.labels[c], trend.series[c], color(i))
        for i, c in enumerate(top_codes)
        if c in trend.series
    ]
    rest = [v for c, v in trend.series.items() if c not in top_codes]
    if rest:
        series.append(Series(data.OTHERS_LABEL, [sum(col) for col in zip(*rest, strict=True)], "#8a94a3"))
    concluded = _count_between(session, Case.concluded_at, m_start, m_end, region)
    accepted = _count_between(session, Case.accepted_at, m_start, m_end, region)
    report = deadline_report(
        data.open_records(session, region=region, as_of=cutoff), cutoff, handler_names=names
    )
    overdue = sorted(
        (
            OverdueLine(
                ticket=i.ticket,
                unit=u.unit,
                caseworker=u.handler_name or u.handler_id or "",
                stage=i.stage_label,
                days_over=round(-i.days_left, 1),
                theme=theme_label(i.theme),
                region=i.region,
            )
            for u in report
            for i in u.overdue
        ),
        key=lambda line: -line.days_over,
    )
    return MonthSheet(
        month=month,
        cutoff=cutoff,
        partial=now < m_end,
        total=len(in_month),
        previous=len(in_prev),
        accepted=len(accepted),
        concluded=len(concluded),
        satisfaction=satisfaction(concluded),
        top_themes=top,
        regions=Counter(r.region for r in in_month).most_common(),
        overdue=overdue[:MONTHLY_OVERDUE_ROWS],
        overdue_total=len(overdue),
        trend_chart=stacked_bar_chart(
            trend.periods, series, label="近六个月投诉件数（按主题堆叠）", height=220
        ),
        trend_legend=[(s.label, s.color) for s in series],
        themes_chart=hbar_chart([(label, n) for _, label, n, _ in top], label="本月主要投诉主题"),
    )
