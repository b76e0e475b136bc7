"""A database ``WindowStore`` for ``vetbot.ratelimit``: rate limits that hold across processes.

One row per (scope, key) in ``rate_limit_windows`` with the key's recent event times (wall
clock, seconds) and when it was last warned. Each operation is one short transaction that
first writes the row (insert-if-missing), which takes SQLite's write lock or PostgreSQL's row
lock (``SELECT ... FOR UPDATE``), so two processes cannot both let the last allowed event
through. Rows idle for two windows are swept, at most once per window per process.
``limiter_for`` picks the backend from ``VETBOT_RATE_LIMIT_BACKEND``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Hashable
from typing import Any

from sqlalchemy import Float, String, Text, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from vetbot.db import Base
from vetbot.ratelimit import SlidingWindowLimiter
from vetbot.settings import Settings

SessionFactory = Callable[[], Session]
MAX_KEY_CHARS = 200


class RateLimitWindow(Base):
    """Recent events of one limiter key (``scope`` names the limiter)."""

    __tablename__ = "rate_limit_windows"

    scope: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_KEY_CHARS), primary_key=True)
    events: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of wall-clock seconds
    warned_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    updated_at: Mapped[float] = mapped_column(Float, default=0.0, index=True)


class DatabaseWindowStore:
    """``vetbot.ratelimit.WindowStore`` on the project database, shared by every process."""

    def __init__(self, sessions: SessionFactory, scope: str) -> None:
        self._sessions = sessions
        self.scope = scope[:32]
        self._last_sweep = 0.0

    def hit(self, key: Hashable, now: float, limit: int, window: float) -> bool:
        """See ``WindowStore.hit``."""
        with self._sessions() as session:
            row = self._locked(session, key, now)
            events = _recent(row, now, window)
            allowed = len(events) < limit
            if allowed:
                events.append(now)
                row.warned_at = None
            row.events, row.updated_at = json.dumps(events), now
            session.commit()
        self._sweep(now, window)
        return allowed

    def count(self, key: Hashable, now: float, window: float) -> int:
        """See ``WindowStore.count``."""
        with self._sessions() as session:
            row = session.get(RateLimitWindow, (self.scope, _key(key)))
            return len(_recent(row, now, window)) if row is not None else 0

    def record(self, key: Hashable, now: float, window: float) -> None:
        """See ``WindowStore.record``."""
        with self._sessions() as session:
            row = self._locked(session, key, now)
            events = [*_recent(row, now, window), now]
            row.events, row.updated_at = json.dumps(events), now
            session.commit()
        self._sweep(now, window)

    def reset(self, key: Hashable) -> None:
        """See ``WindowStore.reset``."""
        with self._sessions() as session:
            session.execute(
                delete(RateLimitWindow).where(
                    RateLimitWindow.scope == self.scope, RateLimitWindow.key == _key(key)
                )
            )
            session.commit()

    def should_warn(self, key: Hashable, now: float, window: float) -> bool:
        """See ``WindowStore.should_warn``."""
        with self._sessions() as session:
            row = self._locked(session, key, now)
            if row.warned_at is not None and now - row.warned_at < window:
                session.rollback()
                return False
            row.warned_at, row.updated_at = now, now
            session.commit()
            return True

    def _locked(self, session: Session, key: Hashable, now: float) -> RateLimitWindow:
        """The key's row, created if missing, locked for this transaction."""
        values: dict[str, Any] = {"scope": self.scope, "key": _key(key), "events": "[]", "updated_at": now}
        dialect = session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        session.execute(insert(RateLimitWindow).values(**values).on_conflict_do_nothing())
        stmt = (
            select(RateLimitWindow)
            .where(RateLimitWindow.scope == self.scope, RateLimitWindow.key == _key(key))
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return session.scalars(stmt).one()

    def _sweep(self, now: float, window: float) -> None:
        if now - self._last_sweep < window:
            return
        self._last_sweep = now
        with self._sessions() as session:
            session.execute(
                delete(RateLimitWindow).where(
                    RateLimitWindow.scope == self.scope, RateLimitWindow.updated_at < now - 2 * window
                )
            )
            session.commit()


def _key(key: Hashable) -> str:
    text = key if isinstance(key, str) else repr(key)
    return text[:MAX_KEY_CHARS]


def _recent(row: RateLimitWindow | None, now: float, window: float) -> list[float]:
    if row is None:
        return []
    return [t for t in json.loads(row.events or "[]") if now - t < window]


def limiter_for(
    settings: Settings,
    scope: str,
    limit: int,
    window: float,
    sessions: SessionFactory | None = None,
    clock: Callable[[], float] = time.time,
    *,
    durable: bool = False,
) -> SlidingWindowLimiter:
    """The limiter ``settings.rate_limit_backend`` selects: in memory (one process), or shared
    through the database when it is ``database`` and ``sessions`` is given (without a session
    factory the limiter stays in memory). ``scope`` names the limiter in the shared table.

    ``durable``: the database store whenever ``sessions`` is given, whatever the backend. For a
    budget that guards a secret (the phone digits of a case) rather than a throttle: a restart
    or a second process must not hand out a fresh allowance of guesses."""
    if sessions is not None and (durable or settings.rate_limit_backend == "database"):
        return SlidingWindowLimiter(limit, window, clock=clock, store=DatabaseWindowStore(sessions, scope))
    return SlidingWindowLimiter(limit, window)
