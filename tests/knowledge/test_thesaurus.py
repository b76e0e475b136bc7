"""Everyday words the texts never use find the texts' wording through the thesaurus
(同义词词林), and a concept weighs as much as its most common wording (issue 16, round 3)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from knowledge.evidence import _object_missing
from knowledge.retrieval.query import QueryAnalyzer
from knowledge.synonyms import SynonymTable
from knowledge.text import ChineseTokenizer
from knowledge.thesaurus import MAX_SET, Thesaurus
from vetbot.errors import ConfigurationError

N = 1000


class _Stats:
    """Corpus statistics as the analyzer reads them: document frequencies and smoothed IDF."""

    def __init__(self, df: dict[str, int]) -> None:
        self.df = df
        self.n = N
        self.max_idf = self.idf_of_df(0)

    def idf_of_df(self, df: int) -> float:
        return math.log(1.0 + (self.n - df + 0.5) / (df + 0.5))

    def idf(self, word: str) -> float:
        return self.idf_of_df(self.df.get(word, 0))


@pytest.fixture(scope="module")
def tok() -> ChineseTokenizer:
    return ChineseTokenizer()


@pytest.fixture(scope="module")
def cilin() -> Thesaurus:
    return Thesaurus.load()


def test_synonym_sets_keep_words_of_two_characters_and_skip_loose_sets() -> None:
    th = Thesaurus([["扫墓", "上坟", "祭扫", "扫"], ["看病", *(f"词{i}" for i in range(MAX_SET))]])
    assert th.kin("扫墓") == ("上坟", "祭扫")
    assert th.kin("祭扫") == ("扫墓", "上坟")
    assert th.kin("扫") == ()  # single characters match anything
    assert th.kin("看病") == ()  # a set larger than MAX_SET is too loose


def test_the_packaged_cilin_maps_everyday_words_to_official_ones(cilin: Thesaurus) -> None:
    assert "祭扫" in cilin.kin("扫墓")
    assert "户籍" in cilin.kin("户口")
    assert "原籍" in cilin.kin("老家")
    assert "纳税" in cilin.kin("交税")
    assert cilin.kin("宽带") == ()


def test_a_missing_or_broken_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        Thesaurus.load(tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2", encoding="utf-8")
    with pytest.raises(ConfigurationError):
        Thesaurus.load(bad)


def _concepts(tok: ChineseTokenizer, question: str, df: dict[str, int], thesaurus: Thesaurus | None,
              synonyms: SynonymTable | None = None) -> dict[str, tuple[float, tuple[str, ...]]]:
    analyzer = QueryAnalyzer(tok, synonyms or SynonymTable(), thesaurus=thesaurus)
    return {c.label: (c.weight, c.alternates) for c in analyzer.concepts(question, [], _Stats(df))}


def test_an_unseen_word_is_covered_by_its_synonym_in_the_texts(
    tok: ChineseTokenizer, cilin: Thesaurus
) -> None:
    df = {"祭扫": 3, "烈士": 40}
    with_kin = _concepts(tok, "给烈士扫墓有什么规定", df, cilin)
    assert "祭扫" in with_kin["扫墓"][1]
    # Only wordings the texts use are added (上坟 is not in them).
    assert "上坟" not in with_kin["扫墓"][1]
    without = _concepts(tok, "给烈士扫墓有什么规定", df, None)
    assert without["扫墓"][1] == ("扫墓",)
    # A word the texts use keeps its own meaning: no kin is looked up for it.
    assert _concepts(tok, "给烈士扫墓有什么规定", {**df, "扫墓": 2}, cilin)["扫墓"][1] == ("扫墓",)


def test_a_word_without_synonyms_borrows_those_of_the_word_inside_it(
    tok: ChineseTokenizer, cilin: Thesaurus
) -> None:
    assert cilin.kin("回老家") == ()
    alternates = _concepts(tok, "退伍了回老家去哪里报到", {"原籍": 4, "报到": 2}, cilin)["回老家"][1]
    assert "原籍" in alternates


def test_the_analysis_searches_the_texts_wording_of_an_everyday_word(tok: ChineseTokenizer,
                                                                      cilin: Thesaurus) -> None:
    analyzer = QueryAnalyzer(tok, SynonymTable(), thesaurus=cilin)
    analysis = analyzer.analyze("给烈士扫墓有什么规定", _Stats({"祭扫": 3, "烈士": 40}))  # type: ignore[arg-type]
    assert "祭扫" in analysis.expansion_tokens


def test_a_concept_weighs_as_much_as_its_most_common_wording(tok: ChineseTokenizer) -> None:
    table = SynonymTable([["退伍", "退役"]])
    stats = _Stats({"退役": 300, "报到": 2})
    weight = _concepts(tok, "退伍了去哪里报到", stats.df, None, table)["退伍"][0]
    # 退伍 is rare in texts that say 退役 everywhere; it must not weigh like a rare topic word.
    assert weight == pytest.approx(stats.idf("退役"))
    assert weight < _concepts(tok, "退伍了去哪里报到", stats.df, None, table)["报到"][0]


def test_an_entitlement_question_needs_its_object_in_a_rule(tok: ChineseTokenizer) -> None:
    analyzer = QueryAnalyzer(tok, SynonymTable([["优惠", "优待"]]))
    analysis = analyzer.analyze("老兵装宽带有优惠吗", _Stats({"优待": 30, "退役军人": 90}))  # type: ignore[arg-type]
    rule = "退役军人凭优待证享受公共交通、文化和旅游等优待。"
    assert _object_missing(analysis, [rule]) == pytest.approx(1.0)
    assert _object_missing(analysis, [rule, "退役军人办理宽带业务享受优惠。"]) == 0.0
    # Not a question whether a benefit applies: nothing to check.
    other = analyzer.analyze("退伍了去哪里报到", _Stats({"报到": 2}))  # type: ignore[arg-type]
    assert _object_missing(other, [rule]) == 0.0
