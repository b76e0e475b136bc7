"""``vetbot cases`` through ``vetbot.cli.main`` on both database backends."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from complaints import lifecycle as lc
from complaints.routing import RoutingTable
from complaints.service import CaseService
from complaints.types import ComplaintIntake
from vetbot.cli import main

from .conftest import OFFICE, ROUTING_FILE, T0, FakeClock

PHONE = "13912345678"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    # main() reconfigures the root logger; leave it as pytest had it
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("VETBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VETBOT_DATABASE_URL", db_url)
    monkeypatch.setenv("VETBOT_ROUTING_FILE", str(ROUTING_FILE))
    monkeypatch.delenv("VETBOT_CASES_ACTOR", raising=False)
    return db_url


@pytest.fixture
def filed(
    cli_env: str, session_factory: Callable[[], Session], routing: RoutingTable
) -> tuple[CaseService, str]:
    # filed "now" so that the CLI's real clock sees an open, not overdue, case
    service = CaseService(session_factory, routing)
    view = service.intake(
        ComplaintIntake(
            text=f"优待证一直没办好，我的电话 {PHONE}",
            region="济南市",
            theme="card",
            complainant_chat_id=77,
            complainant_name="钱老兵",
            complainant_phone=PHONE,
        )
    )
    return service, view.ticket


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["cases", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_list_and_show_mask_unless_assigned_handler(
    filed: tuple[CaseService, str], capsys: pytest.CaptureFixture[str]
) -> None:
    _, ticket = filed
    code, out, _ = run(capsys, "list")
    assert code == 0 and ticket in out and "待受理" in out and PHONE not in out and "共 1 件" in out
    code, out, _ = run(capsys, "show", ticket)
    assert code == 0 and "139****5678" in out and PHONE not in out and "已打码" in out
    code, out, _ = run(capsys, "show", ticket, "--as", "jn-a")
    assert code == 0 and PHONE in out and "办理记录" in out and "分派" in out
    code, out, _ = run(capsys, "list", "--handler", "jn-b")
    assert code == 0 and "没有符合条件的案件" in out
    code, out, _ = run(capsys, "list", "--status", "已受理")
    assert code == 0 and ticket not in out


def test_actions_need_an_actor_with_permission(
    filed: tuple[CaseService, str], capsys: pytest.CaptureFixture[str]
) -> None:
    service, ticket = filed
    code, _, err = run(capsys, "accept", ticket)
    assert code == 1 and "--as" in err and "VETBOT_CASES_ACTOR" in err
    code, _, err = run(capsys, "accept", ticket, "--as", "jn-b")
    assert code == 1 and "承办人" in err
    code, _, err = run(capsys, "accept", ticket, "--as", "ghost")
    assert code == 1 and "ghost" in err
    assert service.get(ticket).status == lc.PENDING


def test_full_handling_from_the_command_line(
    filed: tuple[CaseService, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    service, ticket = filed
    code, out, _ = run(capsys, "accept", ticket, "--as", "jn-a", "--note", "材料已核实")
    assert code == 0 and "已受理" in out
    monkeypatch.setenv("VETBOT_CASES_ACTOR", "jn-a")
    code, out, _ = run(capsys, "reply", ticket, "正在联系制证中心")
    assert code == 0 and "已答复" in out
    code, _, err = run(capsys, "extend", ticket, "40", "情况复杂")
    assert code == 1 and "30" in err
    code, out, _ = run(capsys, "extend", ticket, "10", "需要核实服役档案")
    assert code == 0 and "已延期" in out
    code, _, err = run(capsys, "extend", ticket, "5", "再延")
    assert code == 1 and "不能再次延期" in err
    code, out, _ = run(capsys, "close", ticket, "已补办并寄出")
    assert code == 0 and "已办结" in out
    code, _, err = run(capsys, "accept", ticket)
    assert code == 1 and "“已办结”" in err and "“受理”" in err

    view = service.get(ticket, OFFICE)
    assert view.status == lc.CONCLUDED and view.extension_days == 10
    assert [e.action for e in view.events] == ["intake", "assign", "accept", "reply", "extend", "conclude"]
    assert view.events[2].note == "材料已核实" and view.events[2].actor_id == "jn-a"


def test_reject_office_actor_and_bad_ticket(
    filed: tuple[CaseService, str], capsys: pytest.CaptureFixture[str]
) -> None:
    service, ticket = filed
    code, out, _ = run(capsys, "--as", "office", "reject", ticket, "不属于本机关职权范围")
    assert code == 0 and "不予受理" in out
    view = service.get(ticket)
    assert view.status == lc.REJECTED and view.events[-1].actor_role == "office"
    code, _, err = run(capsys, "show", "TS-1")
    assert code == 1 and "编号" in err
    code, _, err = run(capsys, "show", "TS-20000101-0001")
    assert code == 1 and "未找到" in err


def test_overdue_listing(
    cli_env: str,
    session_factory: Callable[[], Session],
    routing: RoutingTable,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # filed long ago (injected clock): the CLI's real clock sees it overdue
    old = CaseService(session_factory, routing, clock=FakeClock(T0 - timedelta(days=400))).intake(
        ComplaintIntake(text="很久以前的投诉", region="扬州市", theme="other")
    )
    code, out, _ = run(capsys, "list", "--overdue")
    assert code == 0 and old.ticket in out and "超期" in out


def test_bad_routing_file_is_a_clear_error(
    cli_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("handlers: [\n", encoding="utf-8")
    monkeypatch.setenv("VETBOT_ROUTING_FILE", str(bad))
    code, _, err = run(capsys, "list")
    assert code == 1 and "投诉分派表" in err and "YAML" in err


def test_cases_without_action_prints_help(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys)
    assert code == 2 and "VETBOT_CASES_ACTOR" in out and "accept" in out


def test_show_names_an_unnamed_walk_in_visitor_and_the_channel_in_chinese(
    cli_env: str, session_factory: Callable[[], Session], routing: RoutingTable,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # It printed "渠道：visit" and the visitor who left no name as "信**" (the word 信访人 masked).
    service = CaseService(session_factory, routing)
    ticket = service.intake(ComplaintIntake(
        text="服务站工作人员推诿，优待证办了两个月还没有结果。", region="济南市", theme="card",
        channel="visit",
    )).ticket
    code, out, _ = run(capsys, "show", ticket)
    assert code == 0 and "渠道：来访（服务站登记）" in out
    assert "信访人（complainant）登记" in out and "信**" not in out
    assert service.get(ticket, OFFICE).events[0].actor_name == "信访人"
