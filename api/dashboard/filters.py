"""The dashboard's filter form: period, date range (China dates, inclusive), region, theme."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from vetbot.clock import CHINA_TZ
from vetbot.errors import InvalidInputError

PERIOD_LABELS = {"month": "按月", "week": "按周"}
MAX_SPAN_DAYS = 3 * 366
MAX_REGION_CHARS = 32


def china_midnight(d: date) -> datetime:
    """00:00 China time of ``d``, as an aware UTC datetime (the database stores UTC)."""
    return datetime(d.year, d.month, d.day, tzinfo=CHINA_TZ).astimezone(UTC)


def china_today(now: datetime) -> date:
    """The China-local date of ``now``."""
    return now.astimezone(CHINA_TZ).date()


def add_months(d: date, months: int) -> date:
    """``d`` moved by ``months`` calendar months (day clamped to the month's length)."""
    index = d.year * 12 + d.month - 1 + months
    year, month = divmod(index, 12)
    day = min(d.day, calendar.monthrange(year, month + 1)[1])
    return date(year, month + 1, day)


def default_range(period: str, today: date) -> tuple[date, date]:
    """Six months (month) or twelve weeks (week) up to and including ``today``."""
    if period == "week":
        monday = today - timedelta(days=today.weekday())
        return monday - timedelta(weeks=11), today
    return add_months(today.replace(day=1), -5), today


@dataclass(frozen=True)
class Filters:
    """Validated filters; ``start`` and ``end`` are inclusive China-local dates."""

    period: str
    start: date
    end: date
    region: str | None = None
    theme: str | None = None

    @property
    def start_dt(self) -> datetime:
        """Inclusive lower bound (UTC)."""
        return china_midnight(self.start)

    @property
    def end_dt(self) -> datetime:
        """Exclusive upper bound: midnight after ``end`` (UTC)."""
        return china_midnight(self.end + timedelta(days=1))

    def params(self, **overrides: Any) -> dict[str, str]:
        """Query parameters reproducing these filters (``None``/empty values left out)."""
        values: dict[str, Any] = {
            "period": self.period,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "region": self.region,
            "theme": self.theme,
        }
        values.update(overrides)
        return {k: str(v) for k, v in values.items() if v not in (None, "")}

    def query(self, **overrides: Any) -> str:
        """URL query string of :meth:`params`."""
        return urlencode(self.params(**overrides))

    def with_(self, **changes: Any) -> Filters:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def describe(self, theme_label: Any = None) -> dict[str, str]:
        """Chinese description for export headers (筛选：...)."""
        out = {
            "统计周期": PERIOD_LABELS.get(self.period, self.period),
            "登记日期": f"{self.start.isoformat()} 至 {self.end.isoformat()}",
            "地区": self.region or "全部",
        }
        label = theme_label(self.theme) if (self.theme and theme_label) else self.theme
        out["主题"] = label or "全部"
        return out


def parse_date(value: str, name: str) -> date:
    """``YYYY-MM-DD`` or InvalidInputError in Chinese."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInputError(
            f"bad {name} date {value!r}", user_message=f"日期格式应为 年-月-日（如 2026-03-01）：{value[:20]}"
        ) from None


def parse_filters(
    *,
    today: date,
    themes: dict[str, str],
    period: str = "",
    start: str = "",
    end: str = "",
    region: str = "",
    theme: str = "",
) -> tuple[Filters, list[str]]:
    """Validated filters and Chinese error messages; a bad value falls back to its default."""
    errors: list[str] = []
    period = period.strip() or "month"
    if period not in PERIOD_LABELS:
        errors.append("统计周期只能是“按月”或“按周”。")
        period = "month"
    d_start, d_end = default_range(period, today)
    try:
        if start.strip():
            d_start = parse_date(start, "start")
        if end.strip():
            d_end = parse_date(end, "end")
    except InvalidInputError as exc:
        errors.append(exc.user_message)
        d_start, d_end = default_range(period, today)
    if d_start > d_end:
        errors.append("开始日期不能晚于结束日期。")
        d_start, d_end = default_range(period, today)
    elif (d_end - d_start).days > MAX_SPAN_DAYS:
        errors.append("日期范围最长三年，请缩小范围。")
        d_start = d_end - timedelta(days=MAX_SPAN_DAYS)
    region_v = region.strip() or None
    if region_v is not None and len(region_v) > MAX_REGION_CHARS:
        errors.append("地区名称过长。")
        region_v = None
    theme_v = theme.strip() or None
    if theme_v is not None and theme_v not in themes:
        errors.append(f"未知的投诉主题：{theme_v[:32]}。")
        theme_v = None
    return Filters(period=period, start=d_start, end=d_end, region=region_v, theme=theme_v), errors


def parse_month(value: str, today: date) -> date:
    """``YYYY-MM`` → the first day of that month (this month when empty)."""
    value = value.strip()
    if not value:
        return today.replace(day=1)
    try:
        year, month = value.split("-")
        return date(int(year), int(month), 1)
    except ValueError:
        raise InvalidInputError(
            f"bad month {value!r}", user_message=f"月份格式应为 年-月（如 2026-03）：{value[:20]}"
        ) from None
