"""End to end: the real bot polling a Bot API server of our own on 127.0.0.1, with the real
KnowledgeService over the bundled knowledge base and the real CaseService on SQLite.

A veteran asks three questions, files a complaint through the whole conversation; the case
handler (a Telegram user in the routing file) accepts and concludes it; the veteran is notified
and sees the new status with /status. Assertions are on the messages the bot actually sent.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_application
from bot.notifier import TelegramNotifier
from complaints.routing import RoutingTable
from complaints.service import CaseService
from tests.bot.conftest import HANDLER, TOKEN, VETERAN, make_settings
from tests.bot.fake_telegram import FakeTelegramServer
from vetbot.db import create_db_engine, make_session_factory

pytestmark = pytest.mark.slow

ROUTING_YAML = f"""
handlers:
  - id: jn-yfk
    name: 王建国
    unit: 济南市退役军人事务局优抚科
    region: 济南市
    telegram_chat_id: {HANDLER}
  - id: xfk
    name: 赵信访
    unit: 省退役军人事务厅信访处
    region: "*"
    telegram_chat_id: {HANDLER}
rules:
  - region: 济南市
    theme: "*"
    handler: jn-yfk
fallback: xfk
"""

CITATION = re.compile(r"《[^》]+》")


class Veteran:
    """Plays one Telegram user against the server: sends updates, waits for the bot's replies."""

    def __init__(self, server: FakeTelegramServer, user_id: int) -> None:
        self.server, self.api, self.id = server, server.api, user_id

    def _count(self) -> int:
        return self.api.count_sent(self.id)

    async def wait(self, predicate: Callable[[], bool], timeout: float = 60.0) -> None:
        await asyncio.to_thread(self.api.wait_for, predicate, timeout)

    async def say(
        self, text: str, expect: Callable[[list[dict[str, Any]]], bool] | None = None
    ) -> dict[str, Any]:
        """Send ``text``; wait for a new message (matching ``expect``) and return the newest."""
        before = self._count()
        self.api.push(self.api.message_update(self.id, text))
        return await self._await_reply(before, expect)

    async def press(
        self, label_part: str, expect: Callable[[list[dict[str, Any]]], bool] | None = None
    ) -> dict[str, Any]:
        """Press the newest inline button containing ``label_part``; wait for a new message."""
        message, data = self.api.find_button(self.id, label_part)
        before = self._count()
        self.api.push(self.api.callback_update(self.id, data, message))
        return await self._await_reply(before, expect)

    async def _await_reply(
        self, before: int, expect: Callable[[list[dict[str, Any]]], bool] | None
    ) -> dict[str, Any]:
        def ready() -> bool:
            new = [m for m in self.api.sent if m["chat"]["id"] == self.id][before:]
            return bool(new) and (expect is None or expect(new))

        await self.wait(ready)
        return self.api.sent_to(self.id)[-1]


def has(text: str) -> Callable[[list[dict[str, Any]]], bool]:
    """Predicate: one of the new messages contains ``text``."""
    return lambda msgs: any(text in m["text"] for m in msgs)


async def test_veteran_asks_files_complaint_and_handler_resolves_it(
    knowledge_service: Any, template_db: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    db = tmp_path / "vetbot.db"
    db.write_bytes(template_db.read_bytes())
    session_factory = make_session_factory(create_db_engine(f"sqlite:///{db}"))
    routing_file = tmp_path / "routing.yaml"
    routing_file.write_text(ROUTING_YAML, encoding="utf-8")

    server = FakeTelegramServer().start()
    settings = make_settings(tmp_path, telegram_base_url=server.base_url, routing_file=routing_file)
    notifier = TelegramNotifier()
    cases = CaseService(
        session_factory,
        RoutingTable.load(settings.routing_file),
        notifier=notifier,
        classifier=knowledge_service.classifier,
    )
    app = build_application(
        settings, knowledge=knowledge_service, cases=cases, session_factory=session_factory, notifier=notifier
    )
    await app.initialize()
    await app.updater.start_polling(timeout=1, poll_interval=0)
    await app.start()
    veteran, handler = Veteran(server, VETERAN), Veteran(server, HANDLER)
    try:
        welcome = await veteran.say("/start")
        assert "不构成法律意见" in welcome["text"]

        # --- three questions, each answered with citations -----------------------------------
        await veteran.say("/region")
        await veteran.press("济南市", expect=has("济南市"))
        for question in (
            "退役军人优待证有什么用？",
            "退役军人乘坐火车有什么优待？",
            "退役军人子女入学有哪些优待政策？",
        ):
            answer = await veteran.say(
                question, expect=lambda msgs: any("政策依据" in m["text"] for m in msgs)
            )
            assert CITATION.search(answer["text"]), answer["text"]
            labels = [b["text"] for row in answer["reply_markup"]["inline_keyboard"] for b in row]
            assert any(label.startswith("📄 查看原文") for label in labels) and "👍 有用" in labels
        assert "sendChatAction" in server.api.methods()
        source = await veteran.press("查看原文 1")
        assert CITATION.search(source["text"])

        # --- a complaint, detected from free text, through every step --------------------------
        theme_prompt = await veteran.say(
            "我要投诉！济南市公交司机不认我的退役军人优待证，拒绝让我免费乘车，还态度恶劣。",
            expect=has("投诉类别"),
        )
        assert any(
            b["text"].startswith("✅") for row in theme_prompt["reply_markup"]["inline_keyboard"] for b in row
        ), "the classifier's theme is preselected"
        await veteran.press("交通出行", expect=has("哪个地区"))
        await veteran.press("济南市", expect=has("详细描述"))
        await veteran.say(
            "2025年3月8日上午，K51路公交车，司机要求我投币，不认可优待证。", expect=has("联系手机号")
        )
        summary = await veteran.say("13812345678", expect=has("请核对"))
        assert "138****5678" in summary["text"] and "13812345678" not in summary["text"]
        filed = await veteran.press("确认提交", expect=has("受理编号"))
        ticket = re.search(r"TS-\d{8}-\d{4}", filed["text"]).group(0)  # type: ignore[union-attr]
        assert "15 日内" in filed["text"]

        # --- the handler receives the case, accepts, then concludes with a reply ----------------
        await handler.wait(lambda: any(ticket in m["text"] for m in server.api.sent_to(HANDLER)))
        notice = server.api.sent_to(HANDLER)[-1]
        assert [b["text"] for row in notice["reply_markup"]["inline_keyboard"] for b in row] == [
            "受理",
            "不予受理",
            "转办",
        ]  # issue 11: no 办结 before 受理
        assert "13812345678" not in notice["text"]
        await handler.press("受理", expect=has("已受理"))
        await veteran.wait(
            lambda: any("已受理" in m["text"] and ticket in m["text"] for m in server.api.sent_to(VETERAN))
        )
        await handler.press("办结", expect=has("办结答复内容"))
        await handler.say("已约谈公交公司，司机已道歉并承诺今后严格执行优待政策。", expect=has("已办结"))

        await veteran.wait(
            lambda: any(
                "已办结" in m["text"] and "司机已道歉" in m["text"] for m in server.api.sent_to(VETERAN)
            )
        )
        final = next(m for m in reversed(server.api.sent_to(VETERAN)) if "已办结" in m["text"])
        assert [b["text"] for row in final["reply_markup"]["inline_keyboard"] for b in row] == [
            "满意",
            "基本满意",
            "不满意",
        ]

        status = await veteran.say("/status", expect=has(ticket))
        status_text = "\n".join(m["text"] for m in server.api.sent_to(VETERAN)[-2:])
        assert "已办结" in status_text and "济南市退役军人事务局优抚科" in status_text
        assert status["text"]

        await veteran.press("满意", expect=has("感谢您的评价"))
        assert cases.get(ticket).rating == "满意"
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
        server.stop()

    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert TOKEN not in logged  # request URLs with the token are never logged
