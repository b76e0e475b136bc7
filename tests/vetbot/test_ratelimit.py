"""The shared sliding-window rate limiter: counting, login-style use and eviction of idle keys."""

from __future__ import annotations

from vetbot.ratelimit import SlidingWindowLimiter


def test_record_exceeded_reset_for_failed_logins() -> None:
    now = [0.0]
    limiter = SlidingWindowLimiter(2, 900.0, clock=lambda: now[0])
    key = ("office", "127.0.0.1")
    assert limiter.exceeded(key) is False
    limiter.record(key)
    limiter.record(key)
    assert limiter.exceeded(key) is True
    assert limiter.exceeded(("office", "10.0.0.1")) is False  # per (username, ip)
    now[0] = 900.0
    assert limiter.exceeded(key) is False  # the failures slid out of the window
    limiter.record(key)
    limiter.record(key)
    limiter.reset(key)
    assert limiter.exceeded(key) is False


def test_reading_a_key_does_not_remember_it() -> None:
    limiter = SlidingWindowLimiter(3, 60.0, clock=lambda: 0.0)
    for user in range(100):
        assert limiter.exceeded(user) is False
    assert len(limiter) == 0


def test_idle_keys_are_evicted_after_a_window() -> None:
    now = [0.0]
    limiter = SlidingWindowLimiter(1, 60.0, clock=lambda: now[0])
    for user in range(1000):
        limiter.hit(user)
        limiter.hit(user)  # over the limit
        limiter.should_warn(user)
    assert len(limiter) == 1000
    now[0] = 61.0
    assert limiter.hit("late") is True  # a write sweeps keys idle for a whole window
    assert len(limiter) == 1
    assert limiter.should_warn(0) is True  # an evicted key starts afresh


def test_disabled_limit_allows_everything() -> None:
    limiter = SlidingWindowLimiter(0, 60.0)
    assert all(limiter.hit(1) for _ in range(100))
    assert limiter.exceeded(1) is False
