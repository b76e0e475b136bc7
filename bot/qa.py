"""Policy questions: /start, /help, /region, free-text answers, 「查看原文」 and 👍/👎 feedback."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, ConversationHandler

from bot import texts
from bot.common import BotDeps, Context, answer_callback, pass_on, reply_html, send_html, typing, user_data
from bot.formatting import esc, format_answer, format_source_text
from bot.keyboards import (
    MAX_SOURCES_EXPANDED,
    answer_markup,
    inline,
    menu_markup,
    rows_of,
    short_source_label,
    source_rows,
)
from knowledge.conversation import ConversationService, Turn
from knowledge.conversation_input import MAX_MESSAGE_CHARS, has_question
from knowledge.question_checks import DOMAIN_TERMS, has_domain_vocabulary
from knowledge.questionlog import QuestionLogService, offers_rating
from knowledge.retrieval import passage_from_chunk
from vetbot.errors import (
    InvalidInputError,
    KnowledgeBaseError,
    PermissionDeniedError,
    VetbotError,
)
from vetbot.privacy import mask_text
from vetbot.regions import canonical_name, most_specific, pickable, validate_region

if TYPE_CHECKING:
    from bot.complaint import ComplaintFlow
    from knowledge.types import Answer

logger = logging.getLogger(__name__)

MAX_SOURCE_BUTTONS = 3  # source buttons shown under an answer; the rest behind 「更多依据」
CONTEXT_KEY = "qa_context"  # the conversation context, stored with the user's data (DB persistence)
REGION_STATE = "region"
NATIONAL = "全国"
# Question words no division's name contains (checked against the whole gazetteer), besides
# has_question's: typed at the region prompt they mark a question, not a place.
_NOT_IN_PLACE_NAMES = re.compile(r"[？?吗呢么能怎咋啥谁哪几]|多少|可以|为什么|是否|如何")
# An unknown name longer than this is a sentence, not a misspelt place (火星市, 青岚市).
PLACE_NAME_MAX_CHARS = 8


def asks_rather_than_names(text: str) -> bool:
    """True when ``text``, typed at the region prompt, is a question or a sentence rather than a
    place name: question words or marks (吗, 怎么, 能, 多少, ？), words of the veterans' domain
    (老兵, 优待证), or an unknown name over ``PLACE_NAME_MAX_CHARS`` characters. A short unknown
    name (火星市) is a place spelt wrong and is asked again."""
    name = "".join(text.split())
    if has_question(name) or _NOT_IN_PLACE_NAMES.search(name) or has_domain_vocabulary(name, DOMAIN_TERMS):
        return True
    if len(name) <= PLACE_NAME_MAX_CHARS:
        return False
    try:
        validate_region(name)
    except InvalidInputError:
        return True
    return False


class QAHandlers:
    """Handlers for asking questions and choosing a region."""

    def __init__(self, deps: BotDeps, complaint: ComplaintFlow) -> None:
        self.deps = deps
        self.complaint = complaint
        self.questions = QuestionLogService(deps.session_factory)
        self.conversation = ConversationService(deps.knowledge)
        # Set by bot.app: the handlers registered after it take a question typed at the prompt.
        self.region_conversation: BaseHandler[Update, Any, Any] | None = None

    # ---------------------------------------------------------------- basics
    async def start(self, update: Update, context: Context) -> int:
        """/start: welcome, what the bot can and cannot do, privacy note, topic keyboard."""
        data = user_data(context)
        data.pop("complaint", None)
        await reply_html(update, context, texts.WELCOME, menu_markup())
        return ConversationHandler.END

    async def help(self, update: Update, context: Context) -> None:
        """/help and the 使用帮助 button."""
        region = user_data(context).get("region")
        extra = (
            f"\n\n当前地区：<b>{esc(region)}</b>" if region else "\n\n当前未设置地区（发送 /region 设置）。"
        )
        await reply_html(update, context, texts.HELP + extra, menu_markup())

    async def nothing_to_cancel(self, update: Update, context: Context) -> None:
        """/cancel outside any conversation."""
        await reply_html(update, context, texts.NOTHING_TO_CANCEL, menu_markup())

    # ---------------------------------------------------------------- questions
    async def on_text(self, update: Update, context: Context) -> object:
        """Free text (or a topic button): answer it, or enter the complaint conversation.

        This is an entry point of the complaint ConversationHandler; it returns the
        conversation's first state when the text is a complaint, else END.
        """
        message = update.effective_message
        user = update.effective_user
        if message is None or user is None or not message.text:
            return ConversationHandler.END
        text = message.text.strip()
        text = texts.TOPIC_QUESTIONS.get(text, text)
        if len(text) > MAX_MESSAGE_CHARS and not has_question(text):
            # Kept whole: the 「作为投诉提交」 button starts a complaint with it (cpl:0).
            user_data(context)["pending_text"] = text
            await reply_html(
                update, context, texts.TOO_LONG, inline([[(texts.BTN_LONG_AS_COMPLAINT, "cpl:0")]])
            )
            return ConversationHandler.END
        region = user_data(context).get("region")
        turn = await self._ask(update, context, text, region)
        if turn is None:
            return ConversationHandler.END
        answer = turn.answer
        data = user_data(context)
        if turn.state is None:
            data.pop(CONTEXT_KEY, None)
        else:
            # Stored with the conversation (user data is persisted): masked like the qa log.
            data[CONTEXT_KEY] = {**turn.state, "question": mask_text(turn.state["question"])}
        if answer.intent == "smalltalk":
            await reply_html(update, context, esc(answer.answer))
            return ConversationHandler.END
        log_id = await self._log(answer, user.id, region)
        if answer.intent == "complaint":
            # The whole message goes to the draft, however long: nothing typed is lost.
            return await self.complaint.begin(update, context, text=text, theme=answer.theme, detected=True)
        # Kept for the 「我要投诉」 button's prefill; masked like the qa log (user data is stored).
        user_data(context)["last_question"] = {"id": log_id, "text": mask_text(text), "theme": answer.theme}
        await self._send_answer(update, context, answer, log_id)
        return ConversationHandler.END

    async def _ask(self, update: Update, context: Context, text: str, region: str | None) -> Turn | None:
        chat = update.effective_chat
        assert chat is not None
        state = user_data(context).get(CONTEXT_KEY)
        try:
            async with typing(context.bot, chat.id):
                return await asyncio.to_thread(self.conversation.reply, text, state, region)
        except (InvalidInputError, KnowledgeBaseError) as exc:
            await reply_html(update, context, esc(exc.user_message))
            return None

    async def _log(self, answer: Answer, user_id: int, region: str | None) -> int | None:
        """Store the question in the qa log; a failing log never loses the answer."""
        return await asyncio.to_thread(
            self.questions.try_record, answer, channel="telegram", user_ref=f"tg:{user_id}", region=region
        )

    async def _send_answer(
        self, update: Update, context: Context, answer: Answer, log_id: int | None
    ) -> None:
        body = format_answer(answer)
        if answer.offer_complaint:
            body += "\n\n" + esc(texts.OFFER_COMPLAINT)
        # A refusal's retrieved passages are for the office's gap report, not for the user.
        sources = [] if answer.refused else answer.sources
        rated_id = log_id if offers_rating(answer) else None  # a hint to rephrase: no 👍/👎
        markup = answer_markup(rated_id, sources, offer_complaint=answer.offer_complaint)
        await reply_html(update, context, body, markup)

    # ---------------------------------------------------------------- buttons under answers
    async def on_feedback(self, update: Update, context: Context) -> None:
        """👍/👎: store the rating with the logged question (only the asker may rate)."""
        query = update.callback_query
        user = update.effective_user
        assert query is not None and query.data and user is not None
        _, log_id_s, rating = query.data.split(":", 2)
        log_id = int(log_id_s)

        try:
            await asyncio.to_thread(self.questions.rate, log_id, rating, rater=f"tg:{user.id}")
            outcome = "ok"
        except PermissionDeniedError:
            outcome = "not_yours"
        except VetbotError as exc:
            await answer_callback(update, exc.user_message, alert=True)
            return
        if outcome == "not_yours":
            await answer_callback(update, texts.FEEDBACK_NOT_YOURS, alert=True)
            return
        await answer_callback(update, texts.FEEDBACK_THANKS)
        # Keep the 「查看原文」 buttons, replace the feedback row by the recorded choice.
        message = query.message
        markup = getattr(message, "reply_markup", None)
        if markup is not None:
            rows = []
            for row in markup.inline_keyboard:
                if any((b.callback_data or "").startswith("fb:") for b in row):
                    rows.append([("已评价：👍 有用" if rating == "up" else "已评价：👎 没用", "noop")])
                else:
                    rows.append([(b.text, str(b.callback_data)) for b in row])
            try:
                await query.edit_message_reply_markup(reply_markup=inline(rows))
            except TelegramError:
                logger.debug("could not update feedback buttons", exc_info=True)

    async def on_more_sources(self, update: Update, context: Context) -> None:
        """「更多依据」/「收起依据」: show all logged sources or the first three; other rows kept."""
        query = update.callback_query
        assert query is not None and query.data
        _, log_id_s, flag = query.data.split(":", 2)
        log_id = int(log_id_s)
        cited = await asyncio.to_thread(self._cited, log_id)
        await answer_callback(update)
        message = query.message
        markup = getattr(message, "reply_markup", None)
        if markup is None or not cited:
            return
        labels = [short_source_label(str(c.get("title", "")), str(c.get("article", ""))) for c in cited]
        rows = source_rows(log_id, labels, expanded=flag == "1")
        for row in markup.inline_keyboard:
            if not any((b.callback_data or "").startswith(("src:", "mr:")) for b in row):
                rows.append([(b.text, str(b.callback_data)) for b in row])
        try:
            await query.edit_message_reply_markup(reply_markup=inline(rows))
        except TelegramError:
            logger.debug("could not toggle source buttons", exc_info=True)

    def _cited(self, log_id: int) -> list[dict[str, object]]:
        out = []
        for i in range(MAX_SOURCES_EXPANDED):
            cited = self.questions.cited_passage(log_id, i)
            if cited is None:
                break
            out.append(cited)
        return out

    async def on_source(self, update: Update, context: Context) -> None:
        """「查看原文」: send the full text of the cited passage (looked up via the qa log)."""
        query = update.callback_query
        chat = update.effective_chat
        assert query is not None and query.data and chat is not None
        _, log_id_s, index_s = query.data.split(":", 2)
        log_id, index = int(log_id_s), int(index_s)

        cited = await asyncio.to_thread(self.questions.cited_passage, log_id, index)
        chunk = self.deps.knowledge.store.chunks.get(cited.get("chunk_id", "")) if cited else None
        if cited is None or chunk is None:
            await answer_callback(update, texts.SOURCE_GONE, alert=True)
            return
        passage = passage_from_chunk(chunk, float(cited.get("score") or 0.0))
        await answer_callback(update)
        await send_html(
            context.bot,
            chat.id,
            format_source_text(
                {"label": passage.citation, "text": chunk.text, "heading": passage.heading,
                 "region": passage.region}
            ),
        )

    async def on_stale_button(self, update: Update, context: Context) -> None:
        """A button whose conversation or purpose has ended."""
        data = update.callback_query.data if update.callback_query else ""
        if data == "noop":
            await answer_callback(update)
            return
        await answer_callback(update, "该按钮已失效，请重新操作。", alert=False)

    # ---------------------------------------------------------------- region
    async def region_start(self, update: Update, context: Context) -> str:
        """/region or 设置地区: offer the KB's regions; free text is accepted too.

        While a complaint is being filed, /region is the complaint's region step instead.
        """
        if isinstance(user_data(context).get("complaint"), dict):
            await self.complaint.region_in_flow(update, context)
            return ConversationHandler.END  # type: ignore[return-value]
        if context.args:
            # /region 扬州: the place is given with the command.
            return await self._typed_region(update, context, "".join(context.args))  # type: ignore[return-value]
        current = user_data(context).get("region")
        regions = [r for r in pickable(await asyncio.to_thread(self.deps.knowledge.regions)) if r != NATIONAL]
        pairs = [(r, f"reg:{r}") for r in regions if len(f"reg:{r}".encode()) <= 64]
        grid = rows_of(pairs, 3)
        grid.append([(texts.REGION_NATIONAL, "reg:*")])
        head = f"当前地区：<b>{esc(current)}</b>\n" if current else ""
        await reply_html(update, context, head + texts.REGION_PROMPT, inline(grid))
        return REGION_STATE

    async def region_pick(self, update: Update, context: Context) -> int:
        """A region button."""
        query = update.callback_query
        assert query is not None and query.data
        value = query.data.split(":", 1)[1]
        await answer_callback(update)
        await self._set_region(update, context, None if value == "*" else value)
        return ConversationHandler.END

    async def region_text(self, update: Update, context: Context) -> object:
        """A typed region name (济南 → 济南市 when the KB knows it); a question typed instead
        (坐地铁免费吗) leaves the prompt, region unchanged, and is answered as any message."""
        message = update.effective_message
        assert message is not None and message.text
        if asks_rather_than_names(message.text):
            await reply_html(update, context, texts.REGION_LEFT_FOR_QUESTION)
            after = self.region_conversation
            if after is None or not await pass_on(update, context, after):
                await self.on_text(update, context)
            return ConversationHandler.END
        return await self._typed_region(update, context, "".join(message.text.split()))

    async def _typed_region(self, update: Update, context: Context, text: str) -> object:
        if not 2 <= len(text) <= 20:
            await reply_html(update, context, texts.REGION_BAD)
            return REGION_STATE
        try:
            region = await asyncio.to_thread(self._canonical_region, text)
        except InvalidInputError as exc:
            # Not a place (火星市): the web and the API refuse it too; ask again rather than
            # store a region no rule and no complaint route can ever match.
            await reply_html(update, context, esc(exc.user_message) + texts.REGION_RETRY)
            return REGION_STATE
        await self._set_region(update, context, region)
        return ConversationHandler.END

    async def region_menu(self, update: Update, context: Context) -> int:
        """A menu button pressed while a region was expected: leave region selection."""
        await reply_html(update, context, texts.REGION_ABORTED + "请重新点击您需要的按钮。", menu_markup())
        return ConversationHandler.END

    async def region_cancel(self, update: Update, context: Context) -> int:
        """/cancel during region selection."""
        await reply_html(update, context, texts.REGION_ABORTED, menu_markup())
        return ConversationHandler.END

    def _canonical_region(self, text: str) -> str:
        """The official name of a typed place (济南 → 济南市, 山东省济南市 → 济南市; 中国 → 全国).

        Raises InvalidInputError (Chinese ``user_message``) when ``text`` names no place.
        """
        validate_region(text)
        name = canonical_name(text)
        if name is None:
            place = most_specific(text)
            name = place.name if place is not None else None
        return name or text

    async def _set_region(self, update: Update, context: Context, region: str | None) -> None:
        data = user_data(context)
        if region is None or region == NATIONAL:
            data.pop("region", None)
            await reply_html(update, context, texts.REGION_CLEARED, menu_markup())
            return
        data["region"] = region
        logger.info("user set region %s", mask_text(region))
        await reply_html(update, context, texts.REGION_SET.format(region=esc(region)), menu_markup())
