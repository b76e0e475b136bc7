"""Server-rendered staff pages: login, search, documents, ask. Work without JavaScript.

Rendering (templates, navigation, the logged-in user) is shared with the dashboard through
``api.templating``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import RuntimeDep, page_principal, page_require, resolve_principal, same_origin
from api.errors import ServiceNotReadyError, validation_detail
from api.highlight import highlight
from api.login import client_ip, login_user, request_is_https
from api.schemas import MAX_QUERY_CHARS, MAX_QUESTION_CHARS
from api.security import SESSION_COOKIE, decode_token, signing_key
from api.templating import render
from api.users import PERM_ASK, PERM_CASES_OWN, PERM_DOCUMENTS_READ, PERM_SEARCH, PERM_THEMES, Principal
from api.views import (
    converse_and_log,
    document_url,
    get_document,
    list_documents,
    parse_conversation_state,
    rate_logged_answer,
    rating_token,
    search_hits,
    validate_filters,
)
from knowledge.conversation import without_understood_line
from knowledge.questionlog import offers_rating
from knowledge.types import NATIONAL, TOPICS
from vetbot.errors import InvalidInputError
from vetbot.regions import pickable, validate_region

router = APIRouter(include_in_schema=False)

PAGE_K = 20


def _safe_next(value: str | None) -> str:
    # Only same-site paths: "//evil.example" or "https://..." would be an open redirect.
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/search"
    return value


@router.get("/", response_class=RedirectResponse)
def home(request: Request) -> RedirectResponse:
    """Start page: office/admin land on the dashboard, caseworkers on their case queue, other
    staff on search; anonymous visitors on the login form."""
    principal = resolve_principal(request)
    if not principal.is_authenticated:
        return RedirectResponse("/login", status_code=303)
    dashboard = getattr(request.app.state, "dashboard_url", None)
    if dashboard and principal.can(PERM_THEMES):
        return RedirectResponse(dashboard, status_code=303)
    if principal.can(PERM_CASES_OWN):
        return RedirectResponse("/cases", status_code=303)
    return RedirectResponse("/search", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    """The login form."""
    return render(request, "login.html", title="登录", next=_safe_next(next), error=None, username="")


@router.post("/login", response_model=None)
async def login_submit(
    request: Request,
    runtime: RuntimeDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    """Check credentials, set the HttpOnly session cookie and go to ``next``; 403 cross-site."""
    target = _safe_next(next)
    if not same_origin(request):
        raise HTTPException(status_code=403, detail="拒绝跨站提交的登录请求。")
    if not username.strip() or not password:
        return render(
            request,
            "login.html",
            422,
            title="登录",
            next=target,
            username=username,
            error="请输入用户名和密码。",
        )
    try:
        _user, token = await run_in_threadpool(login_user, runtime, request, username, password)
    except HTTPException as exc:
        return render(
            request,
            "login.html",
            exc.status_code,
            title="登录",
            next=target,
            username=username,
            error=str(exc.detail),
        )
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=runtime.settings.session_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=request_is_https(request),
        path="/",
    )
    return response


@router.post("/logout")
def logout(request: Request, runtime: RuntimeDep) -> RedirectResponse:
    """End the session server-side (the token stops working everywhere) and drop the cookie."""
    if not same_origin(request):
        raise HTTPException(status_code=403, detail="拒绝跨站提交的退出请求。")
    token = request.cookies.get(SESSION_COOKIE)
    claims = decode_token(signing_key(runtime.settings.secret_key), token) if token else None
    if claims is not None:
        runtime.users.end_sessions(claims.user_id, ip=client_ip(request))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response


def _not_ready(request: Request, exc: ServiceNotReadyError, **values: Any) -> HTMLResponse:
    return render(request, "notice.html", 503, title="系统启动中", message=exc.user_message, **values)


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    runtime: RuntimeDep,
    principal: Annotated[Principal, Depends(page_require(PERM_SEARCH))],
    q: str = "",
    topic: str = "",
    region: str = "",
) -> HTMLResponse:
    """Search form and ranked results with highlights, scope badges and article links."""
    try:
        knowledge = runtime.knowledge
    except ServiceNotReadyError as exc:
        return _not_ready(request, exc)
    query = q.strip()[:MAX_QUERY_CHARS]
    errors: list[str] = []
    hits: list[Any] = []
    with runtime.kb_lock.read():
        regions = pickable(knowledge.regions())
        try:
            topic_v, region_v, _ = validate_filters(
                knowledge, topic=topic, region=region, document=None, query_loc="query"
            )
        except RequestValidationError as exc:  # show it on the page, keep the form
            errors = [d["msg"] for d in validation_detail(exc.errors())] or ["筛选条件有误。"]
            topic_v = region_v = None
        # An empty query with a topic or region browses them (knowledge.service.search).
        searched = bool(query or topic_v or region_v)
        if searched and not errors:
            _terms, hits = search_hits(knowledge, query, k=PAGE_K, topic=topic_v, region=region_v)
    hl = urlencode({"hl": query}) if query else ""
    for hit in hits:
        hit.document_url = f"{document_url(hit.doc_id)}{'?' + hl if hl else ''}#{hit.anchor}"
    return render(
        request,
        "search.html",
        422 if errors else 200,
        title="政策检索",
        q=query,
        topic=topic_v or "",
        region=region_v or "",
        topics=TOPICS,
        regions=regions,
        hits=hits,
        errors=errors,
        searched=searched,
        browsing=not query,
        national=NATIONAL,
        default_region=principal.region or "",
    )


@router.get("/documents", response_class=HTMLResponse)
def documents_page(
    request: Request,
    runtime: RuntimeDep,
    _principal: Annotated[Principal, Depends(page_require(PERM_DOCUMENTS_READ))],
) -> HTMLResponse:
    """All ingested documents."""
    try:
        knowledge = runtime.knowledge
    except ServiceNotReadyError as exc:
        return _not_ready(request, exc)
    with runtime.kb_lock.read():
        docs = list_documents(knowledge)
    return render(
        request, "documents.html", title="政策文件", documents=docs, topics=TOPICS, national=NATIONAL
    )


@router.get("/documents/{doc_id:path}", response_class=HTMLResponse)
def document_page(
    request: Request,
    doc_id: str,
    runtime: RuntimeDep,
    _principal: Annotated[Principal, Depends(page_require(PERM_DOCUMENTS_READ))],
    hl: str = "",
) -> HTMLResponse:
    """Metadata and every chunk with its anchor; ``:target`` CSS highlights the cited article."""
    try:
        knowledge = runtime.knowledge
    except ServiceNotReadyError as exc:
        return _not_ready(request, exc)
    with runtime.kb_lock.read():
        doc = get_document(knowledge, doc_id)
        terms = knowledge.query_terms(hl[:MAX_QUERY_CHARS]) if hl.strip() else []
    chunks = [{"chunk": c, "html": highlight(c.text, terms)} for c in doc.chunks]
    return render(
        request,
        "document.html",
        title=doc.title,
        doc=doc,
        chunks=chunks,
        topics=TOPICS,
        national=NATIONAL,
        hl=hl,
    )


def _ask_principal(request: Request) -> Principal:
    principal = resolve_principal(request)
    if not principal.is_authenticated:
        if request.app.state.runtime.settings.anonymous_ask:
            return principal
        return page_principal(request)  # redirects to the login form
    if not principal.can(PERM_ASK):
        raise HTTPException(status_code=403, detail="您的角色没有权限使用智能问答。")
    return principal


@router.get("/ask", response_class=HTMLResponse)
def ask_form(
    request: Request,
    runtime: RuntimeDep,
    principal: Annotated[Principal, Depends(_ask_principal)],
    rated: str = "",
) -> HTMLResponse:
    """The question form."""
    knowledge = runtime.knowledge_if_ready
    regions = pickable(knowledge.regions()) if knowledge is not None else []
    return render(
        request,
        "ask.html",
        title="智能问答",
        question="",
        region=principal.region or "",
        regions=regions,
        answer=None,
        log_id=None,
        error=None,
        rated=rated,
        max_chars=MAX_QUESTION_CHARS,
    )


@router.post("/ask", response_class=HTMLResponse)
async def ask_submit(
    request: Request,
    runtime: RuntimeDep,
    principal: Annotated[Principal, Depends(_ask_principal)],
    question: Annotated[str, Form(max_length=4000)] = "",
    region: Annotated[str, Form(max_length=32)] = "",
    context: Annotated[str, Form(max_length=4000)] = "",
) -> HTMLResponse:
    """Answer the question server-side and show it with its citations and rating buttons.

    ``context`` is the conversation context the previous answer sent back (a hidden field), so
    that 那火车呢 is understood as in the Telegram bot (``knowledge.conversation``).
    """
    knowledge = runtime.knowledge_if_ready
    regions = pickable(knowledge.regions()) if knowledge is not None else []
    text = question.strip()
    common: dict[str, Any] = {
        "title": "智能问答",
        "question": text,
        "region": region,
        "regions": regions,
        "max_chars": MAX_QUESTION_CHARS,
        "rated": "",
    }
    try:  # the same check as POST /v1/ask (the select can be bypassed)
        region = validate_region(region) or ""
    except InvalidInputError as exc:
        return render(request, "ask.html", 422, answer=None, log_id=None, error=exc.user_message, **common)
    if not text:
        return render(
            request,
            "ask.html",
            422,
            answer=None,
            log_id=None,
            error="问题不能为空，请输入您要咨询的内容。",
            **common,
        )
    if len(text) > MAX_QUESTION_CHARS:
        return render(
            request,
            "ask.html",
            422,
            answer=None,
            log_id=None,
            error=f"问题太长了（{len(text)} 字），请控制在 {MAX_QUESTION_CHARS} 字以内。",
            **common,
        )
    user_ref = principal.audit_name if principal.is_authenticated else None

    def work() -> tuple[Any, int | None, dict[str, Any] | None]:
        return converse_and_log(
            runtime, request.app.state.metrics, text, region.strip() or None,
            parse_conversation_state(context), channel="web", user_ref=user_ref,
        )

    try:
        answer, log_id, state = await run_in_threadpool(work)
    except ServiceNotReadyError as exc:
        return _not_ready(request, exc)
    sources, related = (
        [{"source": s, "url": document_url(s.doc_id, s.chunk_id) if s.doc_id else None} for s in listed]
        for listed in (answer.sources, [] if answer.refused else answer.related)
    )
    common["context_json"] = json.dumps(state, ensure_ascii=False) if state else ""
    if not offers_rating(answer):
        log_id = None  # a hint to rephrase: no 👍/👎 under it
    token = rating_token(runtime, log_id) if log_id is not None else None
    # The page states understood_as on its own line; the answer's own opening line would repeat it.
    shown = without_understood_line(answer.answer) if answer.understood_as else answer.answer
    return render(request, "ask.html", answer=answer, answer_text=shown, sources=sources, related=related,
                  log_id=log_id, error=None, rating_token=token, **common)


@router.post("/ask/{log_id}/rate")
def ask_rate(
    request: Request,
    log_id: int,
    runtime: RuntimeDep,
    principal: Annotated[Principal, Depends(_ask_principal)],
    rating: Annotated[str, Form(max_length=8)] = "",
    token: Annotated[str, Form(max_length=64)] = "",
) -> RedirectResponse:
    """👍/👎 from the answer page, then back to an empty form with a thank-you note."""
    rate_logged_answer(runtime, log_id, rating, principal, token=token or None)
    return RedirectResponse(f"/ask?rated={'up' if rating == 'up' else 'down'}", status_code=303)
