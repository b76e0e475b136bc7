"""Dashboard pages, exports and the JSON aggregates endpoint (thin: data.py does the work).

Pages need ``PERM_THEMES`` (office, admin): anonymous visitors are sent to the login form,
other roles get the 403 page. Routes are plain ``def`` so that database reads and clustering
run in the thread pool, not on the event loop.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from api.dashboard import data
from api.dashboard.filters import (
    PERIOD_LABELS,
    Filters,
    add_months,
    china_today,
    parse_filters,
    parse_month,
)
from api.dashboard.state import DashboardState
from api.deps import get_runtime, page_require, require
from api.errors import ServiceNotReadyError
from api.login import client_ip
from api.runtime import Runtime
from api.templating import render
from api.users import PERM_THEMES, Principal
from complaints import exports
from complaints.analytics import CHINA_TZ, theme_label
from vetbot.errors import InvalidInputError

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/v1/dashboard", tags=["投诉看板"])

PageUser = Annotated[Principal, Depends(page_require(PERM_THEMES))]
ApiUser = Annotated[Principal, Depends(require(PERM_THEMES))]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]

WINDOWS = (7, 14, 28)
GAP_DAYS = (30, 90, 180, 365)
MAX_MONTHS_PRINTED = 12
MAX_EXPORT_ROWS = 50_000
REFUSAL_LABELS = {
    "no_evidence": "知识库中未找到依据",
    "off_topic": "超出服务范围",
    "injection": "疑似指令注入",
    "empty": "问题为空",
}
SUBNAV = (
    ("/dashboard", "总览"),
    ("/dashboard/emerging", "新出现的问题"),
    ("/dashboard/gaps", "知识缺口"),
    ("/dashboard/monthly", "月度汇总"),
)


def _state(request: Request) -> DashboardState:
    state: DashboardState = request.app.state.dashboard
    return state


def _filters(request: Request, **raw: str) -> tuple[Filters, list[str]]:
    today = china_today(_state(request).now())
    return parse_filters(today=today, themes=data.themes(), **raw)


def _filter_params(
    period: str = "", start: str = "", end: str = "", region: str = "", theme: str = ""
) -> dict[str, str]:
    """The dashboard filter query parameters as given (each export parses them strictly)."""
    return {"period": period, "start": start, "end": end, "region": region, "theme": theme}


RawFilters = Annotated[dict[str, str], Depends(_filter_params)]


def _case_filter(status: str = "", unit: str = "", in_period: str = "") -> data.CaseFilter:
    """The drill-down's extra narrowing (status / handler unit / one period), length-capped."""
    return data.CaseFilter(
        status=status.strip()[:16] or None,
        unit=unit.strip()[:128] or None,
        in_period=in_period.strip()[:16] or None,
    )


CaseFilterDep = Annotated[data.CaseFilter, Depends(_case_filter)]


def _page(request: Request, name: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    return render(request, name, status_code, subnav=SUBNAV, **values)


def _not_ready(request: Request, exc: ServiceNotReadyError) -> HTMLResponse:
    return render(request, "notice.html", 503, title="系统启动中", message=exc.user_message)


def _regions(runtime: Runtime) -> list[str]:
    with runtime.session_factory() as session:
        return data.known_regions(session)


# --------------------------------------------------------------------------------------------
# pages
# --------------------------------------------------------------------------------------------


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(
    request: Request,
    runtime: RuntimeDep,
    _user: PageUser,
    raw: RawFilters,
) -> HTMLResponse:
    """Counts by theme × period × region, trends, deadlines, handling times, satisfaction."""
    filters, errors = _filters(request, **raw)
    state = _state(request)
    names = data.handler_names(runtime)
    with runtime.session_factory() as session:
        view = data.overview(session, filters, state.now(), names)
        regions = data.known_regions(session)
    return _page(
        request,
        "dashboard/index.html",
        422 if errors else 200,
        title="投诉主题看板",
        f=filters,
        errors=errors,
        view=view,
        regions=regions,
        themes=data.themes(),
        period_labels=PERIOD_LABELS,
    )


@router.get("/dashboard/themes/{code}", response_class=HTMLResponse)
def theme_page(
    request: Request,
    code: str,
    runtime: RuntimeDep,
    _user: PageUser,
    extra: CaseFilterDep,
    period: str = "",
    start: str = "",
    end: str = "",
    region: str = "",
) -> HTMLResponse:
    """The masked cases of one theme, narrowed by the filters (and status / unit / period)."""
    if code not in data.themes():
        raise HTTPException(status_code=404, detail="未找到该投诉主题。")
    filters, errors = _filters(request, period=period, start=start, end=end, region=region, theme=code)
    with runtime.session_factory() as session:
        detail = data.theme_detail(session, filters, extra)
        regions = data.known_regions(session)
    export_query = filters.query(**extra.params())
    return _page(
        request,
        "dashboard/theme.html",
        422 if errors else 200,
        title=f"投诉主题：{detail.label}",
        f=filters,
        errors=errors,
        extra=extra,
        detail=detail,
        regions=regions,
        themes=data.themes(),
        period_labels=PERIOD_LABELS,
        export_query=export_query,
        excerpt=data.excerpt,
    )


@router.get("/dashboard/emerging", response_class=HTMLResponse)
def emerging_page(
    request: Request,
    runtime: RuntimeDep,
    _user: PageUser,
    window: int = 14,
    region: str = "",
    theme: str = "",
) -> HTMLResponse:
    """Clusters of recent complaints with their growth; fast-growing ones first and flagged."""
    state = _state(request)
    errors: list[str] = []
    if window not in WINDOWS:
        errors.append("统计窗口只能是 7、14 或 28 天。")
        window = 14
    region_v = region.strip()[:32] or None
    theme_v = theme.strip() or None
    if theme_v and theme_v not in data.themes():
        errors.append(f"未知的投诉主题：{theme_v[:32]}。")
        theme_v = None
    try:
        embeddings = state.embeddings_for(runtime)
    except ServiceNotReadyError as exc:
        return _not_ready(request, exc)
    now = state.now()

    def compute() -> list[Any]:
        with runtime.session_factory() as session:
            return data.emerging(
                session,
                embeddings,
                state.tokenizer_for(runtime),
                now,
                window_days=window,
                region=region_v,
                theme=theme_v,
            )

    cached = state.cache.get_or_compute(("emerging", window, region_v, theme_v), compute)
    return _page(
        request,
        "dashboard/emerging.html",
        422 if errors else 200,
        title="新出现的投诉问题",
        errors=errors,
        clusters=cached.value,
        computed_at=cached.computed_at,
        cache_minutes=int(state.cache.ttl // 60),
        window=window,
        windows=WINDOWS,
        region=region_v or "",
        theme=theme_v or "",
        regions=_regions(runtime),
        themes=data.themes(),
        theme_label=theme_label,
    )


@router.get("/dashboard/gaps", response_class=HTMLResponse)
def gaps_page(request: Request, runtime: RuntimeDep, _user: PageUser, days: int = 90) -> HTMLResponse:
    """Questions the knowledge base could not answer well, grouped, with the passages they got."""
    state = _state(request)
    errors: list[str] = []
    if days not in GAP_DAYS:
        errors.append("时间范围只能是 30、90、180 或 365 天。")
        days = 90
    try:
        embeddings = state.embeddings_for(runtime)
    except ServiceNotReadyError as exc:
        return _not_ready(request, exc)
    now = state.now()

    def compute() -> list[Any]:
        with runtime.session_factory() as session:
            return data.gap_clusters(
                session, embeddings, state.tokenizer_for(runtime), now - timedelta(days=days)
            )

    cached = state.cache.get_or_compute(("gaps", days), compute)
    knowledge = runtime.knowledge_if_ready
    known_docs: set[str] | None = None
    if knowledge is not None:
        with runtime.kb_lock.read():  # an upload may be swapping the serving index
            known_docs = set(knowledge.store.documents)
    links = {
        (item.id, i): data.source_link(s, known_docs)
        for cluster in cached.value
        for item in cluster.items
        for i, s in enumerate(item.sources)
    }
    return _page(
        request,
        "dashboard/gaps.html",
        422 if errors else 200,
        title="知识缺口",
        errors=errors,
        clusters=cached.value,
        links=links,
        computed_at=cached.computed_at,
        cache_minutes=int(state.cache.ttl // 60),
        days=days,
        day_options=GAP_DAYS,
        total=sum(c.size for c in cached.value),
        refusal_labels=REFUSAL_LABELS,
    )


@router.get("/dashboard/monthly", response_class=HTMLResponse)
def monthly_page(
    request: Request,
    runtime: RuntimeDep,
    _user: PageUser,
    month: str = "",
    to: str = "",
    region: str = "",
) -> HTMLResponse:
    """Printable monthly summary: one page per month from ``month`` to ``to`` (inclusive)."""
    state = _state(request)
    now = state.now()
    today = china_today(now)
    errors: list[str] = []
    try:
        first = parse_month(month, today)
        last = parse_month(to, today) if to.strip() else first
    except InvalidInputError as exc:
        errors.append(exc.user_message)
        first = last = today.replace(day=1)
    if last < first:
        errors.append("结束月份不能早于开始月份。")
        last = first
    months = [first]
    while months[-1] < last and len(months) < MAX_MONTHS_PRINTED:
        months.append(add_months(months[-1], 1))
    if months[-1] < last:
        errors.append(f"一次最多打印 {MAX_MONTHS_PRINTED} 个月。")
    region_v = region.strip()[:32] or None
    names = data.handler_names(runtime)
    with runtime.session_factory() as session:
        sheets = [data.month_sheet(session, m, region_v, now, names) for m in months]
        regions = data.known_regions(session)
    return _page(
        request,
        "dashboard/monthly.html",
        422 if errors else 200,
        title=f"月度汇总 {sheets[0].title}" + (f"—{sheets[-1].title}" if len(sheets) > 1 else ""),
        errors=errors,
        sheets=sheets,
        month=first.strftime("%Y-%m"),
        to=last.strftime("%Y-%m") if len(months) > 1 else "",
        region=region_v or "",
        regions=regions,
        generated_at=now,
        china=CHINA_TZ,
    )


# --------------------------------------------------------------------------------------------
# exports
# --------------------------------------------------------------------------------------------

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


def _strict_filters(request: Request, **raw: str) -> Filters:
    filters, errors = _filters(request, **raw)
    if errors:
        raise InvalidInputError(f"bad export filters: {errors}", user_message=errors[0])
    return filters


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
    filters = _strict_filters(request, **raw)
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
        names = data.handler_names(runtime)
        with runtime.session_factory() as session:
            view = data.overview(session, filters, _state(request).now(), names)
        if fmt == "csv":
            body, mime = exports.aggregates_csv(view.aggregates), exports.CSV_MIME
        else:
            from complaints.analytics import TrendSeries

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


# --------------------------------------------------------------------------------------------
# JSON
# --------------------------------------------------------------------------------------------


@api_router.get("/aggregates", summary="投诉主题统计（主题 × 周期 × 地区）")
def aggregates_json(
    request: Request,
    runtime: RuntimeDep,
    _user: ApiUser,
    period: str = "month",
    start: str = "",
    end: str = "",
    region: str = "",
    theme: str = "",
) -> dict[str, Any]:
    """Counts by theme × period × region and the theme trend, for other tools (no case texts)."""
    filters = _strict_filters(request, period=period, start=start, end=end, region=region, theme=theme)
    names = data.handler_names(runtime)
    with runtime.session_factory() as session:
        view = data.overview(session, filters, _state(request).now(), names)
    return {
        "filters": filters.params(),
        "total": view.total,
        "periods": view.periods,
        "rows": [
            {
                "theme": r.theme,
                "theme_label": r.theme_label,
                "period": r.period,
                "region": r.region,
                "count": r.count,
            }
            for r in view.aggregates
        ],
        "trend": {r.code: r.series for r in view.theme_rows},
        "overdue": view.overdue_count,
        "due_soon": view.due_soon_count,
    }
