"""``vetbot demo-data``: fill the database with synthetic complaints for the office dashboard."""

from __future__ import annotations

import argparse
import logging
from datetime import datetime
from typing import Any

from complaints.demo import count_demo_cases, count_real_cases, seed_demo_data
from complaints.routing import RoutingTable
from complaints.service import CaseService
from vetbot.db import create_db_engine, make_session_factory
from vetbot.errors import CaseError
from vetbot.settings import Settings


def register(sub: Any) -> None:
    """Add the ``demo-data`` subcommand."""
    p = sub.add_parser(
        "demo-data",
        help="生成演示投诉数据（用于看板演示）",
        description=(
            "通过真实的投诉受理流程登记若干件合成的演示投诉（渠道标记为 demo），覆盖多个月份和地区，"
            "并推进受理、办结、延期、评价等环节；最近几周埋入一个新出现的问题（某景区不认外地优待证），"
            "另写入少量拒答/点踩的问答记录。数据库中已有真实案件时默认拒绝执行。"
        ),
    )
    p.add_argument("--count", type=int, default=300, help="演示投诉数量（默认 300）")
    p.add_argument("--months", type=int, default=6, help="覆盖最近几个月（默认 6）")
    p.add_argument("--seed", type=int, default=7, help="随机种子，相同种子生成相同数据（默认 7）")
    p.add_argument("--force", action="store_true", help="即使库中已有真实案件或演示案件也写入")
    p.add_argument("--no-qa-log", action="store_true", help="不写入演示问答记录")
    p.set_defaults(func=_run, needs_database=True)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    # One line per filed case would drown the summary.
    logging.getLogger("complaints.service").setLevel(logging.WARNING)
    url = settings.sqlalchemy_url
    routing = RoutingTable.load(settings.routing_file)
    engine = create_db_engine(url)
    try:
        sessions = make_session_factory(engine)
        with sessions() as session:
            real, existing = count_real_cases(session), count_demo_cases(session)
        if real and not args.force:
            raise CaseError(
                f"database holds {real} real cases",
                user_message=f"数据库中已有 {real} 件真实投诉案件，为避免混淆，已拒绝写入演示数据。"
                "确需写入请加 --force。",
            )
        if existing and not args.force:
            raise CaseError(
                f"{existing} demo cases already present",
                user_message=f"数据库中已有 {existing} 件演示案件，再次生成会重复计数。"
                "确需追加请加 --force。",
            )

        def service_factory(clock: Any) -> CaseService:
            return CaseService(sessions, routing, clock=clock)

        started = datetime.now()
        report = seed_demo_data(
            sessions, service_factory, count=args.count, months=args.months, seed=args.seed,
            force=args.force, with_qa_log=not args.no_qa_log,
        )
    finally:
        engine.dispose()
    seconds = (datetime.now() - started).total_seconds()
    print(f"已生成演示投诉 {report.cases} 件（用时 {seconds:.1f} 秒），渠道标记为 demo：")
    print(f"  受理 {report.accepted} 件，办结 {report.concluded} 件，不予受理 {report.rejected} 件，"
          f"延期 {report.extended} 件，已评价 {report.rated} 件，目前超期 {report.overdue} 件；")
    print(f"  其中埋入的新问题（青岚山景区不认外地优待证）{report.planted} 件，集中在最近两周；")
    regions = "，".join(f"{k} {v}" for k, v in sorted(report.by_region.items(), key=lambda kv: -kv[1]))
    print(f"  按地区：{regions}")
    if report.qa_rows:
        print(f"另写入演示问答记录 {report.qa_rows} 条（拒答、低置信度与点踩），用于知识缺口页面。")
    return 0
