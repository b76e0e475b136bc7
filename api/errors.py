"""Errors of the web boundary and their translation into HTTP statuses and Chinese messages.

The exception handlers that send these as responses are in ``api.exception_handlers``.

* ``vetbot.errors``: InvalidInputError→422, NotFoundError→404, PermissionDeniedError→403,
  CaseError (InvalidTransitionError, a concurrent change, a no-op reassignment)→409, other
  VetbotError→500; always ``exc.user_message``.
* Storage-level refusals of valid-looking input (``api.exception_handlers``): a lost optimistic
  lock or a locked SQLite database→409; numbers or dates out of range, unencodable text→422.
* Request validation errors→422 ``{"detail": [{"loc": [...], "msg": "<中文>", "type": ...}]}``.
* HTTP errors (401/403/404/405/413/415...)→Chinese ``{"detail": "..."}``.
* Anything else→500 with a generic Chinese message; the traceback goes to the log only.

Page requests (not under ``/v1``, asking for HTML) get the error page instead of JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError

from vetbot.errors import (
    CaseError,
    ConfigurationError,
    InvalidInputError,
    KnowledgeBaseError,
    NotFoundError,
    PermissionDeniedError,
    VetbotError,
)

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
    if isinstance(exc, CaseError):  # a case rule or a concurrent change: a conflict with its state
        return 409
    if isinstance(exc, (KnowledgeBaseError, ConfigurationError)):
        return 503 if isinstance(exc, KnowledgeBaseError) else 500
    return 500


def has_cjk(text: str) -> bool:
    """True when ``text`` contains a CJK ideograph (a message already written in Chinese)."""
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
    if has_cjk(msg) and etype not in ("missing",):
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
