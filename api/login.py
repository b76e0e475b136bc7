"""Password login shared by ``POST /v1/auth/token`` and the login page: throttled, bounded, audited.

Password hashing (argon2id, 64 MiB a hash in production) is the most expensive thing an
unauthenticated caller can trigger, so :class:`LoginGuard` bounds it three ways, all with the
one rate limiter ``vetbot.ratelimit.SlidingWindowLimiter``:

- per account and address: ``MAX_LOGIN_FAILURES`` failures of one (username, address) in
  ``LOGIN_WINDOW_S`` → 429 for that pair only, so a stranger elsewhere cannot lock a real
  user out;
- per address: ``settings.login_failures_per_address`` failures of any usernames → 429 for
  that address (a password sprayer);
- globally: past ``settings.login_failures_global`` failures a minute, unknown usernames are
  refused without the decoy hash (which only exists to hide which usernames exist);

and at most ``settings.login_max_concurrent_hashes`` hashes run at once (a semaphore; a
caller waiting longer than ``HASH_WAIT_S`` gets 503).

The client address is the peer address, or, when the peer is one of
``settings.trusted_proxies``, the nearest untrusted address in ``X-Forwarded-For``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from fastapi import HTTPException, Request
from sqlalchemy.orm import Session

from api.models import User
from api.runtime import Runtime
from api.security import create_token, signing_key
from vetbot.ratelimit_db import limiter_for
from vetbot.settings import Settings

MAX_LOGIN_FAILURES = 5
LOGIN_WINDOW_S = 900.0  # the Chinese 429 message says 15 minutes
GLOBAL_WINDOW_S = 60.0
HASH_WAIT_S = 10.0
_TOO_MANY = "登录失败次数过多，请 15 分钟后再试。"
_BUSY = "登录请求较多，请稍后再试。"


class LoginGuard:
    """Failure budgets and the hashing bound of password login (one per app)."""

    def __init__(self, settings: Settings, sessions: Callable[[], Session] | None = None) -> None:
        """``sessions``: the database, for limits shared by processes (``VETBOT_RATE_LIMIT_BACKEND``)."""
        self.per_account = limiter_for(
            settings, "login:account", MAX_LOGIN_FAILURES, LOGIN_WINDOW_S, sessions
        )
        self.per_address = limiter_for(
            settings, "login:address", settings.login_failures_per_address, LOGIN_WINDOW_S, sessions
        )
        self.global_failures = limiter_for(
            settings, "login:global", settings.login_failures_global, GLOBAL_WINDOW_S, sessions
        )
        self.hashing = threading.BoundedSemaphore(max(1, settings.login_max_concurrent_hashes))


def client_ip(request: Request) -> str:
    """The caller's address: the peer, or what a configured trusted proxy forwarded."""
    peer = request.client.host if request.client else "unknown"
    trusted = request.app.state.runtime.settings.trusted_proxies
    if peer not in trusted:
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):  # the right end was added by our own proxies
        if hop not in trusted:
            return hop[:64]
    return peer


def request_is_https(request: Request) -> bool:
    """True for HTTPS, as seen here or as forwarded by a trusted proxy (or forced by settings)."""
    settings = request.app.state.runtime.settings
    if settings.cookie_secure or request.url.scheme == "https":
        return True
    peer = request.client.host if request.client else ""
    proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return peer in settings.trusted_proxies and proto == "https"


def login_user(runtime: Runtime, request: Request, username: str, password: str) -> tuple[User, str]:
    """Check credentials and issue a session token (a JWT valid ``settings.session_hours``).

    Raises HTTPException 429 when a failure budget is spent (see the module doc), 503 when
    no hashing slot frees up within ``HASH_WAIT_S``, and 401 for a wrong password or a
    disabled account; all details are Chinese.
    """
    guard: LoginGuard = request.app.state.login_guard
    ip = client_ip(request)
    key = (username.strip(), ip)
    if guard.per_account.exceeded(key) or guard.per_address.exceeded(ip):
        raise HTTPException(status_code=429, detail=_TOO_MANY)
    if not guard.hashing.acquire(timeout=HASH_WAIT_S):
        raise HTTPException(status_code=503, detail=_BUSY, headers={"Retry-After": "5"})
    try:
        decoy = not guard.global_failures.exceeded("all")
        user = runtime.users.authenticate(key[0], password, ip=ip, decoy=decoy)
    finally:
        guard.hashing.release()
    if user is None:
        guard.per_account.record(key)
        guard.per_address.record(ip)
        guard.global_failures.record("all")
        raise HTTPException(status_code=401, detail="用户名或密码错误，或账号已停用。")
    guard.per_account.reset(key)
    token = create_token(
        signing_key(runtime.settings.secret_key),
        user_id=user.id,
        username=user.username,
        role=user.role,
        hours=runtime.settings.session_hours,
        version=user.token_version or 1,
    )
    return user, token
