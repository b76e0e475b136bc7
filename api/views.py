"""Shared logic of the API routes and the staff pages (HTTP-agnostic)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import weakref
from pathlib import PurePath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from api.errors import field_error
from api.highlight import snippet
from api.schemas import MAX_QUERY_CHARS, MAX_SEARCH_K, ChunkOut, DocumentDetail, DocumentSummary, SearchHit
from api.security import signing_key
from api.users import PERM_SEARCH, Principal
from knowledge.conversation import ConversationService
from knowledge.questionlog import QuestionLogService
from knowledge.types import NATIONAL, TOPICS, Answer
from knowledge.versions import VersionIndex
from vetbot import regions
from vetbot.clock import china_today
from vetbot.errors import InvalidInputError, NotFoundError

if TYPE_CHECKING:
    from api.metrics import Metrics
    from api.runtime import Runtime
    from knowledge.service import KnowledgeService
    from knowledge.store import ChunkRecord, DocumentRecord

logger = logging.getLogger(__name__)

_ANCHOR_UNSAFE = re.compile(r"[^\w-]+")



def public_path(path: str) -> str:
    """A source file's name without the server's directories (they are nobody's business)."""
    return PurePath(path).name if path else ""

def anchor_for(chunk_id: str) -> str:
    """The HTML id of a chunk on its document page (``chunk-<doc>-<hash>-<i>``)."""
    return "chunk-" + _ANCHOR_UNSAFE.sub("-", chunk_id).strip("-")


def document_url(doc_id: str, chunk_id: str | None = None) -> str:
    """Path of a document page, optionally anchored at one chunk."""
    url = f"/documents/{quote(doc_id, safe='')}"
    return f"{url}#{anchor_for(chunk_id)}" if chunk_id else url


def _topics(meta: dict[str, Any]) -> list[str]:
    raw = meta.get("topics", "")
    if isinstance(raw, list):
        return [str(t) for t in raw if t]
    return [t for t in str(raw).split("|") if t]


def _web_url(url: str) -> str:
    # Only web links: a "javascript:" or "data:" URL in metadata must never become a link.
    url = url.strip()
    return url if url.lower().startswith(("http://", "https://")) else ""


def document_field(doc: DocumentRecord | None, key: str, default: str = "") -> str:
    """One metadata field of a document: the document's (edited on /kb), else its first chunk's."""
    if doc is None:
        return default
    first = doc.chunks[0].metadata if doc.chunks else {}
    return str(doc.metadata.get(key) or first.get(key) or default)


def document_summary(doc: DocumentRecord) -> DocumentSummary:
    """Metadata of a document record."""
    meta = doc.metadata
    first = doc.chunks[0].metadata if doc.chunks else {}

    def pick(key: str, default: str = "") -> str:
        return document_field(doc, key, default)

    region = pick("region", NATIONAL)
    return DocumentSummary(
        doc_id=doc.doc_id,
        title=pick("title", doc.doc_id),
        region=region,
        scope=pick("scope", "national" if region == NATIONAL else "local"),
        topics=_topics(meta) or _topics(first),
        issuer=pick("issuer"),
        doc_number=pick("doc_number"),
        date_issued=pick("date_issued"),
        date_effective=pick("date_effective"),
        source_url=_web_url(pick("source_url")),
        path=public_path(doc.path),
        chunk_count=len(doc.chunks),
        ingested_at=doc.ingested_at,
    )


def chunk_out(chunk: ChunkRecord) -> ChunkOut:
    """One chunk for display."""
    meta = chunk.metadata
    return ChunkOut(
        chunk_id=chunk.chunk_id,
        anchor=anchor_for(chunk.chunk_id),
        article=str(meta.get("article") or ""),
        heading=str(meta.get("heading") or ""),
        text=chunk.text,
    )


def _with_status(summary: DocumentSummary, versions: VersionIndex) -> DocumentSummary:
    """``summary`` with its version status, so an old text never reads as in force."""
    st = versions.status(summary.doc_id)
    if st.in_force:
        upcoming = versions.upcoming_note(summary.doc_id)
        return summary.model_copy(update={"upcoming_note": upcoming}) if upcoming else summary
    return summary.model_copy(update={"status": st.status, "status_note": st.note()})


def _versions(knowledge: KnowledgeService) -> VersionIndex:
    return VersionIndex({d.doc_id: d.metadata for d in knowledge.store.documents.values()}, china_today())


def list_documents(knowledge: KnowledgeService) -> list[DocumentSummary]:
    """All documents: national first, then by region and title."""
    versions = _versions(knowledge)
    docs = [_with_status(document_summary(d), versions) for d in knowledge.store.documents.values()]
    docs.sort(key=lambda d: (d.region != NATIONAL, d.region, d.title))
    return docs


def get_document(knowledge: KnowledgeService, doc_id: str) -> DocumentDetail:
    """A document with all its chunks in order; NotFoundError if unknown."""
    doc = knowledge.store.documents.get(doc_id)
    if doc is None:
        raise NotFoundError(f"document {doc_id}", user_message="未找到该政策文件，可能已被删除或更新。")
    summary = _with_status(document_summary(doc), _versions(knowledge))
    return DocumentDetail(**summary.model_dump(), chunks=[chunk_out(c) for c in doc.chunks])


def validate_filters(
    knowledge: KnowledgeService,
    *,
    topic: str | None,
    region: str | None,
    document: str | None,
    query_loc: str,
) -> tuple[str | None, str | None, str | None]:
    """Normalise empty filters to None; 422 (Chinese) for unknown topic, region or document."""
    topic = (topic or "").strip() or None
    region = (region or "").strip() or None
    document = (document or "").strip() or None
    if topic is not None and topic not in TOPICS:
        choices = "、".join(f"{code}（{label}）" for code, label in TOPICS.items())
        raise field_error([query_loc, "topic"], f"未知的主题“{topic}”，可选：{choices}。")
    # The same check as ask and complaints: any place is a valid filter (national passages
    # plus that place's own), not only the regions the KB happens to hold.
    try:
        region = regions.validate_region(region)
    except InvalidInputError as exc:
        raise field_error([query_loc, "region"], exc.user_message) from exc
    if document is not None and document not in knowledge.store.documents:
        raise field_error([query_loc, "document"], f"未知的文件“{document}”。")
    return topic, region, document


def search_hits(
    knowledge: KnowledgeService,
    query: str,
    *,
    k: int = 10,
    topic: str | None = None,
    region: str | None = None,
    document: str | None = None,
) -> tuple[list[str], list[SearchHit]]:
    """Ranked passages with highlighted snippets and their documents' 文号 and 施行日期 (and, for a
    text in force that a 尚未施行 one will end, the same ``upcoming_note`` as its document page),
    plus the query terms used to highlight."""
    k = max(1, min(k, MAX_SEARCH_K))
    sources = knowledge.search(query[:MAX_QUERY_CHARS], k=k, topic=topic, region=region, document=document)
    terms = knowledge.query_terms(query)
    documents = knowledge.store.documents
    versions = knowledge.versions()
    hits = []
    for rank, src in enumerate(sources, 1):
        doc = documents.get(src.doc_id)
        hits.append(
            SearchHit(
                **{**src.model_dump(), "path": public_path(src.path)},
                rank=rank,
                doc_number=document_field(doc, "doc_number"),
                date_effective=document_field(doc, "date_effective"),
                snippet_html=str(snippet(src.text, terms)),
                anchor=anchor_for(src.chunk_id),
                document_url=document_url(src.doc_id, src.chunk_id),
                upcoming_note=versions.upcoming_note(src.doc_id) if src.in_force else "",
            )
        )
    return terms, hits


_CONVERSATIONS: weakref.WeakKeyDictionary[Any, ConversationService] = weakref.WeakKeyDictionary()


def conversation_for(knowledge: Any) -> ConversationService:
    """The one ``ConversationService`` over ``knowledge`` (built on first use, then reused)."""
    service = _CONVERSATIONS.get(knowledge)
    if service is None:
        service = _CONVERSATIONS[knowledge] = ConversationService(knowledge)
    return service


def parse_conversation_state(raw: str | None) -> dict[str, Any] | None:
    """The conversation context posted back by the ask page (JSON), or None when absent or bad."""
    try:
        state = json.loads(raw) if raw else None
    except ValueError:
        return None
    return state if isinstance(state, dict) else None


def converse_and_log(
    runtime: Runtime,
    metrics: Metrics,
    question: str,
    region: str | None,
    state: dict[str, Any] | None,
    *,
    channel: str,
    user_ref: str | None,
) -> tuple[Answer, int | None, dict[str, Any] | None]:
    """Answer a chat message in its context (``knowledge.conversation``), log it unless small talk.

    Returns (answer, log id or None, the context to send back with the next message).
    """
    conversation = conversation_for(runtime.knowledge)
    with runtime.kb_lock.read():
        turn = conversation.reply(question, state, region)
    if turn.answer.intent == "smalltalk":
        return turn.answer, None, turn.state
    metrics.observe_answer(turn.answer, channel)
    log_id = QuestionLogService(runtime.session_factory).try_record(
        turn.answer, channel=channel, user_ref=user_ref, region=region
    )
    return turn.answer, log_id, turn.state


def rating_token(runtime: Runtime, log_id: int) -> str:
    """The proof that the caller asked question ``log_id`` (hex, 32 chars; HMAC with the signing key).

    Returned with every answer; an answer logged without a user (anonymous asking) can only be
    rated with it, so nobody else can rate other people's or demo rows.
    """
    key = signing_key(runtime.settings.secret_key).encode()
    return hmac.new(key, f"qa-rating:{log_id}".encode(), hashlib.sha256).hexdigest()[:32]


def rate_logged_answer(
    runtime: Runtime,
    log_id: int,
    rating: str,
    principal: Principal,
    *,
    token: str | None = None,
    reason: str | None = None,
) -> None:
    """Rate a logged answer: only its asker may (NotFoundError / PermissionDeniedError otherwise).

    The asker is the logged-in user who asked, or, for an answer logged without a user, whoever
    shows its :func:`rating_token`. Staff (any logged-in role that may search) may rate any
    answer when they give a ``reason``; that rating is audited.
    """
    user_ref = principal.audit_name if principal.is_authenticated else None
    # Bytes: compare_digest refuses str with non-ASCII characters (a 500 found by the fuzz test).
    proved = bool(token) and hmac.compare_digest(
        str(token).encode("utf-8", "replace"), rating_token(runtime, log_id).encode()
    )
    reason = (reason or "").strip() or None
    override = reason is not None and principal.is_authenticated and principal.can(PERM_SEARCH)
    QuestionLogService(runtime.session_factory).rate(
        log_id, rating, rater=user_ref, unowned_ok=proved, override=override
    )
    if override:
        runtime.users.audit(principal.audit_name, "qa.rate_for_asker", f"qa_log:{log_id}",
                            {"rating": rating, "reason": reason})
