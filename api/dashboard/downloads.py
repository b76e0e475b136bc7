"""Dashboard downloads: the case list and the aggregates as CSV / XLSX, audited before handed out."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.dashboard import data
from api.dashboard.deps import (
    CaseFilterDep,
    PageUser,
    RawFilters,
    dashboard_state,
    strict_filters,
)
from api.dashboard.filters import Filters
from api.deps import RuntimeDep
from api.login import client_ip
from api.runtime import Runtime
from api.users import Principal
from complaints import exports
from complaints.aggregates import TrendSeries
from complaints.themes import theme_label

router = APIRouter(include_in_schema=False)

MAX_EXPORT_ROWS = 50_000

_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|\s]+')


def content_disposition(filename: str, ascii_name: str) -> str:
    """``attachment`` with an ASCII fallback and the UTF-8 name (RFC 6266 / RFC 5987)."""
    fallback = re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_name) or "export"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


EXPORT_KINDS = {"cases": "投诉案件", "aggregates": "投诉主题统计"}


def export_names(kind: str, filters: Filters, ext: str) -> tuple[str, str]:
    """(Chinese, ASCII) file names: 投诉案件_济南市_2026-01-01至2026-03-31.csv and
    vetbot-cases_2026-01-01_2026-03-31.csv."""
    parts = [EXPORT_KINDS[kind]]
    if filters.region:
        parts.append(_UNSAFE_NAME.sub("_", filters.region))
    parts.append(f"{filters.start.isoformat()}至{filters.end.isoformat()}")
    ascii_name = f"vetbot-{kind}_{filters.start.isoformat()}_{filters.end.isoformat()}.{ext}"
    return "_".join(parts) + "." + ext, ascii_name


def _download(body: bytes, media_type: str, names: tuple[str, str]) -> Response:
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": content_disposition(*names), "Cache-Control": "no-store"},
    )


def _audit(
    request: Request, runtime: Runtime, principal: Principal, target: str, detail: dict[str, Any]
) -> None:
    # No try/except: an export that cannot be recorded must not be handed out.
    runtime.users.audit(principal.audit_name, "dashboard.export", target, detail, ip=client_ip(request))


def _export(
    request: Request,
    runtime: Runtime,
    principal: Principal,
    kind: str,
    fmt: str,
    raw: dict[str, str],
    build: Callable[[Filters], tuple[bytes, str, dict[str, Any]]],
) -> Response:
    """Parse ``raw`` strictly, build the file, record the export, then hand it out.

    ``build`` returns the body, its media type and the audit detail (without the filters).
    """
    filters = strict_filters(request, **raw)
    body, mime, detail = build(filters)
    _audit(request, runtime, principal, f"{kind}.{fmt}", detail)
    return _download(body, mime, export_names(kind, filters, fmt))


def _export_cases(
    request: Request,
    runtime: Runtime,
    principal: Principal,
    fmt: str,
    raw: dict[str, str],
    extra: data.CaseFilter,
) -> Response:
    def build(filters: Filters) -> tuple[bytes, str, dict[str, Any]]:
        with runtime.session_factory() as session:
            rows = data.case_rows(session, filters, extra, limit=MAX_EXPORT_ROWS)
        described = filters.describe(theme_label)
        for key, value in (("状态", extra.status), ("承办单位", extra.unit), ("周期", extra.in_period)):
            if value:
                described[key] = value
        if fmt == "csv":
            body, mime = exports.cases_csv(rows), exports.CSV_MIME
        else:
            body, mime = exports.cases_xlsx(rows, filters=described), exports.XLSX_MIME
        return body, mime, {"filters": filters.params(**extra.params()), "rows": len(rows)}

    return _export(request, runtime, principal, "cases", fmt, raw, build)


def _export_aggregates(
    request: Request, runtime: Runtime, principal: Principal, fmt: str, raw: dict[str, str]
) -> Response:
    def build(filters: Filters) -> tuple[bytes, str, dict[str, Any]]:
        names = data.caseworker_names(runtime)
        with runtime.session_factory() as session:
            view = data.overview(session, filters, dashboard_state(request).now(), names)
        if fmt == "csv":
            body, mime = exports.aggregates_csv(view.aggregates), exports.CSV_MIME
        else:
            trend = TrendSeries(
                period=filters.period,
                periods=view.periods,
                series={r.code: r.series for r in view.theme_rows},
                labels={r.code: r.label for r in view.theme_rows},
            )
            body = exports.aggregates_xlsx(
                view.aggregates,
                trend=trend,
                deadlines=view.deadlines,
                times=view.times,
                satisfaction=view.satisfaction,
                filters=filters.describe(theme_label),
            )
            mime = exports.XLSX_MIME
        return body, mime, {"filters": filters.params(), "rows": len(view.aggregates)}

    return _export(request, runtime, principal, "aggregates", fmt, raw, build)


def _named(route: Any, name: str, doc: str) -> Any:
    # Each format gets its own route function, so names and docs must differ per format.
    route.__name__ = name
    route.__doc__ = doc
    return route


def _case_route(fmt: str) -> Any:
    def export_cases(
        request: Request,
        runtime: RuntimeDep,
        principal: PageUser,
        raw: RawFilters,
        extra: CaseFilterDep,
    ) -> Response:
        return _export_cases(request, runtime, principal, fmt, raw, extra)

    return _named(
        export_cases, f"export_cases_{fmt}", f"The filtered, masked case list as {fmt.upper()} (audited)."
    )


def _aggregate_route(fmt: str) -> Any:
    def export_aggregates(
        request: Request, runtime: RuntimeDep, principal: PageUser, raw: RawFilters
    ) -> Response:
        return _export_aggregates(request, runtime, principal, fmt, raw)

    return _named(
        export_aggregates,
        f"export_aggregates_{fmt}",
        f"Theme × period × region counts as {fmt.upper()} (audited).",
    )


for _fmt in ("csv", "xlsx"):
    router.add_api_route(f"/dashboard/export/cases.{_fmt}", _case_route(_fmt), methods=["GET"])
    router.add_api_route(f"/dashboard/export/aggregates.{_fmt}", _aggregate_route(_fmt), methods=["GET"])


