"""Chinese structure-aware chunking: 编/章/节/条/款/项, summaries and prose."""

from __future__ import annotations

import pytest

from ingest.chunking import chinese_to_int, chunk_text, parse_article_label

LAW = """# 示例保障法

2020年1月1日 示例会议通过

## 第一章 总 则

第一条 为了保障权益，制定本法。

第二条 本法所称对象，是指退役人员。

## 第二章 优待

### 第一节 交通

第三条 优待对象享受下列优待：

（一）免费乘坐城市公共汽车；

（二）优先购票。

前款规定的优待，由县级人民政府组织实施。

### 第二节 文旅

第四条 公园免收门票。

## 第三章 附  则

第一百零二条 本法自2021年1月1日起施行。
"""


@pytest.mark.parametrize(
    ("numeral", "value"),
    [("一", 1), ("十", 10), ("十五", 15), ("二十", 20), ("五十三", 53), ("一百", 100),
     ("一百零二", 102), ("一百一十", 110), ("两百二十一", 221), ("一千零一", 1001), ("12", 12)],
)
def test_chinese_numerals(numeral: str, value: int) -> None:
    assert chinese_to_int(numeral) == value


def test_chinese_numeral_rejects_words() -> None:
    with pytest.raises(ValueError):
        chinese_to_int("总则")


def test_articles_get_labels_numbers_and_heading_paths() -> None:
    chunks = chunk_text(LAW, "示例保障法")
    articles = [c for c in chunks if c.article]
    assert [(c.article, c.article_no) for c in articles] == [
        ("第一条", 1), ("第二条", 2), ("第三条", 3), ("第四条", 4), ("第一百零二条", 102)]
    by_no = {c.article_no: c for c in articles}
    assert by_no[1].heading == "第一章 总则"
    assert by_no[3].heading == "第二章 优待 > 第一节 交通"
    assert by_no[4].heading == "第二章 优待 > 第二节 文旅"
    # A new chapter closes the previous chapter's 节.
    assert by_no[102].heading == "第三章 附则"
    # The document title is metadata, not a heading; no chunk text is invented.
    assert all("示例保障法" not in c.heading for c in chunks)


def test_article_text_keeps_paragraphs_and_items() -> None:
    art3 = next(c for c in chunk_text(LAW, "示例保障法") if c.article_no == 3)
    assert art3.text.startswith("第三条 优待对象享受下列优待：")
    assert art3.text.splitlines() == [
        "第三条 优待对象享受下列优待：",
        "（一）免费乘坐城市公共汽车；",
        "（二）优先购票。",
        "前款规定的优待，由县级人民政府组织实施。",
    ]


def test_head_before_first_article_is_a_plain_chunk() -> None:
    first = chunk_text(LAW, "示例保障法")[0]
    assert first.article == "" and first.article_no == 0
    assert first.text == "2020年1月1日 示例会议通过"


def test_long_article_is_split_at_kuan_boundaries_with_label() -> None:
    kuan = [f"第{i}款内容" + "这是一句比较长的条文内容，用于测试。" * 12 for i in range(1, 5)]
    text = "## 第五章 优待\n\n第五十条 " + "\n\n".join(kuan) + "\n\n第五十一条 短条文。"
    chunks = chunk_text(text, "")
    parts = [c for c in chunks if c.article == "第五十条"]
    assert len(parts) >= 2
    assert all(p.text.startswith("第五十条") for p in parts)
    assert all(len(p.text) <= 600 + len("第五十条 ") for p in parts)
    assert all(p.article_no == 50 and p.heading == "第五章 优待" for p in parts)
    # Split only between 款: every 款 sits whole in exactly one part.
    for k in kuan:
        assert sum(k in p.text for p in parts) == 1
    assert [c.article for c in chunks][-1] == "第五十一条"


def test_items_stay_with_their_kuan_when_splitting() -> None:
    intro = "第八条 " + "下列人员享受优待，具体标准由省级人民政府规定。" * 15
    items = [f"（{n}）第{n}类人员享受相应优待；" for n in "一二三"]
    tail = "其他说明。" * 80
    chunks = chunk_text("\n".join([intro, *items, tail]), "")
    holder = [c for c in chunks if "（一）" in c.text]
    assert len(holder) == 1 and all(i in holder[0].text for i in items)


def test_bundled_summary_sections() -> None:
    text = """# 中华人民共和国退役军人保障法（要点）
## 第五十三条 优待证
退役军人凭优待证享受公共交通、文化和旅游等优待。
具体办法由省级人民政府规定。
## 第二十一条第二款 军官安置
逐月领取退役金。
## 办理流程
携带身份证到服务站申请。
"""
    chunks = chunk_text(text, "中华人民共和国退役军人保障法（要点）")
    arts = [(c.article, c.article_no, c.heading) for c in chunks]
    assert arts == [("第五十三条", 53, ""), ("第二十一条第二款", 21, ""), ("", 0, "办理流程")]
    card = next(c for c in chunks if c.article_no == 53)
    assert card.text.splitlines() == [
        "第五十三条 优待证",
        "退役军人凭优待证享受公共交通、文化和旅游等优待。",
        "具体办法由省级人民政府规定。",
    ]


def test_plain_text_structure_without_markdown() -> None:
    text = "示例条例\n第一章 总则\n第一条 目的。\n第二章 待遇\n第二条 待遇内容。\n第十条之一 增补条款。"
    chunks = chunk_text(text, "示例条例")
    arts = {c.article: c for c in chunks if c.article}
    assert arts["第二条"].heading == "第二章 待遇"
    assert arts["第十条之一"].article_no == 10


def test_wrapped_reference_is_not_a_new_article() -> None:
    text = "第五条 依照本法\n第三十条规定的程序办理。\n第六条 下一条。"
    chunks = chunk_text(text, "")
    assert [c.article for c in chunks] == ["第五条", "第六条"]
    assert "第三十条规定的程序办理。" in chunks[0].text


def test_article_labels_parse() -> None:
    assert parse_article_label("第一百零二条 内容") == ("第一百零二条", 102)
    assert parse_article_label("第五十三条第二款 标题") == ("第五十三条第二款", 53)
    assert parse_article_label("第三十条规定") is None
    assert parse_article_label("第三十条规定", require_separator=False) == ("第三十条", 30)


def test_prose_is_split_by_headings_and_sentences() -> None:
    para = ("退役军人服务站提供政策咨询服务。" * 20 + "工作人员应当耐心解答！" * 10
            + "办理时限为五个工作日？" * 10)
    text = f"# 服务指南\n\n## 一、服务内容\n\n{para}\n\n## 二、联系方式\n\n电话12345。"
    chunks = chunk_text(text, "服务指南")
    body = [c for c in chunks if c.heading == "一、服务内容"]
    assert len(body) >= 2
    assert all(len(c.text) <= 500 for c in body)
    assert all(c.text[-1] in "。！？" for c in body)  # cut at sentence ends
    assert "".join(c.text for c in body) == para
    contact = [c for c in chunks if c.heading == "二、联系方式"]
    assert [c.text for c in contact] == ["电话12345。"]
    assert all(c.article == "" and c.article_no == 0 for c in chunks)


def test_short_paragraphs_are_packed_together() -> None:
    text = "\n\n".join(f"第{i}段说明。" for i in range(1, 6))
    chunks = chunk_text(text, "")
    assert len(chunks) == 1
    assert chunks[0].text.count("\n") == 4
