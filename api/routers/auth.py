"""Login tokens, the current caller, and admin management of users and API keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool

from api.deps import RuntimeDep, optional_principal, require
from api.login import login_user
from api.models import ApiKey, User
from api.schemas import ApiKeyCreate, ApiKeyOut, MeResponse, TokenResponse, UserCreate, UserOut, UserUpdate
from api.users import PERM_ASK, PERM_USERS, Principal, check_caseworker_id

router = APIRouter(tags=["登录与账号"])


@router.post("/auth/token", response_model=TokenResponse, summary="用户名密码换取访问令牌")
async def token(
    request: Request,
    runtime: RuntimeDep,
    username: Annotated[str, Form(min_length=1, max_length=64)],
    password: Annotated[str, Form(min_length=1, max_length=128)],
) -> TokenResponse:
    """OAuth2 password flow: returns a Bearer JWT valid for ``settings.session_hours``."""
    user, jwt_token = await run_in_threadpool(login_user, runtime, request, username, password)
    return TokenResponse(
        access_token=jwt_token, expires_in=runtime.settings.session_hours * 3600, role=user.role
    )


@router.get("/auth/me", response_model=MeResponse, summary="当前身份")
def me(principal: Annotated[Principal, Depends(optional_principal)], runtime: RuntimeDep) -> MeResponse:
    """Who the caller is and what it may do (for a visitor, asking only with anonymous asking on)."""
    permissions = set(principal.permissions)
    if not principal.is_authenticated and not runtime.settings.anonymous_ask:
        permissions.discard(PERM_ASK)
    return MeResponse(
        kind=principal.kind,
        name=principal.name,
        display_name=principal.display_name,
        role=principal.role,
        permissions=sorted(permissions),
    )


def _user_out(user: User) -> UserOut:
    return UserOut(
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        active=user.active,
        handler_id=user.handler_id,
        region=user.region,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
    )


def _key_out(row: ApiKey, key: str | None = None) -> ApiKeyOut:
    return ApiKeyOut(
        name=row.name,
        role=row.role,
        prefix=row.prefix,
        created_at=row.created_at,
        created_by=row.created_by,
        last_used_at=row.last_used_at,
        revoked=row.revoked_at is not None,
        key=key,
    )


AdminDep = Annotated[Principal, Depends(require(PERM_USERS))]


@router.get("/users", response_model=list[UserOut], summary="用户列表（管理员）")
def list_users(runtime: RuntimeDep, _admin: AdminDep) -> list[UserOut]:
    """All users."""
    return [_user_out(u) for u in runtime.users.list_users()]


@router.post("/users", response_model=UserOut, status_code=201, summary="新建用户（管理员）")
def create_user(body: UserCreate, runtime: RuntimeDep, admin: AdminDep) -> UserOut:
    """Create a user; 422 if the username is taken."""
    user = runtime.users.create_user(
        body.username,
        body.password,
        body.role,
        display_name=body.display_name,
        handler_id=check_caseworker_id(body.handler_id, _case_ids(runtime)),
        region=body.region,
        actor=admin.audit_name,
    )
    return _user_out(user)


@router.patch("/users/{username}", response_model=UserOut, summary="修改用户（管理员）")
def update_user(username: str, body: UserUpdate, runtime: RuntimeDep, admin: AdminDep) -> UserOut:
    """Change role, status, password or profile; role/status/password changes end the user's sessions."""
    user = runtime.users.update_user(
        username,
        actor=admin.audit_name,
        role=body.role,
        active=body.active,
        password=body.password,
        display_name=body.display_name,
        handler_id=check_caseworker_id(body.handler_id, _case_ids(runtime)),
        region=body.region,
    )
    return _user_out(user)


@router.get("/api-keys", response_model=list[ApiKeyOut], summary="API 密钥列表（管理员）")
def list_api_keys(runtime: RuntimeDep, _admin: AdminDep) -> list[ApiKeyOut]:
    """All keys (never the key itself)."""
    return [_key_out(k) for k in runtime.users.list_api_keys()]


@router.post("/api-keys", response_model=ApiKeyOut, status_code=201, summary="新建 API 密钥（管理员）")
def create_api_key(body: ApiKeyCreate, runtime: RuntimeDep, admin: AdminDep) -> ApiKeyOut:
    """Create a key for a system client; the key is returned once."""
    row, key = runtime.users.create_api_key(body.name, body.role, actor=admin.audit_name)
    return _key_out(row, key)


@router.delete("/api-keys/{name}", response_model=ApiKeyOut, summary="停用 API 密钥（管理员）")
def revoke_api_key(name: str, runtime: RuntimeDep, admin: AdminDep) -> ApiKeyOut:
    """Revoke a key by name."""
    return _key_out(runtime.users.revoke_api_key(name, actor=admin.audit_name))


def _case_ids(runtime: RuntimeDep) -> set[str]:
    """Ids a web user may act under: caseworkers and partner units of the routing table."""
    routing = runtime.cases.routing
    return {*routing.handlers, *routing.partners}
