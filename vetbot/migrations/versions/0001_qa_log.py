"""Question log (qa_log).

Revision ID: 0001_qa_log
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_qa_log"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create qa_log."""
    op.create_table(
        "qa_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("user_ref", sa.String(64), nullable=True),
        sa.Column("region", sa.String(32), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("refused", sa.Boolean(), nullable=False),
        sa.Column("refusal_reason", sa.String(32), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("intent", sa.String(16), nullable=False),
        sa.Column("theme", sa.String(32), nullable=True),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("rating", sa.String(8), nullable=True),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_qa_log_created_at", "qa_log", ["created_at"])
    op.create_index("ix_qa_log_refused", "qa_log", ["refused"])
    op.create_index("ix_qa_log_rating", "qa_log", ["rating"])


def downgrade() -> None:
    """Drop qa_log."""
    op.drop_table("qa_log")
