"""Caseworkers (承办人) acting from Telegram: 受理 / 不予受理 / 转办 / 办结 / 中间答复 / 延期 buttons.

Only the actions the case's current status allows are offered (a new case has no 办结).

受理 acts at once; the others first ask for the text the complainant will be told (a small
persistent ConversationHandler). Only the assigned caseworker (mapped through the routing
table's ``telegram_chat_id``) or an admin id from ``settings.telegram_admin_ids`` may act;
CaseService enforces it and notifies the complainant.
"""

from __future__ import annotations

import asyncio
import logging
import re

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ConversationHandler

from bot import texts
from bot.common import BotDeps, Context, answer_callback, reply_html, user_data
from bot.formatting import esc, format_dt
from bot.keyboards import CASE_ACTION_LABELS, CASE_ACTIONS, case_action_markup
from bot.notifier import offered_actions
from complaints.lifecycle import check_extension, check_transition
from complaints.types import Actor, CaseView
from vetbot.errors import CaseError, InvalidInputError, PermissionDeniedError, VetbotError

logger = logging.getLogger(__name__)

# Conversation state; the value is stored by the persistence, so it keeps its old name.
REASON = "h_reason"
MIN_REASON_CHARS = 4


class CaseworkHandlers:
    """PTB callbacks for case actions taken by caseworkers and admins."""

    def __init__(self, deps: BotDeps) -> None:
        self.deps = deps

    def _actor(self, user_id: int, full_name: str, view: CaseView) -> Actor:
        """The Actor for this Telegram user on this case.

        The assigned caseworker acts as themself, an admin id as an admin; raises
        PermissionDeniedError (with a Chinese ``user_message``) for anyone else.
        """
        caseworker = self.deps.cases.routing.handler_for_chat(user_id)
        if caseworker is not None and caseworker.id == view.assigned_handler_id:
            return self.deps.cases.handler_actor(caseworker.id)
        if user_id in self.deps.admin_ids:
            return Actor(
                id=f"tg:{user_id}", name=(full_name or "管理员")[:64], role="admin", telegram_chat_id=user_id
            )
        if caseworker is not None:
            raise PermissionDeniedError(
                f"caseworker {caseworker.id} is not assigned to {view.ticket}",
                user_message=(
                    f"投诉 {view.ticket} 由{view.assigned_unit or '其他承办人'}办理，"
                    "只有本案承办人或管理员可以办理。"
                ),
            )
        raise PermissionDeniedError(
            f"telegram user {user_id} is not staff",
            user_message="抱歉，只有本案承办人员或管理员可以办理该投诉。",
        )

    async def show_case(self, update: Update, context: Context) -> None:
        """/case <ticket> (staff only): the case with the actions still possible."""
        user = update.effective_user
        assert user is not None
        args = context.args or []
        if not args:
            await reply_html(update, context, "用法：/case 受理编号（仅承办人员和管理员可用）")
            return
        try:
            view = await asyncio.to_thread(self.deps.cases.get, args[0])
            actor = self._actor(user.id, user.full_name, view)
            if actor.role == "handler":  # the assigned caseworker sees unmasked contact data
                view = await asyncio.to_thread(self.deps.cases.get, args[0], actor)
        except VetbotError as exc:
            await reply_html(update, context, esc(exc.user_message))
            return
        lines = [
            f"<b>{esc(view.ticket)}</b>｜{esc(view.theme_label)}｜{esc(view.region)}",
            f"状态：<b>{esc(view.status)}</b>" + ("（已超期）" if view.overdue else ""),
            f"承办：{esc(view.assigned_handler_name or '')}（{esc(view.assigned_unit or '')}）",
            f"当前期限：{esc(format_dt(view.due_at))}",
            f"联系电话：{esc(view.complainant_phone or '未留')}",
            f"照片：{len(view.attachments)} 张",
            "内容：",
            esc(view.text),
        ]
        await reply_html(
            update,
            context,
            "\n".join(lines),
            case_action_markup(view.ticket, offered_actions(view.status, view.extended)),
        )

    async def on_action(self, update: Update, context: Context) -> str | int:
        """A ca:<action>:<ticket> button: act (受理) or ask for the reply text."""
        query = update.callback_query
        user = update.effective_user
        assert query is not None and query.data and user is not None
        _, action, ticket = query.data.split(":", 2)
        if action not in CASE_ACTIONS:
            await answer_callback(update, "未知操作。")
            return ConversationHandler.END
        try:
            view = await asyncio.to_thread(self.deps.cases.get, ticket)
            actor = self._actor(user.id, user.full_name, view)
            if action not in view.allowed_actions:
                check_transition(view.status, action)  # raises with a helpful Chinese message
                if action == "extend":
                    check_extension(view.extended, 0, None)  # extended already: says so
        except VetbotError as exc:
            await answer_callback(update, exc.user_message, alert=True)
            return ConversationHandler.END
        message_id = query.message.message_id if query.message else None
        if action == "accept":
            await answer_callback(update)
            await self._perform(update, context, action, ticket, actor, None, message_id)
            return ConversationHandler.END
        user_data(context)["case_action"] = {"action": action, "ticket": ticket, "message_id": message_id}
        await answer_callback(update)
        await reply_html(update, context, f"案件 <b>{esc(ticket)}</b>：{esc(texts.ASK_REASON[action])}")
        return REASON

    async def on_reason(self, update: Update, context: Context) -> str | int:
        """The reply text for 不予受理 / 转办 / 办结."""
        message = update.effective_message
        user = update.effective_user
        assert message is not None and message.text and user is not None
        pending = user_data(context).get("case_action")
        if not isinstance(pending, dict):
            return ConversationHandler.END
        text = message.text.strip()
        # 延期 is checked whole by split_extension (a bare day count is short, not a reason).
        if pending["action"] != "extend" and len(text) < MIN_REASON_CHARS:
            await reply_html(update, context, texts.REASON_TOO_SHORT)
            return REASON
        try:
            view = await asyncio.to_thread(self.deps.cases.get, pending["ticket"])
            actor = self._actor(user.id, user.full_name, view)
        except VetbotError as exc:
            user_data(context).pop("case_action", None)
            await reply_html(update, context, esc(exc.user_message))
            return ConversationHandler.END
        done = await self._perform(
            update, context, pending["action"], pending["ticket"], actor, text, pending.get("message_id")
        )
        if not done:
            return REASON
        user_data(context).pop("case_action", None)
        return ConversationHandler.END

    async def _perform(
        self,
        update: Update,
        context: Context,
        action: str,
        ticket: str,
        actor: Actor,
        text: str | None,
        message_id: int | None,
    ) -> bool:
        """Run the action through CaseService; False when the text must be corrected."""
        cases = self.deps.cases
        try:
            if action == "accept":
                view = await asyncio.to_thread(cases.accept, ticket, actor)
            elif action == "reject":
                view = await asyncio.to_thread(cases.reject, ticket, actor, text or "")
            elif action == "transfer":
                to, note = split_transfer(text or "")
                view = await asyncio.to_thread(cases.transfer, ticket, actor, to, note)
            elif action == "reply":
                view = await asyncio.to_thread(cases.reply, ticket, actor, text or "")
            elif action == "extend":
                days, reason = split_extension(text or "")
                view = await asyncio.to_thread(cases.extend, ticket, actor, days, reason)
            else:
                view = await asyncio.to_thread(cases.conclude, ticket, actor, text or "")
        except InvalidInputError as exc:
            await reply_html(update, context, esc(exc.user_message))
            return False
        except VetbotError as exc:
            await reply_html(update, context, esc(exc.user_message))
            return True
        label = CASE_ACTION_LABELS[action]
        # The confirmation carries the next possible actions (after 受理: 办结 and the rest).
        await reply_html(
            update,
            context,
            esc(texts.ACTION_DONE.format(label=label, ticket=view.ticket, status=view.status)),
            case_action_markup(view.ticket, offered_actions(view.status, view.extended)),
        )
        await self._refresh_buttons(update, context, message_id, view)
        return True

    async def _refresh_buttons(
        self, update: Update, context: Context, message_id: int | None, view: CaseView
    ) -> None:
        """Show only the actions still possible on the original case notice."""
        chat = update.effective_chat
        if message_id is None or chat is None:
            return
        try:
            await context.bot.edit_message_reply_markup(
                chat_id=chat.id,
                message_id=message_id,
                reply_markup=case_action_markup(view.ticket, offered_actions(view.status, view.extended)),
            )
        except TelegramError:
            logger.debug("could not refresh case buttons", exc_info=True)

    async def abandon(self, update: Update, context: Context) -> int:
        """Another command (e.g. /start) while a reply text is expected: drop the pending action."""
        user_data(context).pop("case_action", None)
        return ConversationHandler.END

    async def cancel(self, update: Update, context: Context) -> int:
        """/cancel while a reply text is expected."""
        user_data(context).pop("case_action", None)
        await reply_html(update, context, texts.ACTION_CANCELLED)
        return ConversationHandler.END


def split_extension(text: str) -> tuple[int, str]:
    """ "15 需协调公交集团" → (15, "需协调公交集团").

    Raises ``InvalidInputError`` (a message that asks again, so the dialog stays in the extend
    step) without a leading day count, for a count outside 1..30 or without a reason: the
    service's own check (``complaints.lifecycle.check_extension``) with the retry wording."""
    match = re.match(r"\s*(\d{1,4})\s*天?[\s，,；;：:]*(.*)", text, re.S)
    if match is None:
        raise InvalidInputError("extension without days", user_message=texts.EXTEND_NO_DAYS)
    days, reason = int(match.group(1)), match.group(2).strip()
    try:
        check_extension(False, days, reason)  # whether already extended is the service's to say
    except CaseError as exc:
        raise InvalidInputError(str(exc), user_message=f"{exc.user_message}{texts.EXTEND_RETRY}") from exc
    return days, reason


def split_transfer(text: str) -> tuple[str, str | None]:
    """ "单位；说明" → (单位, 说明); without a separator the whole text names the unit."""
    parts = re.split(r"[；;\n]", text.strip(), maxsplit=1)
    to = parts[0].strip()
    note = parts[1].strip() if len(parts) > 1 else None
    return to, note or None
