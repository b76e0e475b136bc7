"""ASGI middleware of the app: security headers and request-body limits."""

from __future__ import annotations

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


class SecurityHeadersMiddleware:
    """Conservative headers on every response; the CSP is skipped for /docs (Swagger UI)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        docs = path.startswith("/docs") or path == "/openapi.json"

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"referrer-policy", b"same-origin"))
                if not docs:
                    headers.append((b"x-frame-options", b"DENY"))
                    headers.append((b"content-security-policy", _CSP.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_wrapper)


class BodyLimitMiddleware:
    """Bounds request bodies: ``default`` bytes, or a per-(method, path) limit (uploads).

    A declared Content-Length over the limit is refused before the app runs; a chunked body
    is counted while read and refused with an HTTPException (so the Chinese 413 handler runs).
    """

    def __init__(self, app: ASGIApp, default: int, limits: dict[tuple[str, str], int]) -> None:
        self.app = app
        self.default = default
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.limits.get((scope.get("method", ""), scope.get("path", "")), self.default)
        declared = next((v for k, v in scope.get("headers", []) if k == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > limit:
            response = JSONResponse({"detail": f"请求内容过大（上限 {_fmt_size(limit)}）。"}, status_code=413)
            await response(scope, receive, send)
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise HTTPException(status_code=413, detail=f"请求内容过大（上限 {_fmt_size(limit)}）。")
            return message

        await self.app(scope, limited_receive, send)


def _fmt_size(n: int) -> str:
    return f"{n / (1 << 20):.0f} MB" if n >= (1 << 20) else f"{n // 1024} KB"
