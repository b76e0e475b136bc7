# ruff: noqa: E501  (fixture texts read better unwrapped)
"""Which kind of rule a question asks for (exclusion, liability, procedure), and how the
ranking and the answer use it; another group's rule is not an answer to an amount question."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.persons import asked_group, covers, groups_in
from knowledge.retrieval import HybridRetriever
from knowledge.retrieval.intents import asked_action, detect_intents
from knowledge.service import KnowledgeService
from knowledge.store import KnowledgeStore
from knowledge.synonyms import SynonymTable
from knowledge.text import ChineseTokenizer
from tests.knowledge.conftest import article_store, coverage_only_policy
from vetbot.settings import Settings

# Own-words articles shaped like an insurance law, a heroes' law and a staff regulation.
ARTICLES = [
    ("ins", "示例军人保险规定", "第七条", "军人因战、因公死亡的，按照认定的死亡性质，给付军人死亡保险金。"),
    ("ins", "示例军人保险规定", "第八条", "军人因战、因公致残的，给付军人残疾保险金。"),
    ("ins", "示例军人保险规定", "第十条", "军人因下列情形之一死亡的，不享受军人死亡保险待遇：\n（一）故意犯罪的；\n（二）醉酒的；\n（三）自杀的。"),
    ("hero", "示例英烈保护规定", "第十三条", "有关部门应当引导公民通过网上祭奠等形式，铭记英雄烈士的事迹和精神。"),
    ("hero", "示例英烈保护规定", "第二十六条", "以侮辱、诽谤方式侵害英雄烈士名誉的，依法承担民事责任；构成违反治安管理行为的，由公安机关依法给予治安管理处罚；构成犯罪的，依法追究刑事责任。"),
    ("staff", "示例文职人员规定", "第四条", "文职人员主要编配在军民通用、非直接参与作战的岗位。"),
    ("staff", "示例文职人员规定", "第十八条", "军队实行公开招考、直接引进、专项招录相结合的文职人员招录制度。"),
    ("perk", "示例优待规定", "第十条", "残疾退役军人乘坐火车、民航班机，享受减收正常票价百分之五十的优待。"),
]


def _store(kb_dir: Path) -> KnowledgeStore:
    return article_store(kb_dir, ARTICLES)


@pytest.fixture
def law_service(tmp_path: Path) -> KnowledgeService:
    settings = Settings(data_dir=tmp_path / "data", kb_dir=tmp_path / "kb")
    synonyms = SynonymTable([["部队", "军队"], ["坐飞机", "民航班机"]])
    return KnowledgeService(_store(tmp_path / "kb"), settings, synonyms=synonyms, policy=coverage_only_policy())


def _top(retriever: HybridRetriever, question: str) -> str:
    hit = retriever.retrieve(question).hits[0]
    return str(retriever.store.chunks[hit.chunk_id].metadata["article"])


@pytest.mark.parametrize(
    ("question", "names"),
    [
        ("什么情况下军人死了不给保险金", {"exclusion"}),
        ("在网上骂英雄烈士要负什么责任", {"liability"}),
        ("冒领抚恤会受什么处罚", {"liability"}),
        ("部队招文职人员是怎么招的", {"procedure"}),
        ("优待证丢了怎么办", set()),
        ("退役军人能免费坐公交吗", set()),
    ],
)
def test_detect_intents(question: str, names: set[str]) -> None:
    assert {i.name for i in detect_intents(question)} == names


def test_asked_action_is_a_one_character_verb_after_how() -> None:
    tok = ChineseTokenizer()
    assert asked_action(tok.words("部队招文职人员是怎么招的")) == "招"
    assert asked_action(tok.words("优待证怎么申请")) is None  # 申请 is a concept already
    assert asked_action(tok.words("丢了怎么办")) is None


def test_exclusion_question_ranks_the_exclusion_article_first(law_service: KnowledgeService) -> None:
    retriever = law_service.retriever
    analysis = retriever.analyze("什么情况下军人死了不给保险金")
    assert "情况" not in {c.label for c in analysis.concepts}  # it frames the question
    assert _top(retriever, "什么情况下军人死了不给保险金") == "第十条"
    assert _top(retriever, "军人死了给多少保险金") != "第十条"


def test_liability_question_ranks_the_penalty_article_and_states_every_consequence(
    law_service: KnowledgeService,
) -> None:
    assert _top(law_service.retriever, "在网上骂英雄烈士要负什么责任") == "第二十六条"
    answer = law_service.ask("在网上骂英雄烈士要负什么责任")
    assert not answer.refused
    for consequence in ("民事责任", "治安管理处罚", "刑事责任"):
        assert consequence in answer.answer


def test_procedure_question_prefers_the_method_article(law_service: KnowledgeService) -> None:
    analysis = law_service.retriever.analyze("部队招文职人员是怎么招的")
    assert "招" in {c.label for c in analysis.concepts}
    assert _top(law_service.retriever, "部队招文职人员是怎么招的") == "第十八条"


def test_disabled_veterans_rule_is_not_every_veterans() -> None:
    rule = "残疾退役军人乘坐火车、民航班机，享受减收正常票价百分之五十的优待。"
    assert groups_in(rule) == {"disabled"}
    veteran = asked_group("老兵坐飞机能打几折")
    assert veteran is not None and covers(veteran, rule) is False


def test_another_groups_figure_is_not_an_answer(law_service: KnowledgeService) -> None:
    answer = law_service.ask("老兵坐飞机能打几折？")
    assert answer.refused
    assert not law_service.ask("残疾退役军人坐飞机能打几折？").refused


APPEAL_ARTICLES = [
    ("xf", "示例信访规定", "第二十三条", "收到信访事项的机关，应当自收到之日起15日内书面告知信访人是否受理。"),
    ("xf", "示例信访规定", "第三十四条", "信访事项应当自受理之日起60日内办结，并书面答复信访人。"),
    ("xf", "示例信访规定", "第三十五条", "信访人对处理意见不服的，可以自收到书面答复之日起30日内请求上一级机关复查，复查机关30日内书面答复。"),
]


@pytest.mark.parametrize(
    ("question", "appeal"),
    [("信访多久给答复", False), ("信访事项多少天办结", False), ("对处理意见不服怎么办", True),
     ("信访被拒绝了还能找上级复查吗", True), ("对答复不满意能找上级吗", True)],
)
def test_an_appeal_rule_answers_only_a_question_that_disagrees(tmp_path: Path, question: str, appeal: bool) -> None:
    store = article_store(tmp_path / "kb", APPEAL_ARTICLES)
    retriever = HybridRetriever(store=store, tokenizer=ChineseTokenizer(), synonyms=SynonymTable([["答复", "办结"]]))
    lead = retriever.retrieve(question).hits[0]
    assert (store.chunks[lead.chunk_id].metadata["article"] == "第三十五条") is appeal
