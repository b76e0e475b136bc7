"""Re-staging documents already in the knowledge base: after a staff edit, or a re-ingest.

An edit is applied to the document as ingested from its source file (the record is rebuilt
from ``metadata["source"]``), never on top of an earlier edit, so taking an edit back restores
the source text. Curated answers (``curated:<id>``) have no source file and are staged by the
admin directly.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.loaders import load_bytes
from ingest.pipeline import build_record
from knowledge.overlay import OverlayHook
from knowledge.store import DocumentRecord, KnowledgeStore, content_hash
from vetbot.errors import IngestError

logger = logging.getLogger(__name__)


@dataclass
class RestageResult:
    """What one re-stage did: documents staged, removed (disabled) and the source changes seen."""

    staged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    source_changed: list[str] = field(default_factory=list)
    # Source file gone: the edit was applied to the indexed record (a cleared override cannot
    # bring back the ingested value until the file is uploaded again).
    source_missing: list[str] = field(default_factory=list)


def rebuild_from_source(doc: DocumentRecord) -> DocumentRecord:
    """``doc`` as ingest builds it from its source file today (no staff edits applied).

    Raises IngestError (Chinese message) when the source file is gone or unreadable.
    """
    source = Path(str(doc.metadata.get("source") or doc.path))
    try:
        data = source.read_bytes()
    except OSError as exc:
        message = f"原文件已不存在或无法读取：{source.name}"
        raise IngestError(f"cannot read {source}: {exc}", user_message=message) from exc
    loaded = load_bytes(data, source)
    extra: dict[str, Any] = {k: doc.metadata[k] for k in ("root", "source", "format") if k in doc.metadata}
    return build_record(doc.doc_id, doc.path, content_hash(data), loaded, extra)


def restage(
    store: KnowledgeStore,
    doc_ids: Iterable[str],
    overlay: OverlayHook,
    *,
    pristine: dict[str, DocumentRecord],
) -> RestageResult:
    """Rebuild ``doc_ids`` from their sources, apply ``overlay`` and publish one new generation.

    ``pristine`` maps doc ids that are not in the store (disabled documents being enabled) to a
    record naming their source. A document whose source file is gone is edited as indexed
    (``source_missing``); a disabled one whose source is gone cannot come back (IngestError,
    nothing published). Raises KnowledgeBaseError from the store.
    """
    result = RestageResult()
    with store.writer() as writer:
        for doc_id in doc_ids:
            current = writer.documents.get(doc_id) or pristine.get(doc_id)
            if current is None:
                continue
            try:
                fresh = rebuild_from_source(current)
            except IngestError:
                if doc_id not in writer.documents:
                    raise
                logger.warning("source of %s is gone; editing the indexed record", doc_id)
                fresh = current
                result.source_missing.append(doc_id)
            if fresh.sha256 != current.sha256:
                result.source_changed.append(doc_id)
            edited = overlay(fresh)
            if edited is None:
                if doc_id in writer.documents:
                    writer.stage_removal(doc_id)
                    result.removed.append(doc_id)
                continue
            writer.stage_document(edited)
            result.staged.append(doc_id)
    logger.info("restaged %s, removed %s", result.staged, result.removed)
    return result
