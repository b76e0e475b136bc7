"""/status (a complainant's cases and their progress) and the satisfaction rating of a concluded case."""

from __future__ import annotations

import asyncio
import logging

from telegram import Update

from bot import texts
from bot.common import BotDeps, Context, answer_callback, drop_buttons, reply_html
from bot.formatting import esc, format_dt
from bot.keyboards import RATINGS, menu_markup, rating_markup
from complaints.merging import merged_target
from complaints.types import CaseEventView, CaseView
from vetbot.errors import VetbotError

logger = logging.getLogger(__name__)

STATUS_LIMIT = 5
# Events the complainant is shown with their note (others only by name).
# The transfer note is meant for the receiving unit; the complainant sees "已转交X办理" instead.
_PUBLIC_NOTES = {"accept", "reject", "conclude", "reply", "extend", "rate", "merge"}


class CaseStatusHandlers:
    """PTB callbacks of /status (and 查询进度) and of the 满意 / 基本满意 / 不满意 buttons."""

    def __init__(self, deps: BotDeps) -> None:
        self.deps = deps

    async def status(self, update: Update, context: Context) -> None:
        """/status [ticket] (and 查询进度): the user's cases and their progress."""
        chat = update.effective_chat
        assert chat is not None
        args = context.args or []
        try:
            if args:
                view = await asyncio.to_thread(self.deps.cases.get_for_complainant, args[0], chat.id)
                await self._send_case(update, context, view, full=True)
                return
            views = await asyncio.to_thread(self.deps.cases.list_for_complainant, chat.id)
        except VetbotError as exc:
            await reply_html(update, context, esc(exc.user_message))
            return
        if not views:
            await reply_html(update, context, texts.NO_CASES, menu_markup())
            return
        shown = views[:STATUS_LIMIT]
        more = (
            f"（共 {len(views)} 件，显示最近 {len(shown)} 件；发送 /status 受理编号 查看某一件）"
            if len(views) > len(shown)
            else ""
        )
        await reply_html(update, context, f"<b>您的投诉办理进度</b>{esc(more)}")
        for item in shown:
            try:
                full = await asyncio.to_thread(self.deps.cases.get_for_complainant, item.ticket, chat.id)
            except VetbotError:
                full = item
            await self._send_case(update, context, full, full=False)

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
            # A merged duplicate: its complainant follows the surviving case (masked).
            target = await asyncio.to_thread(merged_target, self.deps.cases, view)
            lines.append(f"已合并至：<b>{esc(view.merged_into)}</b>（同一事项合并办理）")
            if target is not None:
                lines.append(f"合并后案件状态：<b>{esc(target.status)}</b>")
                if target.result and target.status in ("已办结", "不予受理", "已转办"):
                    lines.append(f"合并后办理结果：{esc(target.result)}")
        events = view.events if full else view.events[-1:]
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
