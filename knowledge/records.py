"""The knowledge base's record types: documents, chunks and the corpus counts of a generation."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from langchain_core.documents import Document


@dataclass
class ChunkRecord:
    """One chunk: its id, its text (what is embedded and shown) and its metadata."""

    chunk_id: str
    text: str
    metadata: dict[str, Any]

    def to_document(self) -> Document:
        """As a LangChain Document (id and metadata kept)."""
        return Document(page_content=self.text, metadata=dict(self.metadata), id=self.chunk_id)


@dataclass
class DocumentRecord:
    """One ingested source document with its chunks."""

    doc_id: str
    path: str
    sha256: str
    metadata: dict[str, Any]
    chunks: list[ChunkRecord] = field(default_factory=list)
    ingested_at: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DocumentRecord:
        """Rebuild a record from its (old ``manifest.json``) JSON form."""
        chunks = [ChunkRecord(**c) for c in data.get("chunks", [])]
        return cls(**{**data, "chunks": chunks})


@dataclass(frozen=True)
class CorpusCounts:
    """Counts over a generation's live chunks, computed at commit.

    ``n``: live chunks; ``df``: coverage token -> number of chunks containing it
    (``knowledge.corpustext.coverage_text`` tokenised); ``regions``: region -> chunks.
    """

    n: int = 0
    df: dict[str, int] = field(default_factory=dict)
    regions: dict[str, int] = field(default_factory=dict)


def content_hash(data: bytes) -> str:
    """SHA-256 of a document's raw bytes, the key of incremental ingest."""
    return hashlib.sha256(data).hexdigest()


class LiveChunks(dict[str, ChunkRecord]):
    """A generation's live chunks; ``[]``/``get`` still find chunks of the generation before it.

    Membership (``in``), iteration and ``len`` are the live generation only: a request that
    ranked chunks before a swap can still show them after it.
    """

    def __init__(self, chunks: dict[str, ChunkRecord], retired: dict[str, ChunkRecord] | None = None) -> None:
        super().__init__(chunks)
        self.retired = retired or {}

    def __missing__(self, key: str) -> ChunkRecord:
        return self.retired[key]

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        """Like ``dict.get``, falling back to the previous generation."""
        found = super().get(key)
        return found if found is not None else self.retired.get(key, default)
