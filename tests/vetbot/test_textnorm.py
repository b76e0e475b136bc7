"""The one input normalisation: NFKC, format characters, traditional folding, article labels."""

from __future__ import annotations

import pytest

from vetbot import textnorm


def test_normalize_nfkc_and_invisible_characters() -> None:
    assert textnorm.normalize("第５１条\u200b按５０％购票\ufeff") == "第51条按50%购票"
    assert textnorm.normalize("a\nb") == "a\nb"  # lines are kept


def test_fold_is_simplified_and_stored_text_is_not_touched() -> None:
    written = "退役軍人憑優待證免費乘車"
    assert textnorm.fold(written) == "退役军人凭优待证免费乘车"
    assert textnorm.to_simplified("退役军人") == "退役军人"
    assert written == "退役軍人憑優待證免費乘車"


@pytest.mark.parametrize(("label", "canonical"), [
    ("第51条", "第五十一条"), ("第５１条", "第五十一条"), ("第五十一条", "第五十一条"),
    ("第10条之1", "第十条之一"), ("第十条之二", "第十条之二"), ("第110条", "第一百一十条"),
    ("第53条第2款", "第五十三条第二款"), ("第一條", "第一条"), ("第3条第1款第2项 正文", "第三条第一款第二项"),
])
def test_article_label_citation_form(label: str, canonical: str) -> None:
    assert textnorm.article_label(label) == canonical


def test_article_label_rejects_other_text() -> None:
    with pytest.raises(ValueError):
        textnorm.article_label("第一章 总则")


def test_canonical_article_refs_and_numerals() -> None:
    assert textnorm.canonical_article_refs("依照第51条和第五十二条") == "依照第五十一条和第五十二条"
    assert textnorm.chinese_to_int("一百零二") == 102 and textnorm.chinese_to_int("５１") == 51
    assert textnorm.int_to_chinese(10) == "十" and textnorm.int_to_chinese(1001) == "一千零一"


def test_lone_surrogates_are_dropped_not_fatal() -> None:
    from vetbot.textnorm import fold, strip_surrogates

    assert strip_surrogates("优待证\ud800丢了") == "优待证丢了"
    assert fold("優待證\udfff丟了") == "优待证丢了"


def test_unify_radicals_repairs_pdf_radical_code_points() -> None:
    repaired = textnorm.unify_radicals("第⼀条 退役军⼈⾃2025年6⽉1⽇起施⾏，⻓期⻔诊")
    assert repaired == "第一条 退役军人自2025年6月1日起施行，长期门诊"
    assert textnorm.unify_radicals("第一条 Ａ１ 𠀀") == "第一条 Ａ１ 𠀀"  # nothing else changes (no NFKC)
