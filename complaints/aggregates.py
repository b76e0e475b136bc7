"""Office aggregates over case records: counts by theme × period × region, trends, drill-down,
handling times, satisfaction and a one-line summary.

This is the one aggregate engine of the project: the dashboard, the exports and the tests all
call these functions on ``complaints.records.CaseRecord`` lists. Periods are ISO weeks or
months in China time (``vetbot.clock.CHINA_TZ``), so that a complaint filed at 07:00 on the 1st
belongs to the new month. Days are fractional calendar days (``float``), rounded to 2 places.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from complaints import lifecycle as lc
from complaints.records import CaseRecord, CaseRow, mask_record
from complaints.themes import theme_label
from vetbot.clock import CHINA_TZ, as_utc
from vetbot.errors import InvalidInputError

UNRATED = "未评价"

Period = Literal["week", "month"]
PERIODS: tuple[str, ...] = ("week", "month")


def _local_date(dt: datetime) -> date:
    return as_utc(dt).astimezone(CHINA_TZ).date()


# --------------------------------------------------------------------------------------------
# counts and trends
# --------------------------------------------------------------------------------------------


def _check_period(period: str) -> None:
    if period not in PERIODS:
        raise InvalidInputError(f"bad period {period!r}", user_message="统计周期只能是“周”或“月”。")


def period_key(dt: datetime, period: str) -> str:
    """The period an instant belongs to, in China time: ``2026-W05`` (ISO week) or ``2026-03``."""
    _check_period(period)
    d = _local_date(dt)
    if period == "week":
        year, week, _ = d.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{d.year}-{d.month:02d}"


def period_start(dt: datetime, period: str) -> date:
    """The first China-local day of the period ``dt`` belongs to (a Monday for ISO weeks)."""
    _check_period(period)
    d = _local_date(dt)
    return d - timedelta(days=d.weekday()) if period == "week" else d.replace(day=1)


def period_keys(start: datetime, end: datetime, period: str) -> list[str]:
    """Every period key touched by ``[start, end)``, in order (for zero-filled series)."""
    _check_period(period)
    if end <= start:
        return []
    first, last = _local_date(start), _local_date(end - timedelta(microseconds=1))
    keys: list[str] = []
    if period == "week":
        d = first - timedelta(days=first.weekday())
        while d <= last:
            year, week, _ = d.isocalendar()
            keys.append(f"{year}-W{week:02d}")
            d += timedelta(days=7)
    else:
        y, m = first.year, first.month
        while (y, m) <= (last.year, last.month):
            keys.append(f"{y}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return keys


def _select(
    records: Iterable[CaseRecord],
    start: datetime | None,
    end: datetime | None,
    region: str | None,
    theme: str | None,
) -> list[CaseRecord]:
    out = []
    for r in records:
        created = as_utc(r.created_at)
        if start is not None and created < as_utc(start):
            continue
        if end is not None and created >= as_utc(end):
            continue
        if region and r.region != region:
            continue
        if theme and r.theme != theme:
            continue
        out.append(r)
    return out


@dataclass(frozen=True)
class AggregateRow:
    """Number of cases of one theme, in one period and one region; never any text."""

    theme: str
    theme_label: str
    period: str  # "2026-W05" (ISO week) or "2026-02"
    region: str
    count: int
    period_start: date  # first China-local day of the period


def theme_counts(
    records: Iterable[CaseRecord],
    period: str = "month",
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    region: str | None = None,
    theme: str | None = None,
) -> list[AggregateRow]:
    """Counts by theme × period × region (cases with intake in ``[start, end)``), non-zero cells only."""
    _check_period(period)
    counts: Counter[tuple[str, str, str]] = Counter()
    starts: dict[str, date] = {}
    for r in _select(records, start, end, region, theme):
        key = period_key(r.created_at, period)
        starts.setdefault(key, period_start(r.created_at, period))
        counts[(r.theme, key, r.region)] += 1
    return [
        AggregateRow(
            theme=t,
            theme_label=theme_label(t, default=t),
            period=p,
            region=g,
            count=n,
            period_start=starts[p],
        )
        for (t, p, g), n in sorted(counts.items(), key=lambda kv: (kv[0][1], -kv[1], kv[0][0], kv[0][2]))
    ]


@dataclass(frozen=True)
class TrendSeries:
    """Zero-filled counts per period for each group (theme codes or regions)."""

    period: str
    periods: list[str]
    series: dict[str, list[int]]
    labels: dict[str, str]

    @property
    def totals(self) -> dict[str, int]:
        """Total count per group."""
        return {k: sum(v) for k, v in self.series.items()}


def trend_series(
    records: Iterable[CaseRecord],
    period: str,
    start: datetime,
    end: datetime,
    *,
    group_by: Literal["theme", "region"] = "theme",
    region: str | None = None,
    theme: str | None = None,
) -> TrendSeries:
    """One series per theme (or region) over every period of ``[start, end)``, largest total first."""
    if group_by not in ("theme", "region"):
        raise InvalidInputError(f"bad group_by {group_by!r}", user_message="只能按主题或地区分组。")
    keys = period_keys(start, end, period)
    index = {k: i for i, k in enumerate(keys)}
    series: dict[str, list[int]] = defaultdict(lambda: [0] * len(keys))
    for r in _select(records, start, end, region, theme):
        group = r.theme if group_by == "theme" else r.region
        series[group][index[period_key(r.created_at, period)]] += 1
    ordered = dict(sorted(series.items(), key=lambda kv: (-sum(kv[1]), kv[0])))
    labels = {k: theme_label(k, default=k) if group_by == "theme" else k for k in ordered}
    return TrendSeries(period=period, periods=keys, series=ordered, labels=labels)


def drill_down(
    records: Iterable[CaseRecord],
    *,
    theme: str | None = None,
    region: str | None = None,
    period: str | None = None,
    period_kind: str = "month",
    status: str | None = None,
    unit: str | None = None,
    handler_id: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int | None = 200,
) -> list[CaseRow]:
    """The masked cases behind one cell of the aggregates (newest first)."""
    rows = []
    for r in _select(records, start, end, region, theme):
        if status and r.status != status:
            continue
        if unit and r.unit != unit:
            continue
        if handler_id and r.handler_id != handler_id:
            continue
        if period and period_key(r.created_at, period_kind) != period:
            continue
        rows.append(r)
    rows.sort(key=lambda r: as_utc(r.created_at), reverse=True)
    if limit is not None:
        rows = rows[:limit]
    return [mask_record(r) for r in rows]


# --------------------------------------------------------------------------------------------
# handling times and satisfaction
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimeStats:
    """Average handling times in days (None when no case reached that step)."""

    accepted: int
    avg_days_to_accept: float | None  # intake → acceptance
    concluded: int
    avg_days_to_conclude: float | None  # acceptance → conclusion
    avg_days_total: float | None  # intake → conclusion


def _avg_days(deltas: Sequence[timedelta]) -> float | None:
    if not deltas:
        return None
    return round(sum(d / timedelta(days=1) for d in deltas) / len(deltas), 2)


def average_times(records: Iterable[CaseRecord]) -> TimeStats:
    """Average days to accept and to conclude over the given cases."""
    to_accept: list[timedelta] = []
    to_conclude: list[timedelta] = []
    total: list[timedelta] = []
    for r in records:
        if r.accepted_at is not None:
            to_accept.append(as_utc(r.accepted_at) - as_utc(r.created_at))
            if r.concluded_at is not None:
                to_conclude.append(as_utc(r.concluded_at) - as_utc(r.accepted_at))
        if r.concluded_at is not None:
            total.append(as_utc(r.concluded_at) - as_utc(r.created_at))
    return TimeStats(
        accepted=len(to_accept),
        avg_days_to_accept=_avg_days(to_accept),
        concluded=len(total),
        avg_days_to_conclude=_avg_days(to_conclude),
        avg_days_total=_avg_days(total),
    )


def average_times_by_unit(records: Iterable[CaseRecord]) -> dict[str, TimeStats]:
    """``average_times`` per assigned unit."""
    groups: dict[str, list[CaseRecord]] = defaultdict(list)
    for r in records:
        groups[r.unit or "未分派"].append(r)
    return {unit: average_times(rs) for unit, rs in sorted(groups.items())}


@dataclass(frozen=True)
class Satisfaction:
    """Ratings of concluded cases."""

    counts: dict[str, int]  # 满意 / 基本满意 / 不满意 / 未评价
    rated: int
    concluded: int

    @property
    def satisfied_rate(self) -> float | None:
        """Share of rated cases rated 满意 or 基本满意."""
        if not self.rated:
            return None
        return round((self.counts["满意"] + self.counts["基本满意"]) / self.rated, 4)


def satisfaction(records: Iterable[CaseRecord]) -> Satisfaction:
    """Distribution of ratings over concluded cases (unrated ones counted as 未评价)."""
    counts = dict.fromkeys((*lc.RATINGS, UNRATED), 0)
    concluded = 0
    for r in records:
        if r.concluded_at is None and r.rating is None:
            continue
        concluded += 1
        counts[r.rating if r.rating in lc.RATINGS else UNRATED] += 1  # type: ignore[index]
    return Satisfaction(counts=counts, rated=concluded - counts[UNRATED], concluded=concluded)


@dataclass(frozen=True)
class CaseSummary:
    """Outcome counts, average handling days and the rating distribution of a set of cases.

    ``overdue`` counts open cases past the deadline of their current status at the summary's
    ``now``; ``ratings`` maps each of ``lifecycle.RATINGS`` to its count (unrated left out).
    """

    total: int
    open: int
    overdue: int
    accepted: int
    concluded: int
    rejected: int
    transferred: int
    avg_days_to_accept: float | None
    avg_days_to_conclude: float | None
    avg_days_total: float | None
    ratings: dict[str, int]


def case_summary(records: Sequence[CaseRecord], now: datetime) -> CaseSummary:
    """``average_times``, ``satisfaction`` and the status counts of ``records`` in one object."""
    at = as_utc(now)
    statuses = Counter(r.status for r in records)
    times = average_times(records)
    sat = satisfaction(records)
    return CaseSummary(
        total=len(records),
        open=sum(statuses[s] for s in lc.OPEN_STATUSES),
        overdue=sum(lc.is_overdue(r.status, r.accept_deadline(), r.conclude_deadline(), at) for r in records),
        accepted=times.accepted,
        concluded=statuses[lc.CONCLUDED],
        rejected=statuses[lc.REJECTED],
        transferred=statuses[lc.TRANSFERRED],
        avg_days_to_accept=times.avg_days_to_accept,
        avg_days_to_conclude=times.avg_days_to_conclude,
        avg_days_total=times.avg_days_total,
        ratings={k: sat.counts[k] for k in lc.RATINGS},
    )


@dataclass(frozen=True)
class UnitSupervision:
    """Supervision figures of one unit (承办单位) for the office (rates 0..1, None without data).

    ``on_time``: concluded by the deadline of its stage; ``late``: concluded after it, or still
    open past it at ``now`` (on-time rate = on_time / (on_time + late)). ``satisfied_rate``:
    满意 + 基本满意 over rated cases (the complainant's rating or the staff's 回访).
    ``returns``: repeat complaints (an earlier case of the same complainant, by Telegram chat
    or phone, on the same theme) and duplicates merged away (已合并); return rate over ``total``.
    """

    unit: str
    total: int
    open: int
    overdue: int
    on_time: int
    late: int
    on_time_rate: float | None
    rated: int
    satisfied_rate: float | None
    returns: int
    return_rate: float | None


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _is_return(record: CaseRecord, seen: set[tuple[str, str]]) -> bool:
    keys = []
    if record.complainant_chat_id is not None:
        keys.append((f"chat:{record.complainant_chat_id}", record.theme))
    if record.complainant_phone:
        keys.append((f"phone:{record.complainant_phone}", record.theme))
    repeat = any(k in seen for k in keys)
    seen.update(keys)
    return repeat or record.status == lc.MERGED


def unit_supervision(records: Iterable[CaseRecord], now: datetime) -> list[UnitSupervision]:
    """``UnitSupervision`` per assigned unit (most late first, then by name).

    A repeat is judged against every earlier case in ``records`` whatever its unit, so pass
    the period's records oldest first (as ``load_case_records`` returns them)."""
    at = as_utc(now)
    seen: set[tuple[str, str]] = set()
    groups: dict[str, list[tuple[CaseRecord, bool]]] = defaultdict(list)
    for r in sorted(records, key=lambda r: as_utc(r.created_at)):
        groups[r.unit or "未分派"].append((r, _is_return(r, seen)))
    out = []
    for unit, items in groups.items():
        on_time = late = overdue = rated = satisfied = 0
        for r, _ in items:
            is_overdue = lc.is_overdue(r.status, r.accept_deadline(), r.conclude_deadline(), at)
            overdue += is_overdue
            if r.concluded_at is not None:
                due = r.conclude_deadline()
                if due is None or as_utc(r.concluded_at) <= due:
                    on_time += 1
                else:
                    late += 1
            elif is_overdue:
                late += 1
            if r.rating in lc.RATINGS:
                rated += 1
                satisfied += r.rating in ("满意", "基本满意")
        returns = sum(1 for _, repeat in items if repeat)
        out.append(
            UnitSupervision(
                unit=unit,
                total=len(items),
                open=sum(1 for r, _ in items if r.status in lc.OPEN_STATUSES),
                overdue=overdue,
                on_time=on_time,
                late=late,
                on_time_rate=_rate(on_time, on_time + late),
                rated=rated,
                satisfied_rate=_rate(satisfied, rated),
                returns=returns,
                return_rate=_rate(returns, len(items)),
            )
        )
    return sorted(out, key=lambda u: (-u.late, u.unit))


__all__ = [
    "PERIODS",
    "UNRATED",
    "AggregateRow",
    "CaseSummary",
    "Period",
    "Satisfaction",
    "TimeStats",
    "TrendSeries",
    "UnitSupervision",
    "average_times",
    "average_times_by_unit",
    "case_summary",
    "drill_down",
    "period_key",
    "period_keys",
    "period_start",
    "satisfaction",
    "theme_counts",
    "trend_series",
    "unit_supervision",
]
