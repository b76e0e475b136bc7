"""The project's one sliding-window rate limiter.

Used by the bot (messages per Telegram user per minute) and the web app (failed logins per
username and client address per 15 minutes). Events live in memory by default (one process;
limits reset on restart, which is fine); with a shared ``WindowStore``
(``vetbot.ratelimit_db.DatabaseWindowStore``, chosen by ``VETBOT_RATE_LIMIT_BACKEND=database``
through ``vetbot.ratelimit_db.limiter_for``) the limits hold across processes.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from typing import Protocol


class WindowStore(Protocol):
    """Shared storage of a limiter's events (every method is atomic across its users).

    ``now`` and the window are in seconds of the limiter's clock (wall time for a shared store).
    """

    def hit(self, key: Hashable, now: float, limit: int, window: float) -> bool:
        """Record an event unless ``limit`` events are in the window; False when refused."""

    def count(self, key: Hashable, now: float, window: float) -> int:
        """Events of ``key`` in the window."""

    def record(self, key: Hashable, now: float, window: float) -> None:
        """Record an event whatever the count."""

    def reset(self, key: Hashable) -> None:
        """Forget the key's events and warning."""

    def should_warn(self, key: Hashable, now: float, window: float) -> bool:
        """True (and remembered) unless the key was warned within the window."""


class SlidingWindowLimiter:
    """At most ``limit`` events per ``window`` seconds for each key, forgetting idle keys.

    A sliding window (timestamps of recent events) rather than fixed minutes, so a burst at a
    minute boundary cannot get twice the allowance. Keys are any hashable value (a Telegram
    user id, a ``(username, ip)`` pair). Keys without an event in the last ``window`` seconds
    are evicted at most once per window, so memory is bounded by the keys active in the last
    two windows however many distinct keys are ever seen. Thread-safe (the web app calls it
    from worker threads). ``limit <= 0`` disables limiting.
    """

    def __init__(
        self,
        limit: int,
        window: float = 60.0,
        clock: Callable[[], float] | None = None,
        store: WindowStore | None = None,
    ) -> None:
        """``store``: shared event storage (then ``clock`` defaults to wall time, which every
        process shares); without it, events stay in this object (monotonic clock)."""
        self.limit = limit
        self.window = window
        self._store = store
        clock = clock or (time.time if store is not None else time.monotonic)
        self._clock = clock
        self._lock = threading.Lock()
        self._events: dict[Hashable, deque[float]] = {}
        # Keys told they are limited in the current window, so they are told only once.
        self._warned: dict[Hashable, float] = {}
        self._last_sweep = clock()

    def __len__(self) -> int:
        """Number of keys remembered in memory (events or warnings; 0 with a shared store)."""
        with self._lock:
            return len(self._events.keys() | self._warned.keys())

    def hit(self, key: Hashable) -> bool:
        """Record an event for ``key``; False when it exceeds the limit (and is not counted)."""
        if self.limit <= 0:
            return True
        if self._store is not None:
            return self._store.hit(key, self._clock(), self.limit, self.window)
        with self._lock:
            now = self._clock()
            events = self._recent(key, now)
            if len(events) >= self.limit:
                return False
            self._events.setdefault(key, events).append(now)
            self._warned.pop(key, None)
            self._sweep(now)
            return True

    def exceeded(self, key: Hashable) -> bool:
        """True while ``key`` has ``limit`` or more events in the window (records nothing)."""
        if self.limit <= 0:
            return False
        if self._store is not None:
            return self._store.count(key, self._clock(), self.window) >= self.limit
        with self._lock:
            return len(self._recent(key, self._clock())) >= self.limit

    def record(self, key: Hashable) -> None:
        """Count one event for ``key`` even when over the limit (e.g. a failed login)."""
        if self._store is not None:
            self._store.record(key, self._clock(), self.window)
            return
        with self._lock:
            now = self._clock()
            self._events.setdefault(key, self._recent(key, now)).append(now)
            self._sweep(now)

    def reset(self, key: Hashable) -> None:
        """Forget ``key``'s events (e.g. after a successful login)."""
        if self._store is not None:
            self._store.reset(key)
            return
        with self._lock:
            self._events.pop(key, None)
            self._warned.pop(key, None)

    def should_warn(self, key: Hashable) -> bool:
        """True the first time a limited key is refused in the current window."""
        if self._store is not None:
            return self._store.should_warn(key, self._clock(), self.window)
        with self._lock:
            now = self._clock()
            last = self._warned.get(key)
            if last is not None and now - last < self.window:
                return False
            self._warned[key] = now
            self._sweep(now)
            return True

    def _recent(self, key: Hashable, now: float) -> deque[float]:
        """``key``'s events inside the window (expired ones dropped); never adds the key."""
        events = self._events.get(key)
        if events is None:
            return deque()
        while events and now - events[0] >= self.window:
            events.popleft()
        return events

    def _sweep(self, now: float) -> None:
        # Amortised: one pass per window drops every key idle for a whole window.
        if now - self._last_sweep < self.window:
            return
        self._last_sweep = now
        for key in [k for k, ev in self._events.items() if not ev or now - ev[-1] >= self.window]:
            del self._events[key]
        for key in [k for k, at in self._warned.items() if now - at >= self.window]:
            del self._warned[key]
