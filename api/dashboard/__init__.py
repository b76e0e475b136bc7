"""Office dashboard (退役军人事务局 / 双拥办): complaint themes, deadlines, emerging problems.

Pages (office and admin only, ``PERM_THEMES``)::

    /dashboard                      counts by theme × period × region, trend charts, theme table,
                                    overdue / due-soon cases per unit, handling times, satisfaction
    /dashboard/themes/{code}        drill-down: the theme's cases, personal data masked
    /dashboard/emerging             emerging-theme clusters (cached per filter for a few minutes)
    /dashboard/gaps                 knowledge gaps grouped, linked to the retrieved passages
    /dashboard/monthly?month=YYYY-MM[&to=YYYY-MM]   printable summary, one page per month
    /dashboard/export/cases.csv|.xlsx, /dashboard/export/aggregates.csv|.xlsx   (audited)
    /v1/dashboard/aggregates        the counts as JSON
    POST /dashboard/units/supervise 督办/催办 every open case of a unit (``api.dashboard.supervision``)

Charts are SVG rendered on the server (``api.dashboard.charts``); no script or CDN is needed.
``api.app.create_app`` calls :func:`register`; tests may then set
``app.state.dashboard.embeddings`` / ``.clock`` (see ``api.dashboard.state``).
"""

from __future__ import annotations

from fastapi import FastAPI

from api.dashboard import downloads, routes, supervision
from api.dashboard.state import DashboardState

DASHBOARD_URL = "/dashboard"


def register(app: FastAPI) -> None:
    """Install the dashboard routes and state on ``app`` and show its link in the navigation."""
    app.state.dashboard = DashboardState()
    app.include_router(routes.router)
    app.include_router(downloads.router)
    app.include_router(routes.api_router)
    app.include_router(supervision.router)
    app.state.dashboard_url = DASHBOARD_URL
