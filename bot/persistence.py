"""PTB persistence backed by the project database (tables in ``bot.models``).

python-telegram-bot keeps user_data, chat_data, bot_data and conversation states in memory
and hands changed entries to the persistence every ``update_interval`` seconds and on
shutdown. This class writes them as JSON documents through SQLAlchemy, so a restarted bot
(or a second deployment on PostgreSQL) resumes conversations such as a half-filed complaint.

Only JSON-compatible values may be stored; the handlers keep their data that way. A value
that cannot be serialised is logged and skipped rather than crashing the update loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import CDCData, ConversationDict, ConversationKey

from bot.models import BotChatData, BotConversation, BotKeyValue, BotUserData

logger = logging.getLogger(__name__)

_BOT_DATA_KEY = "bot_data"

JSONDict = dict[str, Any]


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _plain(value: Any) -> Any:
    """Round-trip through JSON so that what stays in memory equals what a restart loads."""
    return json.loads(_dumps(value))


class DatabasePersistence(BasePersistence[JSONDict, JSONDict, JSONDict]):
    """Store PTB user/chat/bot data and conversations in the project's SQL database.

    ``session_factory`` is a ``sessionmaker`` (``vetbot.db.make_session_factory``). Writes of
    unchanged documents are skipped, so a short ``update_interval`` costs little; it bounds
    how much conversation progress an unclean crash can lose.
    """

    def __init__(self, session_factory: Callable[[], Session], *, update_interval: float = 2.0) -> None:
        super().__init__(
            store_data=PersistenceInput(user_data=True, chat_data=True, bot_data=True, callback_data=False),
            update_interval=update_interval,
        )
        self._session_factory = session_factory
        # Last JSON written (or loaded) per row, to skip redundant writes.
        self._written: dict[tuple[str, str], str] = {}
        self._lock = asyncio.Lock()

    # --- helpers -------------------------------------------------------------------------
    def _changed(self, kind: str, key: str, value: Any) -> str | None:
        """The JSON to write, or None when unchanged or not serialisable."""
        try:
            dumped = _dumps(value)
        except (TypeError, ValueError):
            logger.error(
                "persistence: %s %s holds a value that is not JSON-serialisable; not saved", kind, key
            )
            return None
        if self._written.get((kind, key)) == dumped:
            return None
        return dumped

    async def _run(self, fn: Callable[[Session], Any]) -> Any:
        def work() -> Any:
            with self._session_factory() as session:
                result = fn(session)
                session.commit()
                return result

        async with self._lock:
            return await asyncio.to_thread(work)

    # --- loading ---------------------------------------------------------------------------
    async def get_user_data(self) -> dict[int, JSONDict]:
        """Load every stored user_data document."""
        rows = await self._run(lambda s: [(r.user_id, r.data) for r in s.scalars(select(BotUserData))])
        out: dict[int, JSONDict] = {}
        for user_id, data in rows:
            out[int(user_id)] = dict(data or {})
            self._written[("user", str(user_id))] = _dumps(out[int(user_id)])
        return out

    async def get_chat_data(self) -> dict[int, JSONDict]:
        """Load every stored chat_data document."""
        rows = await self._run(lambda s: [(r.chat_id, r.data) for r in s.scalars(select(BotChatData))])
        out: dict[int, JSONDict] = {}
        for chat_id, data in rows:
            out[int(chat_id)] = dict(data or {})
            self._written[("chat", str(chat_id))] = _dumps(out[int(chat_id)])
        return out

    async def get_bot_data(self) -> JSONDict:
        """Load the bot_data document (empty when none was stored)."""
        data = await self._run(lambda s: row.data if (row := s.get(BotKeyValue, _BOT_DATA_KEY)) else None)
        result = dict(data or {})
        self._written[("kv", _BOT_DATA_KEY)] = _dumps(result)
        return result

    async def get_callback_data(self) -> CDCData | None:
        """Arbitrary callback data is not used (callback_data strings are short keys)."""
        return None

    async def get_conversations(self, name: str) -> ConversationDict:
        """Load the states of conversation handler ``name``."""
        rows = await self._run(
            lambda s: [
                (r.key, r.state)
                for r in s.scalars(select(BotConversation).where(BotConversation.name == name))
            ]
        )
        out: dict[ConversationKey, object] = {}
        for key, state in rows:
            out[tuple(json.loads(key))] = state
            self._written[("conv:" + name, key)] = _dumps(state)
        return out

    # --- writing ---------------------------------------------------------------------------
    async def update_conversation(self, name: str, key: ConversationKey, new_state: object | None) -> None:
        """Store (or, for an ended conversation, delete) one conversation state."""
        key_json = _dumps(list(key))
        kind = "conv:" + name
        if new_state is None:
            if (kind, key_json) not in self._written:
                return
            await self._run(
                lambda s: s.execute(
                    delete(BotConversation).where(
                        BotConversation.name == name, BotConversation.key == key_json
                    )
                )
            )
            self._written.pop((kind, key_json), None)
            return
        dumped = self._changed(kind, key_json, new_state)
        if dumped is None:
            return

        def write(s: Session) -> None:
            row = s.get(BotConversation, (name, key_json))
            if row is None:
                s.add(BotConversation(name=name, key=key_json, state=_plain(new_state), updated_at=_now()))
            else:
                row.state, row.updated_at = _plain(new_state), _now()

        await self._run(write)
        self._written[(kind, key_json)] = dumped

    async def update_user_data(self, user_id: int, data: JSONDict) -> None:
        """Store one user's user_data."""
        dumped = self._changed("user", str(user_id), data)
        if dumped is None:
            return

        def write(s: Session) -> None:
            row = s.get(BotUserData, user_id)
            if row is None:
                s.add(BotUserData(user_id=user_id, data=_plain(data), updated_at=_now()))
            else:
                row.data, row.updated_at = _plain(data), _now()

        await self._run(write)
        self._written[("user", str(user_id))] = dumped

    async def update_chat_data(self, chat_id: int, data: JSONDict) -> None:
        """Store one chat's chat_data."""
        dumped = self._changed("chat", str(chat_id), data)
        if dumped is None:
            return

        def write(s: Session) -> None:
            row = s.get(BotChatData, chat_id)
            if row is None:
                s.add(BotChatData(chat_id=chat_id, data=_plain(data), updated_at=_now()))
            else:
                row.data, row.updated_at = _plain(data), _now()

        await self._run(write)
        self._written[("chat", str(chat_id))] = dumped

    async def update_bot_data(self, data: JSONDict) -> None:
        """Store bot_data."""
        dumped = self._changed("kv", _BOT_DATA_KEY, data)
        if dumped is None:
            return

        def write(s: Session) -> None:
            row = s.get(BotKeyValue, _BOT_DATA_KEY)
            if row is None:
                s.add(BotKeyValue(key=_BOT_DATA_KEY, data=_plain(data), updated_at=_now()))
            else:
                row.data, row.updated_at = _plain(data), _now()

        await self._run(write)
        self._written[("kv", _BOT_DATA_KEY)] = dumped

    async def update_callback_data(self, data: CDCData) -> None:
        """Arbitrary callback data is not stored."""

    async def drop_chat_data(self, chat_id: int) -> None:
        """Delete one chat's chat_data."""
        await self._run(lambda s: s.execute(delete(BotChatData).where(BotChatData.chat_id == chat_id)))
        self._written.pop(("chat", str(chat_id)), None)

    async def drop_user_data(self, user_id: int) -> None:
        """Delete one user's user_data."""
        await self._run(lambda s: s.execute(delete(BotUserData).where(BotUserData.user_id == user_id)))
        self._written.pop(("user", str(user_id)), None)

    async def refresh_user_data(self, user_id: int, user_data: JSONDict) -> None:
        """Nothing to refresh: this process is the only writer of a user's data."""

    async def refresh_chat_data(self, chat_id: int, chat_data: JSONDict) -> None:
        """Nothing to refresh: this process is the only writer of a chat's data."""

    async def refresh_bot_data(self, bot_data: JSONDict) -> None:
        """Nothing to refresh: this process is the only writer of bot_data."""

    async def flush(self) -> None:
        """Every update is committed immediately; nothing is buffered."""


def _now() -> datetime:
    return datetime.now(UTC)
