"""Colloquial questions over official wording: one-way official wordings, fillers, short forms,
segmentation slips and the "rule governs the amount but does not state it" decision."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from knowledge.evidence import _typed_missing
from knowledge.retrieval import Concept, HybridRetriever, QueryAnalysis
from knowledge.retrieval.answer_types import ANSWER_TYPES
from knowledge.retrieval.corpus import CorpusStats
from knowledge.retrieval.query import (
    SHORT_FORM_CREDIT,
    SYNONYM_CREDIT,
    QueryAnalyzer,
    content_words,
    short_form_pattern,
)
from knowledge.store import KnowledgeStore
from knowledge.synonyms import FILLER_WEIGHT, SynonymTable
from knowledge.text import ChineseTokenizer
from tests.knowledge.conftest import TINY_SYNONYMS
from vetbot.errors import ConfigurationError

AMOUNT = next(answer for _ask, label, answer in ANSWER_TYPES if label == "金额")


@pytest.mark.parametrize(
    ("short", "full"),
    [("村委会", "村民委员会应当开展国防教育"), ("社保", "参加社会保险"), ("军属", "军人家属凭证件"),
     ("信访局", "信访工作机构收到信访事项"), ("信访局", "各级信访部门"), ("教育厅", "教育行政部门")],
)
def test_a_short_form_finds_its_full_form(short: str, full: str) -> None:
    pattern = short_form_pattern(short)
    assert pattern is not None and pattern.search(full)


def test_a_short_form_stays_inside_one_short_phrase() -> None:
    pattern = short_form_pattern("村委会")
    assert pattern is not None
    assert not pattern.search("村民，委员会")  # not across punctuation
    assert not pattern.search("村里的人民政府委托的大会")  # not spread over a long span
    assert short_form_pattern("x") is None and short_form_pattern("abc") is None


def test_official_wordings_are_one_way() -> None:
    table = SynonymTable([["信访", "上访"]], {"当兵": ["军人", "服现役"]})
    assert {"军人", "服现役"} <= set(table.expansions(["当兵", "受伤"], "当兵受伤"))
    # The official word does not bring the colloquial one into a question.
    assert table.expansions(["军人"], "军人") == []
    assert "当兵" in table.terms and "军人" not in table.terms
    # Two-way groups keep working beside them.
    assert table.expansions(["上访"], "上访") == ["信访"]
    both = SynonymTable([["入伍", "当兵"]], {"当兵": ["军人"], "写信": ["书信"]})
    assert both.colloquial == frozenset({"写信"})  # 当兵 is also a member of a two-way group


def test_the_vocabulary_file_reads_official_wordings_and_fillers(tmp_path: Path) -> None:
    path = tmp_path / "syn.yaml"
    text = "groups:\n  - [信访, 上访]\nofficial:\n  当兵: [军人]\nfillers: [家里]\n"
    path.write_text(text, encoding="utf-8")
    table = SynonymTable.load(path)
    assert table.expansions(["当兵"], "当兵") == ["军人"] and table.fillers == frozenset({"家里"})
    path.write_text("groups: []\nofficial: [当兵, 军人]\n", encoding="utf-8")
    with pytest.raises(ConfigurationError):
        SynonymTable.load(path)
    bundled = SynonymTable.load()
    assert bundled.fillers and "军人" in bundled.expansions(["当兵"], "当兵")


@pytest.fixture
def colloquial(tiny_store: KnowledgeStore) -> HybridRetriever:
    table = SynonymTable(TINY_SYNONYMS, {"当兵": ["军人"]}, ["具体"])
    return HybridRetriever(tiny_store, table, fusion="rrf")


def _concept(analysis: QueryAnalysis, label: str) -> Concept:
    return next(c for c in analysis.concepts if c.label == label)


def test_an_official_wording_covers_the_colloquial_word(colloquial: HybridRetriever) -> None:
    analysis = colloquial.analyze("当兵的坐公交要钱吗")
    soldier = _concept(analysis, "当兵")
    # The texts say 军人, never 当兵: a passage with 军人 covers the concept as a synonym would.
    assert soldier.coverage("现役军人和残疾军人免费乘坐市内公共汽车") == pytest.approx(0.8)
    assert analysis.coverage("现役军人和残疾军人免费乘坐市内公共汽车") > 0.6
    without = HybridRetriever(colloquial.store, SynonymTable(TINY_SYNONYMS), fusion="rrf")
    plain = without.analyze("当兵的坐公交要钱吗")
    assert _concept(plain, "当兵").coverage("现役军人和残疾军人免费乘坐市内公共汽车") == 0.0


def test_a_colloquial_head_the_texts_never_use_weighs_as_its_most_common_wording(
    colloquial: HybridRetriever,
) -> None:
    stats = colloquial.stats()
    soldier = _concept(colloquial.analyze("当兵的坐公交要钱吗"), "当兵")
    assert stats.df.get("当兵", 0) == 0
    # Not a domain word of its own (that would weigh the maximum IDF), and no rarer than the
    # wording the texts use for it: 当兵 is covered wherever they say 军人.
    common = max(stats.df.get(a, 0) for a in soldier.alternates)
    assert common > 0
    unseen = colloquial.unseen_weight * stats.max_idf
    assert soldier.weight == pytest.approx(min(unseen, stats.idf_of_df(common)))
    assert soldier.weight < unseen


def test_a_filler_weighs_a_fraction_of_its_idf(colloquial: HybridRetriever) -> None:
    stats = colloquial.stats()
    analysis = colloquial.analyze("残疾军人坐公交具体怎么办")
    assert _concept(analysis, "具体").weight == pytest.approx(FILLER_WEIGHT * stats.idf("具体"))


def test_a_short_form_the_texts_never_use_is_covered_by_its_full_form(colloquial: HybridRetriever) -> None:
    analysis = colloquial.analyze("村委会要搞国防教育吗")
    committee = _concept(analysis, "村委会")
    assert committee.coverage("村民委员会应当组织国防教育") == SHORT_FORM_CREDIT
    assert committee.coverage("居民委员会应当组织国防教育") == 0.0
    # A word the texts use is matched as itself only (no loose in-order matching).
    assert _concept(colloquial.analyze("优待证丢了怎么办"), "优待证").full_form is None


def test_segmentation_slips_are_mended() -> None:
    tok = ChineseTokenizer()
    for question, kept, dropped in [
        ("军人保险金多久能到账", "到账", None),  # jieba cuts the unknown word into 到/账
        ("信访局多少天内得处理", "信访局", "天内"),  # 天内 is a piece of the question word 多少天
        ("抚恤金标准是多少", "标准", None),  # a whole word inside the question phrase stays
        ("名字能写进县志吗", "县志", "写进"),  # a verb and its complement before a content word
        ("当了五年兵，考公务员", "公务员", "兵考"),  # never across punctuation
    ]:
        words = content_words(question, tok.words(question))
        assert kept in words
        assert dropped is None or dropped not in words


def _analysis(concepts: list[Concept]) -> Any:
    return SimpleNamespace(analysis=QueryAnalysis("q", [], [], [], concepts))


def test_a_rule_that_governs_an_amount_without_stating_it_is_no_missing_amount() -> None:
    soldier = Concept("军人", 1.0, ("军人",))
    death = Concept("牺牲", 3.0, ("牺牲", "死亡"))
    money = Concept("保险金", 5.0, ("保险金",))
    amount = Concept("金额", 3.0, (), (), AMOUNT)
    lead = "军人因战、因公死亡的，按照认定的死亡性质和相应的保险金标准，给付军人死亡保险金。"
    assert not _typed_missing(_analysis([soldier, death, money, amount]), [lead])
    # "…多久能到账": a lead sharing only some words of the question is no such rule.
    arrival = Concept("到账", 4.4, ("到账",))
    assert _typed_missing(_analysis([soldier, money, arrival, amount]), [lead])
    # A rule on the topic that names no sum at all (free rides) leaves the fare unanswered.
    bus = Concept("公交", 1.0, ("公交", "公共汽车"))
    free = "现役军人和残疾军人凭有效证件，免费乘坐市内公共汽车。"
    assert _typed_missing(_analysis([Concept("残疾军人", 2.0, ("残疾军人",)), bus, amount]), [free])
    # A stated amount is never missing.
    assert not _typed_missing(_analysis([soldier, money, amount]), ["军人死亡保险金为20万元。"])


def test_a_synonym_or_part_inside_a_cited_title_covers_nothing() -> None:
    pension = Concept("定期抚恤金", 2.4, ("抚恤", "抚恤金"), ("定期",))
    rail = "三属的乘车优待由本规程落实，与《军人抚恤优待条例》第五十二条一致。"
    assert pension.coverage(rail) == 0.0
    assert pension.coverage("三属按照《军人抚恤优待条例》享受抚恤金。") == SYNONYM_CREDIT
    # The asker's own word still counts inside a title (残疾军人证 in 《…残疾军人证》).
    card = Concept("残疾军人证", 3.0, ("伤残证",))
    assert card.coverage("凭《中华人民共和国残疾军人证》乘车。") == 1.0


def test_what_to_bring_asked_with_sha_asks_for_the_papers() -> None:
    papers = next(ask for ask, label, _answer in ANSWER_TYPES if label == "材料")
    assert papers.search("伤残等级评定要准备啥材料") and papers.search("办优待证得带啥")


def test_a_single_character_cut_from_a_written_table_term_stands_for_it() -> None:
    synonyms = SynonymTable([], {"替我去": ["委托", "代理人"]})
    stats = CorpusStats({}, lambda text: text.split())
    analysis = QueryAnalyzer(ChineseTokenizer(), synonyms).analyze("上访能让儿子替我去吗", stats)
    concept = next(c for c in analysis.concepts if c.label == "替我去")
    assert "委托" in concept.alternates


def test_equally_long_written_terms_are_chosen_by_their_place_in_the_question() -> None:
    # ``written`` is a set: without a tie-break the choice followed the process's hash seed.
    synonyms = SynonymTable([], {"借给别人": ["出借"], "给别人用": ["转借"]})
    stats = CorpusStats({}, lambda text: text.split())
    analysis = QueryAnalyzer(ChineseTokenizer(), synonyms).analyze("把优待证借给别人用会怎么样", stats)
    labels = [c.label for c in analysis.concepts]
    assert "借给别人" in labels
