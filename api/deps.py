"""Request dependencies: the runtime's services and the calling principal.

Credentials, in order: ``Authorization: Bearer <jwt>``, ``X-API-Key: <key>``, the session
cookie (pages). A request with none is anonymous; one with a bad credential is rejected
(401) instead of silently downgraded, so a client notices an expired token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request

from api.errors import LoginRequiredError
from api.kbadmin import KbAdmin
from api.kbcurated import CuratedAnswers
from api.runtime import Runtime
from api.security import API_KEY_HEADER, SESSION_COOKIE, decode_token, signing_key
from api.users import (
    ANONYMOUS,
    PERM_DOCUMENTS_WRITE,
    PERM_KB_EDIT,
    Principal,
    principal_for_user,
    token_still_valid,
)
from vetbot.settings import Settings

_UNAUTHORIZED_HEADERS = {"WWW-Authenticate": "Bearer"}


def get_runtime(request: Request) -> Runtime:
    """The app's runtime (services, settings)."""
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.runtime.settings
    return settings


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def same_origin(request: Request) -> bool:
    """True unless the browser says the request comes from another site (Origin/Referer)."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return source != "null"
    host = request.headers.get("host", "")
    return urlsplit(source).netloc == host


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(status_code=401, detail=message, headers=_UNAUTHORIZED_HEADERS)


def _principal_from_token(runtime: Runtime, token: str) -> Principal | None:
    claims = decode_token(signing_key(runtime.settings.secret_key), token)
    if claims is None:
        return None
    user = runtime.users.get_user(claims.user_id)
    if user is None or not token_still_valid(user, claims.version):
        return None
    return principal_for_user(user)


def resolve_principal(request: Request) -> Principal:
    """Identify the caller (cached on the request); 401 for an invalid credential."""
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    runtime = get_runtime(request)
    principal: Principal = ANONYMOUS
    auth = request.headers.get("authorization", "")
    api_key = request.headers.get(API_KEY_HEADER)
    cookie = request.cookies.get(SESSION_COOKIE)
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("Authorization 头格式应为：Bearer <令牌>。")
        found = _principal_from_token(runtime, token.strip())
        if found is None:
            raise _unauthorized("访问令牌无效或已过期，请重新登录。")
        principal = found
    elif api_key:
        row = runtime.users.find_api_key(api_key.strip())
        if row is None:
            raise _unauthorized("API 密钥无效或已停用。")
        principal = Principal(
            kind="api_key", name=row.name, role=row.role, display_name=row.name, actor_id=f"apikey:{row.name}"
        )
    elif cookie:
        if request.method not in _SAFE_METHODS and not same_origin(request):
            # SameSite=Lax already keeps the cookie off cross-site POSTs; this is the second lock.
            raise HTTPException(status_code=403, detail="跨站请求被拒绝，请从本站页面提交。")
        # A stale cookie only means "not logged in": pages redirect to the login form.
        principal = _principal_from_token(runtime, cookie) or ANONYMOUS
    request.state.principal = principal
    return principal


def optional_principal(request: Request) -> Principal:
    """The caller, possibly anonymous."""
    return resolve_principal(request)


def require(permission: str) -> Callable[[Request], Principal]:
    """Dependency factory: the caller must hold ``permission`` (401 anonymous, 403 otherwise)."""

    def dependency(request: Request) -> Principal:
        principal = resolve_principal(request)
        if principal.can(permission):
            return principal
        if not principal.is_authenticated:
            raise _unauthorized("请先登录，或提供有效的访问令牌 / API 密钥。")
        raise HTTPException(status_code=403, detail="您的角色没有权限进行此操作。")

    dependency.__name__ = f"require_{permission.replace(':', '_')}"
    return dependency


def require_ask(request: Request) -> Principal:
    """Asking is open to anonymous visitors only when ``settings.anonymous_ask`` is on."""
    principal = resolve_principal(request)
    if principal.is_authenticated:
        if principal.can("ask"):
            return principal
        raise HTTPException(status_code=403, detail="您的角色没有权限进行此操作。")
    if get_settings(request).anonymous_ask:
        return principal
    raise _unauthorized("请先登录后再提问。")


def page_principal(request: Request) -> Principal:
    """Pages: the logged-in user, or a redirect to the login form."""
    principal = resolve_principal(request)
    if not principal.is_authenticated:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequiredError(target)
    return principal


def page_require(permission: str) -> Callable[[Request], Principal]:
    """Pages: logged in and holding ``permission`` (403 page otherwise)."""

    def dependency(request: Request) -> Principal:
        principal = page_principal(request)
        if not principal.can(permission):
            raise HTTPException(status_code=403, detail="您的角色没有权限查看此页面。")
        return principal

    dependency.__name__ = f"page_require_{permission.replace(':', '_')}"
    return dependency


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_kb_admin(request: Request) -> KbAdmin:
    """The knowledge-base admin service (documents, versions, passages)."""
    kb: KbAdmin = request.app.state.kb_admin
    return kb


def get_curated(request: Request) -> CuratedAnswers:
    """The curated-answers (官方口径) service."""
    curated: CuratedAnswers = request.app.state.curated
    return curated


KbAdminDep = Annotated[KbAdmin, Depends(get_kb_admin)]
CuratedDep = Annotated[CuratedAnswers, Depends(get_curated)]
# Knowledge-base pages: editors and admins; uploading, deleting and re-ingesting: admins.
KbEditorPage = Annotated[Principal, Depends(page_require(PERM_KB_EDIT))]
KbWriterPage = Annotated[Principal, Depends(page_require(PERM_DOCUMENTS_WRITE))]
