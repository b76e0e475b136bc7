"""Unit tests of the conversation layer (context, rewrite, small talk, input) with a fake asker."""

from __future__ import annotations

from datetime import timedelta

import pytest

from knowledge import smalltalk
from knowledge.conversation import ConversationService, run_chats
from knowledge.conversation_input import (
    TypoCorrector,
    clean_message,
    english_hint_question,
    foreign_language,
    question_part,
)
from knowledge.conversation_slots import extract
from knowledge.question_checks import domain_vocabulary
from knowledge.types import Answer, Passage
from vetbot.clock import utcnow
from vetbot.textnorm import clean_input


class Asker:
    """Records questions; answers every one citing a passage about 残疾军人."""

    vocabulary = frozenset({"优待证", "残疾军人", "烈士遗属", "退役军人", "军人家属"})

    def __init__(self) -> None:
        self.asked: list[str] = []

    def regions(self) -> list[str]:
        return ["全国", "济南市", "扬州市"]

    def ask(self, question: str, region: str | None = None) -> Answer:
        self.asked.append(question)
        src = Passage(
            title="军人抚恤优待条例", article="第五十二条", text="残疾军人免费乘坐市内公共汽车。", score=1.0
        )
        return Answer(question=question, answer="残疾军人免费乘坐。", refused=False, sources=[src])


@pytest.fixture
def chat() -> tuple[ConversationService, Asker]:
    asker = Asker()
    return ConversationService(asker), asker


def test_follow_ups_rewrite_person_benefit_and_region(chat: tuple[ConversationService, Asker]) -> None:
    service, asker = chat
    t1 = service.reply("我是残疾军人，坐公交免费吗")
    assert t1.answer.understood_as is None and t1.state is not None
    t2 = service.reply("那火车呢？", t1.state)
    assert asker.asked[-1] == "残疾军人乘火车有什么优待？" and t2.answer.understood_as == asker.asked[-1]
    assert t2.answer.answer.startswith("（按“残疾军人乘火车”理解）")
    t3 = service.reply("那我老婆呢", t2.state)
    assert asker.asked[-1] == "残疾军人的配偶乘火车有什么优待？"
    # The cited rule names 残疾军人 only: the answer says so for the spouse.
    assert "没有专门针对残疾军人的配偶的规定" in t3.answer.answer
    service.reply("济南呢", t3.state)
    assert asker.asked[-1] == "在济南市，残疾军人的配偶乘火车有什么优待？"


def test_new_topic_and_expiry_reset_the_context(chat: tuple[ConversationService, Asker]) -> None:
    service, asker = chat
    t1 = service.reply("我是残疾军人，坐公交免费吗")
    t2 = service.reply("烈士遗属游览景区有什么优待", t1.state)
    assert t2.answer.understood_as is None and t2.state and t2.state["slots"]["person"] == "烈士遗属"
    later = utcnow() + timedelta(hours=2)
    t3 = service.reply("那火车呢", t2.state, now=later)
    assert asker.asked[-1] == "那火车呢" and t3.answer.understood_as is None


def test_a_standalone_short_question_is_not_a_follow_up(chat: tuple[ConversationService, Asker]) -> None:
    service, asker = chat
    t1 = service.reply("我是残疾军人，坐公交免费吗")
    service.reply("坐公交优待", t1.state)
    assert asker.asked[-1] == "坐公交优待"


def test_a_bare_follow_up_is_asked_about_the_previous_topic(chat: tuple[ConversationService, Asker]) -> None:
    # Neither the new words (超期, 多久) are dropped nor the previous topic (优待证).
    service, asker = chat
    t1 = service.reply("优待证怎么办")
    t2 = service.reply("多久能办下来", t1.state)
    assert asker.asked[-1] == "优待证怎么办，多久能办下来" and t2.answer.understood_as == asker.asked[-1]
    t3 = service.reply("信访多久给答复")
    service.reply("那要是超期了呢", t3.state)
    assert asker.asked[-1] == "信访多久给答复，那要是超期了呢"
    service.reply("多久能办下来")  # no previous question: asked as typed
    assert asker.asked[-1] == "多久能办下来"


def test_small_talk_is_answered_without_retrieval(chat: tuple[ConversationService, Asker]) -> None:
    service, asker = chat
    for text, kind in (("你好", "greeting"), ("您好，在吗？", "greeting"), ("谢谢！", "thanks"),
                       ("你是谁", "identity"), ("拜拜~", "goodbye"), ("早上好👋", "greeting")):
        turn = service.reply(text)
        assert turn.smalltalk == kind and turn.answer.intent == "smalltalk" and not turn.answer.refused
        assert "您可以这样问我" in turn.answer.answer
    assert asker.asked == []
    assert smalltalk.detect("你好，优待证怎么办") is None


def test_foreign_language_gets_a_chinese_hint(chat: tuple[ConversationService, Asker]) -> None:
    service, asker = chat
    turn = service.reply("Do veterans get free bus rides?")
    assert turn.answer.refused and turn.answer.refusal_reason == "language"
    assert turn.answer.understood_as == "退役军人坐公交免费吗？" and "中文" in turn.answer.answer
    assert "12345" in turn.answer.answer  # a refusal always names a human route
    assert asker.asked == []
    assert foreign_language("Bonjour") and not foreign_language("优待证 card")
    assert english_hint_question("hello there") is None


def test_typos_are_corrected_only_for_same_sound_slips() -> None:
    corrector = TypoCorrector({"优待证", "残疾军人", "烈士遗属", "军人家属"})
    assert corrector.correct("优代证咋办")[0] == "优待证咋办"
    assert corrector.correct("残急军人坐火车")[0] == "残疾军人坐火车"
    assert corrector.correct("烈士一属")[0] == "烈士遗属"
    assert corrector.correct("军人家庭困难") == ("军人家庭困难", [])  # 庭 is not a slip of 属
    # The domain vocabulary holds 优待政策: its 优待政 is no slip of 优待证 (the bot asked about
    # "优待证策" and refused).
    domain = TypoCorrector(domain_vocabulary())
    assert domain.correct("退役军人子女入学有哪些优待政策？")[1] == []
    assert domain.correct("优代证咋办")[0] == "优待证咋办"


def test_input_cleaning_keeps_the_question() -> None:
    assert clean_input("退伍軍人坐公車免費嗎？\u200b👍🏻") == "退伍军人坐公车免费吗?"
    assert clean_message("😀😀") == ""
    story = "我在老家务农多年。" * 80 + "请问优待证去哪里办理？"
    assert clean_message(story).endswith("请问优待证去哪里办理?") and len(clean_message(story)) <= 500
    assert question_part("没有问题。" * 200, 50) == ("没有问题。" * 200)[:50]


def test_slots() -> None:
    slots = extract("那我爸是烈士呢", {"济南": "济南市"})
    assert slots.person == "烈士子女"
    slots = extract("济南的残疾军人坐高铁", {"济南": "济南市"})
    assert (slots.person, slots.benefit, slots.region) == ("残疾军人", "火车", "济南市")


def test_run_chats_keeps_one_context_per_chat(chat: tuple[ConversationService, Asker]) -> None:
    service, _asker = chat
    rows = run_chats(service, [
        {"chat": "a", "q": "我是残疾军人，坐公交免费吗"},
        {"chat": "b", "q": "你好"},
        {"chat": "b", "q": "那火车呢"},
        {"chat": "a", "q": "那火车呢"},
        {"chat": "a", "q": "   "},
    ])
    assert [r["chat"] for r in rows] == ["a", "b", "b", "a", "a"]
    assert rows[1]["intent"] == "smalltalk" and rows[1]["refused"] is False
    assert rows[2]["understood_as"] is None
    assert rows[3]["understood_as"] == "残疾军人乘火车有什么优待？" and rows[3]["intent"] == "question"
    assert rows[4]["error"] == "问题不能为空"
