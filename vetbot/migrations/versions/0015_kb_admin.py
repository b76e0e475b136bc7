"""Knowledge-base admin: staff edits of documents and passages, curated answers (issue 14).

Tables ``kb_document_edits``, ``kb_passage_edits`` (``knowledge.kbedits``) and
``kb_curated_answers`` (``knowledge.curated``).

Revision ID: 0015_kb_admin
Revises: 0005_notice_outbox
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_kb_admin"
down_revision = "0005_notice_outbox"
branch_labels = ("kb_admin",)
depends_on = None


def upgrade() -> None:
    """Create the three tables."""
    op.create_table(
        "kb_document_edits",
        sa.Column("doc_id", sa.String(255), nullable=False),
        sa.Column("overrides", sa.JSON(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(96), nullable=False),
        sa.PrimaryKeyConstraint("doc_id", name="pk_kb_document_edits"),
    )
    op.create_table(
        "kb_passage_edits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("doc_id", sa.String(255), nullable=False),
        sa.Column("passage_key", sa.String(64), nullable=False),
        sa.Column("source_sha256", sa.String(64), nullable=False),
        sa.Column("original_text", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("label", sa.String(64), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("stale", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(96), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_kb_passage_edits"),
        sa.UniqueConstraint("doc_id", "passage_key", name="uq_kb_passage_edit"),
    )
    op.create_index("ix_kb_passage_edits_doc_id", "kb_passage_edits", ["doc_id"])
    op.create_table(
        "kb_curated_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("citations", sa.JSON(), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.Column("source_log_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(96), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(96), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_kb_curated_answers"),
    )


def downgrade() -> None:
    """Drop the three tables."""
    op.drop_table("kb_curated_answers")
    op.drop_index("ix_kb_passage_edits_doc_id", table_name="kb_passage_edits")
    op.drop_table("kb_passage_edits")
    op.drop_table("kb_document_edits")
