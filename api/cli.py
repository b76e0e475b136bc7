"""``vetbot serve``, ``vetbot users``, ``vetbot apikeys`` and ``vetbot bench-api``: the arguments.

The commands themselves are in ``api.commands``, imported only when one of them runs.
"""

from __future__ import annotations

from typing import Any

from api.models import ROLES


def register(sub: Any) -> None:
    """Add the web subcommands."""
    p = sub.add_parser("serve", help="启动网页查询与 API 服务（配置了令牌时同时运行 Telegram 机器人）")
    p.add_argument("--host", default=None, help="监听地址（默认 VETBOT_HOST）")
    p.add_argument("--port", type=int, default=None, help="端口（默认 VETBOT_PORT）")
    p.add_argument("--no-bot", action="store_true", help="不启动 Telegram 机器人")
    p.add_argument("--skip-migrations", action="store_true", help="启动前不自动升级数据库结构")
    p.add_argument(
        "--workers", type=int, default=1,
        help="网页/API 进程数（默认 1；大于 1 时机器人需另行用 vetbot bot 运行）",
    )
    p.set_defaults(func="api.commands:serve")

    worker = sub.add_parser(
        "worker", help="运行导入任务队列（配合设置 VETBOT_JOBS_IN_PROCESS=false 的网页进程）"
    )
    worker.add_argument("--skip-migrations", action="store_true", help="启动前不自动升级数据库结构")
    worker.add_argument("--poll", type=float, default=2.0, help="查询队列的间隔秒数（默认 2）")
    worker.set_defaults(func="api.commands:worker")

    users = sub.add_parser("users", help="网页用户管理")
    users.set_defaults(needs_database=True)
    usub = users.add_subparsers(dest="users_action", metavar="ACTION", required=True)
    add = usub.add_parser("add", help="新建用户")
    add.add_argument("username")
    # "handler" is the web role of a caseworker (承办人): a stored value, kept as is.
    add.add_argument(
        "--role", required=True, choices=ROLES, help="staff / partner / handler / office / editor / admin"
    )
    add.add_argument("--password", help="密码（不填则交互输入）")
    add.add_argument("--name", default="", help="显示名称")
    add.add_argument(
        "--handler-id", default=None, help="承办人或协办单位在投诉分派表中的编号（handler / partner 角色）"
    )
    add.add_argument("--region", default=None, help="所在地区（检索页默认地区）")
    add.set_defaults(func="api.commands:users_add")
    lst = usub.add_parser("list", help="列出用户")
    lst.set_defaults(func="api.commands:users_list")
    pw = usub.add_parser("passwd", help="重设密码")
    pw.add_argument("username")
    pw.add_argument("--password", help="新密码（不填则交互输入）")
    pw.set_defaults(func="api.commands:users_passwd")
    dis = usub.add_parser("disable", help="停用用户")
    dis.add_argument("username")
    dis.set_defaults(func="api.commands:users_disable")

    keys = sub.add_parser("apikeys", help="系统客户端 API 密钥")
    keys.set_defaults(needs_database=True)
    ksub = keys.add_subparsers(dest="apikeys_action", metavar="ACTION", required=True)
    create = ksub.add_parser("create", help="新建密钥（只显示一次）")
    create.add_argument("name")
    create.add_argument("--role", required=True, choices=ROLES)
    create.set_defaults(func="api.commands:keys_create")
    klist = ksub.add_parser("list", help="列出密钥")
    klist.set_defaults(func="api.commands:keys_list")
    revoke = ksub.add_parser("revoke", help="停用密钥")
    revoke.add_argument("name")
    revoke.set_defaults(func="api.commands:keys_revoke")

    bench = sub.add_parser("bench-api", help="API 压测（本机回环，限时限量）")
    bench.add_argument("--concurrency", type=int, default=8, help="并发请求数（1–64，默认 8）")
    bench.add_argument("--duration", type=float, default=20.0, help="每个接口的压测秒数（1–120，默认 20）")
    bench.add_argument("--max-requests", type=int, default=5000, help="每个接口的最多请求数（默认 5000）")
    bench.add_argument("--port", type=int, default=0, help="服务端口（默认随机空闲端口）")
    bench.add_argument("--processes", default="1,2", help="依次比较的服务进程数（默认 1,2）")
    bench.add_argument("--json", action="store_true", help="以 JSON 输出结果")
    bench.set_defaults(func="api.commands:bench")
