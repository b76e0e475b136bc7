"""Complaint cases, their append-only event history and the per-day ticket counter.

Revision ID: 0002_complaints
Revises: 0001_qa_log
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_complaints"
down_revision = "0001_qa_log"
branch_labels = ("complaints",)
depends_on = None


def upgrade() -> None:
    """Create complaint_cases, case_events and case_ticket_counters."""
    op.create_table(
        "complaint_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("complainant_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("complainant_name", sa.String(64), nullable=True),
        sa.Column("complainant_phone", sa.String(32), nullable=True),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("theme", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("assigned_handler_id", sa.String(64), nullable=True),
        sa.Column("assigned_unit", sa.String(128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("concluded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accept_due", sa.DateTime(timezone=True), nullable=False),
        sa.Column("conclude_due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("extended", sa.Boolean(), nullable=False),
        sa.Column("extension_days", sa.Integer(), nullable=True),
        sa.Column("extension_reason", sa.Text(), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("transferred_to", sa.String(128), nullable=True),
        sa.Column("rating", sa.String(8), nullable=True),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_complaint_cases"),
        sa.UniqueConstraint("ticket", name="uq_complaint_cases_ticket"),
    )
    op.create_index("ix_complaint_cases_complainant_chat_id", "complaint_cases", ["complainant_chat_id"])
    op.create_index("ix_complaint_cases_region", "complaint_cases", ["region"])
    op.create_index("ix_complaint_cases_theme", "complaint_cases", ["theme"])
    op.create_index("ix_complaint_cases_status", "complaint_cases", ["status"])
    op.create_index("ix_complaint_cases_assigned_unit", "complaint_cases", ["assigned_unit"])
    op.create_index("ix_complaint_cases_created_at", "complaint_cases", ["created_at"])
    op.create_index("ix_complaint_cases_rating", "complaint_cases", ["rating"])
    op.create_index("ix_complaint_cases_status_theme", "complaint_cases", ["status", "theme"])
    op.create_index(
        "ix_complaint_cases_assigned_handler_id_status", "complaint_cases", ["assigned_handler_id", "status"]
    )

    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.String(64), nullable=False),
        sa.Column("actor_name", sa.String(64), nullable=False),
        sa.Column("actor_role", sa.String(16), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("from_status", sa.String(8), nullable=True),
        sa.Column("to_status", sa.String(8), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_case_events"),
        sa.ForeignKeyConstraint(
            ["case_id"], ["complaint_cases.id"], name="fk_case_events_case_id_complaint_cases"
        ),
    )
    op.create_index("ix_case_events_case_id", "case_events", ["case_id"])

    op.create_table(
        "case_ticket_counters",
        sa.Column("day", sa.String(8), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name="pk_case_ticket_counters"),
    )


def downgrade() -> None:
    """Drop the complaint tables."""
    op.drop_table("case_ticket_counters")
    op.drop_table("case_events")
    op.drop_table("complaint_cases")
