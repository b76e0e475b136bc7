"""China Standard Time, the one time zone every date the users see is expressed in.

China has observed UTC+8 without daylight saving since 1991, so a fixed offset is exact for
every date the project handles and needs no tz database on the host.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

CHINA_TZ = timezone(timedelta(hours=8), "CST")


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (the storage convention)."""
    return datetime.now(UTC)


def to_china(moment: datetime) -> datetime:
    """``moment`` in China Standard Time; a naive value is taken to be UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(CHINA_TZ)


def as_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime; a naive value (SQLite returns them) is taken as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def china_today() -> str:
    """Today's date in China as ISO ``YYYY-MM-DD`` (the form document dates are stored in)."""
    return to_china(utcnow()).date().isoformat()
