"""Shared pieces of the bot's handlers: injected dependencies, update filters, sending helpers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from telegram import Bot, Message, Update
from telegram.constants import ChatAction, ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, BaseHandler, ContextTypes, filters

from bot import texts
from bot.formatting import split_message
from bot.notifier import TelegramNotifier
from bot.photos import PhotoFetcher
from vetbot.ratelimit import SlidingWindowLimiter

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from complaints.followers import CaseFollowing
    from complaints.service import CaseService
    from knowledge.service import KnowledgeService
    from vetbot.settings import Settings

logger = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE

# Plain text messages (not commands, not edits).
TEXT = filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND
# Menu buttons that must never be taken as free text inside a conversation step.
MENU_TEXT = filters.UpdateType.MESSAGE & filters.Text(sorted(texts.MENU_LABELS))
# A short question about the user's own case ("我的投诉到哪了？", "我投诉的事处理了吗"): few
# veterans type /status, and the policy answerer would take it for a new complaint or answer
# it with a 信访 article. Whole message only, so a complaint narrative that mentions 处理 is
# not caught.
STATUS_QUESTION = filters.UpdateType.MESSAGE & filters.Regex(
    r"^[^。！!\n]{0,8}?我的?(?:投诉|信访|反映的问题|反映的事|案件|诉求)[^。！!，,\n]{0,10}?"
    r"(?:到哪|进度|进展|怎么样了|处理了吗|处理得怎么样|处理好了吗|有结果|有回复|有消息|"
    r"办好了吗|办得怎么样|受理了吗|办结了吗)[^。！!\n]{0,8}$"
)
# A ticket number alone or in a short message ("TS-20260102-0001", "我的投诉到哪了 TS-…"): a
# walk-in complainant types the number from the receipt. A long narrative that quotes an old
# ticket is a new complaint or a question, not a status request.
TICKET_RE = re.compile(r"TS\s*[-－—–]?\s*(\d{8})\s*[-－—–]?\s*(\d{4,})", re.IGNORECASE)
TICKET_TEXT = filters.UpdateType.MESSAGE & filters.Regex(
    re.compile(r"^[^\n]{0,24}?" + TICKET_RE.pattern + r"[^\n]{0,24}$", re.IGNORECASE)
)
# Menu buttons (and status questions) handled by their own handlers even in the middle of a
# conversation.
PASS_THROUGH_TEXT = filters.Text([texts.BTN_STATUS, texts.BTN_HELP]) | STATUS_QUESTION | TICKET_TEXT


@dataclass
class BotDeps:
    """Everything the handlers use, injected by ``bot.app.build_application``."""

    settings: Settings
    knowledge: KnowledgeService
    cases: CaseService
    session_factory: Callable[[], Session]
    limiter: SlidingWindowLimiter
    following: CaseFollowing  # which cases a chat sees; linking by the phone's last digits
    notifier: TelegramNotifier | None = None
    photos: PhotoFetcher | None = None

    @property
    def admin_ids(self) -> frozenset[int]:
        """Telegram user ids allowed to act on any case."""
        return frozenset(self.settings.telegram_admin_ids)


def user_data(context: Context) -> dict[str, Any]:
    """``context.user_data`` (always present for updates from a user)."""
    data = context.user_data
    if data is None:  # channel posts and the like; handlers never see those
        raise RuntimeError("update without user data")
    return data


async def send_html(bot: Bot, chat_id: int, text: str, reply_markup: Any = None) -> list[Message]:
    """Send HTML ``text`` split under Telegram's limit; the markup goes on the last part."""
    parts = split_message(text)
    sent: list[Message] = []
    for i, part in enumerate(parts):
        markup = reply_markup if i == len(parts) - 1 else None
        sent.append(await bot.send_message(chat_id, part, parse_mode=ParseMode.HTML, reply_markup=markup))
    return sent


async def reply_html(update: Update, context: Context, text: str, reply_markup: Any = None) -> list[Message]:
    """Reply in the update's chat with HTML ``text`` (split when long)."""
    chat = update.effective_chat
    if chat is None:
        return []
    return await send_html(context.bot, chat.id, text, reply_markup)


@contextlib.asynccontextmanager
async def typing(bot: Bot, chat_id: int) -> AsyncIterator[None]:
    """Show "typing…" while the body runs (Telegram clears it after ~5 s, so it is renewed)."""

    async def renew() -> None:
        while True:
            await asyncio.sleep(4.5)
            with contextlib.suppress(TelegramError):
                await bot.send_chat_action(chat_id, ChatAction.TYPING)

    try:
        await bot.send_chat_action(chat_id, ChatAction.TYPING)
    except TelegramError:
        logger.debug("send_chat_action failed", exc_info=True)
    task = asyncio.create_task(renew())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def answer_callback(update: Update, text: str | None = None, alert: bool = False) -> None:
    """Acknowledge a button press (so the client stops its spinner); errors are ignored."""
    query = update.callback_query
    if query is None:
        return
    try:
        await query.answer(text[:190] if text else None, show_alert=alert)
    except TelegramError:
        logger.debug("answer_callback_query failed", exc_info=True)


async def drop_buttons(update: Update) -> None:
    """Remove the inline keyboard of the message whose button was pressed."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    try:
        await query.edit_message_reply_markup(reply_markup=None)
    except TelegramError:
        logger.debug("edit_message_reply_markup failed", exc_info=True)


async def pass_on(update: Update, context: Context, after: BaseHandler[Update, Any, Any]) -> bool:
    """Let the handlers registered after ``after`` in its group take ``update`` now, as the
    application would have had ``after`` not matched it: the first whose ``check_update``
    matches handles it (a conversation among them records its new state). For a conversation
    step that finds the message is not for it (a question typed at the region prompt).

    Returns False when ``after`` is not registered or no later handler matches."""
    # The context's own type parameters are not the application's to mypy; both are the defaults.
    application: Application[Any, Any, Any, Any, Any, Any] = context.application
    for handlers in application.handlers.values():
        position = next((i for i, h in enumerate(handlers) if h is after), None)
        if position is None:
            continue
        for handler in handlers[position + 1 :]:
            check = handler.check_update(update)
            if check is not None and check is not False:
                await handler.handle_update(update, application, check, context)
                return True
    return False
