"""Passwords (argon2), session tokens (JWT HS256) and API keys.

Pure functions over explicit inputs; the user store (``api.users``) and the request
dependencies (``api.deps``) build on them.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from vetbot.errors import ConfigurationError, InvalidInputError

logger = logging.getLogger(__name__)

JWT_ALGORITHM = "HS256"
SESSION_COOKIE = "vetbot_session"
API_KEY_HEADER = "X-API-Key"
API_KEY_PREFIX = "vbk_"
MIN_PASSWORD_LENGTH = 8
MIN_SECRET_KEY_LENGTH = 32
SECRET_KEY_FILE = "secret_key"
# Keys published in earlier READMEs and examples: anyone could sign tokens with them.
KNOWN_WEAK_KEYS = frozenset({"change-me-in-production", "changeme", "secret", "dev", "test"})


def resolve_secret_key(configured: str | None, data_dir: Path) -> str:
    """The JWT signing key: ``configured`` when given, else the key kept in ``data_dir``.

    Without a configured key a random 256-bit key is generated on first start and written to
    ``<data_dir>/secret_key`` with mode 0600 (created exclusively, so two processes starting at
    once agree on one key). Raises ConfigurationError for a known weak key (the old default
    ``change-me-in-production``), a configured key shorter than 32 characters, or a key file
    readable by others.
    """
    if configured is not None:
        if configured in KNOWN_WEAK_KEYS or len(configured) < MIN_SECRET_KEY_LENGTH:
            raise ConfigurationError(
                "weak VETBOT_SECRET_KEY",
                user_message=(
                    f"VETBOT_SECRET_KEY 是公开的默认值或短于 {MIN_SECRET_KEY_LENGTH} 个字符，拒绝启动。"
                    "请设置足够长的随机值，或删除该设置以自动生成密钥。"
                ),
            )
        return configured
    path = data_dir / SECRET_KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key_file(path)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secrets.token_urlsafe(48))
    logger.info("generated a new signing key in %s", path)
    return _read_key_file(path)


def signing_key(secret_key: Any) -> str:
    """The resolved key from ``Settings.secret_key`` (set by ``create_app``); never the empty string."""
    value = secret_key.get_secret_value() if secret_key is not None else ""
    if not value:
        raise ConfigurationError("signing key not resolved", user_message="系统未配置签名密钥。")
    return str(value)


def _read_key_file(path: Path) -> str:
    if os.name == "posix" and path.stat().st_mode & 0o077:
        raise ConfigurationError(
            f"{path} is readable by other users",
            user_message=f"密钥文件 {path} 的权限过宽，请执行 chmod 600 后重试。",
        )
    key = path.read_text(encoding="ascii").strip()
    if len(key) < MIN_SECRET_KEY_LENGTH or key in KNOWN_WEAK_KEYS:
        raise ConfigurationError(
            f"{path} holds a weak key", user_message=f"密钥文件 {path} 内容无效，请删除后重启以重新生成。"
        )
    return key


@lru_cache(maxsize=1)
def _hasher() -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher()


def hash_password(password: str) -> str:
    """argon2id hash of ``password`` (raises InvalidInputError when too short)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInputError(
            "password too short", user_message=f"密码至少需要 {MIN_PASSWORD_LENGTH} 个字符。"
        )
    return str(_hasher().hash(password))


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches ``password_hash``; never raises on a mismatch."""
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return bool(_hasher().verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


def dummy_verify() -> None:
    """Spend the time of one verification so unknown usernames are not faster to reject."""
    verify_password(_dummy_hash(), "not-the-password")


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return str(_hasher().hash(secrets.token_urlsafe(16)))


@dataclass(frozen=True)
class TokenClaims:
    """The verified content of a session token."""

    user_id: int
    username: str
    role: str
    issued_at: datetime
    expires_at: datetime
    version: int = 1


def create_token(
    secret: str,
    *,
    user_id: int,
    username: str,
    role: str,
    hours: int,
    version: int = 1,
    now: datetime | None = None,
) -> str:
    """A signed HS256 token valid for ``hours``; ``version`` is the user's token version."""
    import jwt

    now = now or datetime.now(UTC)
    payload = {
        "sub": str(user_id),
        "name": username,
        "role": role,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(hours=hours)).timestamp()),
        "typ": "session",
        "ver": version,
    }
    return str(jwt.encode(payload, secret, algorithm=JWT_ALGORITHM))


def decode_token(secret: str, token: str) -> TokenClaims | None:
    """Verify signature and expiry; None for any invalid or expired token."""
    import jwt

    try:
        data = jwt.decode(
            token, secret, algorithms=[JWT_ALGORITHM], options={"require": ["exp", "iat", "sub"]}
        )
        if data.get("typ") != "session":
            return None
        return TokenClaims(
            user_id=int(data["sub"]),
            username=str(data.get("name", "")),
            role=str(data.get("role", "")),
            issued_at=datetime.fromtimestamp(int(data["iat"]), UTC),
            expires_at=datetime.fromtimestamp(int(data["exp"]), UTC),
            version=int(data.get("ver", 1)),
        )
    except (jwt.PyJWTError, KeyError, TypeError, ValueError):
        return None


@dataclass(frozen=True)
class NewApiKey:
    """A freshly generated key: ``key`` is shown once, only ``prefix`` and ``key_hash`` are stored."""

    key: str
    prefix: str
    key_hash: str


def generate_api_key() -> NewApiKey:
    """A random key ``vbk_<prefix>_<secret>``; the prefix makes lookups cheap."""
    prefix = secrets.token_hex(4)
    key = f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    return NewApiKey(key=key, prefix=prefix, key_hash=hash_api_key(key))


def hash_api_key(key: str) -> str:
    """SHA-256 of an API key (keys carry 256 bits of randomness, so no slow hash is needed)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def api_key_prefix(key: str) -> str | None:
    """The lookup prefix of a well-formed key, else None."""
    if not key.startswith(API_KEY_PREFIX):
        return None
    rest = key[len(API_KEY_PREFIX) :]
    prefix, sep, secret = rest.partition("_")
    if not sep or len(prefix) != 8 or not secret:
        return None
    return prefix


def api_key_matches(key: str, key_hash: str) -> bool:
    """Constant-time comparison of a presented key with a stored hash."""
    return hmac.compare_digest(hash_api_key(key), key_hash)
