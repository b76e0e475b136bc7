"""Building the python-telegram-bot Application: handlers, persistence, error handling.

``build_application`` takes the services as ports (KnowledgeService, CaseService, a session
factory) so tests inject fakes or real services on a temp database; ``create_bot_application``
builds everything from ``Settings`` (used by ``vetbot bot`` and by the web app's webhook mode).

Handler order matters (first match wins inside a group):

* group -1: private-chat and rate-limit guard (stops the update when limited);
* group 0: caseworker conversation, region conversation, status conversation (/status, a
  ticket number typed alone, the phone digits of a case the chat did not file), complaint
  conversation (its entry points include free text, which answers questions), then commands,
  buttons and the replies
  for photos, stickers/voice/video/documents and unknown commands.
"""

from __future__ import annotations

import logging
import traceback
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from telegram import BotCommand, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    BaseHandler,
    BasePersistence,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot import texts
from bot.casework import REASON, CaseworkHandlers
from bot.common import (
    MENU_TEXT,
    PASS_THROUGH_TEXT,
    STATUS_QUESTION,
    TEXT,
    TICKET_TEXT,
    BotDeps,
    Context,
    answer_callback,
    reply_html,
)
from bot.complaint import CONFIRM, DETAILS, PHONE, REGION, THEME, ComplaintFlow
from bot.formatting import esc
from bot.notifier import TelegramNotifier
from bot.persistence import DatabasePersistence
from bot.photos import PhotoFetcher, file_base_url
from bot.qa import REGION_STATE, QAHandlers
from bot.status import VERIFY, CaseStatusHandlers
from complaints.attachments import AttachmentStore
from complaints.classifier import ComplaintClassifier
from complaints.followers import DIGITS_REPLY, CaseFollowing
from complaints.routing import RoutingTable
from complaints.service import CaseService
from ingest.bootstrap import open_knowledge_service
from knowledge.service import KnowledgeService
from vetbot.db import create_db_engine, make_session_factory
from vetbot.errors import ConfigurationError, VetbotError
from vetbot.privacy import mask_text
from vetbot.ratelimit_db import limiter_for

if TYPE_CHECKING:
    from sqlalchemy.orm import Session
    from telegram import Bot

    from vetbot.settings import Settings

logger = logging.getLogger(__name__)

NO_TOKEN = "未配置 Telegram 机器人令牌（VETBOT_TELEGRAM_TOKEN）。"

COMMANDS = [
    ("start", "开始使用、功能与隐私说明"),
    ("help", "使用帮助"),
    ("region", "设置所在地区"),
    ("complain", "提交投诉"),
    ("status", "查询投诉办理进度"),
    ("cancel", "取消当前操作"),
]

# Conversation names in the persistence (renaming one drops the stored states).
COMPLAINT_CONVERSATION = "complaint"
REGION_CONVERSATION = "region"
CASEWORK_CONVERSATION = "casework"
STATUS_CONVERSATION = "status"
# The reply to 「请回复手机号后四位」 (complaints.followers.DIGITS_REPLY: 「5678」「尾号是5678」).
DIGITS_TEXT = filters.Regex(DIGITS_REPLY)


class VetbotApplication(Application[Any, Any, Any, Any, Any, Any]):
    """Application that knows its dependencies and binds the notifier when it starts.

    ``start()`` is used by ``run_polling``, ``run_webhook`` and manual lifecycles (webhook
    lifespan, tests) alike, so the notifier and the command menu are set up in every mode.
    """

    vetbot: BotDeps | None = None

    async def start(self) -> None:
        """Start the application, then the notifier (flushing buffered notices) and the menu."""
        await super().start()
        deps = self.vetbot
        if deps is None:
            return
        if deps.notifier is not None:
            deps.notifier.start()
        if deps.photos is not None:
            # Photos of complaints filed while the bot was down (or whose fetch failed).
            deps.photos.start_sweep()
        try:
            await self.bot.set_my_commands([BotCommand(c, d) for c, d in COMMANDS])
        except TelegramError:
            logger.warning("could not set the bot's command menu", exc_info=True)

    async def stop(self) -> None:
        """Finish pending notices, then stop the application."""
        deps = self.vetbot
        if deps is not None and deps.photos is not None:
            await deps.photos.stop()
        if deps is not None and deps.notifier is not None:
            await deps.notifier.drain(timeout=5.0)
            await deps.notifier.stop()
        await super().stop()


def build_application(
    settings: Settings,
    *,
    knowledge: KnowledgeService,
    cases: CaseService,
    session_factory: Callable[[], Session],
    bot: Bot | None = None,
    notifier: TelegramNotifier | None = None,
    persistence: BasePersistence[Any, Any, Any] | None = None,
) -> Application[Any, Any, Any, Any, Any, Any]:
    """Build the bot: handlers over the injected services, DB persistence, error handler.

    ``bot`` replaces the default one (tests); otherwise ``settings.telegram_token`` is used
    with ``settings.telegram_base_url`` when set. ``notifier`` (default: ``cases.notifier``
    when it is a ``TelegramNotifier``) is attached so case notices go out through this bot.
    Raises ConfigurationError when no ``bot`` is given and no token is configured.
    """
    # httpx logs every request URL and PTB's bot logs its API URL, both containing the token
    # (and the bot's debug log has every message text): keep them quiet whatever the root level.
    for name in ("httpx", "httpcore", "telegram.ext.ExtBot", "telegram.Bot"):
        logging.getLogger(name).setLevel(logging.WARNING)

    builder = ApplicationBuilder().application_class(VetbotApplication)
    if bot is not None:
        builder = builder.bot(cast(Any, bot))
    else:
        if settings.telegram_token is None or not settings.telegram_token.get_secret_value():
            raise ConfigurationError("VETBOT_TELEGRAM_TOKEN is not set", user_message=NO_TOKEN)
        builder = builder.token(settings.telegram_token.get_secret_value())
        if settings.telegram_base_url:
            builder = builder.base_url(settings.telegram_base_url)
            # Photos are downloaded from the same server (getFile's file URL).
            builder = builder.base_file_url(file_base_url(settings.telegram_base_url) or "")
    builder = builder.persistence(persistence or DatabasePersistence(session_factory))
    application = builder.build()

    if notifier is None:
        candidate = getattr(cases, "notifier", None)
        notifier = candidate if isinstance(candidate, TelegramNotifier) else None
    if notifier is not None:
        notifier.attach(application, cases)
    deps = BotDeps(
        settings=settings,
        knowledge=knowledge,
        cases=cases,
        session_factory=session_factory,
        limiter=limiter_for(settings, "bot:messages", settings.rate_limit_per_minute, 60.0, session_factory),
        following=CaseFollowing.from_settings(settings, cases, session_factory),
        notifier=notifier,
        photos=PhotoFetcher(application.bot, cases, AttachmentStore(settings.data_dir / "case-files")),
    )
    assert isinstance(application, VetbotApplication)
    application.vetbot = deps
    _register(application, deps)
    return application


def _register(application: Application[Any, Any, Any, Any, Any, Any], deps: BotDeps) -> None:
    complaint = ComplaintFlow(deps)
    qa = QAHandlers(deps, complaint)
    casework = CaseworkHandlers(deps)
    status = CaseStatusHandlers(deps)
    token = deps.settings.telegram_token.get_secret_value() if deps.settings.telegram_token else ""

    application.add_handler(TypeHandler(Update, _make_guard(deps)), group=-1)

    with warnings.catch_warnings():
        # CallbackQueryHandlers in a per-chat conversation are intended: buttons belong to the
        # user's current step, not to one message.
        warnings.filterwarnings("ignore", category=PTBUserWarning, message=".*per_message.*")
        casework_conv = ConversationHandler(
            entry_points=[CallbackQueryHandler(casework.on_action, pattern=r"^ca:")],
            states={REASON: [MessageHandler(TEXT & ~MENU_TEXT, casework.on_reason)]},
            fallbacks=[
                CommandHandler("cancel", casework.cancel),
                CallbackQueryHandler(casework.on_action, pattern=r"^ca:"),
                CommandHandler("start", _chain(casework.abandon, qa.start)),
            ],
            name=CASEWORK_CONVERSATION,
            persistent=True,
        )
        region_conv = ConversationHandler(
            entry_points=[
                CommandHandler("region", qa.region_start),
                MessageHandler(filters.Text([texts.BTN_REGION]), qa.region_start),
            ],
            states={
                REGION_STATE: [
                    CallbackQueryHandler(qa.region_pick, pattern=r"^reg:"),
                    MessageHandler(MENU_TEXT, qa.region_menu),
                    MessageHandler(TEXT, qa.region_text),
                ],
            },
            fallbacks=[CommandHandler("cancel", qa.region_cancel), CommandHandler("start", qa.start)],
            name=REGION_CONVERSATION,
            persistent=True,
        )
        qa.region_conversation = region_conv
        status_entry: list[BaseHandler[Update, Any, Any]] = [
            CommandHandler("status", status.status),
            MessageHandler(filters.Text([texts.BTN_STATUS]), status.status),
            MessageHandler((STATUS_QUESTION | TICKET_TEXT) & TEXT, status.status),
        ]
        # Ahead of the complaint conversation, whose entry takes every other text as a question.
        status_conv = ConversationHandler(
            entry_points=status_entry,
            states={VERIFY: [MessageHandler(TEXT & DIGITS_TEXT, status.on_digits)]},
            fallbacks=[CommandHandler("cancel", status.cancel), *status_entry],
            name=STATUS_CONVERSATION,
            persistent=True,
        )
        step_text = TEXT & ~MENU_TEXT
        photo = MessageHandler(filters.UpdateType.MESSAGE & filters.PHOTO, complaint.on_photo)
        entry_points: list[BaseHandler[Update, Any, Any]] = [
            CommandHandler("complain", complaint.cmd_complain),
            MessageHandler(filters.Text([texts.BTN_COMPLAIN]), complaint.cmd_complain),
            CallbackQueryHandler(complaint.cb_complain, pattern=r"^cpl:"),
            MessageHandler(TEXT & ~PASS_THROUGH_TEXT, qa.on_text),
        ]
        states: dict[object, list[BaseHandler[Update, Any, Any]]] = {
            THEME: [
                CallbackQueryHandler(complaint.on_theme, pattern=r"^th:"),
                photo,
                MessageHandler(step_text, complaint.theme_text),
            ],
            REGION: [
                CallbackQueryHandler(complaint.on_region_button, pattern=r"^rg:"),
                photo,
                MessageHandler(step_text, complaint.on_region_text),
            ],
            DETAILS: [photo, MessageHandler(step_text, complaint.on_details)],
            PHONE: [
                CallbackQueryHandler(complaint.on_phone_skip, pattern=r"^ph:skip$"),
                MessageHandler(filters.UpdateType.MESSAGE & filters.CONTACT, complaint.on_contact),
                photo,
                MessageHandler(step_text, complaint.on_phone),
            ],
            CONFIRM: [
                CallbackQueryHandler(complaint.on_confirm, pattern=r"^cf:"),
                CallbackQueryHandler(complaint.on_edit, pattern=r"^ed:"),
                photo,
                MessageHandler(step_text, complaint.keep_text),
            ],
        }
        fallbacks: list[BaseHandler[Update, Any, Any]] = [
            CommandHandler("cancel", complaint.cancel),
            CommandHandler("complain", complaint.cmd_complain),
            CommandHandler("start", qa.start),
            MessageHandler(filters.Text([texts.BTN_COMPLAIN]), complaint.cmd_complain),
            CallbackQueryHandler(complaint.on_confirm, pattern=r"^cf:cancel$"),
            # /region while filing asks the complaint's region (bot.qa.QAHandlers.region_start).
            CallbackQueryHandler(complaint.on_region_button, pattern=r"^rg:"),
            MessageHandler(MENU_TEXT & ~PASS_THROUGH_TEXT, complaint.menu_during_filing),
        ]
        complaint_conv: ConversationHandler[Any] = ConversationHandler(
            entry_points=entry_points,
            states=states,
            fallbacks=fallbacks,
            name=COMPLAINT_CONVERSATION,
            persistent=True,
        )
    application.add_handler(casework_conv)
    application.add_handler(region_conv)
    application.add_handler(status_conv)
    application.add_handler(complaint_conv)

    application.add_handler(CommandHandler("start", qa.start))
    application.add_handler(CommandHandler("help", qa.help))
    application.add_handler(MessageHandler(filters.Text([texts.BTN_HELP]), qa.help))
    application.add_handler(CommandHandler("cancel", qa.nothing_to_cancel))
    application.add_handler(CommandHandler("case", casework.show_case))
    application.add_handler(CallbackQueryHandler(qa.on_feedback, pattern=r"^fb:\d+:(up|down)$"))
    application.add_handler(CallbackQueryHandler(qa.on_source, pattern=r"^src:\d+:\d+$"))
    application.add_handler(CallbackQueryHandler(qa.on_more_sources, pattern=r"^mr:\d+:[01]$"))
    application.add_handler(CallbackQueryHandler(status.on_rate, pattern=r"^rt:"))
    application.add_handler(CallbackQueryHandler(qa.on_stale_button))
    message = filters.UpdateType.MESSAGE
    application.add_handler(MessageHandler(message & filters.PHOTO, _reply(texts.PHOTO_OUTSIDE)))
    application.add_handler(MessageHandler(message & filters.COMMAND, _reply(texts.UNKNOWN_COMMAND)))
    application.add_handler(
        MessageHandler(message & ~filters.TEXT & ~filters.StatusUpdate.ALL, _reply(texts.NON_TEXT))
    )
    application.add_error_handler(_make_error_handler(token))


def _chain(*callbacks: Callable[[Update, Context], Any]) -> Callable[[Update, Context], Any]:
    """Run several callbacks in order; the conversation state is the last one's result."""

    async def handler(update: Update, context: Context) -> Any:
        result = None
        for callback in callbacks:
            result = await callback(update, context)
        return result

    return handler


def _reply(text: str) -> Callable[[Update, Context], Any]:
    async def handler(update: Update, context: Context) -> None:
        await reply_html(update, context, text)

    return handler


def _make_guard(deps: BotDeps) -> Callable[[Update, Context], Any]:
    async def guard(update: Update, context: Context) -> None:
        """Drop non-private chats; enforce the per-user sliding-window rate limit."""
        chat = update.effective_chat
        if chat is not None and chat.type != ChatType.PRIVATE:
            raise ApplicationHandlerStop
        user = update.effective_user
        if user is None or user.is_bot:
            raise ApplicationHandlerStop
        if deps.limiter.hit(user.id):
            return
        logger.info("rate limit hit by a user")
        if deps.limiter.should_warn(user.id):
            if update.callback_query is not None:
                await answer_callback(update, texts.RATE_LIMITED, alert=True)
            else:
                await reply_html(update, context, texts.RATE_LIMITED)
        else:
            await answer_callback(update)
        raise ApplicationHandlerStop

    return guard


def _make_error_handler(token: str) -> Callable[[object, Context], Any]:
    async def on_error(update: object, context: Context) -> None:
        """Log the failure (masked, token removed) and apologise to the user in Chinese."""
        error = context.error
        detail = "".join(traceback.format_exception(error)) if error else "unknown error"
        if token:
            detail = detail.replace(token, "<token>")
        update_id = update.update_id if isinstance(update, Update) else None
        logger.error("error while handling update %s:\n%s", update_id, mask_text(detail))
        if not isinstance(update, Update):
            return
        message = error.user_message if isinstance(error, VetbotError) else texts.APOLOGY
        try:
            if update.callback_query is not None:
                await answer_callback(update, message, alert=True)
            elif update.effective_chat is not None:
                await reply_html(update, context, esc(message))
        except TelegramError:
            logger.warning("could not send the apology", exc_info=True)

    return on_error


def create_bot_application(
    settings: Settings,
    *,
    knowledge: KnowledgeService | None = None,
    session_factory: Callable[[], Session] | None = None,
    cases: CaseService | None = None,
) -> Application[Any, Any, Any, Any, Any, Any]:
    """Build the whole bot from ``settings``: database, KnowledgeService, routing, CaseService.

    Pass ``knowledge``/``session_factory``/``cases`` to share the web app's instances (webhook
    mode). For actions taken on the web to reach Telegram users, the shared CaseService must
    have been built with ``notifier=TelegramNotifier()``; it is attached to this bot.
    The database must be migrated (``vetbot db upgrade``). Raises ConfigurationError for a
    missing token or routing table.
    """
    if session_factory is None:
        session_factory = make_session_factory(create_db_engine(settings.sqlalchemy_url))
    if knowledge is None:
        knowledge = open_knowledge_service(settings, classifier_factory=ComplaintClassifier)
    if cases is None:
        notifier: TelegramNotifier | None = TelegramNotifier()
        routing = RoutingTable.load(settings.routing_file)
        cases = CaseService(session_factory, routing, notifier=notifier, classifier=knowledge.classifier)
    else:
        notifier = cases.notifier if isinstance(cases.notifier, TelegramNotifier) else None
        if notifier is None:
            logger.warning(
                "the shared CaseService has no TelegramNotifier: case notices will not reach Telegram"
            )
    return build_application(
        settings, knowledge=knowledge, cases=cases, session_factory=session_factory, notifier=notifier
    )
