"""Letter-style questions: the asking part is searched, the story only as context."""

from __future__ import annotations

from knowledge.persons import asked_group
from knowledge.retrieval.focus import question_focus


def test_short_question_is_searched_as_typed() -> None:
    focus = question_focus("退役金进了事业单位还发吗？")
    assert focus.asking == "退役金进了事业单位还发吗？"
    assert focus.context == ""


def test_letter_keeps_question_and_drops_courtesy_names_and_dates() -> None:
    letter = (
        "尊敬的领导您好！我叫王建国，2015年转改士官，2021年退役，一直按月领取退役金。"
        "今年我考上了县里的事业单位编制，全家都很高兴。想请问一下，我进了事业单位以后，退役金还继续发吗？谢谢！"
    )
    focus = question_focus(letter)
    assert "退役金还继续发吗" in focus.asking
    for noise in ("王建国", "2015", "谢谢", "尊敬", "全家都很高兴", "请问"):
        assert noise not in focus.text


def test_question_pointing_back_keeps_the_sentence_before_it() -> None:
    letter = (
        "我哥哥是退役军人，前几年因为打架被判了刑，现在省退役军人事务厅通知要取消他的退役相关待遇。"
        "我们家里人想问，对这个决定不服的话可以怎么办？"
    )
    focus = question_focus(letter)
    assert "不服" in focus.asking
    assert "取消他的退役相关待遇" in focus.context


def test_group_named_only_in_the_story_is_kept_as_context() -> None:
    letter = (
        "我在部队训练时受伤，评了七级残疾，去年退役回到地方。现在身体还能干活，想找份工作养家。"
        "请问就业方面国家有没有什么优惠政策？"
    )
    focus = question_focus(letter)
    assert "找份工作" not in focus.text
    group = asked_group(focus.text)
    assert group is not None and group.group == "disabled"


def test_ask_opener_after_a_feeling_is_cut() -> None:
    letter = (
        "我儿子在部队服役，去年出了意外。"
        "我们全家都很难受，想问问国家规定是不是喝醉酒死亡的就不给军人伤亡保险？"
    )
    focus = question_focus(letter)
    assert focus.asking.startswith("是不是喝醉酒死亡")


def test_relative_named_before_the_group_word_is_its_member() -> None:
    son = asked_group("我儿子在部队服役，喝醉酒死亡的给不给伤亡保险")
    # The member is the relative (not the relative's child or parent); the question may be
    # about the member or the asker's side of the family, so rules of both apply (kin).
    assert son is not None and (son.group, son.relation) == ("active", "kin")
    assert "active" in son.passage_groups()
    father = asked_group("我爸是退役军人，看病能优先吗")
    assert father is not None and (father.group, father.relation) == ("veteran", "kin")
    assert "veteran" in father.passage_groups()
    child = asked_group("老兵的孩子考大学加分吗")
    assert child is not None and child.relation == "children"


def test_words_before_an_opener_stay_as_context_and_referring_words_are_precise() -> None:
    letter = (
        "我是退伍的义务兵，考上了成人本科，学费负担不小。"
        "听说退役军人上学有学费资助，想请教一下有什么政策？"
    )
    focus = question_focus(letter)
    assert focus.asking == "有什么政策?"
    assert "学费资助" in focus.context
    assert "成人本科" not in focus.context  # the question sentence is long enough by itself
    # 应该 and 其他 do not point back to the story.
    told = question_focus(
        "去年10月我到县信访局反映问题，到现在还没有答复。请问信访事项按规定应该多少天内办结？"
    )
    assert "答复" not in told.context and "10" not in told.text


def test_second_question_loses_its_connective() -> None:
    focus = question_focus(
        "我父亲是烈士，母亲一个人生活。"
        "请问烈士遗属申请公办养老院有没有优先？另外，烈士遗属去博物馆参观有没有优惠？"
    )
    assert "另外" not in focus.text
    assert "养老院" in focus.asking and "博物馆" in focus.asking


def test_pointing_back_reaches_the_sentence_that_names_what_is_meant() -> None:
    # 那笔钱 is the 退役金 of the sentence before.
    money = question_focus(
        "我退伍后一直按月领退役金，今年考上了事业编。家里人问我那笔钱是不是还能接着领，我也拿不准，想问问。"
    )
    assert "退役金" in money.text
    # 这么做 → 再请这种假 → the leave to visit the unit, two sentences back.
    leave = question_focus(
        "我老公在新疆当兵，我每年请一次假去部队看他。今年领导放话说再请这种假就让我走人。单位这么做合法吗？"
    )
    assert "去部队看他" in leave.text
