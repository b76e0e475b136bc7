# ruff: noqa: E501  (fixture texts read better unwrapped)
"""Who a question is about, and the note when the stated rule covers another group."""

from __future__ import annotations

import pytest

from knowledge.answer_groups import VETERAN, group_note, implied_group, others_note
from knowledge.persons import asked_group, covers, groups_in, names_person
from knowledge.service import KnowledgeService
from knowledge.types import Passage
from knowledge.units import Fact, answer_units


@pytest.mark.parametrize(
    ("question", "group", "relation", "grade"),
    [
        ("现役军人的爸妈看病能优先吗", "active", "family", 0),
        ("我是五级伤残军人，坐公交免费不？", "disabled", "self", 5),
        ("烈士子女上学有什么照顾？", "martyr_family", "self", 0),
        ("因公牺牲军人的家属有抚恤吗", "duty_death_family", "self", 0),
        ("老兵的孩子考大学加分吗", "veteran", "children", 0),
        ("军休干部看病怎么报销", "retired_cadre", "self", 0),
        ("军嫂随军能安排工作吗", "military_family", "self", 0),
        # The relative is the member; the question may be about the asker's side (kin).
        ("儿子在部队当军官，我们老两口能把户口迁过去吗？", "active", "kin", 0),
        ("孩子他爸在部队，孩子能在姥姥家那边上学吗？", "active", "kin", 0),
        ("我爸是老兵，坐公交免费吗", "veteran", "kin", 0),
    ],
)
def test_asked_group(question: str, group: str, relation: str, grade: int) -> None:
    asked = asked_group(question)
    assert asked is not None
    assert (asked.group, asked.relation, asked.grade) == (group, relation, grade)


def test_no_group_named() -> None:
    assert asked_group("优待证去哪里办？") is None


def test_passage_groups_and_coverage() -> None:
    rule = "现役军人和残疾军人凭有效证件，免费乘坐市内公共汽车。"
    assert groups_in(rule) == {"active", "disabled"}
    assert groups_in("退役军人凭优待证优先。") == {"veteran"}
    family = asked_group("现役军人的爸妈看病能优先吗")
    assert family is not None and covers(family, rule) is False
    assert covers(family, "军人家属享受医疗优待。") is True
    assert covers(family, "凭证件办理。") is None


def test_a_rule_on_a_soldiers_death_covers_the_family_and_one_on_leaving_service_the_veteran() -> None:
    death = "军人因战、因公死亡的，按照认定的死亡性质和相应的保险金标准，给付军人伤亡保险金。"
    family = asked_group("军人牺牲了家里能拿多少保险金")
    assert family is not None and family.group == "martyr_family"
    assert covers(family, death) is True
    # The serving member's own rule is still not a rule for a veteran.
    veteran = asked_group("退伍后参加了单位的职工医保，部队的医保关系怎么转")
    assert veteran is not None and covers(veteran, death) is False
    transfer = "军人退出现役后参加职工基本医疗保险的，由军队后勤（联勤）机关财务部门将军人退役医疗保险关系转入地方。"
    assert covers(veteran, transfer) is True


def test_answer_units_join_lead_in_and_items() -> None:
    units = answer_units("第四条 对下列人员，优先安置：\n（一）参战的；\n（二）立功的。\n其他人员按规定办理。")
    assert units == ["第四条 对下列人员，优先安置：（一）参战的；（二）立功的。", "其他人员按规定办理。"]
    assert answer_units("说明如下：\n没有列表。") == ["说明如下：", "没有列表。"]


def test_rule_for_another_group_is_said_so(service: KnowledgeService) -> None:
    answer = service.ask("烈士遗属坐公交免费吗？")
    assert not answer.refused
    # The rule names 普通退役军人 (the veterans outside the special groups), and says so.
    assert "以上规定适用于普通退役军人；知识库中没有找到专门针对烈士遗属的规定" in answer.answer
    assert "适用于" not in service.ask("老兵坐公交免费吗？").answer


def test_answer_cites_only_its_own_passages(service: KnowledgeService) -> None:
    answer = service.ask("优待证丢了怎么办？")
    assert not answer.refused
    cited = {s.citation for s in answer.sources[:1]}
    assert cited and all(c in answer.answer for c in cited)
    assert all(s.in_force for s in answer.sources)
    assert len(answer.related) <= 2
    assert not {s.chunk_id for s in answer.related} & {s.chunk_id for s in answer.sources[:1]}


def test_kin_is_covered_by_rules_for_the_member_and_for_the_family() -> None:
    kin = asked_group("孩子他爸在部队，孩子上小学能在姥姥家那边上吗？")
    assert kin is not None and kin.label == "现役军人及其家属"
    assert covers(kin, "军人子女入读公办义务教育阶段学校，可以在外祖父母户籍所在地入学。") is True
    assert covers(kin, "现役军人凭有效证件免费乘坐市内公共汽车。") is True
    assert covers(kin, "残疾军人享受票价优惠。") is False


def test_officers_are_serving_members_and_leaving_service_is_a_veteran_rule() -> None:
    assert groups_in("军官和符合规定条件的军士，其配偶可以办理随军落户。") >= {"active", "military_family"}
    assert "active" not in groups_in("转业军官由安置地人民政府安排工作。")
    assert groups_in("军人退出现役，安置地人民政府应当组织其免费参加职业教育。") >= {"veteran"}


def test_a_group_word_with_a_payment_or_card_head_names_a_thing() -> None:
    assert names_person("退伍军人") and names_person("老兵")
    assert not names_person("退伍费") and not names_person("残疾军人证")


def test_a_soldiers_child_is_military_family_and_a_veterans_child_is_not() -> None:
    child = asked_group("军人的孩子上学有照顾吗")
    assert child is not None and child.group == "military_family"
    # 普通退役军人 are the veterans outside the special groups (issue 16, who is asking).
    assert groups_in("普通退役军人子女不在降分范围。") == {"ordinary_veteran"}
    assert groups_in("退役军人家属可以同行。") == {"veteran"}
    assert groups_in("军人子女入读公办学校。") == {"military_family"}


def test_the_group_note_reads_the_stated_sentences_not_the_rest_of_their_passage() -> None:
    stated = "现役军人和残疾军人凭有效证件免费乘坐市内公共汽车。"
    passage = Passage(
        title="军人抚恤优待条例（要点）", article="第五十二条", score=1.0,
        text=stated + "普通退役军人能否免费乘车，由各地规定。",
    )
    veteran = asked_group("退役军人在河北坐公交免费吗")
    note = group_note([Fact(stated, passage, 1.0)], veteran)
    assert "以上规定适用于残疾军人、现役军人" in note and "退役军人" in note
    # A second stated sentence that names the asker's group: no note.
    also = Fact("普通退役军人能否免费乘车，由各地规定。", passage, 0.5)
    assert group_note([Fact(stated, passage, 1.0), also], veteran) == ""


def test_a_rule_naming_ordinary_veterans_covers_a_veteran_but_not_a_disabled_soldiers_child() -> None:
    ordinary = "普通退役军人的子女不在本条所列范围，没有全国统一的中考、高考加分政策。"
    veteran = asked_group("老兵的孩子高考能加分吗")
    disabled_kin = asked_group("我爸是残疾军人我上大学有照顾吗")
    assert veteran is not None and disabled_kin is not None
    assert covers(veteran, ordinary) is True
    assert covers(disabled_kin, ordinary) is False
    assert covers(disabled_kin, "一级至四级残疾军人的子女报考高等学校，在录取方面享受优待。") is True


@pytest.mark.parametrize("question", ["儿子现在还在部队服役，我岁数大了想去养老院", "我家孩子在部队当兵两年了"])
def test_a_relative_named_a_few_words_before_the_group_is_its_member(question: str) -> None:
    asked = asked_group(question)
    assert asked is not None and (asked.group, asked.relation) == ("active", "kin")


def test_a_discharged_conscript_is_a_veteran() -> None:
    assert groups_in("对退役的义务兵，国家采取自主就业、安排工作、供养等方式妥善安置。") == {"veteran"}


def test_officers_leaving_the_forces_are_veterans() -> None:
    assert "veteran" in groups_in("符合条件的军官、军士退役时，随迁子女需要转学的，应当及时办理。")


def test_the_veterans_affairs_office_is_not_the_veteran_group() -> None:
    assert groups_in("能否办证以当地退役军人事务部门审核为准。") == set()
    assert groups_in("到退役军人服务站申请。") == set()
    assert groups_in("退役军人凭优待证免费。") == {"veteran"}


def test_a_spouse_serving_makes_the_asker_kin() -> None:
    asked = asked_group("老公在部队，我随军过来了还没工作，国企招人对随军家属有没有照顾？")
    assert asked is not None and (asked.group, asked.relation) == ("active", "kin")


def test_the_retirement_medical_insurance_is_no_word_for_veterans() -> None:
    assert asked_group("义务兵要自己掏钱交退役医疗保险吗") is None
    asked = asked_group("退役以后医疗保险怎么接续")
    assert asked is not None and asked.group == "veteran"


@pytest.mark.parametrize(
    ("question", "veteran"),
    [
        ("军人牺牲了能拿多少死亡保险金", False),
        ("义务兵要自己掏钱交退役医疗保险吗", False),
        ("当兵的每个月有工资吗", False),
        ("坐地铁免费吗", True),
        ("抚恤金多少钱", False),
        ("谁负责组织全民国防教育", False),
        ("军人退役后坐地铁免费吗", True),
    ],
)
def test_a_question_naming_nobody_is_a_veterans_unless_it_speaks_of_someone_serving(
    question: str, veteran: bool
) -> None:
    assert (implied_group(question) == VETERAN) is veteran


def test_a_later_sentence_for_another_group_is_said_to_be_theirs() -> None:
    own = "普通退役军人的子女没有全国统一的中考、高考加分政策。"
    serving = "现役军人子女上公办义务教育学校，可以在部队驻地入学，享受当地军人子女教育优待政策。"
    edu = Passage(title="军人子女教育优待办法（要点）", score=1.0, text=own)
    law = Passage(title="军人地位和权益保障法（要点）", article="第五十五条", score=0.9, text=serving)
    asked = asked_group("退役军人的孩子上小学有优待吗")
    facts = [Fact(own, edu, 1.0), Fact(serving, law, 0.8)]
    assert group_note(facts, asked) == ""
    note = others_note(facts, asked)
    assert "现役军人" in note and "不是专门针对退役军人的子女" in note
    assert others_note(facts[:1], asked) == ""
    assert others_note([Fact(serving, law, 0.8), Fact(own, edu, 1.0)], asked) == ""


def test_a_parent_asking_for_themself_is_a_members_family() -> None:
    asked = asked_group("我儿子在部队，我坐公交免费吗")
    assert asked is not None and (asked.group, asked.relation) == ("active", "family")
    assert covers(asked, "现役军人和残疾军人凭有效证件免费乘坐市内公共汽车。") is False
    son = asked_group("我儿子在部队，他坐火车能优先吗")
    assert son is not None and son.relation == "kin"
