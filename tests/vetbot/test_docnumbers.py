"""The one 发文字号 pattern: canonical keys, finding numbers in a query, matching."""

from __future__ import annotations

import pytest

from vetbot.docnumbers import DOC_NUMBER_LINE_RE, doc_number_key, find_doc_numbers, same_doc_number


@pytest.mark.parametrize(("written", "key"), [
    ("金退役军人发〔2025〕12号", "金退役军人发〔2025〕12号"),
    ("鲁政办发[2020] 第5号", "鲁政办发〔2020〕5号"),
    ("鲁政办发［2020］5号", "鲁政办发〔2020〕5号"),
    ("扬退役发【2025】8号", "扬退役发〔2025〕8号"),
    ("中华人民共和国主席令第六十三号", "主席令第63号"),
    ("国务院令 第431号", "国务院令第431号"),
])
def test_keys(written: str, key: str) -> None:
    assert doc_number_key(written) == key


def test_numbers_are_found_inside_a_query() -> None:
    # A key may carry the words before the number; same_doc_number compares by the end.
    assert find_doc_numbers("请查 金退役军人发（2025）12号 和国务院令第431号") == [
        "金退役军人发〔2025〕12号", "和国务院令第431号"]
    assert same_doc_number("和国务院令第431号", "国务院令第431号")
    assert find_doc_numbers("金华坐公交免费吗 2025年12号") == []


def test_matching_by_the_end_with_an_issuer_code() -> None:
    assert same_doc_number("查一下金退役军人发〔2025〕12号", "金退役军人发[2025]12号")
    assert same_doc_number("主席令第63号", "中华人民共和国主席令第六十三号")
    assert not same_doc_number("金退役军人发〔2025〕12号", "浙退役军人发〔2025〕12号")
    assert not same_doc_number("发〔2025〕12号", "金退役军人发〔2025〕12号")
    assert not same_doc_number("金退役军人发〔2025〕12号", "")


def test_head_line_pattern() -> None:
    assert DOC_NUMBER_LINE_RE.match("金退役军人发〔2025〕12号")
    assert not DOC_NUMBER_LINE_RE.match("金退役军人发〔2025〕12号文件规定")
