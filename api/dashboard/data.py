"""What each dashboard page shows, computed from the database (no HTTP here).

The numbers come from ``complaints.aggregates``, ``complaints.deadlines`` and
``complaints.emerging``; this module only selects the records for the filters, arranges them
for the templates and builds the charts. Every case text that reaches a page has gone through
``complaints.records.mask_record`` (drill-down) or ``mask_text`` (examples).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from markupsafe import Markup
from sqlalchemy import func, or_, select

from api.dashboard.charts import Series, color, hbar_chart, line_chart, stacked_bar_chart
from api.dashboard.filters import Filters
from api.views import document_url
from complaints.aggregates import (
    AggregateRow,
    Satisfaction,
    TimeStats,
    TrendSeries,
    UnitSupervision,
    average_times,
    average_times_by_unit,
    drill_down,
    satisfaction,
    theme_counts,
    trend_series,
    unit_supervision,
)
from complaints.deadlines import UnitDeadlines, deadline_report
from complaints.emerging import EmergingCluster, emerging_themes
from complaints.lifecycle import OPEN_STATUSES
from complaints.models import Case
from complaints.records import CaseRecord, CaseRow, load_case_records, record_from_case
from complaints.themes import THEMES, theme_label
from knowledge.gaps import GapCluster, knowledge_gap_clusters, load_knowledge_gaps

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings
    from sqlalchemy.orm import Session

    from knowledge.text import ChineseTokenizer

logger = logging.getLogger(__name__)

# Lines drawn in the theme trend chart; the remaining themes are summed into one line.
MAX_LINES = 6
DRILL_LIMIT = 200
EXCERPT_CHARS = 80
DUE_SOON_DAYS = 3
OTHERS_LABEL = "其余主题"


def excerpt(masked_text: str, limit: int = EXCERPT_CHARS) -> str:
    """Shorten an already masked text (mask first: a cut number would escape the patterns)."""
    text = " ".join(masked_text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def themes() -> dict[str, str]:
    """Theme code → Chinese label."""
    return dict(THEMES)


def known_regions(session: Session) -> list[str]:
    """Regions that occur in the case store, sorted."""
    return sorted(r for r in session.scalars(select(Case.region).distinct()) if r)


def count_cases(
    session: Session, start: datetime, end: datetime, region: str | None, theme: str | None
) -> int:
    """Number of cases with intake in ``[start, end)``."""
    stmt = select(func.count()).select_from(Case).where(Case.created_at >= start, Case.created_at < end)
    if region:
        stmt = stmt.where(Case.region == region)
    if theme:
        stmt = stmt.where(Case.theme == theme)
    return int(session.scalar(stmt) or 0)


def open_records(
    session: Session, *, region: str | None = None, theme: str | None = None, as_of: datetime | None = None
) -> list[CaseRecord]:
    """Cases on which a deadline runs, whatever their intake date (deadlines do not wait).

    With ``as_of`` the cases are reconstructed as they stood then: steps taken later
    (acceptance, conclusion, refusal, transfer) are undone. An extension granted after
    ``as_of`` is not (its time is only in the event log), so such a case counts with the
    extended deadline.
    """
    stmt = select(Case)
    if as_of is None:
        stmt = stmt.where(Case.status.in_(OPEN_STATUSES))
    else:
        stmt = stmt.where(
            Case.created_at < as_of,
            or_(Case.concluded_at.is_(None), Case.concluded_at >= as_of),
            or_(Case.closed_at.is_(None), Case.closed_at >= as_of),
        )
    if region:
        stmt = stmt.where(Case.region == region)
    if theme:
        stmt = stmt.where(Case.theme == theme)
    out = []
    for case in session.scalars(stmt):
        record = record_from_case(case)
        if as_of is not None:
            record = _as_of(record, as_of)
        if record.is_open:
            out.append(record)
    return out


def _as_of(record: CaseRecord, at: datetime) -> CaseRecord:
    changes: dict[str, Any] = {}
    if record.accepted_at is not None and record.accepted_at >= at:
        changes.update(accepted_at=None, conclude_due=None, extended=False)
    if record.concluded_at is not None and record.concluded_at >= at:
        changes["concluded_at"] = None
    if record.closed:
        changes["closed"] = False  # the query kept it only because it closed after ``at``
    return replace(record, **changes) if changes else record


def caseworker_names(runtime: Any) -> dict[str, str]:
    """Caseworker id → name from the routing table (empty when the case service is unavailable)."""
    try:
        routing = runtime.cases.routing
    except Exception:  # the names are a nicety; the report works without them
        logger.warning("routing table unavailable for caseworker names", exc_info=True)
        return {}
    return {h.id: h.name for h in routing.handlers.values()}


# --------------------------------------------------------------------------------------------
# overview (/dashboard)
# --------------------------------------------------------------------------------------------


@dataclass
class ThemeRow:
    """One line of the theme table."""

    code: str
    label: str
    total: int
    share: float
    series: list[int]
    last: int
    previous: int
    by_region: dict[str, int]
    color: str

    @property
    def change(self) -> int:
        """Last period minus the one before."""
        return self.last - self.previous


@dataclass
class Overview:
    """Everything /dashboard shows."""

    filters: Filters
    total: int
    previous_total: int
    periods: list[str]
    theme_rows: list[ThemeRow]
    regions: list[str]
    region_totals: dict[str, int]
    status_counts: dict[str, int]
    theme_chart: Markup
    region_chart: Markup
    region_series: list[tuple[str, str, list[int]]]  # (region, colour, counts per period)
    theme_legend: list[tuple[str, str]]  # (label, colour)
    deadlines: list[UnitDeadlines]
    overdue_count: int
    due_soon_count: int
    times: TimeStats
    times_by_unit: dict[str, TimeStats]
    satisfaction: Satisfaction
    satisfaction_chart: Markup
    aggregates: list[AggregateRow] = field(default_factory=list)
    units: list[UnitSupervision] = field(default_factory=list)


def theme_rows(trend: TrendSeries, records: Sequence[CaseRecord]) -> list[ThemeRow]:
    """Theme table rows (largest first) from a theme trend."""
    total = sum(trend.totals.values())
    by_region: dict[str, Counter[str]] = {}
    for r in records:
        by_region.setdefault(r.theme, Counter())[r.region] += 1
    rows = []
    for i, (code, values) in enumerate(trend.series.items()):
        n = sum(values)
        rows.append(
            ThemeRow(
                code=code,
                label=trend.labels.get(code, code),
                total=n,
                share=n / total if total else 0.0,
                series=list(values),
                last=values[-1] if values else 0,
                previous=values[-2] if len(values) > 1 else 0,
                by_region=dict(by_region.get(code, Counter()).most_common()),
                color=color(i) if i < MAX_LINES else "#8a94a3",
            )
        )
    return rows


def _theme_lines(rows: Sequence[ThemeRow], n_periods: int) -> list[Series]:
    lines = [Series(r.label, r.series, r.color) for r in rows[:MAX_LINES]]
    rest = rows[MAX_LINES:]
    if rest:
        summed = [sum(r.series[i] for r in rest) for i in range(n_periods)]
        lines.append(Series(OTHERS_LABEL, summed, "#8a94a3"))
    return lines


def satisfaction_chart(sat: Satisfaction) -> Markup:
    """Horizontal bars of the rating distribution."""
    colors = ["#1d7a3e", "#0b5cad", "#b42318", "#8a94a3"]
    return hbar_chart(list(sat.counts.items()), label="满意度评价分布", colors=colors)


def overview(session: Session, filters: Filters, now: datetime, names: Mapping[str, str]) -> Overview:
    """Counts, trends, deadlines, handling times and satisfaction for the filters."""
    records = load_case_records(
        session, start=filters.start_dt, end=filters.end_dt, region=filters.region, theme=filters.theme
    )
    span = filters.end_dt - filters.start_dt
    previous_total = count_cases(
        session, filters.start_dt - span, filters.start_dt, filters.region, filters.theme
    )
    trend = trend_series(records, filters.period, filters.start_dt, filters.end_dt, group_by="theme")
    by_region = trend_series(records, filters.period, filters.start_dt, filters.end_dt, group_by="region")
    rows = theme_rows(trend, records)
    lines = _theme_lines(rows, len(trend.periods))
    region_series = [(g, color(i), list(v)) for i, (g, v) in enumerate(by_region.series.items())]
    open_now = open_records(session, region=filters.region, theme=filters.theme)
    deadlines = deadline_report(open_now, now, due_soon_days=DUE_SOON_DAYS, handler_names=names)
    sat = satisfaction(records)
    return Overview(
        filters=filters,
        total=len(records),
        previous_total=previous_total,
        periods=trend.periods,
        theme_rows=rows,
        regions=list(by_region.series),
        region_totals=by_region.totals,
        status_counts=dict(Counter(r.status for r in records).most_common()),
        theme_chart=line_chart(trend.periods, lines, label="各主题投诉件数趋势"),
        region_chart=stacked_bar_chart(
            trend.periods,
            [Series(g, v, c) for g, c, v in region_series],
            label="各地区投诉件数（按周期堆叠）",
        ),
        region_series=region_series,
        theme_legend=[(s.label, s.color) for s in lines],
        deadlines=[u for u in deadlines if u.overdue or u.due_soon],
        overdue_count=sum(len(u.overdue) for u in deadlines),
        due_soon_count=sum(len(u.due_soon) for u in deadlines),
        times=average_times(records),
        times_by_unit=average_times_by_unit(records),
        satisfaction=sat,
        satisfaction_chart=satisfaction_chart(sat),
        aggregates=theme_counts(records, filters.period),
        units=unit_supervision(records, now),
    )


# --------------------------------------------------------------------------------------------
# drill-down (/dashboard/themes/{code}) and case exports
# --------------------------------------------------------------------------------------------


@dataclass
class CaseFilter:
    """Drill-down narrowing inside the main filters."""

    status: str | None = None
    unit: str | None = None
    in_period: str | None = None  # a period key of ``filters.period`` (2026-03 / 2026-W10)

    def params(self) -> dict[str, str]:
        """Non-empty query parameters."""
        return {
            k: v
            for k, v in (("status", self.status), ("unit", self.unit), ("in_period", self.in_period))
            if v
        }


def case_rows(
    session: Session, filters: Filters, extra: CaseFilter, *, limit: int | None = None
) -> list[CaseRow]:
    """The masked cases behind the filters (newest first)."""
    records = load_case_records(
        session, start=filters.start_dt, end=filters.end_dt, region=filters.region, theme=filters.theme
    )
    return drill_down(
        records,
        status=extra.status,
        unit=extra.unit,
        period=extra.in_period,
        period_kind=filters.period,
        limit=limit,
    )


@dataclass
class ThemeDetail:
    """Everything /dashboard/themes/{code} shows."""

    code: str
    label: str
    total: int
    rows: list[CaseRow]
    shown: int
    periods: list[str]
    region_chart: Markup
    region_legend: list[tuple[str, str]]
    status_counts: dict[str, int]
    unit_counts: dict[str, int]
    period_counts: list[tuple[str, int]]


def theme_detail(session: Session, filters: Filters, extra: CaseFilter) -> ThemeDetail:
    """One theme: its trend by region, status and unit breakdown, and its masked cases."""
    assert filters.theme is not None
    records = load_case_records(
        session, start=filters.start_dt, end=filters.end_dt, region=filters.region, theme=filters.theme
    )
    rows = drill_down(
        records,
        status=extra.status,
        unit=extra.unit,
        period=extra.in_period,
        period_kind=filters.period,
        limit=None,
    )
    trend = trend_series(records, filters.period, filters.start_dt, filters.end_dt, group_by="region")
    series = [Series(g, v, color(i)) for i, (g, v) in enumerate(trend.series.items())]
    per_period = [sum(v[i] for v in trend.series.values()) for i in range(len(trend.periods))]
    return ThemeDetail(
        code=filters.theme,
        label=theme_label(filters.theme),
        total=len(rows),
        rows=rows[:DRILL_LIMIT],
        shown=min(len(rows), DRILL_LIMIT),
        periods=trend.periods,
        region_chart=stacked_bar_chart(
            trend.periods, series, label=f"{theme_label(filters.theme)}：各地区件数", height=220
        ),
        region_legend=[(s.label, s.color) for s in series],
        status_counts=dict(Counter(r.status for r in rows).most_common()),
        unit_counts=dict(Counter(r.unit or "未分派" for r in rows).most_common()),
        period_counts=list(zip(trend.periods, per_period, strict=True)),
    )


# --------------------------------------------------------------------------------------------
# emerging themes and knowledge gaps (clustering: cached by the caller)
# --------------------------------------------------------------------------------------------


def emerging(
    session: Session,
    embeddings: Embeddings,
    tokenizer: ChineseTokenizer,
    now: datetime,
    *,
    window_days: int,
    region: str | None,
    theme: str | None,
) -> list[EmergingCluster]:
    """Clusters of the last two windows of complaints, growing ones first."""
    records = load_case_records(
        session, start=now - timedelta(days=2 * window_days), end=now, region=region, theme=theme
    )
    return emerging_themes(records, embeddings, now, window_days=window_days, tokenizer=tokenizer)


def gap_clusters(
    session: Session, embeddings: Embeddings, tokenizer: ChineseTokenizer, since: datetime
) -> list[GapCluster]:
    """Refused / low-confidence / 👎 questions since ``since``, grouped."""
    items = load_knowledge_gaps(session, since=since)
    return knowledge_gap_clusters(items, embeddings, tokenizer=tokenizer)


def source_link(source: Mapping[str, Any], known_docs: set[str] | None) -> str | None:
    """Link to the retrieved passage on its document page, or None when the document is gone.

    Old log rows may lack ``doc_id``; chunk ids are ``{doc_id}:{sha256[:12]}:{i}``.
    ``known_docs`` None means the knowledge base is not loaded: link optimistically.
    """
    chunk_id = str(source.get("chunk_id") or "")
    doc_id = str(source.get("doc_id") or "") or (
        chunk_id.rsplit(":", 2)[0] if chunk_id.count(":") >= 2 else ""
    )
    if not doc_id or (known_docs is not None and doc_id not in known_docs):
        return None
    return document_url(doc_id, chunk_id or None)
