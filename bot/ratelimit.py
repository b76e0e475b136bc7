"""Per-user sliding-window rate limiting (in memory: limits reset on restart, which is fine)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class SlidingWindowLimiter:
    """Allow at most ``limit`` events per ``window`` seconds for each key.

    A sliding window (timestamps of recent events) rather than fixed minutes, so a burst at a
    minute boundary cannot get twice the allowance.
    """

    def __init__(self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._events: dict[int, deque[float]] = {}
        # Keys told they are limited in the current window, so they are told only once.
        self._warned: dict[int, float] = {}

    def hit(self, key: int) -> bool:
        """Record an event for ``key``; False when it exceeds the limit (and is not counted)."""
        if self.limit <= 0:
            return True
        now = self._clock()
        events = self._events.setdefault(key, deque())
        while events and now - events[0] >= self.window:
            events.popleft()
        if len(events) >= self.limit:
            return False
        events.append(now)
        self._warned.pop(key, None)
        if len(self._events) > 10_000:
            self._prune(now)
        return True

    def should_warn(self, key: int) -> bool:
        """True the first time a limited key is refused in the current window."""
        now = self._clock()
        last = self._warned.get(key)
        if last is not None and now - last < self.window:
            return False
        self._warned[key] = now
        return True

    def _prune(self, now: float) -> None:
        for key in [k for k, ev in self._events.items() if not ev or now - ev[-1] >= self.window]:
            del self._events[key]
