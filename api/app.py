"""The FastAPI application factory: JSON API under ``/v1``, staff pages, ops endpoints.

``create_app(settings)`` wires everything; services can be injected (tests, the bench) and
are otherwise built by the lifespan in a background thread (``/readyz`` is 503 until then).

Extension point for the office dashboard: if a module ``api.dashboard`` exists, its
``register(app)`` is called after the core routes are in place. It may include routers
(pages and ``/v1/...`` endpoints), add its template folder with ``api.templating.add_template_dir``
(templates extend ``base.html``: blocks ``title``, ``head``, ``content``, ``scripts``; render
with ``api.templating.render(request, name, **values)``), reuse the ``api.deps`` dependencies
(``require(api.users.PERM_THEMES)`` for JSON, ``page_require(PERM_THEMES)`` for pages), use
``app.state.runtime`` (``.cases``, ``.session_factory``, ``.users.audit``) and set
``app.state.dashboard_url = "/dashboard"`` to show its link in the navigation for office/admin
(``app.state.extra_nav`` takes more ``{"href", "label", "permission"}`` items).
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from pydantic import SecretStr
from telegram import Update
from telegram.error import NetworkError, TelegramError

from api import casepages, intakepages, kbpages, pages
from api.exception_handlers import install_error_handlers
from api.jobs import JobRunner
from api.kbadmin import KbAdmin
from api.kbcurated import CuratedAnswers
from api.login import LoginGuard
from api.metrics import Metrics, MetricsMiddleware
from api.middleware import BodyLimitMiddleware, SecurityHeadersMiddleware
from api.routers import auth, complaints, health, uploads
from api.routers import knowledge as knowledge_routes
from api.runtime import Runtime
from api.security import resolve_secret_key
from api.templating import make_templates
from api.uploadfiles import MAX_FILES_PER_UPLOAD
from api.users import PERM_CASES_FILE, PERM_CASES_OWN, PERM_KB_EDIT
from bot.webhook import make_webhook_router, telegram_lifespan
from knowledge.kbedits import KbEditRepository
from vetbot.settings import Settings

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
API_PREFIX = "/v1"
DEFAULT_MAX_BODY = 1 << 20  # JSON and form bodies; uploads have their own, larger limit
# The bot's next start after the Bot API could not be reached (seconds; doubles up to the max).
TELEGRAM_RETRY_FIRST_SECONDS = 5.0
TELEGRAM_RETRY_MAX_SECONDS = 300.0

def telegram_mode(settings: Settings) -> str | None:
    """ "webhook" / "polling" / None, from the Telegram settings."""
    if settings.telegram_token is None or not settings.telegram_token.get_secret_value():
        return None
    return "webhook" if settings.telegram_webhook_url else "polling"


def create_app(
    settings: Settings,
    *,
    knowledge: Any = None,
    cases: Any = None,
    session_factory: Any = None,
    telegram_application: Any = None,
) -> FastAPI:
    """Build the app. Injected services are used as is; missing ones load in the lifespan.

    ``telegram_application`` (a python-telegram-bot ``Application``) runs alongside: in
    webhook mode when ``settings.telegram_webhook_url`` is set (updates arrive on this app),
    otherwise by long polling.
    """
    # Never a known key: the configured one (checked) or one generated into the data dir.
    configured = settings.secret_key.get_secret_value() if settings.secret_key else None
    key = resolve_secret_key(configured, settings.data_dir)
    settings = settings.model_copy(update={"secret_key": SecretStr(key)})
    runtime = Runtime(settings, knowledge=knowledge, cases=cases, session_factory=session_factory)
    metrics = Metrics()
    kb_edits = KbEditRepository(runtime.session_factory)
    jobs = JobRunner(
        runtime.session_factory,
        settings.data_dir / "uploads",
        lambda: runtime.knowledge.store,
        runtime.kb_lock,
        audit=runtime.users.audit,
        run_jobs=settings.jobs_in_process,
        overlay=kb_edits.apply,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(jobs.start)
        if runtime.needs_loading:
            # A thread, not the event loop: /healthz and /readyz answer while models load.
            threading.Thread(target=runtime.load, name="vetbot-load", daemon=True).start()
        async with AsyncExitStack() as stack:
            if telegram_application is not None:
                await stack.enter_async_context(telegram_running(telegram_application, settings))
            try:
                yield
            finally:
                await asyncio.to_thread(jobs.shutdown)
                # uvicorn re-raises SIGTERM once the lifespan ends, which kills the process:
                # give the job time to reach its checkpoint and put itself back in the queue
                # (past the grace it is put back from here).
                await asyncio.to_thread(jobs.stop_within, settings.shutdown_grace_seconds)

    app = FastAPI(
        title="退役军人服务与优待政策助手 API",
        description=(
            "政策问答（带条文引用）、条文检索、政策文件管理与投诉办理。\n\n"
            "认证：`Authorization: Bearer <令牌>`（`POST /v1/auth/token` 获取）、"
            "`X-API-Key: <密钥>`（系统客户端），或网页登录后的会话 Cookie。"
        ),
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served below from local assets: no CDN
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.state.metrics = metrics
    app.state.jobs = jobs
    app.state.kb_admin = KbAdmin(
        kb_edits, jobs, lambda: runtime.knowledge.store, runtime.users.audit, settings.data_dir / "uploads"
    )
    app.state.curated = CuratedAnswers(
        runtime.session_factory, jobs, lambda: runtime.knowledge.store, runtime.users.audit
    )
    app.state.login_guard = LoginGuard(settings, runtime.session_factory)
    app.state.templates = make_templates()
    app.state.dashboard_url = None
    app.state.extra_nav = [
        {"href": "/intake", "label": "窗口登记", "permission": PERM_CASES_FILE},
        {"href": "/cases", "label": "案件办理", "permission": PERM_CASES_OWN},
        {"href": "/kb", "label": "知识库管理", "permission": PERM_KB_EDIT},
    ]
    app.state.telegram_application = telegram_application

    install_error_handlers(app)
    app.add_middleware(SecurityHeadersMiddleware)
    upload_limit = settings.max_upload_mb * (1 << 20) * MAX_FILES_PER_UPLOAD + (1 << 20)
    app.add_middleware(
        BodyLimitMiddleware,
        default=DEFAULT_MAX_BODY,
        limits={("POST", f"{API_PREFIX}/documents"): upload_limit, ("POST", "/intake"): upload_limit},
    )
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    _include_offline_docs(app)

    api = APIRouter(prefix=API_PREFIX)
    api.include_router(auth.router)
    api.include_router(knowledge_routes.router)
    api.include_router(complaints.router)
    api.include_router(uploads.router)
    app.include_router(health.router)
    app.include_router(api)
    app.include_router(pages.router)
    app.include_router(casepages.router)
    app.include_router(intakepages.router)
    app.include_router(kbpages.router)

    if telegram_application is not None and telegram_mode(settings) == "webhook":
        _include_webhook(app, telegram_application, settings)
    _include_dashboard(app)
    return app


def swagger_ui_dir() -> Path:
    """The Swagger UI 5 files (OpenAPI 3.1) shipped by the ``swagger-ui-py`` package (Apache-2.0).

    Located without importing the package (its ``__init__`` loads web-framework glue we do not use).
    """
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("swagger-ui-py is not installed", name="swagger_ui")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def _include_offline_docs(app: FastAPI) -> None:
    """Swagger UI 5 at /docs with its JS/CSS from the swagger-ui-py package, not a CDN."""
    app.mount("/docs/assets", StaticFiles(directory=str(swagger_ui_dir())), name="swagger-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - 接口文档",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon-32x32.png",
        )


def _include_dashboard(app: FastAPI) -> None:
    """Let ``api.dashboard.register(app)`` add the office dashboard, when that module exists."""
    try:
        module = importlib.import_module("api.dashboard")
    except ModuleNotFoundError as exc:
        if exc.name == "api.dashboard":
            return
        raise
    register = getattr(module, "register", None)
    if register is None:
        logger.warning("api.dashboard has no register(app); dashboard not installed")
        return
    register(app)


def _include_webhook(app: FastAPI, application: Any, settings: Settings) -> None:
    secret = settings.telegram_webhook_secret.get_secret_value() if settings.telegram_webhook_secret else None
    app.include_router(make_webhook_router(application, secret))


@asynccontextmanager
async def telegram_running(application: Any, settings: Settings) -> AsyncIterator[None]:
    """Run the bot for the app's lifetime: webhook registration, or long polling alongside.

    A network error while the bot starts (the Bot API unreachable: a firewall, an outage at
    restart) does not keep the web app and the API from serving: it is logged and the bot is
    started again in the background, after ``TELEGRAM_RETRY_FIRST_SECONDS`` doubling up to
    ``TELEGRAM_RETRY_MAX_SECONDS``, until it is up or the app stops. Other errors (an invalid
    token) still stop the start-up.
    """
    async with AsyncExitStack() as stack:
        retry: asyncio.Task[None] | None = None
        try:
            await stack.enter_async_context(_bot_session(application, settings))
        except NetworkError as exc:
            logger.warning("telegram bot API unreachable at start (%s); the web app serves, the bot "
                           "tries again in %.0f s", exc, TELEGRAM_RETRY_FIRST_SECONDS)
            retry = asyncio.create_task(_start_later(application, settings, stack),
                                        name="vetbot-telegram-retry")
        try:
            yield
        finally:
            if retry is not None and not retry.done():
                retry.cancel()
                with suppress(asyncio.CancelledError):
                    await retry


async def _start_later(application: Any, settings: Settings, stack: AsyncExitStack) -> None:
    """Start the bot into ``stack`` once the Bot API answers (see :func:`telegram_running`)."""
    delay = TELEGRAM_RETRY_FIRST_SECONDS
    while True:
        await asyncio.sleep(delay)
        try:
            await stack.enter_async_context(_bot_session(application, settings))
        except NetworkError as exc:
            delay = min(delay * 2, TELEGRAM_RETRY_MAX_SECONDS)
            logger.warning("telegram bot API still unreachable (%s); next try in %.0f s", exc, delay)
        except TelegramError:
            # Reachable but refused (a revoked token): retrying cannot help; the web app serves on.
            logger.exception("telegram bot could not start; it stays off until the app restarts")
            return
        else:
            return


@asynccontextmanager
async def _bot_session(application: Any, settings: Settings) -> AsyncIterator[None]:
    mode = telegram_mode(settings)
    secret = settings.telegram_webhook_secret.get_secret_value() if settings.telegram_webhook_secret else None
    webhook_url = settings.telegram_webhook_url if mode == "webhook" else None
    async with telegram_lifespan(application, webhook_url=webhook_url, secret_token=secret):
        polling = mode == "polling" and application.updater is not None
        if polling:
            await application.updater.start_polling(allowed_updates=Update.ALL_TYPES)
        logger.info("telegram bot running in %s mode", mode)
        try:
            yield
        finally:
            if polling and application.updater.running:
                await application.updater.stop()
