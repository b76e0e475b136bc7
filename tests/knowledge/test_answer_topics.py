"""An answer must state something the question asks about, not only who asks (issue 16)."""

from __future__ import annotations

import math

from knowledge.answer import Fact, _states_a_topic
from knowledge.retrieval.query import QueryAnalyzer
from knowledge.synonyms import SynonymTable
from knowledge.text import ChineseTokenizer
from knowledge.types import Passage


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
    assert _states_a_topic([relief], tax, table.fillers)
    # A question about the people themselves has no other topic: any rule on them may answer.
    who = analyzer.analyze("军人家属具体指哪些人", _Stats({"军人家属": 3}))  # type: ignore[arg-type]
    assert _states_a_topic([_fact("军人家属，是指军人的配偶、父母、子女。")], who, table.fillers)
