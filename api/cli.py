"""``vetbot serve``, ``vetbot users``, ``vetbot apikeys`` and ``vetbot bench-api``."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from typing import Any

from vetbot.errors import ConfigurationError, InvalidInputError
from vetbot.settings import Settings

logger = logging.getLogger(__name__)

_ROLES = ("staff", "handler", "office", "admin")


def register(sub: Any) -> None:
    """Add the web subcommands."""
    p = sub.add_parser("serve", help="启动网页查询与 API 服务（配置了令牌时同时运行 Telegram 机器人）")
    p.add_argument("--host", default=None, help="监听地址（默认 VETBOT_HOST）")
    p.add_argument("--port", type=int, default=None, help="端口（默认 VETBOT_PORT）")
    p.add_argument("--no-bot", action="store_true", help="不启动 Telegram 机器人")
    p.add_argument("--skip-migrations", action="store_true", help="启动前不自动升级数据库结构")
    p.set_defaults(func=_serve)

    users = sub.add_parser("users", help="网页用户管理")
    usub = users.add_subparsers(dest="users_action", metavar="ACTION", required=True)
    add = usub.add_parser("add", help="新建用户")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=_ROLES, help="staff / handler / office / admin")
    add.add_argument("--password", help="密码（不填则交互输入）")
    add.add_argument("--name", default="", help="显示名称")
    add.add_argument("--handler-id", default=None, help="承办人在投诉分派表中的编号（handler 角色）")
    add.add_argument("--region", default=None, help="所在地区（检索页默认地区）")
    add.set_defaults(func=_users_add)
    lst = usub.add_parser("list", help="列出用户")
    lst.set_defaults(func=_users_list)
    pw = usub.add_parser("passwd", help="重设密码")
    pw.add_argument("username")
    pw.add_argument("--password", help="新密码（不填则交互输入）")
    pw.set_defaults(func=_users_passwd)
    dis = usub.add_parser("disable", help="停用用户")
    dis.add_argument("username")
    dis.set_defaults(func=_users_disable)

    keys = sub.add_parser("apikeys", help="系统客户端 API 密钥")
    ksub = keys.add_subparsers(dest="apikeys_action", metavar="ACTION", required=True)
    create = ksub.add_parser("create", help="新建密钥（只显示一次）")
    create.add_argument("name")
    create.add_argument("--role", required=True, choices=_ROLES)
    create.set_defaults(func=_keys_create)
    klist = ksub.add_parser("list", help="列出密钥")
    klist.set_defaults(func=_keys_list)
    revoke = ksub.add_parser("revoke", help="停用密钥")
    revoke.add_argument("name")
    revoke.set_defaults(func=_keys_revoke)

    bench = sub.add_parser("bench-api", help="API 压测（本机回环，限时限量）")
    bench.add_argument("--concurrency", type=int, default=8, help="并发请求数（1–64，默认 8）")
    bench.add_argument("--duration", type=float, default=20.0, help="每个接口的压测秒数（1–120，默认 20）")
    bench.add_argument("--max-requests", type=int, default=5000, help="每个接口的最多请求数（默认 5000）")
    bench.add_argument("--port", type=int, default=0, help="服务端口（默认随机空闲端口）")
    bench.add_argument("--json", action="store_true", help="以 JSON 输出结果")
    bench.set_defaults(func=_bench)


def _user_service(settings: Settings) -> Any:
    from sqlalchemy import inspect

    from api.users import UserService
    from vetbot.db import create_db_engine, make_session_factory

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


def _users_add(args: argparse.Namespace, settings: Settings) -> int:
    service = _user_service(settings)
    if args.role == "handler":
        _warn_unknown_handler(settings, args.handler_id or args.username)
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


def _warn_unknown_handler(settings: Settings, handler_id: str) -> None:
    try:
        from complaints.routing import RoutingTable

        table = RoutingTable.load(settings.routing_file)
    except Exception:  # the routing table is optional for creating a user
        return
    if handler_id not in table.handlers:
        known = "、".join(sorted(table.handlers)[:12])
        print(
            f"提示：投诉分派表中没有编号为 {handler_id} 的承办人（可用 --handler-id 指定，例如：{known}）。",
            file=sys.stderr,
        )


def _users_list(args: argparse.Namespace, settings: Settings) -> int:
    users = _user_service(settings).list_users()
    if not users:
        print("还没有用户。创建第一个管理员：vetbot users add admin --role admin")
        return 0
    for u in users:
        status = "启用" if u.active else "停用"
        extra = f" 承办人编号={u.handler_id}" if u.handler_id else ""
        print(f"{u.username}\t{u.role}\t{status}\t{u.display_name}{extra}")
    return 0


def _users_passwd(args: argparse.Namespace, settings: Settings) -> int:
    service = _user_service(settings)
    service.get_by_username(args.username)
    service.update_user(args.username, actor="cli", password=_read_password(args.password))
    print(f"已重设 {args.username} 的密码，其已登录的会话全部失效。")
    return 0


def _users_disable(args: argparse.Namespace, settings: Settings) -> int:
    _user_service(settings).update_user(args.username, actor="cli", active=False)
    print(f"已停用用户 {args.username}。")
    return 0


def _keys_create(args: argparse.Namespace, settings: Settings) -> int:
    row, key = _user_service(settings).create_api_key(args.name, args.role, actor="cli")
    print(f"已创建 API 密钥 {row.name}（角色：{row.role}）。请立即保存，密钥只显示这一次：")
    print(key)
    return 0


def _keys_list(args: argparse.Namespace, settings: Settings) -> int:
    for k in _user_service(settings).list_api_keys():
        status = "已停用" if k.revoked_at else "有效"
        print(f"{k.name}\t{k.role}\tvbk_{k.prefix}_…\t{status}")
    return 0


def _keys_revoke(args: argparse.Namespace, settings: Settings) -> int:
    _user_service(settings).revoke_api_key(args.name, actor="cli")
    print(f"已停用 API 密钥 {args.name}。")
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from api.app import create_app, telegram_mode
    from vetbot.db import create_db_engine, make_session_factory, upgrade

    if not args.skip_migrations:
        upgrade(settings.sqlalchemy_url)
    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
    session_factory = make_session_factory(create_db_engine(settings.sqlalchemy_url))
    mode = None if args.no_bot else telegram_mode(settings)
    if mode is None:
        app = create_app(settings, session_factory=session_factory)
    else:
        # The bot needs the services up front: load models now and share them with the web app,
        # so case notices from web actions also reach complainants on Telegram.
        from bot.app import create_bot_application
        from complaints.classifier import ComplaintClassifier
        from ingest.bootstrap import open_knowledge_service

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
        print("提示：还没有网页账号。请另开终端运行 "
              ".venv/bin/vetbot users add admin --role admin 创建管理员。")
    uvicorn.run(app, host=host, port=port, log_config=None, proxy_headers=False)
    return 0


def _bench(args: argparse.Namespace, settings: Settings) -> int:
    from api.bench import BenchConfig, run_bench

    config = BenchConfig(
        concurrency=max(1, min(args.concurrency, 64)),
        duration=max(1.0, min(args.duration, 120.0)),
        max_requests=max(1, min(args.max_requests, 100_000)),
        port=args.port,
    )
    return run_bench(settings, config, as_json=args.json)
