"""Knowledge-base catalogue: documents, chunks and index generations (issue 13, ``knowledge.kbmodels``).

Revision ID: 0013_kb_catalog
Revises: 0005_notice_outbox
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_kb_catalog"
down_revision = "0005_notice_outbox"
branch_labels = ("kb_catalog",)
depends_on = None


def upgrade() -> None:
    """Create kb_catalogs, kb_generations, kb_documents and kb_chunks."""
    op.create_table(
        "kb_catalogs",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("collection", sa.String(128), nullable=False),
        sa.Column("embedding_id", sa.String(200), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("writer", sa.String(64), nullable=True),
        sa.Column("writer_until", sa.Float(), nullable=True),
        sa.Column("dirty", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_kb_catalogs"),
    )
    op.create_table(
        "kb_generations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kb", sa.String(64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("chunks", sa.Integer(), nullable=False),
        sa.Column("stats", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["kb"], ["kb_catalogs.name"], name="fk_kb_generations_kb_kb_catalogs",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_kb_generations"),
        sa.UniqueConstraint("kb", "number", name="uq_kb_generations_kb_number"),
    )
    op.create_table(
        "kb_documents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kb", sa.String(64), nullable=False),
        sa.Column("doc_id", sa.String(512), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("meta", sa.Text(), nullable=False),
        sa.Column("chunk_meta", sa.Text(), nullable=False),
        sa.Column("ingested_at", sa.String(40), nullable=False),
        sa.Column("gen_from", sa.Integer(), nullable=False),
        sa.Column("gen_to", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["kb"], ["kb_catalogs.name"], name="fk_kb_documents_kb_kb_catalogs",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_kb_documents"),
    )
    op.create_index("ix_kb_documents_kb_live", "kb_documents", ["kb", "gen_to", "gen_from"])
    op.create_index("ix_kb_documents_kb_doc", "kb_documents", ["kb", "doc_id"])
    op.create_table(
        "kb_chunks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("chunk_id", sa.String(600), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("meta", sa.Text(), nullable=False),
        sa.Column("bm25_tokens", sa.Text(), nullable=False),
        sa.Column("stat_tokens", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["kb_documents.id"],
                                name="fk_kb_chunks_document_id_kb_documents", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_kb_chunks"),
    )
    op.create_index("ix_kb_chunks_document_id", "kb_chunks", ["document_id"])


def downgrade() -> None:
    """Drop the catalogue tables."""
    op.drop_index("ix_kb_chunks_document_id", table_name="kb_chunks")
    op.drop_table("kb_chunks")
    op.drop_index("ix_kb_documents_kb_doc", table_name="kb_documents")
    op.drop_index("ix_kb_documents_kb_live", table_name="kb_documents")
    op.drop_table("kb_documents")
    op.drop_table("kb_generations")
    op.drop_table("kb_catalogs")
