"""Translation of errors into HTTP responses at the web boundary.

* ``vetbot.errors``: InvalidInputError→422, NotFoundError→404, PermissionDeniedError→403,
  InvalidTransitionError→409, other VetbotError→500; always ``exc.user_message``.
* Request validation errors→422 ``{"detail": [{"loc": [...], "msg": "<中文>", "type": ...}]}``.
* HTTP errors (401/403/404/405/413/415...)→Chinese ``{"detail": "..."}``.
* Anything else→500 with a generic Chinese message; the traceback goes to the log only.

Page requests (not under ``/v1``, asking for HTML) get the error page instead of JSON.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from vetbot.errors import (
    ConfigurationError,
    InvalidInputError,
    InvalidTransitionError,
    KnowledgeBaseError,
    NotFoundError,
    PermissionDeniedError,
    VetbotError,
)

logger = logging.getLogger(__name__)

HTTP_MESSAGES: dict[int, str] = {
    400: "请求格式有误。",
    401: "请先登录，或提供有效的访问令牌 / API 密钥。",
    403: "您没有权限进行此操作。",
    404: "未找到请求的页面或记录。",
    405: "不支持该请求方法。",
    409: "当前状态下不能进行该操作。",
    413: "上传的内容过大。",
    415: "不支持的文件类型。",
    422: "输入内容有误，请检查后重试。",
    429: "请求过于频繁，请稍后再试。",
    500: "系统出现问题，请稍后再试，或拨打 12345 政务服务热线。",
    503: "服务暂时不可用，请稍后再试。",
}

# Chinese names of request fields, used to prefix validation messages.
FIELD_LABELS: dict[str, str] = {
    "question": "问题",
    "q": "查询内容",
    "query": "查询内容",
    "topic": "主题",
    "region": "地区",
    "document": "文件",
    "k": "结果数量",
    "text": "投诉内容",
    "channel": "渠道",
    "theme": "主题",
    "action": "操作",
    "note": "说明",
    "rating": "评价",
    "username": "用户名",
    "password": "密码",
    "role": "角色",
    "files": "文件",
    "days": "天数",
    "complainant_name": "姓名",
    "complainant_phone": "联系电话",
    "complainant_chat_id": "Telegram 会话号",
    "status": "状态",
    "handler": "承办人",
    "limit": "数量",
    "name": "名称",
}


class ServiceNotReadyError(VetbotError):
    """Models or the index are still loading (or failed to load)."""

    default_message = "系统正在启动，正在加载模型和知识库，请稍后再试。"


class LoginRequiredError(Exception):
    """A page needs a logged-in user; the handler redirects to the login page."""

    def __init__(self, next_url: str = "/") -> None:
        super().__init__("login required")
        self.next_url = next_url


def status_for(exc: VetbotError) -> int:
    """HTTP status for a project error."""
    if isinstance(exc, ServiceNotReadyError):
        return 503
    if isinstance(exc, InvalidInputError):
        return 422
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, PermissionDeniedError):
        return 403
    if isinstance(exc, InvalidTransitionError):
        return 409
    if isinstance(exc, (KnowledgeBaseError, ConfigurationError)):
        return 503 if isinstance(exc, KnowledgeBaseError) else 500
    return 500


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def chinese_message(error: dict[str, Any]) -> str:
    """A Chinese message for one pydantic/FastAPI validation error."""
    etype = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    msg = str(error.get("msg", ""))
    loc = [str(p) for p in error.get("loc", ())]
    containers = ("body", "query", "path", "form", "header", "cookie")
    field = next((p for p in reversed(loc) if not p.isdigit() and p not in containers), "")
    label = FIELD_LABELS.get(field, field)
    # Our own validators raise PydanticCustomError with Chinese text: keep it as is.
    if _has_cjk(msg) and etype not in ("missing",):
        return msg.removeprefix("Value error, ")
    if etype == "missing":
        return f"缺少必填项：{label}。" if label else "缺少必填项。"
    if etype == "string_too_short":
        n = ctx.get("min_length", 1)
        return f"{label}不能为空。" if int(n) <= 1 else f"{label}至少需要 {n} 个字符。"
    if etype == "string_too_long":
        return f"{label}不能超过 {ctx.get('max_length')} 个字符。"
    if etype in ("int_parsing", "int_type", "int_from_float"):
        return f"{label}必须是整数。"
    if etype in ("float_parsing", "float_type"):
        return f"{label}必须是数字。"
    if etype in ("bool_parsing", "bool_type"):
        return f"{label}必须是是/否（true/false）。"
    if etype == "less_than_equal":
        return f"{label}不能大于 {ctx.get('le')}。"
    if etype == "less_than":
        return f"{label}必须小于 {ctx.get('lt')}。"
    if etype == "greater_than_equal":
        return f"{label}不能小于 {ctx.get('ge')}。"
    if etype == "greater_than":
        return f"{label}必须大于 {ctx.get('gt')}。"
    if etype in ("literal_error", "enum"):
        expected = str(ctx.get("expected", "")).replace("'", "")
        return f"{label}的取值无效，可选：{expected}。"
    if etype in ("string_type", "string_unicode"):
        return f"{label}必须是文本。"
    if etype in ("json_invalid", "json_type"):
        return "请求内容不是有效的 JSON。"
    if etype in ("model_attributes_type", "dict_type", "model_type"):
        return "请求内容必须是 JSON 对象。"
    if etype in ("list_type", "tuple_type"):
        return f"{label}必须是列表。"
    if etype == "extra_forbidden":
        return f"不支持的字段：{label}。"
    if etype.startswith(("datetime_", "date_")):
        return f"{label}的日期格式无效（示例：2025-01-31）。"
    return f"{label}格式不正确。" if label else "输入格式不正确。"


def validation_detail(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """FastAPI-shaped ``detail`` list with Chinese ``msg``."""
    out = []
    for err in errors:
        err = dict(err)
        out.append(
            {"loc": list(err.get("loc", ())), "msg": chinese_message(err), "type": err.get("type", "")}
        )
    return out


def field_error(loc: Sequence[str], message: str, type_: str = "value_error") -> RequestValidationError:
    """A validation error for one field, raised by routes that validate against live data."""
    return RequestValidationError([{"loc": tuple(loc), "msg": message, "type": type_}])


def wants_html(request: Request) -> bool:
    """True for browser page requests (not the JSON API)."""
    path = request.url.path
    if path.startswith("/v1") or path in ("/healthz", "/readyz", "/metrics") or path.startswith("/docs"):
        return False
    return "text/html" in request.headers.get("accept", "")


def _page_error(request: Request, status: int, message: str) -> Response:
    templates = getattr(request.app.state, "templates", None)
    if templates is None:
        return JSONResponse({"detail": message}, status_code=status)
    from api.pages import page_context

    context = page_context(request, title="出错了", message=message, status_code=status)
    return templates.TemplateResponse(request, "error.html", context, status_code=status)


def _respond(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    if wants_html(request):
        response = _page_error(request, status, message)
        if headers:
            response.headers.update(headers)
        return response
    return JSONResponse({"detail": message}, status_code=status, headers=headers)


async def _vetbot_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, VetbotError)
    status = status_for(exc)
    if status >= 500:
        logger.error("%s on %s %s: %s", type(exc).__name__, request.method, request.url.path, exc)
    else:
        logger.info("%s on %s %s: %s", type(exc).__name__, request.method, request.url.path, exc)
    if status == 422 and not wants_html(request):
        return JSONResponse(
            {"detail": [{"loc": [], "msg": exc.user_message, "type": "invalid_input"}]}, status_code=422
        )
    headers = {"Retry-After": "10"} if status == 503 else None
    return _respond(request, status, exc.user_message, headers)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    detail = validation_detail(exc.errors())
    if wants_html(request):
        return _page_error(request, 422, "；".join(d["msg"] for d in detail))
    return JSONResponse({"detail": detail}, status_code=422)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail
    # Framework defaults are English ("Not Found"): replace them; keep our Chinese details.
    message = (
        detail
        if isinstance(detail, str) and _has_cjk(detail)
        else HTTP_MESSAGES.get(exc.status_code, "请求无法完成。")
    )
    return _respond(request, exc.status_code, message, dict(exc.headers or {}) or None)


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequiredError)
    from urllib.parse import quote

    return RedirectResponse(f"/login?next={quote(exc.next_url, safe='/?=&')}", status_code=303)


async def _unhandled(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return _respond(request, 500, HTTP_MESSAGES[500])


def install_error_handlers(app: FastAPI) -> None:
    """Register all handlers on ``app``."""
    app.add_exception_handler(VetbotError, _vetbot_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(LoginRequiredError, _login_required)
    app.add_exception_handler(Exception, _unhandled)
