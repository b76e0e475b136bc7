"""Case followers: Telegram chats that follow a case they did not file (``case_followers``).

Revision ID: 0017_case_followers
Revises: 0016_partner_units
Create Date: 2026-12-10
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_case_followers"
down_revision = "0016_partner_units"
branch_labels = None  # continues the "complaints" branch
depends_on = None


def upgrade() -> None:
    """Create case_followers."""
    op.create_table(
        "case_followers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_case_followers"),
        sa.ForeignKeyConstraint(
            ["case_id"], ["complaint_cases.id"], name="fk_case_followers_case_id_complaint_cases"
        ),
        sa.UniqueConstraint("case_id", "chat_id", name="uq_case_followers_case_id"),
    )
    op.create_index("ix_case_followers_case_id", "case_followers", ["case_id"])
    op.create_index("ix_case_followers_chat_id", "case_followers", ["chat_id"])


def downgrade() -> None:
    """Drop case_followers."""
    op.drop_table("case_followers")
