"""Server-side rendering shared by every page module: the Jinja environment and page context.

Templates live in ``api/templates`` and extend ``base.html`` (navigation, assets; blocks
``title``, ``head``, ``content``, ``scripts``). Other page modules (the office dashboard) add
their folder with :func:`add_template_dir` and render through :func:`render`, so the
navigation and the logged-in user appear the same everywhere, error pages included.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from api.deps import resolve_principal
from api.users import ANONYMOUS, PERM_ASK, PERM_DOCUMENTS_READ, PERM_SEARCH, PERM_THEMES, Principal
from complaints.types import channel_label
from vetbot.clock import to_china

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
APP_TITLE = "退役军人服务政策查询"


def make_templates() -> Jinja2Templates:
    """The app's template renderer over ``api/templates`` (autoescaped; filter ``datetime``)."""
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(TEMPLATES_DIR))]),
        autoescape=jinja2.select_autoescape(["html", "xml"], default_for_string=True),
    )
    env.filters["datetime"] = format_datetime
    env.filters["channel"] = channel_label
    # tojson (the KB change history) shows Chinese as written, not as \uXXXX escapes.
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
    return Jinja2Templates(env=env)


def format_datetime(value: Any) -> str:
    """A datetime, or an ISO 8601 timestamp string (``2026-11-30T14:24:18+00:00``), as
    ``YYYY-MM-DD HH:MM`` China time (naive values are UTC); other values (dates) as text."""
    if value is None or value == "":
        return ""
    if isinstance(value, str) and "T" in value:  # a timestamp stored as ISO text (ingested_at)
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return to_china(value).strftime("%Y-%m-%d %H:%M")
    return str(value)


def add_template_dir(app: FastAPI, directory: Path) -> None:
    """Let another page module (the dashboard) render its own templates, which may extend base.html."""
    loader = app.state.templates.env.loader
    assert isinstance(loader, jinja2.ChoiceLoader)
    loader.loaders = [*loader.loaders, jinja2.FileSystemLoader(str(directory))]


def nav_items(request: Request, principal: Principal) -> list[dict[str, str]]:
    """Navigation links the principal may use (the dashboard only when it is installed)."""
    items = []
    if principal.can(PERM_SEARCH):
        items.append({"href": "/search", "label": "政策检索"})
    if principal.can(PERM_ASK):
        items.append({"href": "/ask", "label": "智能问答"})
    if principal.can(PERM_DOCUMENTS_READ):
        items.append({"href": "/documents", "label": "政策文件"})
    if getattr(request.app.state, "dashboard_url", None) and principal.can(PERM_THEMES):
        items.append({"href": request.app.state.dashboard_url, "label": "投诉看板"})
    for extra in getattr(request.app.state, "extra_nav", []):
        if principal.can(extra.get("permission", PERM_SEARCH)):
            items.append({"href": extra["href"], "label": extra["label"]})
    return items


def page_context(request: Request, **values: Any) -> dict[str, Any]:
    """Common template context: the user, navigation, current path and the values given.

    Never raises for a bad credential: the page is then rendered for an anonymous visitor.
    """
    try:
        principal = resolve_principal(request)
    except HTTPException:
        principal = ANONYMOUS
    context: dict[str, Any] = {
        "user": principal,
        "nav": nav_items(request, principal) if principal.is_authenticated else [],
        "current_path": request.url.path,
        "app_title": APP_TITLE,
    }
    context.update(values)
    return context


def render(request: Request, name: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    """Render template ``name`` with :func:`page_context`; jinja2.TemplateNotFound if unknown."""
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, name, page_context(request, **values), status_code=status_code
    )
    return response
