"""Staff edits over ingested documents: metadata fixes, passage edits, disabled documents/passages.

Edits are kept apart from the source files (the knowledge-base admin keeps them in the
database) and applied to a freshly built :class:`~knowledge.store.DocumentRecord` whenever it is
staged, so they survive a re-ingest of the same file. Pure functions: no store, no I/O.

A passage is identified by its **passage key**, stable across re-ingests of the same file: the
article label (``第五条``; ``第五条/2`` for the second chunk of a long article) or, for a chunk
that is not an article, ``段N`` (its ordinal among such chunks, from 1). A passage edit records
the source's SHA-256 and the passage text it was made against; when the source file changed and
that passage's text changed with it, the edit is not applied but reported **stale**, for staff to
review (the page flags it).

Edited documents get fresh chunk ids (``{doc_id}:{digest[:12]}:{i}``, the digest covering the
source hash and the edits), so the store embeds the edited text instead of keeping old vectors.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from knowledge.store import ChunkRecord, DocumentRecord
from knowledge.topic_detection import PASSAGE_TOPICS, passage_topics
from vetbot import regions
from vetbot.textnorm import article_label

# Document metadata staff may override, with Chinese labels (the admin page's form).
EDITABLE_FIELDS: dict[str, str] = {
    "title": "标题",
    "issuer": "发文机关",
    "doc_number": "发文字号",
    "region": "地区",
    "topics": "主题",
    "date_effective": "施行日期",
    "superseded_by": "被取代（新版本文件编号或标题）",
}
# Overrides copied onto every chunk (retrieval filters and citations read chunk metadata).
_CHUNK_FIELDS = ("title", "issuer", "doc_number", "region", "topics", "date_effective", "superseded_by")
PASSAGE_KEY = "passage_key"
INGESTED = "ingested_"
UNLABELED = "段"

# Applies the staff edits to a freshly built record; None when the document is disabled.
OverlayHook = Callable[[DocumentRecord], "DocumentRecord | None"]


@dataclass(frozen=True)
class PassageEdit:
    """One passage's edit: new text and/or label, or disabled (``None``: left as ingested)."""

    key: str
    source_sha256: str  # the source file the edit was made against
    original_text: str  # the passage text it replaced
    text: str | None = None
    label: str | None = None
    disabled: bool = False


@dataclass(frozen=True)
class DocumentOverlay:
    """Every staff edit of one document."""

    doc_id: str
    metadata: dict[str, str] = field(default_factory=dict)  # EDITABLE_FIELDS -> value
    disabled: bool = False
    passages: tuple[PassageEdit, ...] = ()

    @property
    def empty(self) -> bool:
        """True when nothing is overridden."""
        return not (self.metadata or self.disabled or self.passages)


@dataclass
class OverlayOutcome:
    """The edited record (None: disabled) and which passage edits applied or went stale."""

    record: DocumentRecord | None
    applied: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)


def ingested_value(metadata: dict[str, Any], key: str) -> str:
    """The value ingest read for ``key``, before any staff override."""
    return str(metadata.get(f"{INGESTED}{key}", metadata.get(key, "")) or "")


def passage_keys(chunks: Sequence[ChunkRecord]) -> list[str]:
    """The passage key of every chunk, in order (see the module docstring).

    A chunk that already carries ``passage_key`` (an edited record) keeps it, so keys survive
    a label edit.
    """
    seen: Counter[str] = Counter()
    keys: list[str] = []
    for chunk in chunks:
        kept = str(chunk.metadata.get(PASSAGE_KEY) or "")
        if kept:
            keys.append(kept)
            continue
        base = str(chunk.metadata.get("article") or "") or UNLABELED
        seen[base] += 1
        n = seen[base]
        if base == UNLABELED:
            keys.append(f"{UNLABELED}{n}")
        else:
            keys.append(base if n == 1 else f"{base}/{n}")
    return keys


def topics_value(topics: str | Iterable[str]) -> str:
    """Topic codes in the chunk form ``|card|transit|`` from a list or a comma/space string."""
    if isinstance(topics, str):
        items = [t for t in topics.replace("，", ",").replace("|", ",").replace(" ", ",").split(",") if t]
    else:
        items = [t for t in topics if t]
    return f"|{'|'.join(items)}|" if items else ""


def _region_fields(region: str) -> dict[str, str]:
    name = regions.canonical_name(region) or region
    place = regions.lookup(name) if name != regions.NATIONAL else None
    return {
        "region": name,
        "region_path": regions.path_of(place) if place else "",
        "region_code": place.code if place else "",
        "scope": "national" if name == regions.NATIONAL else "local",
    }


def _meta_updates(overrides: dict[str, str]) -> dict[str, str]:
    updates: dict[str, str] = {}
    for key, value in overrides.items():
        if key == "region" and value:
            updates.update(_region_fields(value))
        elif key == "topics":
            updates["topics"] = topics_value(value)
        else:
            updates[key] = value
    return updates


def _label_fields(label: str, meta: dict[str, Any]) -> dict[str, Any]:
    """An article label (第5条 → 第五条) sets ``article``; any other label becomes the heading."""
    label = label.strip()
    try:
        return {"article": article_label(label)} if label else {"article": ""}
    except ValueError:
        heading = str(meta.get("heading") or "")
        return {"article": "", "heading": f"{heading} > {label}" if heading else label}


def _digest(record: DocumentRecord, overlay: DocumentOverlay, applied: list[str]) -> str:
    payload = {
        "sha": record.sha256,
        "meta": overlay.metadata,
        "passages": [[e.key, e.text, e.label, e.disabled] for e in overlay.passages if e.key in applied],
    }
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def _edit_applies(edit: PassageEdit, chunk: ChunkRecord, sha256: str) -> bool:
    if edit.source_sha256 == sha256 or chunk.text == edit.original_text:
        return True
    # Already applied (a record rebuilt from the store rather than from its source).
    return edit.text is not None and chunk.text == edit.text


def apply_overlay(record: DocumentRecord, overlay: DocumentOverlay | None) -> OverlayOutcome:
    """``record`` with ``overlay`` applied (a new record; ``record`` is not modified).

    Disabled documents give ``record=None``; disabled passages are left out; a passage edit
    whose passage changed in the source is left out of the result and listed in ``stale``.
    """
    if overlay is None or overlay.empty:
        return OverlayOutcome(record)
    if overlay.disabled:
        return OverlayOutcome(None)
    edits = {e.key: e for e in overlay.passages}
    updates = _meta_updates(overlay.metadata)
    chunk_updates = {
        k: v for k, v in updates.items() if k in _CHUNK_FIELDS or k.startswith(("region", "scope"))
    }
    applied: list[str] = []
    stale: list[str] = []
    kept: list[tuple[str, ChunkRecord]] = []
    for key, chunk in zip(passage_keys(record.chunks), record.chunks, strict=True):
        meta: dict[str, Any] = {**chunk.metadata, **chunk_updates, PASSAGE_KEY: key}
        text = chunk.text
        edit = edits.get(key)
        if edit is not None:
            if not _edit_applies(edit, chunk, record.sha256):
                stale.append(key)
            else:
                applied.append(key)
                if edit.disabled:
                    continue
                if edit.text is not None:
                    text = edit.text
                    meta[PASSAGE_TOPICS] = topics_value(passage_topics(text))
                if edit.label is not None:
                    meta.update(_label_fields(edit.label, meta))
                meta["edited"] = True
        kept.append((key, ChunkRecord(chunk_id=chunk.chunk_id, text=text, metadata=meta)))
    digest = _digest(record, overlay, applied)[:12]
    chunks = []
    for i, (_key, chunk) in enumerate(kept):
        chunk_id = f"{record.doc_id}:{digest}:{i}"
        meta = {**chunk.metadata, "chunk_id": chunk_id}
        chunks.append(ChunkRecord(chunk_id=chunk_id, text=chunk.text, metadata=meta))
    # The ingested values of overridden fields stay visible to staff (``ingested_<field>``).
    ingested = {f"{INGESTED}{k}": ingested_value(record.metadata, k) for k in updates}
    metadata = {**record.metadata, **ingested, **updates, "overlay": digest}
    return OverlayOutcome(replace(record, metadata=metadata, chunks=chunks), applied, stale)
