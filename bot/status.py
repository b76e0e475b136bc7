"""/status (a complainant's cases and their progress) and the satisfaction rating of a concluded case.

/status is a small persistent conversation: a ticket the chat did not file (a walk-in
receipt, a case a relative filed) is shown after the person replies with the last four digits
of the phone recorded on it (``complaints.followers``), and the chat then follows the case. An
unknown ticket and a case without a phone get the same question and the same refusal, so the
replies never tell which tickets exist.
"""

from __future__ import annotations

import asyncio
import logging
import time

from telegram import Update
from telegram.ext import ConversationHandler

from bot import texts
from bot.common import TICKET_RE, BotDeps, Context, answer_callback, drop_buttons, reply_html, user_data
from bot.formatting import esc, format_dt
from bot.keyboards import RATINGS, menu_markup, rating_markup
from complaints.followers import TooManyAttemptsError
from complaints.lifecycle import INTERNAL_ACTIONS
from complaints.merging import merged_target
from complaints.types import CaseEventView, CaseView
from vetbot.errors import InvalidInputError, PermissionDeniedError, VetbotError

logger = logging.getLogger(__name__)

STATUS_LIMIT = 5
VERIFY = "s_verify"  # waiting for the phone's last four digits
# user_data key of the ticket being verified and when it was asked (epoch seconds).
PENDING_KEY = "status_verify"
VERIFY_TTL_S = 600.0
# Events the complainant is shown with their note (others only by name).
# The transfer note is meant for the receiving unit; the complainant sees "已转交X办理" instead.
_PUBLIC_NOTES = {"accept", "reject", "conclude", "reply", "extend", "rate", "merge"}


class CaseStatusHandlers:
    """PTB callbacks of /status (and 查询进度, a ticket number typed alone), of the phone-digit
    check for a case the chat did not file, and of the 满意 / 基本满意 / 不满意 buttons."""

    def __init__(self, deps: BotDeps) -> None:
        self.deps = deps

    @staticmethod
    def _ticket_asked(update: Update, context: Context) -> str | None:
        args = context.args or []
        if args:
            return args[0]  # a malformed one is refused with the ticket format
        message = update.effective_message
        match = TICKET_RE.search(message.text or "") if message is not None else None
        return f"TS-{match.group(1)}-{match.group(2)}" if match else None

    async def status(self, update: Update, context: Context) -> str | int:
        """/status [ticket], 查询进度 or a ticket in a short message: the chat's cases and their
        progress; a ticket the chat did not file asks for the phone's last four digits."""
        chat = update.effective_chat
        assert chat is not None
        user_data(context).pop(PENDING_KEY, None)
        ticket = self._ticket_asked(update, context)
        try:
            if ticket is not None:
                access = await asyncio.to_thread(self.deps.following.access, ticket, chat.id)
                if access.view is not None:
                    await self._send_case(update, context, access.view, full=True)
                    return ConversationHandler.END
                user_data(context)[PENDING_KEY] = {"ticket": access.ticket, "at": time.time()}
                if access.paused is not None:
                    # Said before any digits are asked (no guess gets through now); digits typed
                    # anyway get the same answer rather than a policy reply.
                    await reply_html(update, context, esc(access.paused))
                else:
                    asked = texts.STATUS_ASK_DIGITS.format(ticket=esc(access.ticket))
                    await reply_html(update, context, asked)
                return VERIFY
            views = await asyncio.to_thread(self.deps.following.list_for_chat, chat.id)
        except VetbotError as exc:
            await reply_html(update, context, esc(exc.user_message))
            return ConversationHandler.END
        if not views:
            await reply_html(update, context, texts.NO_CASES, menu_markup())
            return ConversationHandler.END
        shown = views[:STATUS_LIMIT]
        more = (
            f"（共 {len(views)} 件，显示最近 {len(shown)} 件；发送 /status 受理编号 查看某一件）"
            if len(views) > len(shown)
            else ""
        )
        await reply_html(update, context, f"<b>您的投诉办理进度</b>{esc(more)}")
        for item in shown:
            await self._send_case(update, context, item, full=False)
        return ConversationHandler.END

    async def on_digits(self, update: Update, context: Context) -> str | int:
        """The reply to 「请回复手机号后四位」: link the chat and show the case, or say why not."""
        chat, message = update.effective_chat, update.effective_message
        assert chat is not None and message is not None
        pending = user_data(context).get(PENDING_KEY)
        if not isinstance(pending, dict) or time.time() - float(pending.get("at", 0)) > VERIFY_TTL_S:
            user_data(context).pop(PENDING_KEY, None)
            await reply_html(update, context, texts.STATUS_VERIFY_EXPIRED)
            return ConversationHandler.END
        ticket = str(pending.get("ticket", ""))
        try:
            view = await asyncio.to_thread(self.deps.following.verify, ticket, chat.id, message.text or "")
        except (TooManyAttemptsError, InvalidInputError, PermissionDeniedError) as exc:
            # Wrong or malformed digits: the person may try again until the limit is reached. The
            # guess that reaches it says so (AttemptsUsedUpError) and keeps the check open, so
            # digits typed next are told the pause again instead of going to the policy answerer.
            retry = not isinstance(exc, TooManyAttemptsError)
            if not retry:
                user_data(context).pop(PENDING_KEY, None)
            await reply_html(update, context, esc(exc.user_message))
            return VERIFY if retry else ConversationHandler.END
        except VetbotError as exc:
            user_data(context).pop(PENDING_KEY, None)
            await reply_html(update, context, esc(exc.user_message))
            return ConversationHandler.END
        user_data(context).pop(PENDING_KEY, None)
        await reply_html(update, context, texts.STATUS_LINKED.format(ticket=esc(view.ticket)))
        await self._send_case(update, context, view, full=True)
        return ConversationHandler.END

    async def cancel(self, update: Update, context: Context) -> int:
        """/cancel while the phone digits are asked."""
        user_data(context).pop(PENDING_KEY, None)
        await reply_html(update, context, texts.STATUS_VERIFY_CANCELLED, menu_markup())
        return ConversationHandler.END

    async def _send_case(self, update: Update, context: Context, view: CaseView, *, full: bool) -> None:
        lines = [
            f"<b>{esc(view.ticket)}</b>｜{esc(view.theme_label)}",
            f"状态：<b>{esc(view.status)}</b>" + ("（已超期）" if view.overdue else ""),
            f"承办单位：{esc(view.assigned_unit or '待分派')}",
            f"提交时间：{esc(format_dt(view.created_at))}",
        ]
        if view.status == "待受理":
            lines.append(f"受理期限：{esc(format_dt(view.accept_due))}（15 日内决定是否受理）")
        elif view.conclude_due is not None and view.status in ("已受理", "办理中"):
            lines.append(
                f"办结期限：{esc(format_dt(view.conclude_due))}" + ("（已延期）" if view.extended else "")
            )
        if view.transferred_to:
            lines.append(f"转办单位：{esc(view.transferred_to)}")
        if view.result and view.status in ("已办结", "不予受理", "已转办"):
            lines.append(f"办理结果：{esc(view.result)}")
        if view.rating:
            lines.append(f"您的评价：{esc(view.rating)}")
        if view.merged_into:
            # A merged duplicate: its complainant follows the surviving case, which they have not
            # proved the phone of, so its result keeps phone numbers masked too.
            target = await asyncio.to_thread(merged_target, self.deps.cases, view)
            lines.append(f"已合并至：<b>{esc(view.merged_into)}</b>（同一事项合并办理）")
            if target is not None:
                lines.append(f"合并后案件状态：<b>{esc(target.status)}</b>")
                if target.result and target.status in ("已办结", "不予受理", "已转办"):
                    lines.append(f"合并后办理结果：{esc(target.result)}")
        # What the case desk marks 内部，信访人不可见 is not the complainant's to read.
        public = [e for e in view.events if e.action not in INTERNAL_ACTIONS]
        events = public if full else public[-1:]
        if events:
            lines.append("办理记录：" if full else "最新进展：")
            lines.extend(self._event_line(e) for e in (events[-10:] if full else events))
        markup = None
        if view.status == "已办结" and not view.rating:
            markup = rating_markup(view.ticket)
            lines.append(texts.RATE_PROMPT)
        await reply_html(update, context, "\n".join(lines), markup)

    @staticmethod
    def _event_line(event: CaseEventView) -> str:
        line = f"· {format_dt(event.at)} {event.action_label}"
        if event.to_status and event.to_status != event.from_status:
            line += f"（{event.to_status}）"
        if event.note and event.action in _PUBLIC_NOTES:
            note = event.note if len(event.note) <= 120 else event.note[:120] + "…"
            line += f"：{note}"
        return esc(line)

    async def on_rate(self, update: Update, context: Context) -> None:
        """满意 / 基本满意 / 不满意 after a case is concluded."""
        query = update.callback_query
        chat = update.effective_chat
        assert query is not None and query.data and chat is not None
        _, ticket, index_s = query.data.split(":", 2)
        rating = RATINGS[int(index_s)] if index_s.isdigit() and int(index_s) < len(RATINGS) else ""
        try:
            await asyncio.to_thread(self.deps.cases.rate, ticket, chat.id, rating)
        except VetbotError as exc:
            await answer_callback(update, exc.user_message, alert=True)
            await drop_buttons(update)
            return
        await answer_callback(update, texts.RATE_THANKS.format(rating=rating))
        await drop_buttons(update)
        await reply_html(
            update, context, esc(texts.RATE_THANKS.format(rating=rating)) + "我们会持续改进工作。"
        )
