"""Tables of the bot's persistence: PTB user/chat/bot data and conversation states.

``bot_user_data`` is also where per-user settings live (the chosen region), so a user's
settings survive restarts and deployments. Values are JSON documents, never pickles, so a
row can be inspected and cannot execute code when loaded.

The schema is created by the Alembic revision ``0004_bot``; keep both in step.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from vetbot.db import Base


def _now() -> datetime:
    return datetime.now(UTC)


class BotUserData(Base):
    """``context.user_data`` of one Telegram user (settings such as the region, drafts)."""

    __tablename__ = "bot_user_data"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class BotChatData(Base):
    """``context.chat_data`` of one chat (recent answers' sources, for 「查看原文」)."""

    __tablename__ = "bot_chat_data"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class BotKeyValue(Base):
    """Singleton documents: ``bot_data`` (and room for future ones)."""

    __tablename__ = "bot_kv"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[Any] = mapped_column(JSON, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class BotConversation(Base):
    """The state of one conversation (``name`` + key such as ``[chat_id, user_id]``)."""

    __tablename__ = "bot_conversations"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    # JSON array of the PTB conversation key, e.g. "[123, 123]".
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    state: Mapped[Any] = mapped_column(JSON, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
