# ruff: noqa: E501  (fixture texts read better unwrapped)
"""What a question asks for and who it is about, read from its wording: an age, the conditions,
a share as 百分之几; a relative's past service (我爸当年在部队 is a veteran); a verb split by 个
(兼个职); a penalty asked as 能罚它吗; the story sentence after the question. And what the
answer does with it: the rule that states the conditions leads a near tie, a passage adding only
the asked fact's name (手续) is not appended, the lead's sentences keep their order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from knowledge.answer_groups import implied_group
from knowledge.answer_lead import states_type_first
from knowledge.persons import AskedGroup, asked_group, names_relatives, own_benefit_only
from knowledge.retrieval import Hit, QueryAnalysis
from knowledge.retrieval.answer_types import ANSWER_TYPES, asked_phrases, names_type
from knowledge.retrieval.forms import rewrite_forms, unglued
from knowledge.retrieval.intents import detect_intents
from knowledge.retrieval.query import Concept
from knowledge.service import KnowledgeService
from knowledge.store import ChunkRecord, DocumentRecord, KnowledgeStore, make_chroma_client
from knowledge.synonyms import SynonymTable
from knowledge.types import Passage
from tests.fakes import HashingEmbeddings
from tests.knowledge.conftest import article_store, coverage_only_policy
from vetbot.settings import Settings

TYPES = {label: (ask, answer) for ask, label, answer in ANSWER_TYPES}


def test_a_few_years_of_service_is_no_duration_asked() -> None:
    ask, _answer = TYPES["时限"]
    assert not ask.search("当兵那几年算不算工龄？")
    assert not ask.search("在西藏边防一待就是十几年，有没有优先照顾")
    assert ask.search("要几年才能转正")


def test_an_answer_types_name_in_a_passage_states_nothing() -> None:
    _ask, answer = TYPES["条件"]
    typed = Concept("条件", 1.0, (), (), answer)
    assert typed.coverage("符合条件的退役军人去世后，可以安葬在军人公墓") == 0.0
    assert typed.coverage("退役士兵符合下列条件之一的，由人民政府安排工作") == 1.0
    # The word itself, as a topic of the question, is still found.
    assert Concept("条件", 1.0, ()).coverage("符合条件的退役军人") == 1.0


def test_words_inside_the_asking_phrase_are_found() -> None:
    assert any("手续" in p for p in asked_phrases("要先去办什么手续"))
    assert not any("失业" in p for p in asked_phrases("能不能领失业保险"))


def test_a_relatives_past_service_makes_a_veteran() -> None:
    father = asked_group("我爸当年在部队立过二等功，他的事迹能写进地方志吗")
    assert father is not None and (father.group, father.relation) == ("veteran", "kin")
    me = asked_group("我以前在部队当过司机，现在能考公务员吗")
    assert me is not None and me.group == "veteran"
    son = asked_group("我儿子在部队，我坐公交免费吗")
    assert son is not None and son.group == "active"


def test_a_penalty_asked_colloquially_is_the_liability_intent() -> None:
    assert "liability" in {i.name for i in detect_intents("公交公司不认残疾军人证，能罚它吗？罚多少？")}
    assert "liability" not in {i.name for i in detect_intents("公交公司不认残疾军人证怎么办")}


ARTICLES = [
    ("zj", "示例省军人军属权益保障条例", "第十八条", "退役士兵符合下列条件之一的，由人民政府安排工作：（一）服现役满十二年的；（二）服现役期间荣获二等功以上奖励的。"),
    ("zj", "示例省军人军属权益保障条例", "第十九条", "国有企业招收录用人员，应当有一定比例的名额用于安排符合本条例第十八条规定条件的退役士兵。县级以上人民政府安排退役士兵工作，应当采取考核与考试相结合的方式。"),
    ("mu", "示例退役军人保障规定", "第六十四条", "符合条件的退役军人去世后，可以安葬在军人公墓。"),
    ("mu", "示例退役军人保障规定", "第四十一条", "退役军人未能及时就业的，在人力资源和社会保障部门办理求职登记后，可以按照规定享受失业保险待遇。"),
    ("ins", "示例军人保险规定", "第二十七条", "随军未就业的军人配偶实现就业时，地方社会保险经办机构办理相应的转移接续手续。"),
    ("civ", "示例文职人员规定", "第四十四条", "从事专业技术工作的文职人员，经批准可以到军队以外单位兼职。"),
    ("pen", "示例抚恤优待规定", "第五十七条", "负有优待义务的单位不按规定给予优待的，由退役军人事务部门责令改正。拒不改正的，处2万元以上5万元以下罚款。"),
    ("card", "示例优待证规定", "第八条", "优待证只限持证人本人使用，不得出借或者转借给他人。"),
    ("vpl", "示例退役军人保障规定", "第十五条", "安置地人民政府退役军人工作主管部门在接收退役军人时，向退役军人发放退役军人优待证。"),
    ("kid", "示例军人权益规定", "第五十五条", "烈士子女报考高等学校享受加分等优待。"),
    ("job", "示例退役军人保障规定", "第四十三条", "各地机关招录公务员时，退役军人在同等条件下优先录用。"),
]


@pytest.fixture
def service(tmp_path: Path) -> KnowledgeService:
    settings = Settings(data_dir=tmp_path / "data", kb_dir=tmp_path / "kb")
    synonyms = SynonymTable(
        [["退伍", "退役"], ["退伍士兵", "退役士兵"]],
        {"没找到工作": ["未能及时就业"], "不认": ["拒不", "不按规定"], "罚它": ["罚款", "处罚"]},
    )
    store = article_store(tmp_path / "kb", ARTICLES)
    return KnowledgeService(store, settings, synonyms=synonyms, policy=coverage_only_policy())


def test_the_rule_that_states_the_conditions_leads(service: KnowledgeService) -> None:
    answer = service.ask("退伍士兵要满足什么条件政府才给安排工作？")
    assert not answer.refused
    assert answer.sources[0].article == "第十八条" and "服现役满十二年" in answer.answer
    assert "条件" not in answer.not_stated


def test_conditions_only_named_are_said_to_be_missing(service: KnowledgeService) -> None:
    answer = service.ask("老兵去世了想葬在军人公墓，需要满足哪些条件？")
    assert answer.refused or ("条件" in answer.not_stated and "没有写明具体的条件" in answer.answer)


def test_a_verb_split_by_ge_is_the_texts_word(service: KnowledgeService) -> None:
    answer = service.ask("闺女当文职，搞专业技术的，能不能在外面的单位兼个职？")
    assert not answer.refused and answer.sources[0].article == "第四十四条"


def test_a_passage_adding_only_the_asked_facts_name_is_not_appended(service: KnowledgeService) -> None:
    answer = service.ask("退伍了一直没找到工作，能领失业保险吗？要先去办什么手续？")
    assert not answer.refused and "求职登记" in answer.answer
    assert [s.article for s in answer.sources] == ["第四十一条"]


def test_the_lead_passages_sentences_keep_their_order(service: KnowledgeService) -> None:
    answer = service.ask("公交公司不认优待，让改也不改，能罚它吗？罚多少？")
    assert not answer.refused
    assert answer.answer.index("责令改正") < answer.answer.index("2万元以上5万元以下罚款")
    # One citation line: the article's label is not repeated for its second sentence.
    assert answer.answer.count("第五十七条") == 1


def test_the_story_sentence_after_the_question_asks_for_nothing(service: KnowledgeService) -> None:
    _result, evidence = service.explain("我的优待证能不能借给我爸用？他也想免费坐车。")
    assert evidence.features["object_missing"] == 0.0
    _result, evidence = service.explain("老兵坐车免费吗？")
    assert evidence.features["object_missing"] == 1.0


def _pair(article: str, text: str, score: float, coverage: float) -> tuple[Hit, Passage]:
    return Hit(article, score, score, coverage=coverage), Passage(title="示例条例", article=article, text=text, score=score)


def test_a_near_tie_that_states_the_asked_fact_leads() -> None:
    _ask, answer = TYPES["条件"]
    analysis = QueryAnalysis(
        query="退伍士兵要满足什么条件才给安排工作", tokens=[], expansions=[], expansion_tokens=[],
        concepts=[Concept("士兵", 2.0, ()), Concept("安排", 2.0, ()), Concept("条件", 1.0, (), (), answer)],
    )
    refers = _pair("第十九条", "安排符合本条例第十八条规定条件的退役士兵", 1.15, 0.7)
    states = _pair("第十八条", "退役士兵符合下列条件之一的，由人民政府安排工作", 1.14, 0.7)
    other = _pair("第三条", "烈士子女符合下列条件之一的，优先录取", 1.14, 0.7)
    assert states_type_first([refers, states], analysis)[0] is states
    # Not when it is about something else, or not a near tie.
    assert states_type_first([refers, other], analysis)[0] is refers
    far = (Hit("第十八条", 0.9, 0.9, coverage=0.7), states[1])
    assert states_type_first([refers, far], analysis)[0] is refers


def test_a_rule_that_issues_the_card_does_not_say_how_to_replace_it(service: KnowledgeService) -> None:
    answer = service.ask("退役军人优待证丢了，去哪补办？")
    assert answer.refused
    issued = service.ask("退役军人优待证在哪里发放？")
    assert not issued.refused and issued.sources[0].article == "第十五条"


def test_what_a_benefit_is_asked_for_must_be_in_the_lead_rule(service: KnowledgeService) -> None:
    # 加分 is granted for 高等学校 in one rule; 公务员 is named in another, which grants no 加分.
    _result, evidence = service.explain("退伍军人的子女考公务员有加分吗？")
    assert evidence.features["object_missing"] == 1.0


def test_a_heading_names_the_asked_quantity() -> None:
    _ask, answer = TYPES["时限"]
    assert names_type(answer, "有效期") and names_type(answer, "审核流程和办理时限")
    assert not names_type(answer, "挂失和补办")


SECTIONS = [
    ("有效期", "优待证作为证件整体的有效期，国家层面没有统一规定；银行功能部分有到期时间。"),
    ("挂失和补办", "优待证丢了，先向发卡银行办理临时挂失，临时挂失的有效期一般为5至15天。"),
    ("使用规定", "优待证只限持证人本人使用，不得出借或转借给他人，家里人也不能拿去用。"),
    ("申领对象", "遗属的范围是配偶、父母、子女。"),
    ("申领地点（去哪里办优待证）", "到户籍所在地乡镇（街道）的退役军人服务站申请办理。"),
    ("开始申领时间", "优待证从2021年12月14日起开始受理申领，可以到服务站申请。"),
]


@pytest.fixture
def card_service(tmp_path: Path) -> KnowledgeService:
    kb_dir = tmp_path / "kb"
    store = KnowledgeStore(kb_dir, HashingEmbeddings(), make_chroma_client(kb_dir, None))
    chunks = []
    for i, (heading, text) in enumerate(SECTIONS):
        meta: dict[str, Any] = {
            "doc_id": "card", "chunk_id": f"card:{i:012d}:{i}", "title": "示例优待证管理办法", "article": "",
            "article_no": 0, "heading": heading, "path": "policies/card.md", "region": "全国",
            "scope": "national", "topics": "||",
        }
        chunks.append(ChunkRecord(meta["chunk_id"], text, meta))
    with store.writer() as w:
        w.stage_document(DocumentRecord("card", "policies/card.md", "sha-card", {"title": "示例优待证管理办法"}, chunks))
    settings = Settings(data_dir=tmp_path / "data", kb_dir=kb_dir)
    synonyms = SynonymTable([
        ["借给别人", "出借", "转借", "给我老婆用"], ["配偶", "老婆"], ["有效期", "到期"], ["哪里办", "申领地点", "去哪里办"],
    ])
    return KnowledgeService(store, settings, synonyms=synonyms, policy=coverage_only_policy())


def test_lending_the_card_to_ones_wife_is_the_rule_on_lending(card_service: KnowledgeService) -> None:
    answer = card_service.ask("优待证可以给我老婆用吗")
    assert not answer.refused and "本人使用" in answer.answer and "遗属的范围" not in answer.answer


def test_where_to_apply_asked_with_a_bare_na(card_service: KnowledgeService) -> None:
    answer = card_service.ask("优待证在哪办")
    assert not answer.refused and "户籍所在地" in answer.answer


def test_a_veterans_own_benefit_does_not_cover_the_spouse() -> None:
    spouse = asked_group("在扬州市，退役军人的配偶游览景区有什么优待？")
    assert spouse is not None and spouse.relation == "family"
    assert own_benefit_only(spouse, "持退役军人优待证的退役军人免费游览实行政府定价的公园和景区。")
    assert not own_benefit_only(spouse, "退役军人及其配偶游览公园景区享受优惠。")
    child = asked_group("退役军人的孩子上大学有优待吗")
    assert child is not None and not own_benefit_only(child, "退役军人子女报考高等学校，同等条件下优先录取。")
    veteran = asked_group("退役军人游览景区有什么优待？")
    assert veteran is not None and not own_benefit_only(veteran, "持退役军人优待证的退役军人免费游览公园和景区。")


def test_colloquial_forms_read_as_the_texts_wording() -> None:
    df = {"兼职": 3}
    assert rewrite_forms("能不能在外面兼个职", df) == "能不能在外面兼职"
    assert rewrite_forms("一个人去", df) == "一个人去" and rewrite_forms("请个假", df) == "请个假"
    assert rewrite_forms("优待证在哪办", df) == "优待证在哪里办"
    assert rewrite_forms("优待证怎么办", df) == "优待证怎么办理"
    assert unglued("闹访会", "缠访闹访会怎么处理") == "闹访"
    assert unglued("听劝会", "打闹不听劝会被怎么处理") == "听劝"
    assert unglued("村委会", "村委会要搞国防教育吗") == "村委会"
    assert unglued("委员", "委员怎么选") == "委员"


def test_a_veteran_asking_for_a_spouse_or_child_is_asking_for_family() -> None:
    spouse = implied_group("我老婆坐地铁免费吗")
    assert spouse is not None and (spouse.group, spouse.relation) == ("veteran", "family")
    child = implied_group("我家孩子上学有优待吗")
    assert child is not None and child.relation == "children"
    assert implied_group("坐地铁免费吗") == AskedGroup("veteran")
    assert names_relatives("退役军人及其配偶游览公园景区享受优惠。")
    assert not names_relatives("持退役军人优待证的退役军人免费游览公园和景区。")
