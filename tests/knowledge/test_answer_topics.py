"""An answer states something the question asks about, not only who asks, and lists each
related article once (issue 16)."""

from __future__ import annotations

import math

from knowledge.answer import _states_a_topic
from knowledge.retrieval import Hit
from knowledge.retrieval.query import QueryAnalyzer
from knowledge.service import KnowledgeService
from knowledge.synonyms import SynonymTable
from knowledge.text import ChineseTokenizer
from knowledge.types import Passage
from knowledge.units import Fact, related_passages


class _Stats:
    def __init__(self, df: dict[str, int]) -> None:
        self.df, self.n = df, 100
        self.max_idf = self.idf_of_df(0)

    def idf_of_df(self, df: int) -> float:
        return math.log(1.0 + (self.n - df + 0.5) / (df + 0.5))

    def idf(self, word: str) -> float:
        return self.idf_of_df(self.df.get(word, 0))


def _fact(sentence: str) -> Fact:
    return Fact(sentence, Passage(title="示例条例", article="第六条", text=sentence, score=1.0), 1.0)


def test_a_rule_that_only_names_the_asker_is_no_answer() -> None:
    table = SynonymTable([["退伍", "退役"]], fillers=["具体"])
    analyzer = QueryAnalyzer(ChineseTokenizer(), table)
    tax = analyzer.analyze("退伍费要交个税吗", _Stats({"退役": 30}))  # type: ignore[arg-type]
    materials = _fact("退役军人申请优待证应当提交居民身份证和退役证明。")
    assert not _states_a_topic([materials], tax, table.fillers)
    relief = _fact("退役军人取得的退役金免征个人所得税，个税按规定减免。")
    # The payment asked about must be what the rule is about: 退伍费 is the 退役金 only once the
    # vocabulary says so.
    assert not _states_a_topic([relief], tax, table.fillers)
    table = SynonymTable([["退伍", "退役"], ["退伍费", "退役金"]], fillers=["具体"])
    tax = QueryAnalyzer(ChineseTokenizer(), table).analyze("退伍费要交个税吗", _Stats({"退役": 30}))  # type: ignore[arg-type]
    assert _states_a_topic([relief], tax, table.fillers)
    # A question about the people themselves has no other topic: any rule on them may answer.
    who = analyzer.analyze("军人家属具体指哪些人", _Stats({"军人家属": 3}))  # type: ignore[arg-type]
    assert _states_a_topic([_fact("军人家属，是指军人的配偶、父母、子女。")], who, table.fillers)


class _Passages:
    """The one retriever method related_passages reads."""

    def __init__(self, passages: dict[str, Passage]) -> None:
        self.passages = passages

    def to_passage(self, hit: Hit) -> Passage:
        return self.passages[hit.chunk_id]


def test_an_article_is_listed_once_and_never_beside_its_own_citation() -> None:
    def p(cid: str, title: str, article: str) -> Passage:
        text = "退役军人凭优待证享受交通优待。"
        return Passage(title=title, article=article, text=text, score=1.0, chunk_id=cid)

    passages = {
        "a": p("a", "中华人民共和国退役军人保障法", "第五十三条"),
        # The summary of the cited article, and another 款 of a listed one.
        "b": p("b", "中华人民共和国退役军人保障法（要点）", "第五十三条"),
        "c": p("c", "信访工作条例", "第三十五条"),
        "d": p("d", "信访工作条例", "第三十五条第二款"),
        "e": p("e", "军人抚恤优待条例", "第五十二条"),
    }
    hits = [Hit(cid, 0.9, 0.02, coverage=0.8) for cid in passages]
    related = related_passages(hits, _Passages(passages), [passages["a"]], limit=5)  # type: ignore[arg-type]
    assert [r.chunk_id for r in related] == ["c", "e"]


def test_what_papers_to_bring_is_an_answer_type() -> None:
    analyzer = QueryAnalyzer(ChineseTokenizer(), SynonymTable())
    analysis = analyzer.analyze("优待证补办要带什么材料", _Stats({"优待证": 5, "补办": 2}))  # type: ignore[arg-type]
    papers = next(c for c in analysis.concepts if c.label == "材料" and c.pattern is not None)
    assert papers.pattern is not None and papers.pattern.search("申请补办应当提交居民身份证和退役证明。")
    # Where to apply is not what to bring.
    assert not papers.pattern.search("优待证遗失的，应当先登报声明作废，再到窗口申请补办。")


def test_how_much_a_loan_or_a_raise_is_asks_for_a_sum() -> None:
    analyzer = QueryAnalyzer(ChineseTokenizer(), SynonymTable())
    stats = _Stats({"贷款": 3, "工资": 4})
    for question in ("创业贷款最多能贷多少？", "文职人员工资每年涨多少？"):
        analysis = analyzer.analyze(question, stats)  # type: ignore[arg-type]
        assert any(c.label == "金额" and c.pattern is not None for c in analysis.concepts), question
    # How many years is a duration, not a sum.
    years = analyzer.analyze("养老保险要交多少年？", stats)  # type: ignore[arg-type]
    assert not any(c.label == "金额" for c in years.concepts)


def test_two_concepts_at_one_place_do_not_break_the_entitlement_check(service: KnowledgeService) -> None:
    # 加油站 and 加油 start at the same character: the benefit check orders them by position only.
    answer = service.ask("退伍的去加油站加油有优惠吗")
    assert answer.refused or answer.sources


def test_a_payment_named_after_a_group_does_not_share_the_groups_synonyms() -> None:
    table = SynonymTable([["退伍", "退役", "复员"], ["保险", "社保"]])
    analyzer = QueryAnalyzer(ChineseTokenizer(), table)
    stats = _Stats({"退役": 30, "社保": 3})
    pay = next(c for c in analyzer.analyze("退伍费要交税吗", stats).concepts if c.label == "退伍费")  # type: ignore[arg-type]
    assert "退役" not in pay.alternates and "退伍" not in pay.partial
    veterans = next(c for c in analyzer.analyze("退伍兵坐车免费吗", stats).concepts if c.label == "退伍兵")  # type: ignore[arg-type]
    assert "退役" in veterans.alternates


def test_card_then_zenmeban_asks_how_to_apply_for_it() -> None:
    analyzer = QueryAnalyzer(ChineseTokenizer(), SynonymTable())
    stats = _Stats({"优待证": 5, "办理": 9})
    labels = [c.label for c in analyzer.analyze("优待证怎么办", stats).concepts]  # type: ignore[arg-type]
    assert "办理" in labels
    # What to do after losing it is no application.
    lost = [c.label for c in analyzer.analyze("优待证丢了怎么办", stats).concepts]  # type: ignore[arg-type]
    assert "办理" not in lost


def test_a_question_on_ones_own_application_gets_the_route_to_ask(service: KnowledgeService) -> None:
    for question in ("我身份证号370102198001011234，优待证办好了吗", "我的优待证申请到哪一步了"):
        answer = service.ask(question)
        assert answer.refused and answer.refusal_reason == "personal_status"
        assert "退役军人服务站" in answer.answer and "1234" not in answer.answer
    # How long it takes in general is a policy question.
    assert service.ask("优待证交上去多久能批下来").refusal_reason != "personal_status"


def test_how_much_is_reimbursed_asks_for_a_sum() -> None:
    analyzer = QueryAnalyzer(ChineseTokenizer(), SynonymTable())
    analysis = analyzer.analyze("退役军人看病能报销多少", _Stats({"看病": 3}))  # type: ignore[arg-type]
    assert any(c.label == "金额" and c.pattern is not None for c in analysis.concepts)


def test_an_id_number_in_a_question_does_not_steer_the_search(service: KnowledgeService) -> None:
    plain = service.retriever.analyze("优待证怎么办")
    with_id = service.retriever.analyze("我的身份证号是370102198001011234，优待证怎么办")
    assert [c.label for c in with_id.concepts] == [c.label for c in plain.concepts]
