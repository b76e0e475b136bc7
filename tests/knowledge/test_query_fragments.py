"""Words that frame a colloquial question are not its topics: fusions jieba's HMM made of
leftover characters, function words by part of speech, A-not-A forms (issue 16, round 2)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from knowledge.retrieval.query import QueryAnalyzer
from knowledge.synonyms import FILLER_WEIGHT, SynonymTable
from knowledge.text import ChineseTokenizer

MAX_IDF = 8.0


@pytest.fixture(scope="module")
def tok() -> ChineseTokenizer:
    return ChineseTokenizer()


def _stats(corpus_words: list[str]) -> Any:
    """The corpus statistics the analyzer reads: which words the texts use, and their IDF."""
    df = dict.fromkeys(corpus_words, 1)
    return SimpleNamespace(df=df, max_idf=MAX_IDF, idf=lambda w: 5.0 if w in df else MAX_IDF)


def _labels(tok: ChineseTokenizer, question: str, corpus_words: list[str]) -> dict[str, float]:
    analyzer = QueryAnalyzer(tok, SynonymTable({}))
    return {c.label: c.weight for c in analyzer.concepts(question, [], _stats(corpus_words))}


def test_the_tokenizer_knows_its_dictionary_and_parts_of_speech(tok: ChineseTokenizer) -> None:
    assert tok.known("信用卡") and not tok.known("前交过")
    assert "个税" in tok.known_parts("要交个税")
    assert tok.known_parts("写些") == []
    assert tok.pos("信用卡") == "n" and tok.pos("以前") == "f" and tok.pos("有人") == "r"
    assert tok.pos("前交过") == ""


def test_a_word_jieba_splits_into_two_frequent_characters_is_still_a_token(tok: ChineseTokenizer) -> None:
    # jieba cuts 主管部门报到 into 报 + 到; the passage must still be found for 报到.
    tokens = tok.tokens("持退役证明到安置地人民政府退役军人工作主管部门报到。")
    assert "报到" in tokens and "退役证明" in tokens
    # Only neighbours are joined: not across a dropped stopword (买 了 个 车).
    assert "买车" not in tok.tokens("他买了个车回来")


def test_a_fusion_is_replaced_by_the_nouns_inside_it(tok: ChineseTokenizer) -> None:
    # jieba fuses 少交税 (and cuts 要交个 + 税): the noun inside is the topic.
    assert "交税" in _labels(tok, "公司招退伍兵能少交税吗", ["公司", "退伍兵"])
    labels = _labels(tok, "退伍费要交个税吗", ["退伍费"])
    assert "个税" in labels and not any(label.startswith("要交") for label in labels)


def test_a_fusion_with_no_noun_inside_weighs_like_a_filler(tok: ChineseTokenizer) -> None:
    labels = _labels(tok, "参军前交过养老保险", ["参军", "养老保险"])
    assert labels["前交过"] == pytest.approx(0.6 * MAX_IDF * FILLER_WEIGHT)
    assert labels["养老保险"] == pytest.approx(5.0)


def test_unseen_function_words_are_no_topics(tok: ChineseTokenizer) -> None:
    labels = _labels(tok, "退伍后上班了，以前在部队受的伤又复发了，有人管吗", ["退伍", "部队", "复发"])
    assert "以前" not in labels and "有人" not in labels
    # A verb the texts never use stays a concept: part of speech alone does not drop it.
    assert "上班" in labels
    # The same tag on a word the texts use keeps it (一次性 is an adverb to jieba).
    assert "一次性" in _labels(tok, "退伍能领一次性补助吗", ["一次性", "补助"])


def test_a_not_a_question_forms_are_no_topics(tok: ChineseTokenizer) -> None:
    labels = _labels(tok, "当兵这几年算不算养老保险的缴费年限", ["当兵", "养老保险", "缴费", "年限"])
    assert "算不算" not in labels and "养老保险" in labels
    labels = _labels(tok, "烈士陵园里能不能随便占地", ["烈士陵园", "不能"])
    assert "不能" not in labels and "占地" in labels
    # 不能 that is no A-not-A (生活不能自理) stays.
    assert "不能" in _labels(tok, "老兵生活不能自理政府管吗", ["老兵", "不能", "自理"])
