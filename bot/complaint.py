"""Complaint filing (a persistent ConversationHandler); /status and rating are in ``bot.status``.

Steps: theme (inline buttons, preselected by the classifier) → region (preselected when the
text names a place) → details (text, photos kept as attachment metadata) → contact phone
(optional) → summary (``bot.complaint_draft.summary_html``) with 确认提交 / 修改 / 取消.
The draft lives in ``user_data["complaint"]`` (JSON only), so with the database persistence a
restart resumes at the same step.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from telegram import Update
from telegram.ext import ConversationHandler

from bot import texts
from bot.common import BotDeps, Context, answer_callback, drop_buttons, reply_html, user_data
from bot.complaint_draft import (
    fit_text,
    full_text,
    named_region,
    region_options,
    stray_text_kind,
    summary_html,
)
from bot.formatting import esc, format_dt, normalise_phone
from bot.keyboards import inline, menu_markup, rows_of
from complaints.themes import THEMES
from complaints.types import ComplaintIntake
from complaints.validation import MAX_TEXT_CHARS, check_complaint_substance
from vetbot.errors import InvalidInputError, VetbotError
from vetbot.regions import validate_region

logger = logging.getLogger(__name__)

THEME, REGION, DETAILS, PHONE, CONFIRM = "c_theme", "c_region", "c_details", "c_phone", "c_confirm"
STATES = (THEME, REGION, DETAILS, PHONE, CONFIRM)

# The case text holds at most complaints.validation.MAX_TEXT_CHARS; a description beyond this
# budget is kept whole: the part that fits is the case text, the rest stays as the user's
# Telegram message, referenced as an attachment (like photos, whose bytes stay on Telegram).
MAX_CASE_TEXT_CHARS = MAX_TEXT_CHARS - 200
MAX_PHOTOS = 10
NO_MORE = {"无", "无补充", "没有", "没有了", "无需补充", "不用了"}


class ComplaintFlow:
    """PTB callbacks of the complaint conversation."""

    def __init__(self, deps: BotDeps) -> None:
        self.deps = deps

    # ---------------------------------------------------------------- helpers
    @staticmethod
    def _draft(context: Context) -> dict[str, Any] | None:
        draft = user_data(context).get("complaint")
        return draft if isinstance(draft, dict) else None

    async def _lost(self, update: Update, context: Context) -> int:
        await answer_callback(update)
        await reply_html(update, context, texts.SESSION_LOST, menu_markup())
        return ConversationHandler.END

    # ---------------------------------------------------------------- entry
    async def begin(
        self,
        update: Update,
        context: Context,
        *,
        text: str = "",
        theme: str | None = None,
        detected: bool = False,
    ) -> str:
        """Start a new draft and ask for the theme (used by every entry point)."""
        themes = THEMES
        suggested = theme if theme in themes else None
        user_data(context)["complaint"] = {
            "text": text.strip(),
            "details": "",
            "notes": [],
            "theme": suggested,
            "suggested": suggested,
            "region": None,
            "phone": None,
            "attachments": [],
            "editing": False,
        }
        intro = texts.COMPLAINT_DETECTED if detected else texts.COMPLAINT_START
        await reply_html(update, context, intro)
        await self._ask_theme(update, context)
        return THEME

    async def cmd_complain(self, update: Update, context: Context) -> str:
        """/complain or the 我要投诉 button (also restarts a draft in progress)."""
        return await self.begin(update, context)

    async def cb_complain(self, update: Update, context: Context) -> str:
        """The 「我要投诉」 button under an answer: prefill with that question when known."""
        query = update.callback_query
        assert query is not None and query.data
        await answer_callback(update)
        log_id = query.data.split(":", 1)[1]
        data = user_data(context)
        last = data.get("last_question") or {}
        if str(last.get("id")) == log_id and log_id != "0":
            return await self.begin(update, context, text=last.get("text", ""), theme=last.get("theme"))
        pending = data.pop("pending_text", None)  # a long message kept by the question handler
        if log_id == "0" and isinstance(pending, str):
            return await self.begin(update, context, text=pending)
        return await self.begin(update, context)

    # ---------------------------------------------------------------- theme
    async def _ask_theme(self, update: Update, context: Context, before: str = "") -> None:
        draft = self._draft(context) or {}
        themes = THEMES
        chosen = draft.get("theme")
        buttons = [
            (("✅ " if code == chosen else "") + label, f"th:{code}") for code, label in themes.items()
        ]
        rows = rows_of(buttons, 2)
        rows.append([("取消投诉", "cf:cancel")])
        hint = texts.ASK_THEME_HINT.format(label=esc(themes[chosen])) if chosen in themes else ""
        await reply_html(update, context, before + texts.ASK_THEME.format(hint=hint), inline(rows))

    async def on_theme(self, update: Update, context: Context) -> str | int:
        """A theme button."""
        query = update.callback_query
        assert query is not None and query.data
        draft = self._draft(context)
        if draft is None:
            return await self._lost(update, context)
        code = query.data.split(":", 1)[1]
        if code not in THEMES:
            await answer_callback(update, "未知的类别，请重新选择。")
            return THEME
        draft["theme"] = code
        await answer_callback(update, f"已选择：{THEMES[code]}")
        await drop_buttons(update)
        return await self._next(update, context, after=THEME)

    # ---------------------------------------------------------------- region
    async def _ask_region(self, update: Update, context: Context) -> None:
        draft = self._draft(context) or {}
        named = named_region(draft)
        own = user_data(context).get("region")
        regions = await asyncio.to_thread(self.deps.knowledge.regions)
        options = region_options(regions, named, own)
        draft["region_options"] = options
        chosen = draft.get("region") or named

        def label(region: str) -> str:
            mark = "✅ " if region == chosen else "📍 " if region == own else ""
            return mark + region

        rows = rows_of([(label(r), f"rg:{i}") for i, r in enumerate(options)], 3)
        hint = texts.ASK_REGION_HINT.format(region=esc(chosen)) if chosen else ""
        await reply_html(update, context, texts.ASK_REGION + hint, inline(rows) if rows else None)

    async def on_region_button(self, update: Update, context: Context) -> str | int:
        """A region button."""
        query = update.callback_query
        assert query is not None and query.data
        draft = self._draft(context)
        if draft is None:
            return await self._lost(update, context)
        options = draft.get("region_options") or []
        index = int(query.data.split(":", 1)[1])
        if not 0 <= index < len(options):
            await answer_callback(update, "请重新选择地区。")
            return REGION
        draft["region"] = options[index]
        draft.pop("awaiting_region", None)
        await answer_callback(update, f"地区：{options[index]}")
        await drop_buttons(update)
        return await self._next(update, context, after=REGION)

    async def on_region_text(self, update: Update, context: Context) -> str | int:
        """A typed region name."""
        message = update.effective_message
        assert message is not None and message.text
        draft = self._draft(context)
        if draft is None:
            return await self._lost(update, context)
        text = "".join(message.text.split())
        if len(text) > 20:  # more to say, not a place: kept in the complaint
            self._keep(update, draft, message.text.strip())
            await reply_html(update, context, texts.TEXT_KEPT + texts.ASK_REGION)
            return REGION
        if len(text) < 2:
            await reply_html(update, context, texts.REGION_BAD)
            return REGION
        try:  # the API's check: a case's region is a place routing can match (济南 → 济南市)
            draft["region"] = validate_region(text)
        except InvalidInputError as exc:
            await reply_html(update, context, esc(exc.user_message) + texts.REGION_RETRY)
            return REGION
        return await self._next(update, context, after=REGION)

    # ---------------------------------------------------------------- details
    async def _ask_details(self, update: Update, context: Context) -> None:
        draft = self._draft(context) or {}
        prompt = texts.ASK_DETAILS
        if draft.get("text") and not draft.get("editing"):
            prompt += texts.ASK_DETAILS_HAVE_TEXT.format(text=esc(draft["text"]))
        await reply_html(update, context, prompt)

    async def on_details(self, update: Update, context: Context) -> str | int:
        """The complaint's details (the initial message is kept; "无补充" accepts it as is)."""
        message = update.effective_message
        assert message is not None and message.text
        draft = self._draft(context)
        if draft is None:
            return await self._lost(update, context)
        if draft.pop("awaiting_region", False):
            return await self.on_region_text(update, context)
        text = message.text.strip()
        if draft.get("editing"):
            draft["text"], draft["details"] = "", ""
        if text in NO_MORE and draft.get("text"):
            text = ""
        typed = "\n".join(p for p in (draft.get("text"), text) if p)
        try:  # typed text only: photo captions do not count toward the minimum
            check_complaint_substance(typed)
        except InvalidInputError as exc:
            if text:  # kept: the next message adds to it
                draft["text"] = typed
            await reply_html(update, context, exc.user_message)
            return DETAILS
        draft["details"] = self._fit(update, draft, text)
        return await self._next(update, context, after=DETAILS)

    def _keep(self, update: Update, draft: dict[str, Any], text: str) -> None:
        """Add text typed at another step to the complaint (what does not fit: as attachment)."""
        kept = self._fit(update, draft, text, replacing_details=False)
        # Once there are details it follows them: the case reads in the order it was written.
        key = "details" if draft.get("details") else "text"
        draft[key] = "\n".join(p for p in (draft.get(key), kept) if p)

    @staticmethod
    def _fit(update: Update, draft: dict[str, Any], text: str, *, replacing_details: bool = True) -> str:
        message, chat = update.effective_message, update.effective_chat
        ref = f"tg-msg:{chat.id if chat else 0}:{message.message_id if message else 0}"
        return fit_text(draft, text, ref, MAX_CASE_TEXT_CHARS, replacing_details=replacing_details)

    async def theme_text(self, update: Update, context: Context) -> str | int | None:
        """Text at the category step: a detail is kept (``keep_text``); emoji, gibberish or a
        question is not, and the category is asked again with its buttons."""
        said = await self._stray(update, context)
        if said is not None:
            await self._ask_theme(update, context, before=said)
        return None

    async def keep_text(self, update: Update, context: Context) -> str | int | None:
        """Text at the summary, where a button press is expected (see ``theme_text``)."""
        said = await self._stray(update, context)
        if said is not None:
            await reply_html(update, context, said + texts.USE_BUTTONS)
        return None

    async def _stray(self, update: Update, context: Context) -> str | None:
        """Keep a complaint detail typed where a button is expected (and say so); for anything
        else (``stray_text_kind``) return what to say before the step is asked again."""
        message, draft = update.effective_message, self._draft(context)
        if message is None or not message.text or draft is None:
            await reply_html(update, context, texts.USE_BUTTONS)
            return None
        kind = stray_text_kind(message.text)
        if kind == "detail":
            self._keep(update, draft, message.text.strip())
            await reply_html(update, context, texts.TEXT_KEPT + texts.USE_BUTTONS)
            return None
        return texts.STRAY_QUESTION if kind == "question" else texts.STRAY_NOISE

    async def on_contact(self, update: Update, context: Context) -> str | int:
        """A shared Telegram contact at the phone step: its number is the contact phone."""
        message = update.effective_message
        draft = self._draft(context)
        if draft is None:
            return await self._lost(update, context)
        contact = message.contact if message is not None else None
        phone = normalise_phone(contact.phone_number) if contact is not None else None
        if phone is None:
            await reply_html(update, context, texts.PHONE_BAD, inline([[("跳过", "ph:skip")]]))
            return PHONE
        draft["phone"] = phone
        return await self._next(update, context, after=PHONE)

    async def region_in_flow(self, update: Update, context: Context) -> str | int:
        """/region while filing: the complaint's own region step (back to where it was after)."""
        draft = self._draft(context)
        if draft is None:
            return await self._lost(update, context)
        draft["editing"] = bool(draft.get("details"))
        draft["awaiting_region"] = True  # a typed answer at any step is the region
        await self._ask_region(update, context)
        return REGION

    async def on_photo(self, update: Update, context: Context) -> None:
        """A photo during filing: keep its file_id (the bytes stay on Telegram)."""
        message = update.effective_message
        draft = self._draft(context)
        if message is None or not message.photo or draft is None:
            return None
        attachments: list[dict[str, Any]] = draft.setdefault("attachments", [])
        if len(attachments) >= MAX_PHOTOS:
            await reply_html(update, context, texts.TOO_MANY_PHOTOS)
            return None
        best = message.photo[-1]  # Telegram lists sizes ascending
        attachments.append(
            {
                "file_id": best.file_id,
                "kind": "photo",
                "mime": "image/jpeg",
                "size": best.file_size,
                "name": None,
            }
        )
        if message.caption:
            draft.setdefault("notes", []).append(message.caption.strip())
        await reply_html(update, context, texts.PHOTO_SAVED.format(n=len(attachments)))
        return None  # stay in the current step

    # ---------------------------------------------------------------- phone
    async def _ask_phone(self, update: Update, context: Context) -> None:
        await reply_html(update, context, texts.ASK_PHONE, inline([[("跳过", "ph:skip")]]))

    async def on_phone(self, update: Update, context: Context) -> str | int:
        """A typed phone number (validated as a mainland mobile)."""
        message = update.effective_message
        assert message is not None and message.text
        draft = self._draft(context)
        if draft is None:
            return await self._lost(update, context)
        if draft.pop("awaiting_region", False):
            return await self.on_region_text(update, context)
        if message.text.strip() == "跳过":
            draft["phone"] = None
            return await self._next(update, context, after=PHONE)
        # "张三 13812345678": the name is asked for here, never taken from the Telegram profile.
        match = re.search(r"[+\d][\d\s\-()（）]{9,}\d", message.text)
        phone = normalise_phone(match.group(0)) if match else None
        if phone is not None and match is not None:
            name = (message.text[: match.start()] + message.text[match.end() :]).strip(" ，,、：:")
            draft["name"] = name[:32] or None
        if phone is None:
            typed = message.text.strip()
            digits = sum(ch.isdigit() for ch in typed)
            if digits * 2 < len("".join(typed.split())):
                # Not a mistyped number but more to say: kept in the complaint.
                self._keep(update, draft, typed)
                await reply_html(update, context, texts.TEXT_KEPT + texts.ASK_PHONE_AGAIN,
                                 inline([[("跳过", "ph:skip")]]))
                return PHONE
            await reply_html(update, context, texts.PHONE_BAD, inline([[("跳过", "ph:skip")]]))
            return PHONE
        draft["phone"] = phone
        return await self._next(update, context, after=PHONE)

    async def on_phone_skip(self, update: Update, context: Context) -> str | int:
        """「跳过」 the phone number."""
        draft = self._draft(context)
        if draft is None:
            return await self._lost(update, context)
        draft["phone"] = None
        await answer_callback(update)
        await drop_buttons(update)
        return await self._next(update, context, after=PHONE)

    # ---------------------------------------------------------------- flow control
    async def _next(self, update: Update, context: Context, *, after: str) -> str:
        """Ask for the step after ``after`` (or go back to the summary when editing)."""
        draft = self._draft(context) or {}
        if draft.get("editing") or after == PHONE:
            draft["editing"] = False
            await self._show_summary(update, context)
            return CONFIRM
        if after == THEME:
            await self._ask_region(update, context)
            return REGION
        if after == REGION and not draft.get("theme"):
            await self._ask_theme(update, context)
            return THEME
        if after == REGION:
            await self._ask_details(update, context)
            return DETAILS
        await self._ask_phone(update, context)
        return PHONE

    async def _show_summary(self, update: Update, context: Context) -> None:
        rows = [[("✅ 确认提交", "cf:ok")], [("✏️ 修改", "cf:edit"), ("✖️ 取消", "cf:cancel")]]
        await reply_html(update, context, summary_html(self._draft(context) or {}), inline(rows))

    async def on_confirm(self, update: Update, context: Context) -> str | int:
        """确认提交 / 修改 / 取消 on the summary (取消 also works from the theme step)."""
        query = update.callback_query
        assert query is not None and query.data
        action = query.data.split(":", 1)[1]
        draft = self._draft(context)
        if action == "cancel":
            await answer_callback(update)
            await drop_buttons(update)
            return await self.cancel(update, context)
        if draft is None:
            return await self._lost(update, context)
        if action == "edit":
            await answer_callback(update)
            await drop_buttons(update)
            rows = [
                [("类别", "ed:theme"), ("地区", "ed:region")],
                [("内容", "ed:details"), ("电话", "ed:phone")],
                [("返回核对", "ed:back")],
            ]
            await reply_html(update, context, texts.EDIT_WHICH, inline(rows))
            return CONFIRM
        if action != "ok":
            await answer_callback(update)
            return CONFIRM
        await answer_callback(update, "正在提交…")
        await drop_buttons(update)
        return await self._submit(update, context, draft)

    async def on_edit(self, update: Update, context: Context) -> str | int:
        """Which part of the draft to change."""
        query = update.callback_query
        assert query is not None and query.data
        draft = self._draft(context)
        if draft is None:
            return await self._lost(update, context)
        part = query.data.split(":", 1)[1]
        await answer_callback(update)
        await drop_buttons(update)
        if part == "back":
            await self._show_summary(update, context)
            return CONFIRM
        draft["editing"] = True
        if part == "theme":
            await self._ask_theme(update, context)
            return THEME
        if part == "region":
            await self._ask_region(update, context)
            return REGION
        if part == "details":
            await self._ask_details(update, context)
            return DETAILS
        await self._ask_phone(update, context)
        return PHONE

    async def _submit(self, update: Update, context: Context, draft: dict[str, Any]) -> str | int:
        user = update.effective_user
        chat = update.effective_chat
        assert user is not None and chat is not None
        intake = ComplaintIntake(
            text=full_text(draft),
            channel="telegram",
            complainant_chat_id=chat.id,
            complainant_name=draft.get("name"),
            complainant_phone=draft.get("phone"),
            region=draft.get("region"),
            theme=draft.get("theme"),
            attachments=list(draft.get("attachments", [])),
        )
        try:
            view = await asyncio.to_thread(self.deps.cases.intake, intake)
        except VetbotError as exc:
            logger.warning("complaint intake failed: %s", exc)
            rows = [[("✅ 重新提交", "cf:ok")], [("✏️ 修改", "cf:edit"), ("✖️ 取消", "cf:cancel")]]
            await reply_html(update, context, esc(exc.user_message), inline(rows))
            return CONFIRM
        user_data(context).pop("complaint", None)
        photos = [a for a in draft.get("attachments", []) if a.get("kind") == "photo"]
        if self.deps.photos is not None and photos:
            self.deps.photos.start_fetch(view.ticket)
        await reply_html(
            update,
            context,
            texts.SUBMITTED.format(
                ticket=esc(view.ticket),
                unit=esc(view.assigned_unit or "待分派"),
                due=esc(format_dt(view.accept_due)),
            ),
            menu_markup(),
        )
        return ConversationHandler.END

    # ---------------------------------------------------------------- exits
    async def cancel(self, update: Update, context: Context) -> int:
        """/cancel (or 取消) at any step."""
        user_data(context).pop("complaint", None)
        await reply_html(update, context, texts.CANCELLED, menu_markup())
        return ConversationHandler.END

    async def menu_during_filing(self, update: Update, context: Context) -> None:
        """A topic/region menu button while filing: finish or cancel first."""
        await reply_html(update, context, "您正在提交投诉，请先完成当前步骤，或发送 /cancel 取消后再操作。")
        return None
