"""Knowledge-base admin pages (``/kb``): documents and versions, passages, hit testing, 官方口径.

Editors and admins (``kb:edit``) see and edit; uploading, deleting and re-ingesting documents
is for admins (``documents:write``). Upload uses the ingest job API (``POST /v1/documents``,
``GET /v1/jobs/{id}``) from ``/static/kb.js``; everything else is plain forms. Routes are
thin: the work is in :mod:`api.kbadmin`, :mod:`api.kbcurated` and :mod:`api.kbhittest`.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from api.deps import CuratedDep, KbAdminDep, KbEditorPage, KbWriterPage, RuntimeDep
from api.errors import ServiceNotReadyError
from api.kbadmin import topic_list
from api.kbcurated import CuratedDraft, review_state, today
from api.kbhittest import hit_test
from api.login import client_ip
from api.templating import render
from api.users import PERM_DOCUMENTS_WRITE
from knowledge.overlay import EDITABLE_FIELDS, ingested_value
from knowledge.types import NATIONAL, TOPICS
from vetbot.errors import InvalidInputError

router = APIRouter(include_in_schema=False)

ACTION_LABELS = {
    "kb.document.update": "修改元数据",
    "kb.document.disable": "停用文件",
    "kb.document.enable": "启用文件",
    "kb.document.reingest": "重新导入",
    "kb.passage.edit": "修改段落",
    "kb.passage.disable": "停用段落",
    "kb.passage.enable": "启用段落",
}
# The document page shows its latest changes, found among the newest audit records.
HISTORY_SCAN, HISTORY_SHOWN = 1000, 20
MetaField = Annotated[str, Form(max_length=200)]


def _doc_url(doc_id: str, msg: str = "") -> str:
    url = f"/kb/docs/{quote(doc_id, safe='')}"
    return f"{url}?{urlencode({'msg': msg})}" if msg else url


def _back(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@router.get("/kb", response_class=HTMLResponse)
def kb_documents(request: Request, kb: KbAdminDep, principal: KbEditorPage, msg: str = "") -> HTMLResponse:
    """Documents grouped by title with their version status; upload for admins."""
    return render(
        request,
        "kb/documents.html",
        title="知识库管理",
        groups=kb.document_groups(),
        can_write=principal.can(PERM_DOCUMENTS_WRITE),
        msg=msg[:200],
        national=NATIONAL,
    )


@router.get("/kb/docs/{doc_id:path}", response_class=HTMLResponse)
def kb_document(
    request: Request, doc_id: str, runtime: RuntimeDep, kb: KbAdminDep, principal: KbEditorPage, msg: str = ""
) -> HTMLResponse:
    """One document: metadata form, status, actions, its passages in order and its change history."""
    row, record, edit = kb.document(doc_id)
    others = [r for g in kb.document_groups() for r in g.rows if r.doc_id != doc_id and not r.disabled]
    meta = dict(edit.snapshot or {}) if record is None and edit else dict(record.metadata if record else {})
    ingested = {key: ingested_value(meta, key) for key in EDITABLE_FIELDS}
    ingested["topics"] = ",".join(topic_list(ingested["topics"]))
    return render(
        request,
        "kb/document.html",
        title=row.title,
        row=row,
        record=record,
        edit=edit,
        passages=kb.passages(doc_id),
        fields=EDITABLE_FIELDS,
        overrides=dict(edit.overrides if edit else {}),
        ingested=ingested,
        topics=TOPICS,
        others=others,
        can_write=principal.can(PERM_DOCUMENTS_WRITE),
        action_labels=ACTION_LABELS,
        history=[
            e
            for e in runtime.users.recent_audit(limit=HISTORY_SCAN)
            if e.target == f"doc:{doc_id}" or e.target.startswith(f"doc:{doc_id}#")
        ][:HISTORY_SHOWN],
        msg=msg[:200],
    )


@router.post("/kb/docs/{doc_id:path}/meta")
def kb_document_meta(
    request: Request,
    doc_id: str,
    kb: KbAdminDep,
    principal: KbEditorPage,
    title: MetaField = "",
    issuer: MetaField = "",
    doc_number: MetaField = "",
    region: MetaField = "",
    topics: MetaField = "",
    date_effective: MetaField = "",
    superseded_by: MetaField = "",
) -> RedirectResponse:
    """Save metadata overrides (an empty field restores the ingested value) and publish."""
    values = {
        "title": title,
        "issuer": issuer,
        "doc_number": doc_number,
        "region": region,
        "topics": topics,
        "date_effective": date_effective,
        "superseded_by": superseded_by,
    }
    kb.update_metadata(doc_id, values, principal.audit_name, ip=client_ip(request))
    return _back(_doc_url(doc_id, "已保存，修改已生效。"))


@router.post("/kb/docs/{doc_id:path}/disable")
def kb_document_disable(
    request: Request, doc_id: str, kb: KbAdminDep, principal: KbEditorPage
) -> RedirectResponse:
    """Take the document out of the index (its edits are kept)."""
    kb.set_disabled(doc_id, True, principal.audit_name, ip=client_ip(request))
    return _back(_doc_url(doc_id, "已停用：该文件不再参与检索和回答。"))


@router.post("/kb/docs/{doc_id:path}/enable")
def kb_document_enable(
    request: Request, doc_id: str, kb: KbAdminDep, principal: KbEditorPage
) -> RedirectResponse:
    """Put a disabled document back."""
    kb.set_disabled(doc_id, False, principal.audit_name, ip=client_ip(request))
    return _back(_doc_url(doc_id, "已启用。"))


@router.post("/kb/docs/{doc_id:path}/reingest")
def kb_document_reingest(
    request: Request, doc_id: str, kb: KbAdminDep, principal: KbWriterPage
) -> RedirectResponse:
    """Read the source file again (edits re-applied; changed passages flagged)."""
    result = kb.reingest(doc_id, principal.audit_name, ip=client_ip(request))
    if result.source_missing:
        msg = "原文件已不存在，已按索引中的内容重新发布；如需更新请重新上传该文件。"
    elif result.source_changed:
        msg = "已重新导入：原文件有变化，请复核标记为“待复核”的修改。"
    else:
        msg = "已重新导入，原文件未变化。"
    return _back(_doc_url(doc_id, msg))


@router.post("/kb/docs/{doc_id:path}/delete")
def kb_document_delete(
    request: Request, doc_id: str, kb: KbAdminDep, principal: KbWriterPage
) -> RedirectResponse:
    """Delete the document, its edits and its uploaded file."""
    kb.delete(doc_id, principal.audit_name, ip=client_ip(request))
    return _back(f"/kb?{urlencode({'msg': '已删除该文件。'})}")


@router.post("/kb/docs/{doc_id:path}/passage")
def kb_passage(
    request: Request,
    doc_id: str,
    kb: KbAdminDep,
    principal: KbEditorPage,
    key: Annotated[str, Form(max_length=64)],
    action: Annotated[str, Form(max_length=16)] = "save",
    text: Annotated[str | None, Form(max_length=20_000)] = None,
    label: Annotated[str | None, Form(max_length=64)] = None,
) -> RedirectResponse:
    """Save a passage's text and label, or disable / enable it."""
    ip = client_ip(request)
    if action == "disable":
        kb.edit_passage(doc_id, key, principal.audit_name, disabled=True, ip=ip)
    elif action == "enable":
        kb.edit_passage(doc_id, key, principal.audit_name, disabled=False, ip=ip)
    elif action == "save":
        kb.edit_passage(doc_id, key, principal.audit_name, text=text, label=label, ip=ip)
    else:
        raise InvalidInputError(f"unknown action {action}", user_message="未知的操作。")
    return _back(_doc_url(doc_id, f"“{key}”已更新。") + f"#p-{quote(key, safe='')}")


@router.get("/kb/hittest", response_class=HTMLResponse)
def kb_hittest(
    request: Request, runtime: RuntimeDep, _principal: KbEditorPage, q: str = "", region: str = ""
) -> HTMLResponse:
    """命中测试: ranking with scores, answerability signals, the answer and why it would refuse."""
    report, error = None, None
    if q.strip():
        try:
            knowledge = runtime.knowledge
            with runtime.kb_lock.read():
                report = hit_test(knowledge, q[:500], region[:32].strip() or None)
        except (InvalidInputError, ServiceNotReadyError) as exc:
            error = exc.user_message
    regions = runtime.knowledge_if_ready.regions() if runtime.knowledge_if_ready else []
    return render(
        request,
        "kb/hittest.html",
        title="命中测试",
        q=q,
        region=region,
        report=report,
        error=error,
        regions=regions,
    )


# ------------------------------------------------------------------ curated answers (官方口径)
@router.get("/kb/curated", response_class=HTMLResponse)
def kb_curated_list(
    request: Request, curated: CuratedDep, _principal: KbEditorPage, msg: str = ""
) -> HTMLResponse:
    """Review list: every curated answer with its state; expired ones leave the index here."""
    curated.sweep()
    on = today()
    rows = [(r, review_state(r, on)) for r in curated.entries()]
    return render(
        request, "kb/curated.html", title="官方口径", rows=rows, gaps=curated.open_gaps(), msg=msg[:200]
    )


@router.get("/kb/curated/new", response_class=HTMLResponse)
def kb_curated_new(
    request: Request,
    curated: CuratedDep,
    _principal: KbEditorPage,
    log: int | None = None,
    question: str = "",
) -> HTMLResponse:
    """A new curated answer, prefilled from a logged question (gap report / 👎) when ``log`` is given."""
    draft = (
        curated.draft_from_log(log) if log else CuratedDraft(question=question[:500], answer="", citations="")
    )
    return render(
        request, "kb/curated_form.html", title="新建官方口径", draft=draft, answer_id=None, error=None
    )


CuratedText = Annotated[str, Form(max_length=2000)]


def _draft(
    question: str, answer: str, citations: str, region: str, expires_on: str, source_log_id: str
) -> CuratedDraft:
    return CuratedDraft(
        question=question,
        answer=answer,
        citations=citations,
        region=region,
        expires_on=expires_on.strip(),
        source_log_id=int(source_log_id) if source_log_id.isdigit() else None,
    )


@router.post("/kb/curated", response_model=None)
def kb_curated_create(
    request: Request,
    curated: CuratedDep,
    principal: KbEditorPage,
    question: CuratedText = "",
    answer: CuratedText = "",
    citations: CuratedText = "",
    region: MetaField = NATIONAL,
    expires_on: MetaField = "",
    source_log_id: MetaField = "",
) -> HTMLResponse | RedirectResponse:
    """Store and publish a curated answer; the form again with the error when invalid."""
    draft = _draft(question, answer, citations, region, expires_on, source_log_id)
    try:
        row = curated.create(draft, principal.audit_name, ip=client_ip(request))
    except InvalidInputError as exc:
        return render(
            request,
            "kb/curated_form.html",
            status_code=422,
            title="新建官方口径",
            draft=draft,
            answer_id=None,
            error=exc.user_message,
        )
    return _back(f"/kb/curated?{urlencode({'msg': f'官方口径 #{row.id} 已发布。'})}")


@router.get("/kb/curated/{answer_id}", response_class=HTMLResponse)
def kb_curated_edit(
    request: Request, answer_id: int, curated: CuratedDep, _principal: KbEditorPage
) -> HTMLResponse:
    """Edit form of one curated answer."""
    row = curated.get(answer_id)
    lines = "\n".join(
        f"{c['doc_id']}#{c['passage_key']}" if c.get("passage_key") else c["doc_id"] for c in row.citations
    )
    draft = CuratedDraft(
        question=row.question,
        answer=row.answer,
        citations=lines,
        region=row.region,
        expires_on=row.expires_on.isoformat(),
        source_log_id=row.source_log_id,
    )
    return render(
        request,
        "kb/curated_form.html",
        title=f"官方口径 #{row.id}",
        draft=draft,
        answer_id=row.id,
        error=None,
        retired=row.retired,
    )


@router.post("/kb/curated/{answer_id}", response_model=None)
def kb_curated_update(
    request: Request,
    answer_id: int,
    curated: CuratedDep,
    principal: KbEditorPage,
    question: CuratedText = "",
    answer: CuratedText = "",
    citations: CuratedText = "",
    region: MetaField = NATIONAL,
    expires_on: MetaField = "",
    source_log_id: MetaField = "",
) -> HTMLResponse | RedirectResponse:
    """Save changes to a curated answer and publish it again."""
    draft = _draft(question, answer, citations, region, expires_on, source_log_id)
    try:
        curated.update(answer_id, draft, principal.audit_name, ip=client_ip(request))
    except InvalidInputError as exc:
        return render(
            request,
            "kb/curated_form.html",
            status_code=422,
            title=f"官方口径 #{answer_id}",
            draft=draft,
            answer_id=answer_id,
            error=exc.user_message,
        )
    return _back(f"/kb/curated?{urlencode({'msg': f'官方口径 #{answer_id} 已更新。'})}")


@router.post("/kb/curated/{answer_id}/retire")
def kb_curated_retire(
    request: Request, answer_id: int, curated: CuratedDep, principal: KbEditorPage
) -> RedirectResponse:
    """Stop using a curated answer."""
    curated.retire(answer_id, principal.audit_name, ip=client_ip(request))
    return _back(f"/kb/curated?{urlencode({'msg': f'官方口径 #{answer_id} 已停用。'})}")
