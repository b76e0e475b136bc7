"""Password login shared by ``POST /v1/auth/token`` and the login page: throttled, audited."""

from __future__ import annotations

from fastapi import HTTPException, Request

from api.models import User
from api.runtime import Runtime
from api.security import create_token, signing_key

MAX_LOGIN_FAILURES = 5
LOGIN_WINDOW_S = 900.0  # the Chinese 429 message says 15 minutes


def client_ip(request: Request) -> str:
    """The peer address (the app is expected behind a trusted proxy or on loopback)."""
    return request.client.host if request.client else "unknown"


def login_user(runtime: Runtime, request: Request, username: str, password: str) -> tuple[User, str]:
    """Check credentials and issue a session token (a JWT valid ``settings.session_hours``).

    Raises HTTPException 429 after ``MAX_LOGIN_FAILURES`` failures of the same
    (username, client address) within ``LOGIN_WINDOW_S`` seconds (the app's
    ``state.login_throttle``), and 401 for a wrong password or a disabled account;
    both details are Chinese.
    """
    throttle = request.app.state.login_throttle
    key = (username.strip(), client_ip(request))
    if throttle.exceeded(key):
        raise HTTPException(status_code=429, detail="登录失败次数过多，请 15 分钟后再试。")
    user = runtime.users.authenticate(key[0], password, ip=key[1])
    if user is None:
        throttle.record(key)
        raise HTTPException(status_code=401, detail="用户名或密码错误，或账号已停用。")
    throttle.reset(key)
    token = create_token(
        signing_key(runtime.settings.secret_key),
        user_id=user.id,
        username=user.username,
        role=user.role,
        hours=runtime.settings.session_hours,
        version=user.token_version or 1,
    )
    return user, token
