"""Telegram bot persistence: user data (user settings), chat data, bot data, conversations.

Revision ID: 0004_bot
Revises: 0001_qa_log
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_bot"
down_revision = "0001_qa_log"
branch_labels = ("bot",)
depends_on = None


def upgrade() -> None:
    """Create bot_user_data, bot_chat_data, bot_kv and bot_conversations."""
    op.create_table(
        "bot_user_data",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_bot_user_data"),
    )
    op.create_table(
        "bot_chat_data",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", name="pk_bot_chat_data"),
    )
    op.create_table(
        "bot_kv",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_bot_kv"),
    )
    op.create_table(
        "bot_conversations",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("state", sa.JSON(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", "key", name="pk_bot_conversations"),
    )


def downgrade() -> None:
    """Drop the bot tables."""
    op.drop_table("bot_conversations")
    op.drop_table("bot_kv")
    op.drop_table("bot_chat_data")
    op.drop_table("bot_user_data")
