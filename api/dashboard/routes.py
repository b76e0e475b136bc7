"""Dashboard pages and the JSON aggregates endpoint (thin: data.py does the work).

Downloads are in ``api.dashboard.downloads``; what both share in ``api.dashboard.deps``.

Pages need ``PERM_THEMES`` (office, admin): anonymous visitors are sent to the login form,
other roles get the 403 page. Routes are plain ``def`` so that database reads and clustering
run in the thread pool, not on the event loop.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from api.dashboard import data, monthly
from api.dashboard.deps import (
    ApiUser,
    CaseFilterDep,
    PageUser,
    RawFilters,
    case_regions,
    dashboard_state,
    lenient_filters,
    not_ready_page,
    render_page,
    strict_filters,
)
from api.dashboard.filters import (
    PERIOD_LABELS,
    add_months,
    china_today,
    parse_month,
)
from api.deps import RuntimeDep
from api.errors import ServiceNotReadyError
from complaints.themes import theme_label
from vetbot.clock import CHINA_TZ
from vetbot.errors import InvalidInputError

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/v1/dashboard", tags=["投诉看板"])

WINDOWS = (7, 14, 28)
GAP_DAYS = (30, 90, 180, 365)
MAX_MONTHS_PRINTED = 12
REFUSAL_LABELS = {
    "no_evidence": "知识库中未找到依据",
    "off_topic": "超出服务范围",
    "injection": "疑似指令注入",
    "empty": "问题为空",
    "personal_status": "询问个人办理进度",
}


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
    filters, errors = lenient_filters(request, **raw)
    state = dashboard_state(request)
    names = data.caseworker_names(runtime)
    with runtime.session_factory() as session:
        view = data.overview(session, filters, state.now(), names)
        regions = data.known_regions(session)
    return render_page(
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
    filters, errors = lenient_filters(request, period=period, start=start, end=end, region=region, theme=code)
    with runtime.session_factory() as session:
        detail = data.theme_detail(session, filters, extra)
        regions = data.known_regions(session)
    export_query = filters.query(**extra.params())
    return render_page(
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
    state = dashboard_state(request)
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
        return not_ready_page(request, exc)
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
    return render_page(
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
        regions=case_regions(runtime),
        themes=data.themes(),
        theme_label=theme_label,
    )


@router.get("/dashboard/gaps", response_class=HTMLResponse)
def gaps_page(request: Request, runtime: RuntimeDep, _user: PageUser, days: int = 90) -> HTMLResponse:
    """Questions the knowledge base could not answer well, grouped, with the passages they got."""
    state = dashboard_state(request)
    errors: list[str] = []
    if days not in GAP_DAYS:
        errors.append("时间范围只能是 30、90、180 或 365 天。")
        days = 90
    try:
        embeddings = state.embeddings_for(runtime)
    except ServiceNotReadyError as exc:
        return not_ready_page(request, exc)
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
    return render_page(
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
    state = dashboard_state(request)
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
    names = data.caseworker_names(runtime)
    with runtime.session_factory() as session:
        sheets = [monthly.month_sheet(session, m, region_v, now, names) for m in months]
        regions = data.known_regions(session)
    return render_page(
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
    filters = strict_filters(request, period=period, start=start, end=end, region=region, theme=theme)
    names = data.caseworker_names(runtime)
    with runtime.session_factory() as session:
        view = data.overview(session, filters, dashboard_state(request).now(), names)
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
