"""Where staff edits of the knowledge base are kept: the overlay tables and their repository.

Tables (Alembic revision ``0015_kb_admin``): ``kb_document_edits`` (one row per edited
document: metadata overrides, disabled flag, a snapshot of the ingested metadata so a disabled
document can still be listed) and ``kb_passage_edits`` (one row per edited passage, keyed by
``doc_id`` + passage key, with the source SHA-256 and text it was made against and a ``stale``
flag). :meth:`KbEditRepository.apply` is the :data:`knowledge.overlay.OverlayHook` that ingest
calls for every record it stages, so edits survive re-ingest (see :mod:`knowledge.overlay`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, DateTime, Integer, String, Text, UniqueConstraint, func, inspect, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from knowledge.overlay import EDITABLE_FIELDS, DocumentOverlay, PassageEdit, apply_overlay
from knowledge.store import DocumentRecord
from vetbot.clock import utcnow
from vetbot.db import Base, create_db_engine, make_session_factory
from vetbot.errors import InvalidInputError

if TYPE_CHECKING:
    from vetbot.settings import Settings

logger = logging.getLogger(__name__)


class KbDocumentEdit(Base):
    """Staff overrides of one document's metadata, and whether it is disabled."""

    __tablename__ = "kb_document_edits"

    doc_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    overrides: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(96), default="")


class KbPassageEdit(Base):
    """Staff edit of one passage: new text and/or label, or disabled."""

    __tablename__ = "kb_passage_edits"
    __table_args__ = (UniqueConstraint("doc_id", "passage_key", name="uq_kb_passage_edit"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    doc_id: Mapped[str] = mapped_column(String(255), index=True)
    passage_key: Mapped[str] = mapped_column(String(64))
    source_sha256: Mapped[str] = mapped_column(String(64))
    original_text: Mapped[str] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    label: Mapped[str | None] = mapped_column(String(64), nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # The source file changed under this edit: not applied until staff re-confirm it.
    stale: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(96), default="")

    def as_edit(self) -> PassageEdit:
        """The pure value :func:`knowledge.overlay.apply_overlay` takes."""
        return PassageEdit(
            key=self.passage_key,
            source_sha256=self.source_sha256,
            original_text=self.original_text,
            text=self.text,
            label=self.label,
            disabled=self.disabled,
        )

    def describe(self) -> dict[str, Any]:
        """JSON-ready view (audit before/after)."""
        return {"text": self.text, "label": self.label, "disabled": self.disabled, "stale": self.stale}


class KbEditRepository:
    """Reads and writes the overlay tables (sync; one short transaction per call)."""

    def __init__(self, session_factory: Callable[[], Session]) -> None:
        self._session_factory = session_factory

    # ------------------------------------------------------------------ reads
    def overlay_for(self, doc_id: str) -> DocumentOverlay | None:
        """Every edit of ``doc_id`` (stale passage edits included: they re-apply when the text
        matches again), or None when it has none."""
        with self._session_factory() as session:
            doc = session.get(KbDocumentEdit, doc_id)
            rows = list(session.scalars(select(KbPassageEdit).where(KbPassageEdit.doc_id == doc_id)))
        if doc is None and not rows:
            return None
        return DocumentOverlay(
            doc_id=doc_id,
            metadata={k: v for k, v in (doc.overrides if doc else {}).items() if k in EDITABLE_FIELDS},
            disabled=bool(doc and doc.disabled),
            passages=tuple(r.as_edit() for r in rows),
        )

    def document_edits(self) -> dict[str, KbDocumentEdit]:
        """Every document edit row by doc id."""
        with self._session_factory() as session:
            return {r.doc_id: r for r in session.scalars(select(KbDocumentEdit))}

    def passage_edits(self, doc_id: str) -> dict[str, KbPassageEdit]:
        """The passage edit rows of one document by passage key."""
        with self._session_factory() as session:
            rows = session.scalars(select(KbPassageEdit).where(KbPassageEdit.doc_id == doc_id))
            return {r.passage_key: r for r in rows}

    def stale_counts(self) -> dict[str, int]:
        """Doc id -> number of passage edits flagged stale."""
        stmt = select(KbPassageEdit.doc_id, func.count()).where(KbPassageEdit.stale.is_(True))
        with self._session_factory() as session:
            return {doc_id: int(n) for doc_id, n in session.execute(stmt.group_by(KbPassageEdit.doc_id))}

    # ------------------------------------------------------------------ writes
    def set_document(
        self,
        doc_id: str,
        *,
        actor: str,
        overrides: dict[str, str] | None = None,
        disabled: bool | None = None,
        snapshot: dict[str, Any] | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Replace the overrides and/or the disabled flag; returns (before, after) for the audit.

        Raises InvalidInputError for a field that is not editable.
        """
        unknown = set(overrides or {}) - set(EDITABLE_FIELDS)
        if unknown:
            raise InvalidInputError(f"not editable: {unknown}", user_message="包含不可修改的字段。")
        with self._session_factory() as session:
            row = session.get(KbDocumentEdit, doc_id)
            if row is None:
                row = KbDocumentEdit(doc_id=doc_id, overrides={}, disabled=False, snapshot={})
                session.add(row)
            before = {"overrides": dict(row.overrides or {}), "disabled": bool(row.disabled)}
            if overrides is not None:
                row.overrides = {k: v for k, v in overrides.items() if v is not None}
            if disabled is not None:
                row.disabled = disabled
            if snapshot:
                row.snapshot = dict(snapshot)
            row.updated_at, row.updated_by = utcnow(), actor[:96]
            after = {"overrides": dict(row.overrides), "disabled": bool(row.disabled)}
            session.commit()
        return before, after

    def set_passage(
        self,
        doc_id: str,
        key: str,
        *,
        actor: str,
        source_sha256: str,
        original_text: str,
        text: str | None = None,
        label: str | None = None,
        disabled: bool | None = None,
    ) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """Create or update one passage edit (it becomes current: not stale); (before, after)."""
        with self._session_factory() as session:
            row = session.scalar(
                select(KbPassageEdit).where(KbPassageEdit.doc_id == doc_id, KbPassageEdit.passage_key == key)
            )
            before = row.describe() if row is not None else None
            if row is None:
                row = KbPassageEdit(doc_id=doc_id, passage_key=key, disabled=False)
                session.add(row)
            row.source_sha256, row.original_text = source_sha256, original_text
            if text is not None:
                row.text = text
            if label is not None:
                row.label = label
            if disabled is not None:
                row.disabled = disabled
            row.stale = False
            row.updated_at, row.updated_by = utcnow(), actor[:96]
            after = row.describe()
            session.commit()
        return before, after

    def delete_document(self, doc_id: str) -> None:
        """Forget every edit of a deleted document."""
        with self._session_factory() as session:
            for row in session.scalars(select(KbPassageEdit).where(KbPassageEdit.doc_id == doc_id)):
                session.delete(row)
            doc = session.get(KbDocumentEdit, doc_id)
            if doc is not None:
                session.delete(doc)
            session.commit()

    def _mark_stale(self, doc_id: str, stale: list[str]) -> None:
        with self._session_factory() as session:
            for row in session.scalars(select(KbPassageEdit).where(KbPassageEdit.doc_id == doc_id)):
                row.stale = row.passage_key in stale
            session.commit()

    # ------------------------------------------------------------------ ingest hook
    def apply(self, record: DocumentRecord) -> DocumentRecord | None:
        """The ingest :data:`~knowledge.overlay.OverlayHook`: ``record`` with its edits applied
        (None when the document is disabled); passage edits whose source passage changed are
        flagged stale in the database."""
        overlay = self.overlay_for(record.doc_id)
        if overlay is None:
            return record
        outcome = apply_overlay(record, overlay)
        if overlay.passages:
            self._mark_stale(record.doc_id, outcome.stale)
        if outcome.stale:
            logger.info("%s: %d passage edits stale after a source change", record.doc_id, len(outcome.stale))
        return outcome.record


def repository_for(settings: Settings) -> KbEditRepository | None:
    """The edits of the configured database for ``vetbot ingest``, or None when there are none to
    apply: no database yet, or ``vetbot db upgrade`` has not created the tables."""
    url = settings.sqlalchemy_url
    if url.startswith("sqlite") and not Path(url.split("///", 1)[-1]).exists():
        return None
    engine = create_db_engine(url)
    if not inspect(engine).has_table(KbPassageEdit.__tablename__):
        engine.dispose()
        return None
    return KbEditRepository(make_session_factory(engine))
