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
