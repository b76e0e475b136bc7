"""Users, API keys, roles and the audit log (sync service over a session factory).

Roles and what they may do::

    staff    search, ask, read documents, file a complaint, look up a case (masked)
    partner  search, ask, read documents; the cases sent to its unit (转办/协办), masked; answer 协办
    handler  staff + own cases (list, act)
    office   staff + all cases, themes
    editor   staff + the knowledge base: metadata, passages, curated answers (口径), hit testing
    admin    everything: documents (upload, delete, re-ingest), the knowledge base, users, API keys
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.models import ROLES, ApiKey, AuditLog, User, utcnow
from api.security import (
    NewApiKey,
    api_key_matches,
    api_key_prefix,
    dummy_verify,
    generate_api_key,
    hash_password,
    verify_password,
)
from vetbot.errors import InvalidInputError, NotFoundError

logger = logging.getLogger(__name__)

# Permission names checked by routes.
PERM_ASK = "ask"
PERM_SEARCH = "search"
PERM_DOCUMENTS_READ = "documents:read"
PERM_DOCUMENTS_WRITE = "documents:write"
PERM_CASES_FILE = "cases:file"
PERM_CASES_VIEW = "cases:view"
PERM_CASES_OWN = "cases:own"
PERM_CASES_ALL = "cases:all"
PERM_THEMES = "themes"
PERM_USERS = "users"
PERM_KB_EDIT = "kb:edit"

_STAFF = frozenset({PERM_ASK, PERM_SEARCH, PERM_DOCUMENTS_READ, PERM_CASES_FILE, PERM_CASES_VIEW})
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "staff": _STAFF,
    # A partner's case list and pages are narrowed to its unit by the case store (actor role
    # "partner"); it files nothing and looks up nothing else.
    "partner": frozenset({PERM_ASK, PERM_SEARCH, PERM_DOCUMENTS_READ, PERM_CASES_OWN}),
    "handler": _STAFF | {PERM_CASES_OWN},
    "office": _STAFF | {PERM_CASES_OWN, PERM_CASES_ALL, PERM_THEMES},
    "editor": _STAFF | {PERM_KB_EDIT},
    "admin": _STAFF
    | {PERM_CASES_OWN, PERM_CASES_ALL, PERM_THEMES, PERM_DOCUMENTS_WRITE, PERM_USERS, PERM_KB_EDIT},
}
ANONYMOUS_PERMISSIONS = frozenset({PERM_ASK})


@dataclass(frozen=True)
class Principal:
    """Who is calling: a logged-in user, a system client (API key) or an anonymous visitor."""

    kind: str  # "user" | "api_key" | "anonymous"
    name: str  # username, key name, or "anonymous"
    role: str  # one of ROLES, or "anonymous"
    display_name: str = ""
    user_id: int | None = None
    actor_id: str = ""  # id in the complaint case store
    region: str | None = None

    @property
    def permissions(self) -> frozenset[str]:
        """Everything this principal may do."""
        if self.kind == "anonymous":
            return ANONYMOUS_PERMISSIONS
        return ROLE_PERMISSIONS.get(self.role, frozenset())

    def can(self, permission: str) -> bool:
        """True when the principal holds ``permission``."""
        return permission in self.permissions

    @property
    def audit_name(self) -> str:
        """How this principal appears in the audit log."""
        return f"{self.kind}:{self.name}"

    @property
    def is_authenticated(self) -> bool:
        """False only for anonymous visitors."""
        return self.kind != "anonymous"


ANONYMOUS = Principal(kind="anonymous", name="anonymous", role="anonymous", display_name="访客")


def check_role(role: str) -> str:
    """Return ``role`` or raise InvalidInputError naming the valid roles."""
    if role not in ROLES:
        raise InvalidInputError(f"unknown role {role!r}", user_message=f"角色只能是：{'、'.join(ROLES)}。")
    return role


def _check_username(username: str) -> str:
    username = username.strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise InvalidInputError(
            f"bad username {username!r}", user_message="用户名不能为空、不能含空格，且不超过 64 个字符。"
        )
    return username


_CONTROL = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u2028-\u202e\ufeff]")


def check_caseworker_id(handler_id: str | None, known: Collection[str]) -> str | None:
    """A web user's caseworker id: empty → None; InvalidInputError (422) for control characters
    or an id that is not in the routing table (``known``)."""
    if handler_id is None or not handler_id.strip():
        return handler_id
    if _CONTROL.search(handler_id) or handler_id.strip() not in known:
        raise InvalidInputError(
            f"unknown caseworker id {handler_id!r}",
            user_message="承办人编号无效：必须是投诉分派表中已有的编号。",
        )
    return handler_id.strip()


def principal_for_user(user: User) -> Principal:
    """The principal of a logged-in user."""
    return Principal(
        kind="user",
        name=user.username,
        role=user.role,
        display_name=user.display_name or user.username,
        user_id=user.id,
        actor_id=user.actor_id,
        region=user.region,
    )


class UserService:
    """Creates and authenticates users and API keys; writes the audit log."""

    def __init__(self, session_factory: Callable[[], Session]) -> None:
        self._session_factory = session_factory

    # ------------------------------------------------------------------ users
    def create_user(
        self,
        username: str,
        password: str,
        role: str,
        *,
        display_name: str = "",
        handler_id: str | None = None,
        region: str | None = None,
        actor: str = "cli",
    ) -> User:
        """Create a user with an argon2 password hash; InvalidInputError if the name is taken."""
        username = _check_username(username)
        check_role(role)
        user = User(
            username=username,
            display_name=display_name or username,
            role=role,
            password_hash=hash_password(password),
            active=True,
            handler_id=handler_id or None,
            region=region or None,
        )
        self._insert_audited(
            user, f"用户名 {username} 已存在。", actor, "user.create", f"user:{username}", {"role": role}
        )
        logger.info("user %s created with role %s", username, role)
        return user

    def list_users(self) -> list[User]:
        """All users, by username."""
        with self._session_factory() as session:
            return list(session.scalars(select(User).order_by(User.username)))

    def get_user(self, user_id: int) -> User | None:
        """A user by id, or None."""
        with self._session_factory() as session:
            return session.get(User, user_id)

    def get_by_username(self, username: str) -> User:
        """A user by name; NotFoundError if there is none."""
        with self._session_factory() as session:
            user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise NotFoundError(f"user {username}", user_message=f"用户 {username} 不存在。")
        return user

    def authenticate(
        self, username: str, password: str, *, ip: str | None = None, decoy: bool = True
    ) -> User | None:
        """The active user with these credentials, or None (the attempt is audited either way).

        ``decoy``: spend one hash on an unknown username too, so it is not faster to reject
        (the login guard turns it off while under a flood of failures).
        """
        with self._session_factory() as session:
            user = session.scalar(select(User).where(User.username == username.strip()))
            if user is None:
                if decoy:
                    dummy_verify()
                ok = False
            else:
                ok = user.active and verify_password(user.password_hash, password)
            if ok and user is not None:
                user.last_login_at = utcnow()
            self._audit(
                session,
                f"user:{username[:64]}",
                "login.ok" if ok else "login.failed",
                f"user:{username[:64]}",
                {},
                ip=ip,
            )
            session.commit()
        return user if ok else None

    def update_user(
        self,
        username: str,
        *,
        actor: str,
        role: str | None = None,
        active: bool | None = None,
        password: str | None = None,
        display_name: str | None = None,
        handler_id: str | None = None,
        region: str | None = None,
    ) -> User:
        """Change a user's role, status, password or profile; changing role/status/password logs them out."""
        with self._session_factory() as session:
            user = session.scalar(select(User).where(User.username == username))
            if user is None:
                raise NotFoundError(f"user {username}", user_message=f"用户 {username} 不存在。")
            changed: dict[str, Any] = {}
            demoted = role is not None and role != "admin"
            # An admin locking itself out through the web would leave nobody to undo it; the
            # CLI (an operator on the server) may still do anything.
            itself = actor == f"user:{user.username}"
            if itself and user.role == "admin" and user.active and (demoted or active is False):
                others = session.scalar(
                    select(func.count())
                    .select_from(User)
                    .where(User.role == "admin", User.active.is_(True), User.id != user.id)
                )
                if not others:
                    raise InvalidInputError(
                        "last admin", user_message="不能停用或降级最后一位管理员，请先指定另一位管理员。"
                    )
            if role is not None and role != user.role:
                user.role, changed["role"] = check_role(role), role
            if active is not None and active != user.active:
                user.active, changed["active"] = active, active
            if password is not None:
                user.password_hash, changed["password"] = hash_password(password), True
            if display_name is not None:
                user.display_name, changed["display_name"] = display_name, display_name
            if handler_id is not None:
                user.handler_id, changed["handler_id"] = handler_id or None, handler_id
            if region is not None:
                user.region, changed["region"] = region or None, region
            if {"role", "active", "password"} & changed.keys():
                user.token_version = (user.token_version or 1) + 1
            self._audit(session, actor, "user.update", f"user:{username}", changed)
            session.commit()
            return user

    def end_sessions(self, user_id: int, *, ip: str | None = None) -> None:
        """Invalidate every session token of ``user_id`` (logout): its token version moves on."""
        with self._session_factory() as session:
            user = session.get(User, user_id)
            if user is None:
                return
            user.token_version = (user.token_version or 1) + 1
            self._audit(session, f"user:{user.username}", "logout", f"user:{user.username}", {}, ip=ip)
            session.commit()

    # ------------------------------------------------------------------ API keys
    def create_api_key(self, name: str, role: str, *, actor: str = "cli") -> tuple[ApiKey, str]:
        """Create a key; returns the stored row and the plain key (shown once)."""
        name = _check_username(name)
        check_role(role)
        new: NewApiKey = generate_api_key()
        row = ApiKey(name=name, role=role, prefix=new.prefix, key_hash=new.key_hash, created_by=actor)
        self._insert_audited(
            row, f"API 密钥名称 {name} 已存在。", actor, "apikey.create", f"apikey:{name}", {"role": role}
        )
        return row, new.key

    def list_api_keys(self) -> list[ApiKey]:
        """All keys (hashes only), by name."""
        with self._session_factory() as session:
            return list(session.scalars(select(ApiKey).order_by(ApiKey.name)))

    def revoke_api_key(self, name: str, *, actor: str) -> ApiKey:
        """Revoke a key by name; NotFoundError if unknown."""
        with self._session_factory() as session:
            row = session.scalar(select(ApiKey).where(ApiKey.name == name))
            if row is None:
                raise NotFoundError(f"api key {name}", user_message=f"API 密钥 {name} 不存在。")
            row.revoked_at = row.revoked_at or utcnow()
            self._audit(session, actor, "apikey.revoke", f"apikey:{name}", {})
            session.commit()
            return row

    def find_api_key(self, key: str) -> ApiKey | None:
        """The live key row matching ``key``, or None (touches ``last_used_at``)."""
        prefix = api_key_prefix(key)
        if prefix is None:
            return None
        with self._session_factory() as session:
            rows = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).all()
            for row in rows:
                if row.revoked_at is None and api_key_matches(key, row.key_hash):
                    now = utcnow()
                    last = row.last_used_at
                    if last is not None and last.tzinfo is None:
                        last = last.replace(tzinfo=UTC)
                    # Write at most once a minute: reads must not turn into write traffic.
                    if last is None or (now - last).total_seconds() > 60:
                        row.last_used_at = now
                        session.commit()
                    return row
        return None

    # ------------------------------------------------------------------ audit
    def audit(
        self,
        actor: str,
        action: str,
        target: str = "",
        detail: dict[str, Any] | None = None,
        *,
        ip: str | None = None,
    ) -> None:
        """Append one audit record in its own transaction."""
        with self._session_factory() as session:
            self._audit(session, actor, action, target, detail or {}, ip=ip)
            session.commit()

    def did(self, actor: str, action: str, target: str) -> bool:
        """True when the audit log holds ``action`` on ``target`` by ``actor`` (e.g. who filed a case)."""
        stmt = (
            select(AuditLog.id)
            .where(AuditLog.actor == actor[:96], AuditLog.action == action, AuditLog.target == target[:255])
            .limit(1)
        )
        with self._session_factory() as session:
            return session.scalar(stmt) is not None

    def audit_detail(self, actor: str, action: str, target: str) -> dict[str, Any] | None:
        """The detail of the newest audit record of ``action`` on ``target`` by ``actor``, or None."""
        stmt = (
            select(AuditLog.detail)
            .where(AuditLog.actor == actor[:96], AuditLog.action == action, AuditLog.target == target[:255])
            .order_by(AuditLog.id.desc())
            .limit(1)
        )
        with self._session_factory() as session:
            detail = session.scalar(stmt)
        return None if detail is None else dict(detail)

    def recent_audit(self, limit: int = 100, action: str | None = None) -> list[AuditLog]:
        """Newest audit records first."""
        stmt = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
        if action:
            stmt = stmt.where(AuditLog.action == action)
        with self._session_factory() as session:
            return list(session.scalars(stmt))

    def _insert_audited(
        self, row: Any, duplicate_message: str, actor: str, action: str, target: str, detail: dict[str, Any]
    ) -> None:
        """Insert ``row`` and its audit entry in one transaction; a duplicate name is a 422."""
        with self._session_factory() as session:
            session.add(row)
            try:
                session.flush()
            except IntegrityError as exc:
                raise InvalidInputError(f"{target} exists", user_message=duplicate_message) from exc
            self._audit(session, actor, action, target, detail)
            session.commit()

    @staticmethod
    def _audit(
        session: Session,
        actor: str,
        action: str,
        target: str,
        detail: dict[str, Any],
        *,
        ip: str | None = None,
    ) -> None:
        session.add(
            AuditLog(
                actor=actor[:96],
                action=action,
                target=target[:255],
                detail=detail,
                ip=ip,
                created_at=datetime.now(UTC),
            )
        )


def token_still_valid(user: User, token_version: int) -> bool:
    """False when the user is disabled or the token predates a password/role change."""
    return bool(user.active) and token_version == (user.token_version or 1)
