"""Prometheus metrics with a per-app registry (several apps in one process stay separate)."""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from knowledge.types import Answer


class Metrics:
    """The app's counters and histograms, registered in its own ``CollectorRegistry``."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        self.requests = Counter(
            "vetbot_http_requests_total",
            "HTTP requests by route template, method and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "vetbot_http_request_duration_seconds",
            "HTTP request latency by route template",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        )
        self.answers = Counter(
            "vetbot_answers_total",
            "Questions answered or refused, by channel",
            ["channel", "refused"],
            registry=self.registry,
        )
        self.refusals = Counter(
            "vetbot_answer_refusals_total",
            "Refused answers by reason",
            ["reason"],
            registry=self.registry,
        )
        self.complaints = Counter(
            "vetbot_complaints_filed_total",
            "Complaints filed through the web/API, by channel",
            ["channel"],
            registry=self.registry,
        )
        self.ready = Gauge(
            "vetbot_ready",
            "1 when models and the index are loaded",
            registry=self.registry,
        )

    def observe_answer(self, answer: Answer, channel: str) -> None:
        """Count one answer (and its refusal reason)."""
        self.answers.labels(channel=channel, refused=str(answer.refused).lower()).inc()
        if answer.refused:
            self.refusals.labels(reason=answer.refusal_reason or "unknown").inc()

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def route_template(scope: Scope) -> str:
    """The matched route's path template (``/v1/complaints/{ticket}``), or ``<unmatched>``."""
    # FastAPI keeps routes of included routers unprefixed and records the effective (prefixed)
    # route in its own scope entry; prefer that, fall back to the route itself.
    context = (scope.get("fastapi") or {}).get("effective_route_context")
    template = getattr(context, "path_format", "") or ""
    if not template:
        route = scope.get("route")
        template = getattr(route, "path_format", "") or getattr(route, "path", "") or ""
    if not template:
        return "<unmatched>"
    if template.startswith("/static"):
        return "/static"
    return str(template)


class MetricsMiddleware:
    """Pure ASGI middleware: counts requests and latency by route template (not raw path).

    Unmatched paths are grouped under ``<unmatched>`` so scanners cannot explode the label set.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") == "/metrics":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: dict[str, Any] = {"code": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            template = route_template(scope)
            method = scope.get("method", "GET")
            self.metrics.requests.labels(method=method, route=template, status=str(status["code"])).inc()
            self.metrics.latency.labels(method=method, route=template).observe(time.perf_counter() - started)
