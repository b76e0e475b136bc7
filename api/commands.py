"""The web commands: ``vetbot serve``, ``vetbot users``, ``vetbot apikeys``, ``vetbot bench-api``.

Each takes the parsed arguments (see ``api.cli``) and the Settings and returns the exit status;
errors are ``vetbot.errors`` exceptions, printed in Chinese by ``vetbot.cli``.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import signal
import sys

from fastapi import FastAPI
from sqlalchemy import inspect

from api.app import create_app, telegram_mode
from api.bench import BenchConfig, run_bench
from api.jobs import JobRunner
from api.security import resolve_secret_key
from api.users import UserService
from bot.app import create_bot_application
from complaints.classifier import ComplaintClassifier
from complaints.routing import RoutingTable
from ingest.bootstrap import open_knowledge_service
from knowledge.embeddings import LazyEmbeddings, build_embeddings, embedding_model_id
from knowledge.store import KnowledgeStore
from vetbot.db import create_db_engine, make_session_factory, upgrade
from vetbot.errors import ConfigurationError, InvalidInputError
from vetbot.logging_setup import configure_logging
from vetbot.settings import Settings

logger = logging.getLogger(__name__)


def _user_service(settings: Settings) -> UserService:
    """The user service on the configured database; ConfigurationError when it is not migrated."""
    engine = create_db_engine(settings.sqlalchemy_url)
    if not inspect(engine).has_table("web_users"):
        raise ConfigurationError(
            "web_users table missing", user_message="数据库尚未初始化，请先运行 vetbot db upgrade。"
        )
    return UserService(make_session_factory(engine))


def _read_password(given: str | None) -> str:
    if given:
        return given
    if not sys.stdin.isatty():
        line = sys.stdin.readline().rstrip("\n")
        if not line:
            raise InvalidInputError("no password", user_message="请通过 --password 或标准输入提供密码。")
        return line
    first = getpass.getpass("密码：")
    second = getpass.getpass("再次输入密码：")
    if first != second:
        raise InvalidInputError("passwords differ", user_message="两次输入的密码不一致。")
    return first


def users_add(args: argparse.Namespace, settings: Settings) -> int:
    """``vetbot users add``: create a web user (password asked when not given)."""
    service = _user_service(settings)
    if args.role == "handler":  # the web role of a caseworker (承办人)
        _warn_unknown_caseworker(settings, args.handler_id or args.username)
    elif args.role == "partner":  # a partner unit's account (协办单位)
        _warn_unknown_partner(settings, args.handler_id or args.username)
    password = _read_password(args.password)
    user = service.create_user(
        args.username,
        password,
        args.role,
        display_name=args.name,
        handler_id=args.handler_id,
        region=args.region,
        actor="cli",
    )
    print(f"已创建用户 {user.username}（角色：{user.role}）。")
    return 0


def _warn_unknown_caseworker(settings: Settings, caseworker_id: str) -> None:
    try:
        table = RoutingTable.load(settings.routing_file)
    except Exception:  # the routing table is optional for creating a user
        return
    if caseworker_id not in table.handlers:
        known = "、".join(sorted(table.handlers)[:12])
        print(
            f"提示：投诉分派表中没有编号为 {caseworker_id} 的承办人"
            f"（可用 --handler-id 指定，例如：{known}）。",
            file=sys.stderr,
        )


def _warn_unknown_partner(settings: Settings, partner_id: str) -> None:
    try:
        table = RoutingTable.load(settings.routing_file)
    except Exception:  # the routing table is optional for creating a user
        return
    if partner_id not in table.partners:
        known = "、".join(sorted(table.partners)[:12])
        print(
            f"提示：投诉分派表中没有编号为 {partner_id} 的协办单位"
            f"（可用 --handler-id 指定，例如：{known}）。",
            file=sys.stderr,
        )


def users_list(args: argparse.Namespace, settings: Settings) -> int:
    """``vetbot users list``: one line per user."""
    users = _user_service(settings).list_users()
    if not users:
        print("还没有用户。创建第一个管理员：vetbot users add admin --role admin")
        return 0
    for u in users:
        status = "启用" if u.active else "停用"
        extra = f" 承办人编号={u.handler_id}" if u.handler_id else ""
        print(f"{u.username}\t{u.role}\t{status}\t{u.display_name}{extra}")
    return 0


def users_passwd(args: argparse.Namespace, settings: Settings) -> int:
    """``vetbot users passwd``: new password, ending the user's sessions; NotFoundError if unknown."""
    service = _user_service(settings)
    service.get_by_username(args.username)
    service.update_user(args.username, actor="cli", password=_read_password(args.password))
    print(f"已重设 {args.username} 的密码，其已登录的会话全部失效。")
    return 0


def users_disable(args: argparse.Namespace, settings: Settings) -> int:
    """``vetbot users disable``: deactivate a user; NotFoundError if unknown."""
    _user_service(settings).update_user(args.username, actor="cli", active=False)
    print(f"已停用用户 {args.username}。")
    return 0


def keys_create(args: argparse.Namespace, settings: Settings) -> int:
    """``vetbot apikeys create``: create an API key and print it once."""
    row, key = _user_service(settings).create_api_key(args.name, args.role, actor="cli")
    print(f"已创建 API 密钥 {row.name}（角色：{row.role}）。请立即保存，密钥只显示这一次：")
    print(key)
    return 0


def keys_list(args: argparse.Namespace, settings: Settings) -> int:
    """``vetbot apikeys list``: one line per key (never the key itself)."""
    for k in _user_service(settings).list_api_keys():
        status = "已停用" if k.revoked_at else "有效"
        print(f"{k.name}\t{k.role}\tvbk_{k.prefix}_…\t{status}")
    return 0


def keys_revoke(args: argparse.Namespace, settings: Settings) -> int:
    """``vetbot apikeys revoke``: revoke a key by name; NotFoundError if unknown."""
    _user_service(settings).revoke_api_key(args.name, actor="cli")
    print(f"已停用 API 密钥 {args.name}。")
    return 0


def worker_app() -> FastAPI:
    """The app of one ``vetbot serve --workers N`` process (a uvicorn factory).

    Each worker process is started by uvicorn, not by ``vetbot.cli.main``, so this is its
    ``main``: it reads the same ``VETBOT_*`` environment the parent did. The parent has already
    migrated the database and created the secret key. No Telegram bot runs here (see ``serve``).
    """
    settings = Settings()
    configure_logging(settings.log_level)
    session_factory = make_session_factory(create_db_engine(settings.sqlalchemy_url))
    return create_app(settings, session_factory=session_factory)


def serve(args: argparse.Namespace, settings: Settings) -> int:
    """``vetbot serve``: migrate (unless skipped), run the web app and, with a token, the bot.

    ``--workers N`` (N > 1) runs N web/API processes on one port (uvicorn's workers), each
    with its own models (``VETBOT_EMBED_THREADS`` threads each). What runs once: migrations
    and the secret key (here, before the workers start). What is safe in each: ingest jobs
    (a database queue with leases, ``api.jobqueue``) and rate limits with
    ``VETBOT_RATE_LIMIT_BACKEND=database``. The Telegram bot is not started in N processes
    (long polling allows one consumer, and its conversations are per process): run
    ``vetbot bot`` once beside them; it also delivers the case-notice outbox.
    """
    import uvicorn  # the server is only needed by this command

    if not args.skip_migrations:
        upgrade(settings.sqlalchemy_url)
    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
    workers = max(1, int(getattr(args, "workers", 1) or 1))
    if workers > 1:
        return _serve_workers(settings, host, port, workers, bot=not args.no_bot)
    session_factory = make_session_factory(create_db_engine(settings.sqlalchemy_url))
    mode = None if args.no_bot else telegram_mode(settings)
    if mode is None:
        app = create_app(settings, session_factory=session_factory)
    else:
        # The bot needs the services up front: load models now and share them with the web app,
        # so case notices from web actions also reach complainants on Telegram.
        print("正在加载模型和知识库……")
        knowledge = open_knowledge_service(settings, classifier_factory=ComplaintClassifier)
        knowledge.warm_up()
        application = create_bot_application(settings, knowledge=knowledge, session_factory=session_factory)
        cases = application.vetbot.cases  # type: ignore[attr-defined]
        app = create_app(
            settings,
            knowledge=knowledge,
            cases=cases,
            session_factory=session_factory,
            telegram_application=application,
        )
    bot_note = {"webhook": "，Telegram 机器人：webhook 模式", "polling": "，Telegram 机器人：长轮询模式"}.get(
        mode or "", ""
    )
    print(f"服务地址：http://{host}:{port}/ （API 文档：/docs{bot_note}）")
    if not _user_service(settings).list_users():
        # A fresh install has no accounts; say how to make the first one instead of a bare login page.
        print(
            "提示：还没有网页账号。请另开终端运行 .venv/bin/vetbot users add admin --role admin 创建管理员。"
        )
    uvicorn.run(app, host=host, port=port, log_config=None, proxy_headers=False)
    return 0


def _serve_workers(settings: Settings, host: str, port: int, workers: int, *, bot: bool) -> int:
    import uvicorn

    # Created once here: N workers generating it at once would each sign with their own key.
    configured = settings.secret_key.get_secret_value() if settings.secret_key else None
    resolve_secret_key(configured, settings.data_dir)
    if bot and telegram_mode(settings) is not None:
        print("提示：多进程模式下网页进程不运行 Telegram 机器人，"
              "请另行运行 vetbot bot（它也投递案件通知）。")
    print(f"服务地址：http://{host}:{port}/ （{workers} 个进程，API 文档：/docs）")
    uvicorn.run(
        "api.commands:worker_app", factory=True, host=host, port=port, workers=workers,
        log_config=None, proxy_headers=False,
    )
    return 0


def worker(args: argparse.Namespace, settings: Settings) -> int:
    """``vetbot worker``: run the ingest job queue until SIGINT/SIGTERM.

    Any number of workers (and API processes with ``VETBOT_JOBS_IN_PROCESS=true``) may run the
    queue: jobs are claimed with leases (``api.jobqueue``). The model loads only when a job has
    something to embed. The case-notice outbox is delivered by ``vetbot bot`` (it needs the
    Telegram connection), not here.
    """
    if not args.skip_migrations:
        upgrade(settings.sqlalchemy_url)
    session_factory = make_session_factory(create_db_engine(settings.sqlalchemy_url))
    embeddings = LazyEmbeddings(embedding_model_id(settings), lambda: build_embeddings(settings))
    store = KnowledgeStore.open(settings.default_kb_dir, settings, embeddings)
    runner = JobRunner(
        session_factory, settings.data_dir / "uploads", lambda: store, None,
        poll_interval=max(0.1, args.poll),
    )

    def stop(_signum: int, _frame: object) -> None:
        runner.shutdown()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"导入任务队列运行中（知识库：{settings.default_kb_dir}），Ctrl+C 停止。")
    runner.run_forever(grace=settings.shutdown_grace_seconds)
    return 0


def bench(args: argparse.Namespace, settings: Settings) -> int:
    """``vetbot bench-api``: benchmark /v1/search and /v1/ask on a throw-away server."""
    config = BenchConfig(
        concurrency=max(1, min(args.concurrency, 64)),
        duration=max(1.0, min(args.duration, 120.0)),
        max_requests=max(1, min(args.max_requests, 100_000)),
        port=args.port,
        processes=_process_counts(getattr(args, "processes", "1,2")),
    )
    return run_bench(settings, config, as_json=args.json)


def _process_counts(text: str) -> tuple[int, ...]:
    try:
        counts = tuple(int(p) for p in str(text).split(",") if p.strip())
    except ValueError as exc:
        message = "--processes 的格式如 1,2。"
        raise InvalidInputError(f"bad --processes {text!r}", user_message=message) from exc
    if not counts or any(not 1 <= c <= 16 for c in counts):
        raise InvalidInputError(f"bad --processes {text!r}", user_message="--processes 每项须在 1–16 之间。")
    return counts
