"""Questions, region, feedback, 「查看原文」, guards and errors, driven through process_update."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import select

from knowledge.questionlog import QuestionLog
from knowledge.types import Answer
from tests.bot.conftest import (
    VETERAN,
    BotHarness,
    make_settings,
    start_harness,
    stop_harness,
)


def _buttons(message: dict) -> list[tuple[str, str]]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]


async def test_start_explains_scope_privacy_and_shows_topic_keyboard(harness: BotHarness) -> None:
    await harness.say(VETERAN, "/start")
    message = harness.api.sent_to(VETERAN)[-1]
    assert "不构成法律意见" in message["text"] and "不能审批" in message["text"]
    assert "隐私" in message["text"] and "打码" in message["text"]
    assert message["parse_mode"] == "HTML"
    labels = [
        b["text"] if isinstance(b, dict) else b for row in message["reply_markup"]["keyboard"] for b in row
    ]
    for label in ("优待证", "交通出行", "景区游览", "子女教育", "我要投诉", "查询进度"):
        assert label in labels


async def test_question_is_answered_with_escaped_citations_buttons_and_logged(harness: BotHarness) -> None:
    await harness.say(VETERAN, "优待证能免费坐公交吗？")
    assert harness.knowledge.calls == [("优待证能免费坐公交吗？", None)]
    assert "sendChatAction" in harness.api.methods()
    message = harness.api.sent_to(VETERAN)[-1]
    text = message["text"]
    assert "《中华人民共和国退役军人保障法》第六十二条" in text
    assert "政策依据" in text and "济南市地方规定" in text
    # dynamic text is escaped for HTML parse mode
    assert "&lt;注意&gt;" in text and "<注意>" not in text
    buttons = _buttons(message)
    with harness.session_factory() as s:
        row = s.scalars(select(QuestionLog)).one()
    assert row.channel == "telegram" and row.user_ref == f"tg:{VETERAN}"
    assert ("👍 有用", f"fb:{row.id}:up") in buttons and ("👎 没用", f"fb:{row.id}:down") in buttons
    source_buttons = [d for _, d in buttons if d.startswith("src:")]
    assert source_buttons == [f"src:{row.id}:0", f"src:{row.id}:1"]
    assert all(len(d.encode()) <= 64 for _, d in buttons)


async def test_topic_button_sends_representative_question(harness: BotHarness) -> None:
    await harness.say(VETERAN, "交通出行")
    assert harness.knowledge.calls[-1][0] == "退役军人乘坐公共交通工具有哪些优待？"


async def test_region_buttons_and_free_text_are_used_for_answers(harness: BotHarness) -> None:
    await harness.say(VETERAN, "/region")
    labels = [label for label, _ in _buttons(harness.api.sent_to(VETERAN)[-1])]
    assert "济南市" in labels and "扬州市" in labels and "全国" not in labels
    await harness.press(VETERAN, "扬州市")
    assert "扬州市" in harness.last_text(VETERAN)
    await harness.say(VETERAN, "优待证有什么用")
    assert harness.knowledge.calls[-1] == ("优待证有什么用", "扬州市")

    await harness.say(VETERAN, "设置地区")
    await harness.say(VETERAN, "济南")  # typed: mapped to the KB's spelling
    await harness.say(VETERAN, "坐公交优待")
    assert harness.knowledge.calls[-1] == ("坐公交优待", "济南市")


async def test_a_typed_region_that_is_no_place_is_refused_and_asked_again(harness: BotHarness) -> None:
    # It was stored as typed (已将您的地区设置为：火星市), and answers then said the KB had no
    # rule of 火星市; the web and the API refuse such a name with the same message.
    await harness.say(VETERAN, "/region")
    await harness.say(VETERAN, "火星市")
    assert "未知的地区“火星市”" in harness.last_text(VETERAN)
    assert "已将您的地区设置为" not in harness.last_text(VETERAN)
    await harness.say(VETERAN, "济南")  # still choosing a region
    assert "已将您的地区设置为：<b>济南市</b>" in harness.last_text(VETERAN)
    await harness.say(VETERAN, "坐公交优待")
    assert harness.knowledge.calls[-1] == ("坐公交优待", "济南市")


async def test_region_given_with_the_command_is_set_at_once(harness: BotHarness) -> None:
    # /region 扬州 ignored its argument and waited for a region; questions were then read as one.
    await harness.say(VETERAN, "/region 扬州")
    assert "已将您的地区设置为：<b>扬州市</b>" in harness.last_text(VETERAN)
    await harness.say(VETERAN, "坐公交优待")
    assert harness.knowledge.calls[-1] == ("坐公交优待", "扬州市")


async def test_a_question_typed_at_the_region_prompt_is_answered_not_taken_for_a_place(
    harness: BotHarness,
) -> None:
    # F13: after /region every message was read as a place: 坐地铁免费吗 got 「未知的地区“坐地铁
    # 免费吗”…请重新输入」 and the question was lost. It leaves the prompt and is answered.
    h = harness
    await h.say(VETERAN, "/region 扬州")
    await h.say(VETERAN, "/region")
    assert "请选择您所在的地区" in h.last_text(VETERAN)
    asked = len(h.knowledge.calls)
    await h.say(VETERAN, "坐地铁免费吗")
    assert h.knowledge.calls[asked:] == [("坐地铁免费吗", "扬州市")]  # the region kept
    texts = h.api.texts_to(VETERAN)
    assert "地区未更改" in texts[-2] and "未知的地区" not in "\n".join(texts[-2:])
    assert "政策依据" in texts[-1]
    assert h.app.user_data[VETERAN]["region"] == "扬州市"
    # the prompt is over: a place name typed next is a question, not a new region
    asked = len(h.knowledge.calls)
    await h.say(VETERAN, "济南")  # a follow-up: 在济南市，乘地铁有什么优待？
    assert len(h.knowledge.calls) == asked + 1 and "济南" in h.knowledge.calls[-1][0]
    assert "已将您的地区设置为" not in h.last_text(VETERAN)
    assert h.app.user_data[VETERAN]["region"] == "扬州市"
    # a question naming a place is a question too; other question words without 吗
    questions = ("济南坐地铁免费吗", "老兵坐地铁免费", "能免费坐公交", "我想知道本市景区对退役军人免费开放")
    for question in questions:
        await h.say(VETERAN, "/region")
        await h.say(VETERAN, question)
        assert h.knowledge.calls[-1] == (question, "扬州市"), question
        assert "地区未更改" in h.api.texts_to(VETERAN)[-2]
    assert h.app.user_data[VETERAN]["region"] == "扬州市"
    # a short unknown name is still a place spelt wrong
    await h.say(VETERAN, "/region")
    before = len(h.knowledge.calls)
    await h.say(VETERAN, "火星市")
    assert "未知的地区“火星市”" in h.last_text(VETERAN) and len(h.knowledge.calls) == before
    await h.say(VETERAN, "济南")
    assert "已将您的地区设置为：<b>济南市</b>" in h.last_text(VETERAN)


async def test_a_complaint_typed_at_the_region_prompt_starts_the_complaint(harness: BotHarness) -> None:
    # Passed on like any message: the complaint conversation takes it and keeps its own state.
    h = harness
    await h.say(VETERAN, "/region")
    await h.say(VETERAN, "我要投诉公交司机不认优待证，拒绝让我免费乘车")
    assert any("地区未更改" in t for t in h.api.texts_to(VETERAN)[-3:])
    assert "系统初步判断为 <b>交通出行优待</b>" in h.last_text(VETERAN)
    await h.press(VETERAN, "交通出行优待")
    assert "哪个地区" in h.last_text(VETERAN)
    assert "region" not in h.app.user_data[VETERAN]


async def test_feedback_is_stored_and_only_the_asker_may_rate(harness: BotHarness) -> None:
    await harness.say(VETERAN, "优待证能免费坐公交吗？")
    message, data = harness.api.find_button(VETERAN, "👎")
    await harness.send(harness.api.callback_update(VETERAN + 1, data, message))  # someone else
    assert "只有提问人" in harness.api.callback_answers[-1]["text"]
    await harness.send(harness.api.callback_update(VETERAN, data, message))
    with harness.session_factory() as s:
        row = s.scalars(select(QuestionLog)).one()
    assert row.rating == "down" and row.question == "优待证能免费坐公交吗？"
    assert "感谢" in harness.api.callback_answers[-1]["text"]
    labels = [label for label, _ in _buttons(harness.api.sent_to(VETERAN)[-1])]
    assert "已评价：👎 没用" in labels and any(label.startswith("📄") for label in labels)


async def test_view_source_sends_the_cited_chunk_text(harness: BotHarness) -> None:
    await harness.say(VETERAN, "优待证能免费坐公交吗？")
    await harness.press(VETERAN, "查看原文 2")
    text = harness.last_text(VETERAN)
    assert "《济南市退役军人优待办法》第五条" in text
    assert "&lt;b&gt;线路&lt;/b&gt; &amp; 地铁" in text and "（全文）" in text
    assert "济南市" in text


async def test_refused_answer_has_no_sources_but_feedback(harness: BotHarness) -> None:
    await harness.say(VETERAN, "明天天气怎么样")
    message = harness.api.sent_to(VETERAN)[-1]
    assert "12345" in message["text"] and "政策依据" not in message["text"]
    data = [d for _, d in _buttons(message)]
    assert not any(d.startswith("src:") for d in data) and any(d.startswith("fb:") for d in data)


async def test_long_answer_is_split_under_the_limit_with_buttons_last(harness: BotHarness) -> None:
    await harness.say(VETERAN, "长篇回答")
    sent = harness.api.sent_to(VETERAN)
    assert len(sent) >= 2
    assert all(len(m["text"]) <= 4096 for m in sent)
    assert all(not m.get("reply_markup") for m in sent[:-1]) and sent[-1].get("reply_markup")
    joined = "".join(m["text"] for m in sent)
    assert joined.count("第六十二条") >= 240  # nothing lost


async def test_long_message_non_text_and_photo_get_clear_replies(harness: BotHarness) -> None:
    await harness.say(VETERAN, "请问" * 260)
    assert "超过 500 字" in harness.last_text(VETERAN)
    assert harness.knowledge.calls == []
    api = harness.api
    await harness.send(
        api.message_update(
            VETERAN,
            None,
            sticker={
                "file_id": "st1",
                "file_unique_id": "u1",
                "width": 10,
                "height": 10,
                "is_animated": False,
                "is_video": False,
                "type": "regular",
            },
        )
    )
    assert "只能处理文字" in harness.last_text(VETERAN)
    await harness.send(
        api.message_update(VETERAN, None, voice={"file_id": "v1", "file_unique_id": "uv", "duration": 3})
    )
    assert "只能处理文字" in harness.last_text(VETERAN)
    await harness.send(
        api.message_update(
            VETERAN, None, document={"file_id": "d1", "file_unique_id": "ud", "file_name": "a.pdf"}
        )
    )
    assert "只能处理文字" in harness.last_text(VETERAN)
    await harness.send(api.photo_update(VETERAN))
    assert "图片仅在提交投诉时" in harness.last_text(VETERAN)
    await harness.say(VETERAN, "/nosuchcommand")
    assert "未知的命令" in harness.last_text(VETERAN)
    assert harness.knowledge.calls == []


async def test_rate_limit_is_per_user_and_polite(tmp_path: Path, session_factory, fake_knowledge) -> None:
    h = await start_harness(make_settings(tmp_path, rate_limit_per_minute=3), session_factory, fake_knowledge)
    try:
        for i in range(5):
            await h.say(VETERAN, f"优待证问题{i}")
        assert len(fake_knowledge.calls) == 3
        limited = [t for t in h.api.texts_to(VETERAN) if "频繁" in t]
        assert len(limited) == 1  # told once, not once per message
        await h.say(VETERAN + 5, "另一个用户的问题")
        assert len(fake_knowledge.calls) == 4
    finally:
        await stop_harness(h)


async def test_unexpected_error_is_logged_masked_and_apologised(harness: BotHarness, caplog) -> None:
    caplog.set_level(logging.ERROR, logger="bot.app")
    await harness.say(VETERAN, "系统崩溃了吗")
    assert "抱歉，系统处理您的消息时出现问题" in harness.last_text(VETERAN)
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "bot.app")
    assert "boom while answering" in logged
    assert "13812345678" not in logged and "138****5678" in logged
    assert "TEST-TOKEN" not in logged


async def test_group_chats_are_ignored(harness: BotHarness) -> None:
    update = harness.api.message_update(VETERAN, "优待证")
    update["message"]["chat"] = {"id": -100123, "type": "supergroup", "title": "群"}
    await harness.send(update)
    assert harness.knowledge.calls == [] and harness.api.sent == []


async def test_region_buttons_leave_out_regions_outside_the_gazetteer(
    harness: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(harness.knowledge, "regions", lambda: ["全国", "济南市", "青岚市"])
    await harness.say(VETERAN, "/region")
    labels = [label for label, _ in _buttons(harness.api.sent_to(VETERAN)[-1])]
    assert "济南市" in labels and "青岚市" not in labels


async def test_no_feedback_buttons_under_a_hint_to_rephrase(
    harness: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def hint(question: str, region: str | None = None) -> Answer:
        return Answer(question=question, answer="请用一句话描述您的问题。", refused=True,
                      refusal_reason="empty")

    monkeypatch.setattr(harness.knowledge, "ask", hint)
    await harness.say(VETERAN, "🙂👍🎖️")
    assert "请用一句话描述" in harness.last_text(VETERAN)
    labels = [label for label, _ in _buttons(harness.api.sent_to(VETERAN)[-1])]
    assert not any("👍" in label or "👎" in label for label in labels)
