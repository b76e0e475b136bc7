"""Knowledge-base administration: documents, versions, passages (the service behind ``/kb``).

Edits are kept as an overlay in the database (:mod:`knowledge.kbedits`) and published by
re-staging the document, rebuilt from its source file, through a writer store
(:func:`ingest.restage.restage`); the serving store is then reloaded under the exclusive lock
and every other replica picks up the new generation. Every change is written to the audit log
(``audit_log``: who, when, action, target, ``{"before", "after"}``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from api.jobs import JobRunner
from ingest.restage import RestageResult, restage
from knowledge.curated import is_curated
from knowledge.kbedits import KbDocumentEdit, KbEditRepository, KbPassageEdit
from knowledge.overlay import EDITABLE_FIELDS, passage_keys, topics_value
from knowledge.store import DocumentRecord, KnowledgeStore
from knowledge.types import TOPICS
from knowledge.versions import VersionIndex, normalise_title
from vetbot.clock import china_today
from vetbot.errors import InvalidInputError, NotFoundError

logger = logging.getLogger(__name__)

AuditFn = Callable[..., None]


def _is_iso_date(value: str) -> bool:
    """YYYY-MM-DD and a real calendar date (2024-13-45 is not)."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


@dataclass
class DocumentRow:
    """One document as the documents page lists it."""

    doc_id: str
    title: str
    issuer: str
    doc_number: str
    region: str
    date_effective: str
    date_version: str
    topics: list[str]
    chunks: int
    status: str  # 现行有效 / 已被取代 / 已废止 / 已停用
    status_note: str = ""
    upcoming_note: str = ""  # 将于YYYY-MM-DD被《…》废止 (knowledge.versions.VersionIndex.upcoming_note)
    disabled: bool = False
    edited: bool = False
    stale: int = 0  # passage edits waiting for review after a source change


@dataclass
class VersionGroup:
    """The versions of one title (newest first)."""

    key: str
    rows: list[DocumentRow] = field(default_factory=list)


@dataclass
class PassageRow:
    """One passage of a document, with its edit if any."""

    key: str
    label: str
    heading: str
    text: str
    chunk_id: str = ""
    edit: KbPassageEdit | None = None
    disabled: bool = False


def topic_list(value: Any) -> list[str]:
    """Topic codes from the stored ``|a|b|`` or list forms."""
    if isinstance(value, list):
        return [str(t) for t in value if t]
    return [t for t in str(value or "").split("|") if t]


class KbAdmin:
    """The operations of the knowledge-base admin pages (sync; call from a thread pool)."""

    def __init__(
        self,
        edits: KbEditRepository,
        jobs: JobRunner,
        store_provider: Callable[[], KnowledgeStore],
        audit: AuditFn,
        uploads_dir: Path,
    ) -> None:
        self.edits = edits
        self.jobs = jobs
        self._store_provider = store_provider
        self._audit = audit
        self.uploads_dir = Path(uploads_dir)

    @property
    def store(self) -> KnowledgeStore:
        """The serving store."""
        return self._store_provider()

    # ------------------------------------------------------------------ reads
    def document_groups(self) -> list[VersionGroup]:
        """Every document (disabled ones included, curated answers not), versions of a title together."""
        docs = {d.doc_id: d for d in self.store.documents.values() if not is_curated(d.metadata)}
        versions = VersionIndex({d.doc_id: d.metadata for d in docs.values()}, china_today())
        edits = self.edits.document_edits()
        stale = self.edits.stale_counts()
        rows: list[DocumentRow] = []
        for doc in docs.values():
            st = versions.status(doc.doc_id)
            rows.append(
                self._row(
                    doc.doc_id,
                    doc.metadata,
                    len(doc.chunks),
                    st.status,
                    st.note(),
                    edits.get(doc.doc_id),
                    stale.get(doc.doc_id, 0),
                    upcoming=versions.upcoming_note(doc.doc_id),
                )
            )
        for doc_id, edit in edits.items():
            if edit.disabled and doc_id not in docs:
                rows.append(
                    self._row(
                        doc_id,
                        {**edit.snapshot, **edit.overrides},
                        0,
                        "已停用",
                        "",
                        edit,
                        stale.get(doc_id, 0),
                    )
                )
        groups: dict[str, VersionGroup] = {}
        for row in rows:
            key = normalise_title(row.title) or row.doc_id
            groups.setdefault(key, VersionGroup(key)).rows.append(row)
        for group in groups.values():
            group.rows.sort(key=lambda r: (r.date_version, r.doc_id), reverse=True)
        return sorted(groups.values(), key=lambda g: g.rows[0].title)

    @staticmethod
    def _row(
        doc_id: str,
        meta: dict[str, Any],
        chunks: int,
        status: str,
        note: str,
        edit: KbDocumentEdit | None,
        stale: int,
        *,
        upcoming: str = "",
    ) -> DocumentRow:
        return DocumentRow(
            doc_id=doc_id,
            title=str(meta.get("title", "")) or doc_id,
            issuer=str(meta.get("issuer", "")),
            doc_number=str(meta.get("doc_number", "")),
            region=str(meta.get("region", "")),
            date_effective=str(meta.get("date_effective", "")),
            date_version=str(meta.get("date_version") or meta.get("date_issued") or ""),
            topics=topic_list(meta.get("topics")),
            chunks=chunks,
            status=status,
            status_note=note,
            upcoming_note=upcoming,
            disabled=bool(edit and edit.disabled),
            edited=bool(edit and (edit.overrides or edit.disabled)),
            stale=stale,
        )

    def document(self, doc_id: str) -> tuple[DocumentRow, DocumentRecord | None, KbDocumentEdit | None]:
        """The listing row, the stored record (None when disabled) and the edit row; NotFoundError."""
        for group in self.document_groups():
            for row in group.rows:
                if row.doc_id == doc_id:
                    return row, self.store.documents.get(doc_id), self.edits.document_edits().get(doc_id)
        raise NotFoundError(f"document {doc_id}", user_message="知识库中没有该文件。")

    def passages(self, doc_id: str) -> list[PassageRow]:
        """The document's passages in order (disabled ones included, from the edit table)."""
        record = self.store.documents.get(doc_id)
        edits = self.edits.passage_edits(doc_id)
        rows: list[PassageRow] = []
        if record is not None:
            for key, chunk in zip(passage_keys(record.chunks), record.chunks, strict=True):
                rows.append(
                    PassageRow(
                        key=key,
                        label=str(chunk.metadata.get("article", "")),
                        heading=str(chunk.metadata.get("heading", "")),
                        text=chunk.text,
                        chunk_id=chunk.chunk_id,
                        edit=edits.get(key),
                    )
                )
        shown = {r.key for r in rows}
        for key, edit in edits.items():
            if key not in shown:
                rows.append(
                    PassageRow(
                        key=key,
                        label=edit.label or "",
                        heading="",
                        text=edit.original_text,
                        edit=edit,
                        disabled=edit.disabled,
                    )
                )
        return rows

    # ------------------------------------------------------------------ writes
    def _publish(
        self, doc_ids: list[str], pristine: dict[str, DocumentRecord] | None = None
    ) -> RestageResult:
        store = self.jobs.writer_store()
        result = restage(store, doc_ids, self.edits.apply, pristine=pristine or {})
        self.jobs.reload_serving_store()
        return result

    def _pristine(self, doc_id: str) -> dict[str, DocumentRecord]:
        edit = self.edits.document_edits().get(doc_id)
        if edit is None or doc_id in self.store.documents:
            return {}
        snap = dict(edit.snapshot or {})
        return {
            doc_id: DocumentRecord(
                doc_id=doc_id,
                path=str(snap.pop("_path", "")),
                sha256=str(snap.pop("_sha256", "")),
                metadata=snap,
            )
        }

    def _require(self, doc_id: str) -> DocumentRecord | None:
        record = self.store.documents.get(doc_id)
        if record is None and not self._pristine(doc_id):
            raise NotFoundError(f"document {doc_id}", user_message="知识库中没有该文件。")
        if record is not None and is_curated(record.metadata):
            raise InvalidInputError("curated", user_message="官方口径请在“官方口径”页面修改。")
        return record

    def update_metadata(self, doc_id: str, values: dict[str, str], actor: str, ip: str | None = None) -> None:
        """Override metadata fields (an empty value restores the ingested one) and publish.

        Raises InvalidInputError for an unknown topic or field, NotFoundError for an unknown document.
        """
        self._require(doc_id)
        overrides = {k: v.strip() for k, v in values.items() if k in EDITABLE_FIELDS and v and v.strip()}
        bad = [t for t in topic_list(topics_value(overrides.get("topics", ""))) if t not in TOPICS]
        if bad:
            raise InvalidInputError(f"unknown topics {bad}", user_message=f"未知的主题代码：{'、'.join(bad)}")
        effective = overrides.get("date_effective", "")
        if effective and not _is_iso_date(effective):
            raise InvalidInputError("bad date", user_message="施行日期请按 YYYY-MM-DD 填写，如 2025-01-01。")
        newer = overrides.get("superseded_by", "")
        if newer == doc_id:
            raise InvalidInputError("self supersession", user_message="文件不能被自己取代。")
        if newer and not self._names_a_document(newer, doc_id):
            # A typo would silently take the document out of every answer.
            raise InvalidInputError(
                "unknown successor",
                user_message=f"知识库中没有编号或标题为“{newer}”的文件；请先上传新版本，再标记旧版本被取代。",
            )
        before, after = self.edits.set_document(doc_id, actor=actor, overrides=overrides)
        self._publish([doc_id], self._pristine(doc_id))
        self._audit(actor, "kb.document.update", f"doc:{doc_id}", {"before": before, "after": after}, ip=ip)

    def _names_a_document(self, name: str, other_than: str) -> bool:
        return any(
            d != other_than and (d == name or rec.metadata.get("title") == name)
            for d, rec in self.store.documents.items()
        )

    def set_disabled(self, doc_id: str, disabled: bool, actor: str, ip: str | None = None) -> None:
        """Disable (leave the index, keep the edits) or enable a document again."""
        record = self._require(doc_id)
        snapshot = None
        if record is not None:
            snapshot = {**record.metadata, "_path": record.path, "_sha256": record.sha256}
        pristine = self._pristine(doc_id)
        before, after = self.edits.set_document(doc_id, actor=actor, disabled=disabled, snapshot=snapshot)
        self._publish([doc_id], pristine)
        action = "kb.document.disable" if disabled else "kb.document.enable"
        self._audit(actor, action, f"doc:{doc_id}", {"before": before, "after": after}, ip=ip)

    def reingest(self, doc_id: str, actor: str, ip: str | None = None) -> RestageResult:
        """Read the source file again and publish it with its edits (stale ones flagged)."""
        record = self._require(doc_id)
        result = self._publish([doc_id], self._pristine(doc_id))
        detail = {
            "before": {"sha256": record.sha256 if record else ""},
            "after": {"source_changed": bool(result.source_changed)},
        }
        self._audit(actor, "kb.document.reingest", f"doc:{doc_id}", detail, ip=ip)
        return result

    def delete(self, doc_id: str, actor: str, ip: str | None = None) -> None:
        """Remove the document from the index, forget its edits and delete its uploaded file."""
        record = self._require(doc_id)
        before: dict[str, Any] = {
            "title": record.metadata.get("title", "") if record else "",
            "path": record.path if record else "",
        }
        store = self.jobs.writer_store()
        with store.writer() as writer:
            writer.stage_removal(doc_id)
        self.jobs.reload_serving_store()
        self.edits.delete_document(doc_id)
        if record is not None:
            source = Path(str(record.metadata.get("source") or record.path))
            if source.parent.resolve() == self.uploads_dir.resolve():
                source.unlink(missing_ok=True)
        self._audit(actor, "kb.document.delete", f"doc:{doc_id}", {"before": before, "after": None}, ip=ip)

    def edit_passage(
        self,
        doc_id: str,
        key: str,
        actor: str,
        *,
        text: str | None = None,
        label: str | None = None,
        disabled: bool | None = None,
        ip: str | None = None,
    ) -> None:
        """Edit one passage's text or label, or disable/enable it, and publish.

        Raises NotFoundError for an unknown passage, InvalidInputError for empty text.
        """
        record = self._require(doc_id)
        if text is not None and not text.strip():
            raise InvalidInputError("empty passage", user_message="条文内容不能为空；不再使用请停用该段。")
        rows = {r.key: r for r in self.passages(doc_id)}
        row = rows.get(key)
        if row is None or record is None:
            raise NotFoundError(f"passage {doc_id}#{key}", user_message="没有找到该段落。")
        original = row.edit.original_text if row.edit is not None else row.text
        # The form posts both fields: only what differs from the passage as shown is an edit.
        if text is not None and text.strip() == row.text.strip() and row.edit is None:
            text = None
        if label is not None and label.strip() == row.label:
            label = None
        if text is None and label is None and disabled is None:
            return
        before, after = self.edits.set_passage(
            doc_id,
            key,
            actor=actor,
            source_sha256=record.sha256,
            original_text=original,
            text=text.strip() if text is not None else None,
            label=label,
            disabled=disabled,
        )
        self._publish([doc_id])
        action = {True: "kb.passage.disable", False: "kb.passage.enable", None: "kb.passage.edit"}[disabled]
        self._audit(actor, action, f"doc:{doc_id}#{key}", {"before": before, "after": after}, ip=ip)
