"""Issue 11 privacy in Telegram: the name is asked for, numbers never travel in clear."""

from __future__ import annotations

import re

from tests.bot.conftest import HANDLER, VETERAN, BotHarness

ID_CARD = "370102198001011234"
BANK = "6222021234567890123"
RAW = re.compile(r"(?<![\d*])(1[3-9]\d{9}|\d{17}[\dXx]|\d{16,19})(?![\d*])")


async def test_name_is_asked_and_numbers_are_masked_in_confirmation_and_notice(harness: BotHarness) -> None:
    h = harness
    await h.say(VETERAN, "我要投诉公交司机不认优待证，拒绝让我免费乘车")
    await h.press(VETERAN, "交通出行优待")
    await h.press(VETERAN, "济南市")
    await h.say(VETERAN, f"我的身份证号{ID_CARD}，补贴发到银行卡{BANK}，司机说优待证无效。")
    assert "姓名" in h.last_text(VETERAN)
    await h.say(VETERAN, "张三 13812345678")
    summary = h.last_text(VETERAN)
    assert "姓名：张三" in summary
    assert not RAW.search(summary), summary
    await h.press(VETERAN, "确认提交")
    ticket = h.last_text(VETERAN).split("<b>")[1].split("</b>")[0]
    notice = h.api.sent_to(HANDLER)[-1]["text"]
    assert ticket in notice and not RAW.search(notice), notice
    view = h.cases.get(ticket, h.cases.handler_actor("jn-yfk"))
    assert view.complainant_name == "张三" and ID_CARD in view.text  # the caseworker's own view
    for message in h.api.sent_to(VETERAN) + h.api.sent_to(HANDLER):
        assert not RAW.search(message["text"]), message["text"]


async def test_caseworker_sends_interim_reply_and_extends_from_telegram(harness: BotHarness) -> None:
    from tests.bot.test_complaint_flow import file_complaint

    h = harness
    ticket = await file_complaint(h)
    notice = h.api.sent_to(HANDLER)[-1]
    labels = [b["text"] for row in notice["reply_markup"]["inline_keyboard"] for b in row]
    assert "办结" not in labels and "中间答复" not in labels
    await h.press(HANDLER, "受理")
    await h.press(HANDLER, "中间答复")
    await h.say(HANDLER, "已联系公交集团核实，请耐心等待。")
    assert "已联系公交集团核实" in h.last_text(VETERAN)
    await h.press(HANDLER, "延期")
    await h.say(HANDLER, "大概要十天左右")
    assert "天数" in h.last_text(HANDLER)
    await h.say(HANDLER, "15 需协调公交集团调取车载录像")
    view = h.cases.get(ticket)
    assert view.extended and view.extension_days == 15 and "车载录像" in (view.extension_reason or "")
    assert "延长 15 天" in h.last_text(VETERAN)


async def test_an_invalid_extension_asks_again_and_the_retry_is_the_day_count(harness: BotHarness) -> None:
    # fe26 §10: 「45」 got 「内容太简短」, 「45 需要协调银行制卡」 ended the dialog, and the retry
    # 「10 需要协调银行制卡」 was answered as a policy question.
    from tests.bot.test_complaint_flow import file_complaint

    h = harness
    ticket = await file_complaint(h)
    await h.press(HANDLER, "受理")
    await h.press(HANDLER, "延期")
    await h.say(HANDLER, "45")
    assert "1 至 30 天" in h.last_text(HANDLER) and "天数 理由" in h.last_text(HANDLER)
    await h.say(HANDLER, "45 需要协调银行制卡")
    assert "1 至 30 天" in h.last_text(HANDLER) and "重新输入" in h.last_text(HANDLER)
    await h.say(HANDLER, "10")
    assert "理由" in h.last_text(HANDLER) and "重新输入" in h.last_text(HANDLER)
    assert not h.cases.get(ticket).extended
    await h.say(HANDLER, "10 需要协调银行制卡")
    view = h.cases.get(ticket)
    assert view.extended and view.extension_days == 10 and view.extension_reason == "需要协调银行制卡"
    assert "延长 10 天" in h.last_text(VETERAN)


async def test_after_the_one_extension_the_extend_button_is_gone_and_an_old_one_says_why(
    harness: BotHarness,
) -> None:
    # fe27 §5: after 延期 the confirmation still offered 延期, which asked for days and a reason
    # only to refuse then.
    from tests.bot.test_complaint_flow import file_complaint

    h = harness
    ticket = await file_complaint(h)
    await h.press(HANDLER, "受理")
    await h.press(HANDLER, "延期")
    await h.say(HANDLER, "10 需要协调银行制卡")
    assert h.cases.get(ticket).extended
    done = h.api.sent_to(HANDLER)[-1]
    labels = [b["text"] for row in done["reply_markup"]["inline_keyboard"] for b in row]
    assert "办结" in labels and "延期" not in labels
    sent = len(h.api.sent_to(HANDLER))
    await h.press(HANDLER, "延期")  # the button of an earlier message
    assert "已延期过一次" in h.api.callback_answers[-1].get("text", "")
    assert len(h.api.sent_to(HANDLER)) == sent  # no prompt for days and a reason
    await h.say(HANDLER, "5 再延几天")
    assert h.cases.get(ticket).extension_days == 10
