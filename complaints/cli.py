"""``vetbot cases``: list, show and act on complaint cases from the command line.

The acting person is chosen with ``--as``: a caseworker (承办人) id from the routing table, or ``office``
/ ``admin`` for the office (双拥办) and administrators. Without ``--as`` the environment variable
``VETBOT_CASES_ACTOR`` is used; read-only commands (``list``, ``show``) then fall back to the
office's masked view, while actions refuse to run so that every history entry names a person.
Every action writes its notice to the case outbox (``complaints.outbox``) in the same
transaction; the running Telegram bot delivers it to the complainant.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from complaints.routing import RoutingTable
from complaints.service import CaseService
from complaints.types import Actor, CaseFilter, CaseView, channel_label
from vetbot.argparse_zh import ChineseArgumentParser
from vetbot.clock import to_china
from vetbot.db import create_db_engine, make_session_factory
from vetbot.errors import InvalidInputError, PermissionDeniedError
from vetbot.settings import Settings

ACTOR_ENV = "VETBOT_CASES_ACTOR"
_STAFF = {"office": ("双拥办（命令行）", "office"), "admin": ("管理员（命令行）", "admin")}

_EPILOG = (
    "办理人身份：--as 办理人编号（见投诉分派表 routing.yaml），或 --as office / --as admin。"
    f"未指定时读取环境变量 {ACTOR_ENV}；仍未指定时，list/show 以双拥办身份查看（个人信息打码），"
    "受理、答复、办结等操作会报错并要求指定身份。"
)


def register(sub: Any) -> None:
    """Add the ``cases`` subcommand and its actions."""
    p = sub.add_parser(
        "cases", help="投诉案件：查看与办理", description="查看与办理投诉案件。", epilog=_EPILOG
    )
    p.add_argument(
        "--as", dest="actor_top", metavar="HANDLER_ID", default=None, help="办理人编号或 office/admin"
    )
    actions = p.add_subparsers(dest="cases_command", metavar="ACTION")

    # A parent parser lends its group titles to the children: it must be Chinese too.
    common = ChineseArgumentParser(add_help=False)
    common.add_argument(
        "--as",
        dest="actor",
        metavar="HANDLER_ID",
        default=None,
        help=f"办理人编号或 office/admin（默认读取 {ACTOR_ENV}）",
    )

    a = actions.add_parser("list", parents=[common], help="列出案件", epilog=_EPILOG)
    a.add_argument("--status", help="按状态筛选：待受理/已受理/办理中/已办结/不予受理/已转办")
    a.add_argument("--overdue", action="store_true", help="只看已超期的案件")
    a.add_argument("--due-soon", type=int, metavar="DAYS", default=None, help="只看 DAYS 天内到期的案件")
    a.add_argument("--handler", metavar="H", help="按承办人编号筛选")
    a.add_argument("--theme", help="按主题代码筛选")
    a.add_argument("--region", help="按地区筛选")
    a.add_argument("--limit", type=int, default=100, help="最多显示条数（默认 100）")
    a.set_defaults(func=_list)

    a = actions.add_parser("show", parents=[common], help="查看案件详情与办理记录", epilog=_EPILOG)
    a.add_argument("ticket", help="投诉编号，如 TS-20260102-0001")
    a.set_defaults(func=_show)

    a = actions.add_parser("accept", parents=[common], help="受理", epilog=_EPILOG)
    a.add_argument("ticket")
    a.add_argument("--note", default=None, help="受理说明")
    a.set_defaults(func=_action, action="accept")

    a = actions.add_parser("start", parents=[common], help="开始办理", epilog=_EPILOG)
    a.add_argument("ticket")
    a.add_argument("--note", default=None, help="说明")
    a.set_defaults(func=_action, action="start")

    a = actions.add_parser("reply", parents=[common], help="答复信访人（不改变状态）", epilog=_EPILOG)
    a.add_argument("ticket")
    a.add_argument("text", help="答复内容")
    a.set_defaults(func=_action, action="reply")

    a = actions.add_parser("close", parents=[common], help="办结并填写办理结果", epilog=_EPILOG)
    a.add_argument("ticket")
    a.add_argument("result", help="办理结果")
    a.set_defaults(func=_action, action="conclude")

    a = actions.add_parser("reject", parents=[common], help="不予受理并说明理由", epilog=_EPILOG)
    a.add_argument("ticket")
    a.add_argument("reason", help="不予受理的理由")
    a.set_defaults(func=_action, action="reject")

    a = actions.add_parser("transfer", parents=[common], help="转有权处理的机关办理", epilog=_EPILOG)
    a.add_argument("ticket")
    a.add_argument("to", help="转办去向（机关或单位名称）")
    a.add_argument("--note", default=None, help="说明")
    a.set_defaults(func=_action, action="transfer")

    a = actions.add_parser(
        "extend", parents=[common], help="延长办理期限（一次，最多 30 天）", epilog=_EPILOG
    )
    a.add_argument("ticket")
    a.add_argument("days", type=int, help="延长天数（1-30）")
    a.add_argument("reason", help="延期理由（将告知信访人）")
    a.set_defaults(func=_action, action="extend")

    a = actions.add_parser("reassign", parents=[common], help="改派给其他承办人", epilog=_EPILOG)
    a.add_argument("ticket")
    a.add_argument("handler", help="新承办人编号")
    a.add_argument("--note", default=None, help="说明")
    a.set_defaults(func=_action, action="reassign")

    p.set_defaults(func=_help, cases_parser=p, needs_database=True)


def _help(args: argparse.Namespace, settings: Settings) -> int:
    args.cases_parser.print_help()
    return 2


def _service(settings: Settings) -> CaseService:
    routing = RoutingTable.load(settings.routing_file)
    engine = create_db_engine(settings.sqlalchemy_url)
    return CaseService(make_session_factory(engine), routing)


def _actor(args: argparse.Namespace, service: CaseService, *, required: bool) -> Actor:
    raw = (args.actor or args.actor_top or os.environ.get(ACTOR_ENV) or "").strip()
    if not raw:
        if required:
            raise PermissionDeniedError(
                "no acting caseworker",
                user_message=f"请用 --as 指定办理人编号（或 office/admin），或设置环境变量 {ACTOR_ENV}。",
            )
        return Actor(id="cli-office", name=_STAFF["office"][0], role="office")
    if raw.lower() in _STAFF:
        name, role = _STAFF[raw.lower()]
        return Actor(id=f"cli-{role}", name=name, role=role)  # type: ignore[arg-type]
    return service.caseworker_actor(raw)


def _list(args: argparse.Namespace, settings: Settings) -> int:
    service = _service(settings)
    actor = _actor(args, service, required=False)
    if args.limit < 1:
        raise InvalidInputError("bad limit", user_message="--limit 必须是正整数。")
    filters = CaseFilter(
        status=args.status,
        theme=args.theme,
        region=args.region,
        handler_id=args.handler,
        overdue=args.overdue,
        due_soon=args.due_soon is not None,
        due_soon_days=args.due_soon or 3,
        limit=args.limit,
    )
    views = service.list_cases(filters, actor)
    if not views:
        print("没有符合条件的案件。")
        return 0
    print(f"{'编号':<18}{'状态':<6}{'主题':<10}{'地区':<8}{'承办人':<10}{'期限':<12}内容")
    for v in views:
        due = _day(v.due_at) + ("（超期）" if v.overdue else "") if v.due_at else "—"
        excerpt = v.text.replace("\n", " ")
        excerpt = excerpt if len(excerpt) <= 30 else excerpt[:30] + "…"
        caseworker = v.assigned_handler_name or v.assigned_handler_id or "—"
        print(
            f"{v.ticket:<18}{v.status:<6}{v.theme_label[:8]:<10}{v.region:<8}{caseworker:<10}{due:<12}{excerpt}"
        )
    print(f"共 {len(views)} 件。")
    return 0


def _show(args: argparse.Namespace, settings: Settings) -> int:
    service = _service(settings)
    actor = _actor(args, service, required=False)
    _print_case(service.get(args.ticket, actor))
    return 0


def _action(args: argparse.Namespace, settings: Settings) -> int:
    service = _service(settings)
    actor = _actor(args, service, required=True)
    action = args.action
    if action == "accept":
        view = service.accept(args.ticket, actor, note=args.note)
    elif action == "start":
        view = service.start(args.ticket, actor, note=args.note)
    elif action == "reply":
        view = service.reply(args.ticket, actor, args.text)
    elif action == "conclude":
        view = service.conclude(args.ticket, actor, args.result)
    elif action == "reject":
        view = service.reject(args.ticket, actor, args.reason)
    elif action == "transfer":
        view = service.transfer(args.ticket, actor, args.to, note=args.note)
    elif action == "extend":
        view = service.extend(args.ticket, actor, args.days, args.reason)
    elif action == "reassign":
        view = service.reassign(args.ticket, actor, args.handler, note=args.note)
    else:  # pragma: no cover - argparse only offers the actions above
        raise InvalidInputError(f"unknown action {action}")
    labels = {
        "accept": "已受理",
        "start": "已开始办理",
        "reply": "已答复",
        "conclude": "已办结",
        "reject": "已作不予受理处理",
        "transfer": "已转办",
        "extend": "已延期",
        "reassign": "已改派",
    }
    print(f"{view.ticket} {labels[action]}。当前状态：{view.status}。")
    if view.due_at:
        print(f"当前期限：{_day(view.due_at)}")
    if action == "reassign":
        print(f"新承办人：{view.assigned_handler_name}（{view.assigned_unit}）")
    return 0


def _print_case(v: CaseView) -> None:
    out = sys.stdout
    print(f"投诉编号：{v.ticket}", file=out)
    print(f"状态：{v.status}" + ("（已超期）" if v.overdue else ""), file=out)
    print(f"主题：{v.theme_label}（{v.theme}）  地区：{v.region}  渠道：{channel_label(v.channel)}", file=out)
    print(f"信访人：{v.complainant_name or '未留姓名'}  电话：{v.complainant_phone or '未留电话'}", file=out)
    print(
        f"承办：{v.assigned_handler_name or v.assigned_handler_id or '未分派'}（{v.assigned_unit or '—'}）",
        file=out,
    )
    print(f"登记时间：{_time(v.created_at)}  受理期限：{_day(v.accept_due)}", file=out)
    if v.accepted_at:
        print(f"受理时间：{_time(v.accepted_at)}  办结期限：{_day(v.conclude_due)}", file=out)
    if v.extended:
        print(f"已延期 {v.extension_days} 天，理由：{v.extension_reason}", file=out)
    if v.concluded_at:
        print(f"办结时间：{_time(v.concluded_at)}", file=out)
    if v.result:
        print(f"结果/理由：{v.result}", file=out)
    if v.rating:
        print(f"信访人评价：{v.rating}", file=out)
    print("内容：", file=out)
    print(f"  {v.text}", file=out)
    if v.attachments:
        print("附件：" + "；".join(f"{a.kind} {a.name or a.file_id}" for a in v.attachments), file=out)
    if v.masked:
        print("（非本案承办人，身份证号、电话、银行卡号已打码）", file=out)
    print("办理记录：", file=out)
    for e in v.events:
        change = f" {e.from_status or '—'}→{e.to_status}" if e.from_status != e.to_status else ""
        note = f"：{e.note}" if e.note else ""
        print(f"  {_time(e.at)} {e.actor_name}（{e.actor_role}）{e.action_label}{change}{note}", file=out)


def _day(dt: Any) -> str:
    return to_china(dt).strftime("%Y-%m-%d") if dt else "—"


def _time(dt: Any) -> str:
    return to_china(dt).strftime("%Y-%m-%d %H:%M") if dt else "—"
