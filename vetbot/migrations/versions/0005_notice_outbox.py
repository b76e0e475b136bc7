"""Notification outbox of complaint cases (``case_notices``).

Revision ID: 0005_notice_outbox
Revises: 0002_complaints
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_notice_outbox"
down_revision = "0002_complaints"
branch_labels = None  # continues the "complaints" branch
depends_on = None


def upgrade() -> None:
    """Create case_notices."""
    op.create_table(
        "case_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("ticket", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("handler_id", sa.String(64), nullable=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claim_token", sa.String(36), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_case_notices"),
        sa.ForeignKeyConstraint(
            ["case_id"], ["complaint_cases.id"], name="fk_case_notices_case_id_complaint_cases"
        ),
    )
    op.create_index("ix_case_notices_case_id", "case_notices", ["case_id"])
    op.create_index("ix_case_notices_state_next_attempt_at", "case_notices", ["state", "next_attempt_at"])
    op.create_index("ix_case_notices_chat_id_state", "case_notices", ["chat_id", "state"])


def downgrade() -> None:
    """Drop case_notices."""
    op.drop_table("case_notices")
