"""Partner units and duplicates: 协办 requests (``case_assists``) and ``complaint_cases.merged_into``.

Revision ID: 0016_partner_units
Revises: 0005_notice_outbox
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_partner_units"
down_revision = "0005_notice_outbox"
branch_labels = None  # continues the "complaints" branch
depends_on = None


def upgrade() -> None:
    """Create case_assists; add complaint_cases.merged_into."""
    op.create_table(
        "case_assists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.String(64), nullable=False),
        sa.Column("partner_unit", sa.String(128), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("request_note", sa.Text(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.String(64), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_case_assists"),
        sa.ForeignKeyConstraint(
            ["case_id"], ["complaint_cases.id"], name="fk_case_assists_case_id_complaint_cases"
        ),
    )
    op.create_index("ix_case_assists_case_id", "case_assists", ["case_id"])
    op.create_index("ix_case_assists_partner_id", "case_assists", ["partner_id"])
    with op.batch_alter_table("complaint_cases") as batch:
        batch.add_column(sa.Column("merged_into", sa.String(32), nullable=True))
        batch.create_index("ix_complaint_cases_merged_into", ["merged_into"])


def downgrade() -> None:
    """Drop case_assists and complaint_cases.merged_into."""
    with op.batch_alter_table("complaint_cases") as batch:
        batch.drop_index("ix_complaint_cases_merged_into")
        batch.drop_column("merged_into")
    op.drop_table("case_assists")
