"""Exception handlers of the app: project errors, validation and HTTP errors as Chinese responses.

JSON for the API (``{"detail": ...}``), the error page for browser page requests (see
``api.errors.wants_html``); an unhandled exception is logged with its traceback and answered
with a generic Chinese 500.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.errors import (
    HTTP_MESSAGES,
    LoginRequiredError,
    has_cjk,
    status_for,
    validation_detail,
    wants_html,
)
from api.templating import page_context
from vetbot.errors import VetbotError

logger = logging.getLogger(__name__)


def _page_error(request: Request, status: int, message: str) -> Response:
    templates = getattr(request.app.state, "templates", None)
    if templates is None:
        return JSONResponse({"detail": message}, status_code=status)
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
        if isinstance(detail, str) and has_cjk(detail)
        else HTTP_MESSAGES.get(exc.status_code, "请求无法完成。")
    )
    return _respond(request, exc.status_code, message, dict(exc.headers or {}) or None)


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequiredError)
    return RedirectResponse(f"/login?next={quote(exc.next_url, safe='/?=&')}", status_code=303)


_CONFLICT = "数据刚被其他人更新，请刷新后重试。"
_OUT_OF_RANGE = "输入的数字或日期超出允许范围，请检查后重试。"
_UNENCODABLE = "输入包含无法识别的字符（控制字符或残缺编码），请删除后重试。"


async def _storage_error(request: Request, exc: Exception) -> Response:
    """Map what the database refuses to 409/422, identically on SQLite and PostgreSQL.

    The request was well-formed but lost a race (optimistic lock, SQLite busy) or carried a
    value the database cannot hold (an integer past 2^63, a date past year 9999 after time-zone
    arithmetic, NUL or a lone surrogate in text). Anything else stays a 500.
    """
    if isinstance(exc, StaleDataError) or (
        isinstance(exc, OperationalError) and "locked" in str(exc.orig or exc).lower()
    ):
        status, message = 409, _CONFLICT
    elif isinstance(exc, (OverflowError, DataError)) or (
        isinstance(exc, ValueError) and "out of range" in str(exc)  # date(10000, 1, 1)
    ):
        status, message = 422, _OUT_OF_RANGE
    elif isinstance(exc, (UnicodeError, ValueError)) and _unstorable(exc):
        status, message = 422, _UNENCODABLE
    else:
        return await _unhandled(request, exc)
    logger.info("%s on %s %s answered %d", type(exc).__name__, request.method, request.url.path, status)
    if status == 422 and not wants_html(request):
        detail = [{"loc": [], "msg": message, "type": "invalid_input"}]
        return JSONResponse({"detail": detail}, status_code=422)
    return _respond(request, status, message)


def _unstorable(exc: Exception) -> bool:
    text = str(exc).lower()
    return isinstance(exc, UnicodeError) or "nul" in text or "surrogate" in text or "0x00" in text


async def _unhandled(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return _respond(request, 500, HTTP_MESSAGES[500])


def install_error_handlers(app: FastAPI) -> None:
    """Register all handlers on ``app``."""
    app.add_exception_handler(VetbotError, _vetbot_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(LoginRequiredError, _login_required)
    for storage in (StaleDataError, OperationalError, DataError, OverflowError, UnicodeError, ValueError):
        app.add_exception_handler(storage, _storage_error)
    app.add_exception_handler(Exception, _unhandled)
