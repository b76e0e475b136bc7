"""Issue 13: the ingest job queue (``ingest_queue``, ``ingest_job_files``) and shared rate limits
(``rate_limit_windows``).

Revision ID: 0014_ingest_jobs
Revises: 0005_notice_outbox
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_ingest_jobs"
down_revision = "0005_notice_outbox"
branch_labels = None
depends_on = "0003_web"  # the queue refers to ingest_jobs rows


def upgrade() -> None:
    """Create ingest_queue, ingest_job_files and rate_limit_windows."""
    op.create_table(
        "ingest_queue",
        sa.Column("job_id", sa.String(32), nullable=False),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("claim_token", sa.String(36), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", name="pk_ingest_queue"),
    )
    op.create_index("ix_ingest_queue_enqueued_at", "ingest_queue", ["enqueued_at"])
    op.create_table(
        "ingest_job_files",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.String(32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ingest_job_files"),
    )
    op.create_index("ix_ingest_job_files_job_id", "ingest_job_files", ["job_id"])
    op.create_table(
        "rate_limit_windows",
        sa.Column("scope", sa.String(32), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("events", sa.Text(), nullable=False),
        sa.Column("warned_at", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", name="pk_rate_limit_windows"),
    )
    op.create_index("ix_rate_limit_windows_updated_at", "rate_limit_windows", ["updated_at"])


def downgrade() -> None:
    """Drop the queue and rate-limit tables."""
    op.drop_table("rate_limit_windows")
    op.drop_table("ingest_job_files")
    op.drop_table("ingest_queue")
