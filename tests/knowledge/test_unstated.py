# ruff: noqa: E501  (fixture texts read better unwrapped)
"""What the texts leave out: answer types a question asks for (时限, 人数, 日期...), the answer's
``not_stated`` and how ``vetbot eval`` scores it, the commencement intent, and words of the
question that are story or a longer term of the synonym table."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.evaluation import EvalItem, EvalReport, format_report, score_item
from knowledge.persons import asked_group, covers, groups_in
from knowledge.retrieval.answer_types import ANSWER_TYPES
from knowledge.retrieval.intents import detect_intents
from knowledge.retrieval.query import Concept, focus_concepts
from knowledge.service import KnowledgeService
from knowledge.store import KnowledgeStore
from knowledge.synonyms import SynonymTable
from knowledge.types import Answer
from tests.knowledge.conftest import article_store, coverage_only_policy
from vetbot.settings import Settings

TYPES = {label: (ask, answer) for ask, label, answer in ANSWER_TYPES}


@pytest.mark.parametrize(
    ("label", "question", "stated", "not_stated"),
    [
        ("时限", "退伍以后还能回去上学吗？有没有期限？", "退役后两年内允许入学或者复学", "保留入学资格"),
        ("时限", "还能找上级吗？有没有时间限制？", "自收到书面答复之日起30日内", "可以请求复查"),
        ("时限", "优待证什么时候能办下来", "自初审之日起30个工作日内完成", "以当地通知为准"),
        ("人数", "代表最多几个？", "代表人数不得超过5人", "应当推选代表"),
        ("人数", "最多委托几个人", "可以委托一至两名代理人", "可以委托代理人"),
        ("日期", "国防教育法从哪天开始施行的", "本法自2024年9月21日起施行", "本法自公布之日起施行"),
        ("日期", "烈士纪念日是哪一天", "每年9月30日为烈士纪念日", "设立烈士纪念日"),
        ("日期", "按月领的退役金每个月几号打到卡上？", "每月10日前发放", "逐月领取退役金"),
        ("日期", "全民国防教育日是哪天", "每年九月的第三个星期六为全民国防教育日", "设立全民国防教育日"),
        ("金额", "烈士遗属一年能拿多少钱", "一次性抚恤金为上一年度全国城镇居民人均可支配收入的20倍", "拒不改正的，处2万元以上5万元以下罚款"),
        ("日期", "抚恤金什么时候发", "每年3月31日前发放，逐月发放的于每月10日前", "按照规定享受定期抚恤金"),
        ("罚款", "公交公司不给优待，让改也不改，会罚多少？", "拒不改正的，处2万元以上5万元以下罚款", "由有关部门责令改正"),
        ("时刻", "信访局周末上不上班？", "每周一至周五8:30至17:00接待", "应当公布信访接待的时间和地点"),
        ("号码", "国家信访局的投诉电话是多少？", "可以拨打12345政务服务便民热线", "应当公布咨询投诉电话"),
        ("号码", "有事打什么电话", "服务电话0571-87654321", "2024年9月21日起施行，补助30000元"),
        ("地址", "国家信访局在北京啥位置", "地址：永定门西街10号", "信访接待的时间和地点"),
        ("名单", "我们市哪几家医院开了优先窗口？给个名单", "解放军总医院、北京协和医院设立优先窗口", "加强优抚医院、光荣院建设"),
        ("年龄", "军队文职人员到多少岁退休？", "首次招录聘用的最高年龄为35周岁", "符合国家和军队规定退休条件的，应当退休"),
        ("年龄", "文职人员首次招录有没有年龄上限？", "最高年龄为四十五岁", "年龄条件由招录单位确定"),
        ("条件", "想葬在军人公墓，需要满足哪些条件？", "退役士兵符合下列条件之一的，由人民政府安排工作", "符合条件的退役军人去世后，可以安葬在军人公墓"),
        ("条件", "退伍士兵要满足啥条件政府才给安排工作", "服现役满十二年的", "按照规定条件安排工作"),
        ("比例", "国企招随军家属，按规定比例具体是百分之几？", "按照不低于百分之五的比例招录", "应当按照用工需求的适当比例聘用随军家属"),
        ("材料", "没找到工作能领失业保险吗？要先去办什么手续？", "办理求职登记后，可以按照规定享受失业保险待遇", "可以按照规定享受失业保险待遇"),
        ("金额", "军人因公牺牲了，家里能拿到多少一次性抚恤金？", "标准为上一年度全国城镇居民人均可支配收入的20倍", "国家向其遗属颁发证书，保障其遗属享受规定的抚恤金"),
        ("定义", "三属是什么意思", "烈士遗属、因公牺牲军人遗属、病故军人遗属（三属）", "对下列退役军人，优先安置：（一）参战退役军人"),
        ("定义", "什么叫参战退役军人", "本法所称军人家属，是指军人的配偶、父母", "参试退役军人参照本法有关参战退役军人的规定执行"),
        ("时限", "军士要服役满多少年才能按月领退役金？", "服现役满十二年的", "对退役的军士，国家采取逐月领取退役金等方式安置"),
    ],
)
def test_answer_types_read_the_question_and_the_rule(label: str, question: str, stated: str, not_stated: str) -> None:
    ask, answer = TYPES[label]
    assert ask.search(question)
    assert answer.search(stated)
    assert not answer.search(not_stated)


def test_where_to_apply_is_no_street_address() -> None:
    ask, _answer = TYPES["地址"]
    assert not ask.search("优待证在哪里办")
    assert not ask.search("退伍以后档案放在什么地方")


def test_a_quota_is_not_a_number_of_people() -> None:
    ask, _answer = TYPES["人数"]
    assert not ask.search("国企招工给随军家属留多少名额")


def test_commencement_intent() -> None:
    assert {i.name for i in detect_intents("新修订的国防教育法是从哪天开始施行的？")} == {"commencement"}
    assert {i.name for i in detect_intents("信访工作条例什么时候生效的")} == {"commencement"}
    intent = next(i for i in detect_intents("什么时候施行") if i.name == "commencement")
    assert intent.stated_in("本法自2024年9月21日起施行。")
    assert not intent.stated_in("国家实行全民国防教育制度。")


def test_focus_concepts_keep_weight_ties() -> None:
    a, b, c = Concept("去当", 4.41, ("去当",)), Concept("接着读", 4.41, ("复学",)), Concept("学校", 3.3, ("学校",))
    assert focus_concepts([a, b, c]) == [a, b]
    assert focus_concepts([]) == []


def test_a_rule_for_those_who_leave_the_forces_names_veterans() -> None:
    assert "veteran" in groups_in("正在普通高等学校就学的学生，服现役期间保留学籍，退役后两年内允许复学")
    assert "veteran" not in groups_in("义务兵自愿退役的，须经批准")  # 自退役 is no rule for veterans


def _answer(*, refused: bool = False, not_stated: list[str] | None = None) -> Answer:
    return Answer(question="q", answer="…", refused=refused, not_stated=not_stated or [])


def test_refuse_item_passes_when_the_answer_says_the_texts_do_not_state_it() -> None:
    item = EvalItem(id="r", q="一级伤残每月抚恤金多少钱", kind="refuse")
    assert score_item(item, _answer(refused=True)).passed
    assert score_item(item, _answer(not_stated=["金额"])).passed
    assert score_item(item, _answer(not_stated=["地方规定"])).passed
    plain = score_item(item, _answer())
    assert not plain.passed
    report = EvalReport([score_item(item, _answer(not_stated=["金额"])), plain])
    assert len(report.wrong_answers()) == 1
    assert "以“知识库没有写明”作答(计为通过): 1（金额 1）" in format_report(report)


# Own-words articles: a law's commencement article, a quota stated and one not stated, and a
# local-policy article a known place has no rule for.
ARTICLES = [
    ("edu", "示例国防教育规定", "第一条", "为了普及国防知识，制定本规定。", "全国"),
    ("edu", "示例国防教育规定", "第三十条", "国防教育基地应当向社会开放。", "全国"),
    ("edu", "示例国防教育规定", "第四十条", "本规定自2024年9月21日起施行。", "全国"),
    ("pay", "示例保险规定", "第七条", "军人因战、因公死亡的，给付军人死亡保险金。", "全国"),
    ("loc", "示例优待规定", "第九条", "退役军人免费乘坐城市公共交通的具体办法由各地规定。", "全国"),
    ("jn", "示例市公交优待", "第一条", "本市退役军人持优待证免费乘坐城市公交和地铁。", "济南市"),
    ("tel", "示例信访规定", "第十八条", "各级机关应当向社会公布信访接待的时间和地点、咨询投诉电话。", "全国"),
    ("bus", "示例抚恤规定", "第五十二条", "现役军人和残疾军人凭有效证件免费乘坐市内公共汽车。", "全国"),
]


def _store(kb_dir: Path) -> KnowledgeStore:
    return article_store(kb_dir, ARTICLES)


@pytest.fixture
def service(tmp_path: Path) -> KnowledgeService:
    settings = Settings(data_dir=tmp_path / "data", kb_dir=tmp_path / "kb")
    synonyms = SynonymTable([["老兵", "退役军人"], ["坐地铁", "地铁"]], {"牺牲": ["死亡"]})
    return KnowledgeService(_store(tmp_path / "kb"), settings, synonyms=synonyms, policy=coverage_only_policy())


def test_when_a_text_takes_effect_is_its_commencement_article(service: KnowledgeService) -> None:
    hit = service.retriever.retrieve("示例国防教育规定什么时候开始施行").hits[0]
    assert service.retriever.store.chunks[hit.chunk_id].metadata["article"] == "第四十条"
    answer = service.ask("示例国防教育规定什么时候开始施行")
    assert not answer.refused and "2024年9月21日" in answer.answer and answer.not_stated == []


def test_an_amount_the_rule_does_not_state_is_said_to_be_missing(service: KnowledgeService) -> None:
    answer = service.ask("军人牺牲了能拿多少死亡保险金")
    assert not answer.refused
    assert answer.not_stated == ["金额"] and "没有写明具体的金额" in answer.answer


def test_a_place_without_its_own_rule_is_said_to_be_missing(service: KnowledgeService) -> None:
    answer = service.ask("退役军人免费乘坐城市公共交通吗", region="南京市")
    assert not answer.refused and "地方规定" in answer.not_stated and "南京市" in answer.answer
    own = service.ask("退役军人免费乘坐城市公共交通吗", region="济南市")
    assert "地方规定" not in own.not_stated


def test_a_serving_members_childrens_rule_is_not_a_veterans_childrens() -> None:
    rule = "现役军人子女上公办义务教育学校，可以在部队驻地入学，并享受当地军人子女教育优待政策。"
    assert groups_in(rule) == {"active", "active_family"}
    veterans_child = asked_group("退役军人的孩子上小学有优待吗")
    serving_child = asked_group("我老公在部队，孩子上小学有优待吗")
    assert veterans_child is not None and covers(veterans_child, rule) is False
    assert serving_child is not None and covers(serving_child, rule) is True
    assert "military_family" in groups_in("军人子女入学，享受优待。")


def test_a_rule_that_phone_lines_be_published_does_not_give_the_number(service: KnowledgeService) -> None:
    answer = service.ask("信访的投诉电话是多少")
    assert answer.refused or "号码" in answer.not_stated
    assert "12345" not in "".join(s.text for s in answer.sources)


def test_a_rule_for_other_groups_says_the_askers_is_missing(service: KnowledgeService) -> None:
    answer = service.ask("烈士遗属坐公共汽车免费吗")
    assert not answer.refused and "现役军人" in answer.answer
    assert "适用对象" in answer.not_stated and "没有找到专门针对" in answer.answer
    own = service.ask("残疾军人坐公共汽车免费吗")
    assert not own.refused and "适用对象" not in own.not_stated
