"""Issue 11 on the complainant's side (fake Bot API): photos fetched once, interim reply, 协办,
transfer, merge and result reach Telegram; no full ID/phone/bank number in any message."""

from __future__ import annotations

import re
from pathlib import Path

from complaints.merging import merge
from complaints.partners import answer_assist, request_assist, transfer_to_partner
from complaints.types import Actor
from tests.bot.conftest import HANDLER, PARTNER, VETERAN, BotHarness, wait_until
from tests.bot.test_complaint_flow import file_complaint

RAW = re.compile(r"(?<![\d*])(1[3-9]\d{9}|\d{17}[\dXx]|\d{16,19})(?![\d*])")
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
    b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


async def test_photo_is_fetched_once_through_the_bot_and_stored(harness: BotHarness) -> None:
    h = harness
    h.api.files["photo-abc"] = PNG
    ticket = await file_complaint(h)

    def stored() -> bool:
        return bool(h.cases.get(ticket).attachments[0].stored)

    await wait_until(stored)
    item = h.cases.get(ticket).attachments[0]
    assert item.kind == "photo" and item.mime == "image/png"
    root = Path(h.app.vetbot.settings.data_dir) / "case-files"  # type: ignore[attr-defined]
    assert (root / str(item.stored)).read_bytes() == PNG
    assert h.api.downloads == ["photo-abc"]
    assert "getFile" in h.api.methods()
    # idempotent: a later sweep downloads nothing again
    assert await h.app.vetbot.photos.sweep() == 0  # type: ignore[attr-defined, union-attr]
    assert h.api.downloads == ["photo-abc"]
    events = [e.action for e in h.cases.get(ticket).events]
    assert events.count("attach") == 1


async def test_complainant_receives_interim_reply_assist_transfer_merge_and_result(
    harness: BotHarness,
) -> None:
    h = harness
    office = Actor(id="office", name="双拥办", role="office")
    caseworker = h.cases.handler_actor("jn-yfk")
    first = await file_complaint(h)
    h.cases.accept(first, caseworker)
    h.cases.reply(first, caseworker, "已联系公交集团核实，请耐心等待。")
    await h.notifier.drain()
    assert "已联系公交集团核实" in h.last_text(VETERAN)
    # 协办: the partner unit is told in its chat; its answer reaches the caseworker, not the complainant
    request_assist(h.cases, first, caseworker, "jn-jtj", "请核查K51路司机", days=7)
    await h.notifier.drain()
    assert "协办请求" in h.api.texts_to(PARTNER)[-1] and first in h.api.texts_to(PARTNER)[-1]
    sent_before = len(h.api.texts_to(VETERAN))
    answer_assist(h.cases, first, Actor(id="jn-jtj", name="交通局", role="partner"), "已责令公交公司整改")
    await h.notifier.drain()
    assert "已责令公交公司整改" in h.last_text(HANDLER)
    assert len(h.api.texts_to(VETERAN)) == sent_before
    h.cases.conclude(first, caseworker, "公交集团已对司机批评教育，今后凭优待证免费乘车。")
    await h.notifier.drain()
    assert "已办结" in h.last_text(VETERAN) and "批评教育" in h.last_text(VETERAN)
    # transfer to the partner: the complainant sees where it went and keeps tracking
    second = await file_complaint(h)
    transfer_to_partner(h.cases, second, office, "jn-jtj", "线路由交通部门管理")
    await h.notifier.drain()
    told = h.last_text(VETERAN)
    assert "已转交济南市交通运输局办理" in told and "线路由交通部门管理" not in told
    await h.say(VETERAN, f"/status {second}")
    assert "已转办" in h.last_text(VETERAN) and "济南市交通运输局" in h.last_text(VETERAN)
    # merge a duplicate: /status of the old ticket follows the surviving case
    third = await file_complaint(h)
    fourth = await file_complaint(h)
    merge(h.cases, fourth, office, third, "重复提交")
    await h.notifier.drain()
    assert third in h.last_text(VETERAN) and "合并" in h.last_text(VETERAN)
    h.cases.accept(third, caseworker)
    await h.notifier.drain()
    await h.say(VETERAN, f"/status {fourth}")
    status = h.last_text(VETERAN)
    assert "已合并至" in status and third in status and "合并后案件状态：<b>已受理</b>" in status
    for chat in (VETERAN, HANDLER, PARTNER):
        for text in h.api.texts_to(chat):
            assert not RAW.search(text), text
