"""ORM models of the knowledge-base catalogue (revision ``0013_kb_catalog``).

One catalogue row per knowledge base (``kb_catalogs``) names the published generation; each
generation (``kb_generations``) carries the corpus counts computed at its commit. Document
versions (``kb_documents``) are live from ``gen_from`` up to, not including, ``gen_to``; their
chunks (``kb_chunks``) keep the BM25 tokens and the distinct coverage tokens, so a new
generation's indexes are built without tokenising unchanged chunks again. Text columns hold
JSON (metadata) or space-separated jieba tokens.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from vetbot.clock import utcnow
from vetbot.db import Base


class KbCatalog(Base):
    """One knowledge base: its Chroma collection, model, published generation and writer lease."""

    __tablename__ = "kb_catalogs"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    collection: Mapped[str] = mapped_column(String(128))
    embedding_id: Mapped[str] = mapped_column(String(200), default="")
    generation: Mapped[int] = mapped_column(Integer, default=0)
    writer: Mapped[str | None] = mapped_column(String(64), nullable=True)
    writer_until: Mapped[float | None] = mapped_column(Float, nullable=True)  # epoch seconds
    # Set while a writer may have added vectors that no generation lists yet (sweep needed).
    dirty: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class KbGeneration(Base):
    """A published generation; ``stats`` is zlib-compressed JSON ``{"n", "df", "regions"}``."""

    __tablename__ = "kb_generations"
    __table_args__ = (UniqueConstraint("kb", "number", name="uq_kb_generations_kb_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kb: Mapped[str] = mapped_column(String(64), ForeignKey("kb_catalogs.name", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    chunks: Mapped[int] = mapped_column(Integer, default=0)
    stats: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class KbDocument(Base):
    """One version of a document, live in generations ``gen_from <= g < gen_to``."""

    __tablename__ = "kb_documents"
    __table_args__ = (
        Index("ix_kb_documents_kb_live", "kb", "gen_to", "gen_from"),
        Index("ix_kb_documents_kb_doc", "kb", "doc_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kb: Mapped[str] = mapped_column(String(64), ForeignKey("kb_catalogs.name", ondelete="CASCADE"))
    doc_id: Mapped[str] = mapped_column(String(512))
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    meta: Mapped[str] = mapped_column(Text)
    # Metadata shared by every chunk of this version (JSON); a chunk row keeps only the rest,
    # so loading a generation parses each shared value once per document, not once per chunk.
    chunk_meta: Mapped[str] = mapped_column(Text, default="{}")
    ingested_at: Mapped[str] = mapped_column(String(40), default="")
    gen_from: Mapped[int] = mapped_column(Integer)
    gen_to: Mapped[int | None] = mapped_column(Integer, nullable=True)


class KbChunk(Base):
    """One chunk of a document version, with its pre-tokenised BM25 and coverage tokens."""

    __tablename__ = "kb_chunks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("kb_documents.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    chunk_id: Mapped[str] = mapped_column(String(600))
    text: Mapped[str] = mapped_column(Text)
    meta: Mapped[str] = mapped_column(Text)
    bm25_tokens: Mapped[str] = mapped_column(Text)
    stat_tokens: Mapped[str] = mapped_column(Text)
