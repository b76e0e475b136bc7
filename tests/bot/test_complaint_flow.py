"""Complaint filing, case handling from Telegram, /status and rating (process_update)."""

from __future__ import annotations

import pytest

from complaints.types import CaseFilter
from tests.bot.conftest import ADMIN, HANDLER, OTHER_HANDLER, STRANGER, VETERAN, BotHarness


def _labels(message: dict) -> list[str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [b["text"] for row in rows for b in row]


async def file_complaint(h: BotHarness, *, phone: str | None = "138 1234 5678") -> str:
    """Walk the whole conversation from a detected complaint; returns the ticket."""
    await h.say(VETERAN, "我要投诉公交司机不认优待证，拒绝让我免费乘车")
    await h.press(VETERAN, "交通出行优待")
    await h.press(VETERAN, "济南市")
    await h.send(h.api.photo_update(VETERAN, "photo-abc", caption="车票照片"))
    await h.say(VETERAN, "2024年5月3日上午在济南K51路公交车上，司机说优待证无效，要求我投币。")
    if phone is None:
        await h.press(VETERAN, "跳过")
    else:
        await h.say(VETERAN, phone)
    await h.press(VETERAN, "确认提交")
    text = h.last_text(VETERAN)
    assert "受理编号" in text
    # The photo is fetched in the background; it updates the case row, so let it land before
    # a test acts on the case (a caseworker acting in that instant gets a "changed" conflict).
    await h.app.vetbot.photos.drain()  # type: ignore[attr-defined]
    return text.split("<b>")[1].split("</b>")[0]


async def test_detected_complaint_goes_through_every_step_and_is_filed(harness: BotHarness) -> None:
    h = harness
    await h.say(VETERAN, "我要投诉公交司机不认优待证，拒绝让我免费乘车")
    theme_msg = h.api.sent_to(VETERAN)[-1]
    assert "系统初步判断为 <b>交通出行优待</b>" in theme_msg["text"]
    labels = _labels(theme_msg)
    assert "✅ 交通出行优待" in labels and len([x for x in labels if x != "取消投诉"]) == 10
    # text where a button is expected
    await h.say(VETERAN, "随便说说")
    assert "请点击上方按钮" in h.last_text(VETERAN)
    await h.press(VETERAN, "交通出行优待")
    assert "哪个地区" in h.last_text(VETERAN)
    await h.press(VETERAN, "济南市")
    assert "详细描述" in h.last_text(VETERAN) and "公交司机不认优待证" in h.last_text(VETERAN)
    await h.send(h.api.photo_update(VETERAN, "photo-abc"))
    assert "已收到照片（共 1 张）" in h.last_text(VETERAN)
    await h.say(VETERAN, "2024年5月3日上午在济南K51路公交车上，司机说优待证无效，要求我投币。")
    assert "联系手机号" in h.last_text(VETERAN)
    await h.say(VETERAN, "12345")
    assert "格式不正确" in h.last_text(VETERAN)
    await h.say(VETERAN, "+86 138-1234-5678")
    summary = h.last_text(VETERAN)
    assert "138****5678" in summary and "13812345678" not in summary
    assert "照片：1 张" in summary and "济南市" in summary and "交通出行优待" in summary
    await h.press(VETERAN, "确认提交")
    done = h.last_text(VETERAN)
    assert "受理编号：<b>TS-" in done and "15 日内" in done and "济南市退役军人事务局优抚科" in done
    ticket = done.split("<b>")[1].split("</b>")[0]

    view = h.cases.get(ticket, h.cases.handler_actor("jn-yfk"))
    assert view.theme == "transit" and view.region == "济南市" and view.complainant_chat_id == VETERAN
    assert view.complainant_phone == "13812345678"
    assert "公交司机不认优待证" in view.text and "K51路" in view.text
    assert [a.file_id for a in view.attachments] == ["photo-abc"] and view.attachments[0].kind == "photo"
    # the handler got the case with the actions a new case allows (issue 11: no 办结 before 受理)
    notice = h.api.sent_to(HANDLER)[-1]
    assert ticket in notice["text"]
    assert _labels(notice) == ["受理", "不予受理", "转办"]
    # the draft is gone
    assert "complaint" not in h.app.user_data[VETERAN]


async def test_text_typed_at_the_summary_comes_after_the_details_in_the_case_text(
    harness: BotHarness,
) -> None:
    # It was joined to the first message, so the case read 原话 / later text / 补充说明 (earlier
    # text): the caseworker saw the complainant's words out of the order they were written.
    h = harness
    await h.say(VETERAN, "我要投诉公交司机不认优待证，拒绝让我免费乘车")
    await h.press(VETERAN, "交通出行优待")
    await h.press(VETERAN, "济南市")
    await h.say(VETERAN, "2024年5月3日上午在济南K51路公交车上，司机说优待证无效，要求我投币。")
    await h.say(VETERAN, "138 1234 5678")
    await h.say(VETERAN, "司机工号是8866，当时车上还有别的乘客可以作证")
    assert "已补充到投诉内容中" in h.last_text(VETERAN)
    await h.press(VETERAN, "确认提交")
    ticket = h.last_text(VETERAN).split("<b>")[1].split("</b>")[0]
    text = h.cases.get(ticket, h.cases.handler_actor("jn-yfk")).text
    assert text.index("公交司机不认优待证") < text.index("K51路") < text.index("工号是8866"), text


async def test_a_typed_complaint_region_that_is_no_place_is_asked_again(harness: BotHarness) -> None:
    # 火星市 was filed as the case's region (POST /v1/complaints refuses it); a place typed short
    # is stored by its official name, as the API stores it.
    h = harness
    await h.say(VETERAN, "我要投诉公交司机不认优待证，拒绝让我免费乘车")
    await h.press(VETERAN, "交通出行优待")
    await h.say(VETERAN, "火星市")
    assert "未知的地区“火星市”" in h.last_text(VETERAN)
    assert "详细描述" not in h.last_text(VETERAN)
    await h.say(VETERAN, "济南")
    assert "详细描述" in h.last_text(VETERAN)
    await h.say(VETERAN, "2024年5月3日上午在济南K51路公交车上，司机说优待证无效，要求我投币。")
    await h.press(VETERAN, "跳过")
    assert "地区：济南市" in h.last_text(VETERAN)
    await h.press(VETERAN, "确认提交")
    ticket = h.last_text(VETERAN).split("<b>")[1].split("</b>")[0]
    assert h.cases.get(ticket, h.cases.handler_actor("jn-yfk")).region == "济南市"


async def test_a_place_named_in_the_complaint_is_preselected_at_the_region_step(harness: BotHarness) -> None:
    # fe25 §11: 「金华双龙洞景区…」 got no ✅ at step 2 although the theme was preselected.
    h = harness
    await h.say(VETERAN, "我要投诉金华双龙洞景区不认退役军人优待证，不给免票")
    await h.press(VETERAN, "景区/公园")
    region_msg = h.api.sent_to(VETERAN)[-1]
    assert "哪个地区" in region_msg["text"] and "初步判断为 <b>金华市</b>" in region_msg["text"]
    labels = _labels(region_msg)
    assert labels[0] == "✅ 金华市" and [x for x in labels if x.startswith("✅")] == ["✅ 金华市"]
    await h.press(VETERAN, "金华市")
    assert "详细描述" in h.last_text(VETERAN)
    # a place the knowledge base has no rules for is offered too, first
    await h.say(STRANGER, "/complain")
    await h.press(STRANGER, "景区/公园")
    assert "初步判断" not in h.last_text(STRANGER)  # nothing said yet: nothing preselected
    assert not any(x.startswith("✅") for x in _labels(h.api.sent_to(STRANGER)[-1]))
    await h.say(STRANGER + 1, "我要投诉杭州西湖边的景点不认优待证，要求我买全价票")
    await h.press(STRANGER + 1, "景区/公园")
    assert _labels(h.api.sent_to(STRANGER + 1)[-1])[0] == "✅ 杭州市"


async def test_complain_command_cancel_and_edit(harness: BotHarness) -> None:
    h = harness
    await h.say(VETERAN, "/complain")
    assert "系统初步判断" not in h.last_text(VETERAN)
    await h.say(VETERAN, "/cancel")
    assert "已取消" in h.last_text(VETERAN)
    assert "complaint" not in h.app.user_data[VETERAN]
    # after cancelling, free text is a question again
    await h.say(VETERAN, "优待证怎么办")
    assert h.knowledge.calls[-1][0] == "优待证怎么办"

    await h.say(VETERAN, "我要投诉")  # the menu button
    await h.press(VETERAN, "就医优待")
    await h.say(VETERAN, "杭州市")  # typed region
    await h.say(VETERAN, "太短")  # no earlier text: the details must say something
    assert "描述太简短" in h.last_text(VETERAN)
    await h.say(VETERAN, "在医院就诊时没有享受到优先挂号的优待，工作人员态度生硬。")
    await h.press(VETERAN, "跳过")
    assert "联系电话：未留" in h.last_text(VETERAN) and "杭州市" in h.last_text(VETERAN)
    await h.press(VETERAN, "修改")
    await h.press(VETERAN, "电话")
    await h.say(VETERAN, "13900001111")
    summary = h.last_text(VETERAN)
    assert "139****1111" in summary and "就医优待" in summary  # back at the summary, rest kept
    await h.press(VETERAN, "修改")
    await h.press(VETERAN, "地区")
    await h.say(VETERAN, "济南")
    assert "地区：济南" in h.last_text(VETERAN)
    await h.press(VETERAN, "取消")
    assert "已取消" in h.last_text(VETERAN)
    assert h.cases.list_for_complainant(VETERAN) == []


async def test_offered_complaint_button_prefills_the_question(harness: BotHarness) -> None:
    h = harness
    await h.say(VETERAN, "景区不给优待，这不公平吧")
    assert "我要投诉" in _labels(h.api.sent_to(VETERAN)[-1])[-1]
    await h.press(VETERAN, "我要投诉")
    await h.press(VETERAN, "景区")
    await h.press(VETERAN, "扬州市")
    assert "景区不给优待，这不公平吧" in h.last_text(VETERAN)
    await h.say(VETERAN, "无补充")
    await h.press(VETERAN, "跳过")
    assert "景区不给优待" in h.last_text(VETERAN)


async def test_handler_accepts_and_concludes_complainant_is_notified_and_rates(harness: BotHarness) -> None:
    h = harness
    ticket = await file_complaint(h)

    # a stranger and a handler of another case may not act
    notice, accept_data = h.api.find_button(HANDLER, "受理")
    await h.send(h.api.callback_update(STRANGER, accept_data, notice))
    assert "只有本案承办人员或管理员" in h.api.callback_answers[-1]["text"]
    await h.send(h.api.callback_update(OTHER_HANDLER, accept_data, notice))
    assert "只有本案承办人" in h.api.callback_answers[-1]["text"]
    assert h.cases.get(ticket).status == "待受理"
    # 办结 before 受理 is not offered (issue 11)
    assert "办结" not in _labels(notice)

    await h.press(HANDLER, "受理")
    assert h.cases.get(ticket).status == "已受理"
    assert f"已受理：{ticket}" in h.last_text(HANDLER)
    # buttons refreshed (issue 11 added 中间答复 and 延期)
    assert _labels(h.api.sent_to(HANDLER)[0]) == ["转办", "办结", "中间答复", "延期"]
    assert "已受理" in h.last_text(VETERAN) and ticket in h.last_text(VETERAN)

    await h.press(HANDLER, "办结")
    assert "办结答复内容" in h.last_text(HANDLER)
    await h.say(HANDLER, "短")
    assert "太简短" in h.last_text(HANDLER)
    await h.say(HANDLER, "已约谈公交公司，司机已道歉并补办优待乘车，后续加强培训。")
    view = h.cases.get(ticket)
    assert view.status == "已办结" and "司机已道歉" in (view.result or "")
    final = h.api.sent_to(VETERAN)[-1]
    assert "已办结" in final["text"] and "司机已道歉" in final["text"]
    assert _labels(final) == ["满意", "基本满意", "不满意"]

    await h.say(VETERAN, "/status")
    status = h.last_text(VETERAN)
    assert ticket in status and "已办结" in status and "济南市退役军人事务局优抚科" in status
    assert "办结" in status and "司机已道歉" in status

    await h.send(h.api.callback_update(VETERAN, f"rt:{ticket}:1", final))
    assert h.cases.get(ticket).rating == "基本满意"
    assert "感谢您的评价" in h.last_text(VETERAN)


async def test_reject_and_transfer_need_a_reason_and_admin_may_act(harness: BotHarness) -> None:
    h = harness
    first = await file_complaint(h, phone=None)
    await h.press(HANDLER, "不予受理")
    assert "不予受理的理由" in h.last_text(HANDLER)
    await h.say(HANDLER, "/cancel")
    assert h.cases.get(first).status == "待受理"
    await h.press(HANDLER, "不予受理")
    await h.say(HANDLER, "该事项已通过复议程序处理，不属于本机关受理范围。")
    assert h.cases.get(first).status == "不予受理"
    assert "不予受理" in h.last_text(VETERAN) and "复议程序" in h.last_text(VETERAN)

    second = await file_complaint(h, phone="13812345678")
    # an admin opens the case in their own chat (contact data masked) and acts on it
    await h.say(ADMIN, f"/case {second}")
    shown = h.api.sent_to(ADMIN)[-1]
    assert second in shown["text"] and "138****5678" in shown["text"] and "13812345678" not in shown["text"]
    assert _labels(shown) == ["受理", "不予受理", "转办"]
    await h.say(STRANGER, f"/case {second}")
    assert "只有本案承办人员或管理员" in h.last_text(STRANGER)
    await h.say(HANDLER, f"/case {second}")
    assert "13812345678" in h.last_text(HANDLER)  # the assigned handler sees it in full
    await h.press(ADMIN, "转办")
    assert "转办的单位" in h.last_text(ADMIN)
    await h.say(ADMIN, "济南公交集团客服中心；请核实司机行为并答复")
    view = h.cases.get(second)
    assert view.status == "已转办" and view.transferred_to == "济南公交集团客服中心"
    assert "济南公交集团客服中心" in h.last_text(VETERAN)
    # the event was recorded with the admin as actor
    admin_cases = h.cases.list_cases(CaseFilter(status="已转办"), h.cases.handler_actor("jn-yfk"))
    assert [c.ticket for c in admin_cases] == [second]
    event = h.cases.get(second).events[-1]
    assert event.actor_role == "admin" and event.action == "transfer"


async def test_status_without_cases_and_with_unknown_ticket(harness: BotHarness) -> None:
    h = harness
    await h.say(VETERAN, "查询进度")
    assert "还没有提交过投诉" in h.last_text(VETERAN)
    ticket = await file_complaint(h)
    await h.say(STRANGER, f"/status {ticket}")
    assert "未找到" in h.last_text(STRANGER)
    await h.say(VETERAN, f"/status {ticket}")
    text = h.last_text(VETERAN)
    assert "待受理" in text and "受理期限" in text and "办理记录" in text


@pytest.mark.parametrize(
    "question", ["我的投诉到哪了？", "我投诉的事处理了吗", "请问我反映的问题现在进度怎么样"]
)
async def test_asking_about_my_complaint_in_words_shows_its_status(
    harness: BotHarness, question: str
) -> None:
    # Veterans rarely type /status: a question about their own case's progress must show it,
    # not start a second complaint or answer with a 信访 article.
    h = harness
    ticket = await file_complaint(h)
    asked_before = len(h.knowledge.calls)
    await h.say(VETERAN, question)
    texts = h.api.texts_to(VETERAN)
    assert "您的投诉办理进度" in "\n".join(texts[-2:]) and ticket in texts[-1]
    assert len(h.knowledge.calls) == asked_before  # not sent to the policy answerer
    assert len(h.cases.list_for_complainant(VETERAN)) == 1


async def test_a_complaint_that_mentions_progress_still_starts_a_complaint(harness: BotHarness) -> None:
    h = harness
    await h.say(VETERAN, "我投诉了三个月都没人处理，你们到底管不管，进度呢")
    assert "投诉类别" in h.last_text(VETERAN)
