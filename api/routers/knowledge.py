"""Questions, search and documents of the policy knowledge base."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool

from api.deps import RuntimeDep, require, require_ask
from api.errors import field_error
from api.schemas import (
    MAX_QUERY_CHARS,
    MAX_SEARCH_K,
    AskRequest,
    AskResponse,
    DocumentDetail,
    DocumentList,
    RatingRequest,
    RatingResponse,
    SearchResponse,
)
from api.users import PERM_DOCUMENTS_READ, PERM_SEARCH, Principal
from api.views import (
    converse_and_log,
    get_document,
    list_documents,
    public_path,
    rate_logged_answer,
    rating_token,
    search_hits,
    validate_filters,
)

router = APIRouter(tags=["政策问答与检索"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "未登录（或未开放匿名提问）"},
    403: {"description": "角色无权限"},
    422: {"description": "输入有误（中文说明）"},
    503: {"description": "模型或知识库尚未加载完成"},
}


@router.post("/ask", response_model=AskResponse, summary="提问（返回带引用的回答）", responses=_ERRORS)
async def ask(
    body: AskRequest,
    request: Request,
    runtime: RuntimeDep,
    principal: Annotated[Principal, Depends(require_ask)],
) -> AskResponse:
    """Answer a question with cited articles (same JSON as ``vetbot ask --json``) and log it.

    The returned ``log_id`` rates the answer via ``POST /v1/ask/{log_id}/rating``. Answered as
    a chat turn, as in the bot: small talk gets a short reply (not logged, no ``log_id``), typos
    and traditional characters are folded, other languages get a Chinese hint; sending back the
    response's ``context`` with the next question makes follow-ups (那火车呢？) work.
    """
    user_ref = principal.audit_name if principal.is_authenticated else None
    metrics = request.app.state.metrics
    # The same conversation service as the bot and the ask page: small talk, typos, other
    # languages; follow-ups when the caller sends back the previous answer's context.
    answer, log_id, state = await run_in_threadpool(
        lambda: converse_and_log(runtime, metrics, body.question, body.region, body.context,
                                 channel="api", user_ref=user_ref)
    )
    token = rating_token(runtime, log_id) if log_id is not None else None
    data = answer.model_dump()
    for passage in (*data.get("sources", []), *data.get("related", [])):
        passage["path"] = public_path(passage.get("path", ""))
    return AskResponse(**data, log_id=log_id, rating_token=token, context=state)


@router.post(
    "/ask/{log_id}/rating", response_model=RatingResponse, summary="评价回答 👍/👎", responses=_ERRORS
)
def rate(
    log_id: Annotated[int, Path(ge=1)],
    body: RatingRequest,
    runtime: RuntimeDep,
    principal: Annotated[Principal, Depends(require_ask)],
) -> RatingResponse:
    """Attach 👍 (``up``) or 👎 (``down``) to a logged answer.

    Only the asker: the same logged-in user, or for an anonymous question the ``rating_token``
    returned with the answer. Staff rating on someone's behalf give a ``reason`` (audited).
    """
    rate_logged_answer(runtime, log_id, body.rating, principal, token=body.token, reason=body.reason)
    return RatingResponse(log_id=log_id, rating=body.rating)


@router.get("/search", response_model=SearchResponse, summary="检索政策条文", responses=_ERRORS)
def search(
    runtime: RuntimeDep,
    _principal: Annotated[Principal, Depends(require(PERM_SEARCH))],
    q: Annotated[
        str, Query(max_length=MAX_QUERY_CHARS, description="查询内容；选了主题、地区或文件时可为空（浏览）")
    ],
    topic: Annotated[str | None, Query(max_length=32, description="主题代码，如 card")] = None,
    region: Annotated[str | None, Query(max_length=32, description="地区，如 全国、济南市")] = None,
    document: Annotated[str | None, Query(max_length=200, description="只在该文件（doc_id）内检索")] = None,
    k: Annotated[int, Query(ge=1, le=MAX_SEARCH_K, description="返回条数（1–50）")] = 10,
) -> SearchResponse:
    """Ranked passages; ``snippet_html`` marks the query terms with ``<mark>`` (rest escaped).

    An empty ``q`` with a topic, region or document lists their passages (score 0): in force
    first, national before local, in document order.
    """
    query = q.strip()
    if not query and topic is None and region is None and document is None:
        raise field_error(["query", "q"], "查询内容不能为空。", "string_too_short")
    knowledge = runtime.knowledge
    with runtime.kb_lock.read():
        topic, region, document = validate_filters(
            knowledge, topic=topic, region=region, document=document, query_loc="query"
        )
        terms, hits = search_hits(knowledge, query, k=k, topic=topic, region=region, document=document)
    return SearchResponse(query=query, terms=terms, total=len(hits), results=hits)


@router.get("/documents", response_model=DocumentList, summary="已导入的政策文件", responses=_ERRORS)
def documents(
    runtime: RuntimeDep, _principal: Annotated[Principal, Depends(require(PERM_DOCUMENTS_READ))]
) -> DocumentList:
    """Metadata of every ingested document (national first)."""
    knowledge = runtime.knowledge
    with runtime.kb_lock.read():
        docs = list_documents(knowledge)
    return DocumentList(total=len(docs), documents=docs)


@router.get(
    "/documents/{doc_id:path}",
    response_model=DocumentDetail,
    summary="政策文件详情（含全部条文）",
    responses={**_ERRORS, 404: {"description": "文件不存在"}},
)
def document(
    doc_id: str,
    runtime: RuntimeDep,
    _principal: Annotated[Principal, Depends(require(PERM_DOCUMENTS_READ))],
) -> DocumentDetail:
    """Metadata and all chunks of one document, with the anchors used by the document page."""
    knowledge = runtime.knowledge
    with runtime.kb_lock.read():
        return get_document(knowledge, doc_id)
