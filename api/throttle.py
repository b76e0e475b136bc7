"""In-memory throttle of failed logins (per username and client address)."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque


class LoginThrottle:
    """Blocks a (username, ip) pair after ``max_failures`` failures within ``window_s``."""

    def __init__(self, max_failures: int = 5, window_s: float = 900.0) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _prune(self, key: tuple[str, str], now: float) -> deque[float]:
        q = self._failures[key]
        while q and now - q[0] > self.window_s:
            q.popleft()
        return q

    def blocked(self, username: str, ip: str) -> bool:
        """True while this pair has too many recent failures."""
        with self._lock:
            return len(self._prune((username, ip), time.monotonic())) >= self.max_failures

    def failed(self, username: str, ip: str) -> None:
        """Record one failure."""
        with self._lock:
            now = time.monotonic()
            self._prune((username, ip), now).append(now)

    def succeeded(self, username: str, ip: str) -> None:
        """Forget failures after a successful login."""
        with self._lock:
            self._failures.pop((username, ip), None)
