"""What the dashboard's pages, downloads and JSON endpoint share: access, filters, rendering."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from api.dashboard import data
from api.dashboard.filters import Filters, china_today, parse_filters
from api.dashboard.state import DashboardState
from api.deps import page_require, require
from api.errors import ServiceNotReadyError
from api.runtime import Runtime
from api.templating import render
from api.users import PERM_THEMES, Principal
from vetbot.errors import InvalidInputError

PageUser = Annotated[Principal, Depends(page_require(PERM_THEMES))]
ApiUser = Annotated[Principal, Depends(require(PERM_THEMES))]

SUBNAV = (
    ("/dashboard", "总览"),
    ("/dashboard/emerging", "新出现的问题"),
    ("/dashboard/gaps", "知识缺口"),
    ("/dashboard/monthly", "月度汇总"),
)


def dashboard_state(request: Request) -> DashboardState:
    """The dashboard's per-app state (clock, caches, embeddings)."""
    state: DashboardState = request.app.state.dashboard
    return state


def lenient_filters(request: Request, **raw: str) -> tuple[Filters, list[str]]:
    """Filters from query values; unusable values fall back to defaults, with Chinese errors."""
    today = china_today(dashboard_state(request).now())
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


def render_page(request: Request, name: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    """Render a dashboard template with the dashboard's sub-navigation."""
    return render(request, name, status_code, subnav=SUBNAV, **values)


def not_ready_page(request: Request, exc: ServiceNotReadyError) -> HTMLResponse:
    """The 503 page while models load."""
    return render(request, "notice.html", 503, title="系统启动中", message=exc.user_message)


def case_regions(runtime: Runtime) -> list[str]:
    """Regions that occur in the case store, sorted."""
    with runtime.session_factory() as session:
        return data.known_regions(session)


def strict_filters(request: Request, **raw: str) -> Filters:
    """Filters from query values; InvalidInputError (422, Chinese) for the first unusable one."""
    filters, errors = lenient_filters(request, **raw)
    if errors:
        raise InvalidInputError(f"bad export filters: {errors}", user_message=errors[0])
    return filters
