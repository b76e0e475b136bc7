"""Import a directory knowledge base's old ``manifest.json`` into the catalogue (no re-embedding).

Before issue 13 a KB directory kept its documents and chunks in one ``manifest.json``; the
vectors in Chroma are still valid, so migrating only writes the catalogue rows (one published
generation, tokens and corpus counts computed here) and renames the manifest to
``manifest.json.migrated``. ``KnowledgeStore`` does it on first open; ``vetbot ingest --migrate``
does it on request.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from pathlib import Path

from knowledge.catalog import Catalog, StagedDocument, next_counts
from knowledge.records import CorpusCounts, DocumentRecord
from knowledge.text import ChineseTokenizer
from vetbot.errors import KnowledgeBaseError

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
MIGRATED = "manifest.json.migrated"


def migrate_manifest(kb_dir: Path, catalog: Catalog, collection: str, tokenizer: ChineseTokenizer) -> int:
    """Publish ``kb_dir/manifest.json`` as a generation of ``catalog``; returns the documents imported.

    ``collection`` is the Chroma collection the manifest's vectors are in. Raises
    KnowledgeBaseError when the manifest is unreadable, the catalogue already has a generation
    or a writer holds it.
    """
    path = Path(kb_dir) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise KnowledgeBaseError(f"cannot read {path}: {exc}") from exc
    head = catalog.ensure(collection, str(data.get("embedding_id") or ""))
    if head.generation:
        raise KnowledgeBaseError(
            f"{catalog.name!r} already has generation {head.generation}; not importing {path}",
            user_message="知识库目录已迁移过，无需再次迁移。",
        )
    token = uuid.uuid4().hex
    if not catalog.acquire(token, 600.0, dirty=False):
        raise KnowledgeBaseError(f"{kb_dir} is locked by another writer",
                                 user_message="另一个导入任务正在写入该知识库，请稍后再试。")
    try:
        records = [DocumentRecord.from_json(d) for d in data.get("documents", [])]
        staged = [StagedDocument.of(r, tokenizer.tokens) for r in records]
        counts = next_counts(CorpusCounts(), [], staged)
        model = head.embedding_id or str(data.get("embedding_id") or "")
        catalog.publish(token, 0, staged, [], counts, model)
    finally:
        catalog.release(token)
    os.replace(path, Path(kb_dir) / MIGRATED)
    logger.warning("knowledge base %s: manifest.json imported into the catalogue (%d documents)",
                   kb_dir, len(records))
    return len(records)
