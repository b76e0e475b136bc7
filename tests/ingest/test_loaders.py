"""Text extraction and metadata for every supported format."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from ingest.chunking import chunk_text
from ingest.loaders import load_bytes, load_document, region_from_title
from tests.ingest.helpers import make_docx, make_pdf
from vetbot.errors import IngestError

FRONT_MATTER_DOC = """---
title: 中华人民共和国退役军人保障法（要点）
issuer: 全国人民代表大会常务委员会
doc_number: 主席令第六十三号
date_issued: 2020-11-11
date_effective: 2021-01-01
region: 全国
topics: [card, transit, culture_tourism]
source_url: https://example.invalid/law
---
# 中华人民共和国退役军人保障法（要点）
## 第五十三条 优待证
退役军人凭优待证享受优待。
"""

HEAD_DOC = """# 中华人民共和国示例保障法

2020年11月11日 第十三届全国人民代表大会常务委员会第二十三次会议通过

<!-- INFO END -->

## 第一章 总 则

第一条 为了示例，制定本法。

第九条 本法自2021年1月1日起施行。
"""


def test_markdown_front_matter_becomes_metadata() -> None:
    doc = load_bytes(FRONT_MATTER_DOC.encode(), Path("law.md"))
    assert doc.metadata == {
        "title": "中华人民共和国退役军人保障法（要点）",
        "issuer": "全国人民代表大会常务委员会",
        "doc_number": "主席令第六十三号",
        "date_issued": "2020-11-11",
        "date_effective": "2021-01-01",
        "region": "全国",
        "scope": "national",
        "topics": "|card|transit|culture_tourism|",
        "source_url": "https://example.invalid/law",
    }
    assert not doc.text.startswith("---")
    assert doc.warnings == []


def test_front_matter_local_region_and_unknown_topics() -> None:
    text = ("---\ntitle: 济南市优待办法\nregion: 济南市\ntopics: [transit, flying_cars]\n---\n"
            "# 济南市优待办法\n正文。\n")
    doc = load_bytes(text.encode(), Path("jinan.md"))
    assert doc.metadata["region"] == "济南市"
    assert doc.metadata["scope"] == "local"
    assert doc.metadata["topics"] == "|transit|"
    assert any("flying_cars" in w for w in doc.warnings)


def test_front_matter_without_region_defaults_to_national() -> None:
    doc = load_bytes("---\ntitle: 某政策\n---\n正文。".encode(), Path("a.md"))
    assert (doc.metadata["region"], doc.metadata["scope"], doc.metadata["topics"]) == ("全国", "national", "")


def test_bad_front_matter_is_an_ingest_error() -> None:
    with pytest.raises(IngestError) as err:
        load_bytes("---\ntitle: [unclosed\n---\n正文".encode(), Path("bad.md"))
    assert "front matter" in err.value.user_message


def test_metadata_derived_from_official_head() -> None:
    doc = load_bytes(HEAD_DOC.encode(), Path("law.md"))
    meta = doc.metadata
    assert meta["title"] == "中华人民共和国示例保障法"
    assert meta["issuer"] == "全国人民代表大会常务委员会"
    assert meta["date_issued"] == "2020-11-11"
    assert meta["date_effective"] == "2021-01-01"
    assert (meta["region"], meta["scope"]) == ("全国", "national")
    assert "INFO END" not in doc.text


def test_publication_line_beats_approval_line() -> None:
    text = ("# 示例工作条例\n\n2022年1月24日 中共中央政治局会议审议批准\n"
            "2022年2月25日 中共中央、国务院发布\n\n第一条 目的。")
    meta = load_bytes(text.encode(), Path("x.md")).metadata
    assert (meta["date_issued"], meta["issuer"]) == ("2022-02-25", "中共中央、国务院")


def test_provincial_regulation_is_local() -> None:
    text = ("# 浙江省示例军属条例\n\n2015年3月27日 浙江省第十二届人民代表大会常务委员会第十八次会议通过"
            "根据2020年9月24日浙江省第十三届人民代表大会常务委员会第二十四次会议修正\n\n第一条 目的。")
    meta = load_bytes(text.encode(), Path("zj.md")).metadata
    assert (meta["region"], meta["scope"]) == ("浙江省", "local")
    assert meta["issuer"] == "浙江省人民代表大会常务委员会"
    assert meta["date_issued"] == "2015-03-27"


@pytest.mark.parametrize(
    ("title", "region"),
    [("浙江省军人军属权益保障条例", "浙江省"), ("浙江省杭州市退役军人优待办法", "杭州市"),
     ("济南市退役军人优待办法", "济南市"), ("中华人民共和国退役军人保障法", "全国"),
     ("城市公共交通条例", "全国"), ("广西壮族自治区优待办法", "广西壮族自治区")],
)
def test_region_from_title(title: str, region: str) -> None:
    assert region_from_title(title) == region


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8", "utf-8-sig"])
def test_txt_encodings(encoding: str, tmp_path: Path) -> None:
    path = tmp_path / "notice.txt"
    path.write_bytes("示例优待通知\n第一条 退役军人凭优待证免费乘车。\n".encode(encoding))
    doc = load_document(path)
    assert doc.metadata["title"] == "示例优待通知"
    assert doc.text.splitlines()[1] == "第一条 退役军人凭优待证免费乘车。"


def test_binary_txt_is_rejected() -> None:
    with pytest.raises(IngestError) as err:
        load_bytes(bytes(range(256)) * 8, Path("blob.txt"))
    assert "编码" in err.value.user_message


def test_docx_paragraphs_headings_and_tables(tmp_path: Path) -> None:
    path = make_docx(
        tmp_path / "rule.docx", "示例军属优待规定",
        ["第一条 军属凭证件享受优待。", "第二条 优待标准见下表。"],
        table=[["类别", "标准"], ["义务兵家庭", "每年优待金"]],
        heading="第一章 总则",
    )
    doc = load_document(path)
    assert doc.metadata["title"] == "示例军属优待规定"
    lines = doc.text.splitlines()
    assert lines[0] == "# 示例军属优待规定"
    assert "义务兵家庭 | 每年优待金" in lines
    chunks = chunk_text(doc.text, doc.metadata["title"])
    second = next(c for c in chunks if c.article == "第二条")
    assert second.heading == "第一章 总则"
    assert "义务兵家庭 | 每年优待金" in second.text


def test_broken_docx_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "broken.docx"
    path.write_bytes(b"PK\x03\x04 this is not really a zip archive")
    with pytest.raises(IngestError) as err:
        load_document(path)
    assert "Word" in err.value.user_message


def test_pdf_text_is_extracted_and_lines_reflowed(tmp_path: Path) -> None:
    path = tmp_path / "rule.pdf"
    path.write_bytes(make_pdf([
        "示例交通优待办法",
        "第一条 残疾退役军人乘坐长途公共汽车，享受减收正常票价百分之",
        "五十的优待。",
        "第二条 本办法自2024年1月1日起施行。",
    ]))
    doc = load_document(path)
    assert doc.metadata["title"] == "示例交通优待办法"
    assert doc.metadata["date_effective"] == "2024-01-01"
    articles = [c for c in chunk_text(doc.text, doc.metadata["title"]) if c.article]
    assert [c.article for c in articles] == ["第一条", "第二条"]
    assert articles[0].text == "第一条 残疾退役军人乘坐长途公共汽车，享受减收正常票价百分之五十的优待。"


def test_pdf_without_text_is_reported_as_scan(tmp_path: Path) -> None:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    buf = io.BytesIO()
    writer.write(buf)
    with pytest.raises(IngestError) as err:
        load_bytes(buf.getvalue(), Path("scan.pdf"))
    assert err.value.user_message == "PDF 中没有可提取的文字（可能是扫描件）"


def test_corrupt_pdf_is_rejected() -> None:
    with pytest.raises(IngestError) as err:
        load_bytes(b"%PDF-1.4\nthis is garbage\n", Path("bad.pdf"))
    assert "PDF" in err.value.user_message and "损坏" in err.value.user_message


def test_html_drops_scripts_styles_and_navigation() -> None:
    html = """<html><head><title>站点标题</title><style>.x{color:red}</style>
    <script>var secret = "脚本内容";</script></head>
    <body><nav>首页 | 政策 | 导航菜单</nav>
    <h1>示例优待公告</h1>
    <h2>第一章 总则</h2>
    <p>第一条 退役军人凭优待证<b>免费</b>游览景区。</p>
    <p>第二条 本公告自发布之日起施行。</p>
    <footer>版权所有</footer></body></html>"""
    doc = load_bytes(html.encode("utf-8"), Path("notice.html"))
    assert doc.metadata["title"] == "示例优待公告"
    for junk in ("脚本内容", "color:red", "导航菜单", "版权所有"):
        assert junk not in doc.text
    assert "第一条 退役军人凭优待证免费游览景区。" in doc.text.splitlines()
    art = next(c for c in chunk_text(doc.text, doc.metadata["title"]) if c.article == "第一条")
    assert art.heading == "第一章 总则"


def test_gbk_html_with_meta_charset() -> None:
    html = ('<html><head><meta charset="gbk"><title>通知</title></head>'
            "<body><p>军属优待通知正文。</p></body></html>")
    doc = load_bytes(html.encode("gbk"), Path("gbk.htm"))
    assert "军属优待通知正文。" in doc.text
    assert doc.metadata["title"] == "通知"


def test_empty_and_unsupported_files() -> None:
    with pytest.raises(IngestError) as err:
        load_bytes(b"   \n\n", Path("empty.md"))
    assert "没有可提取的文字" in err.value.user_message
    with pytest.raises(IngestError) as err:
        load_bytes(b"x", Path("sheet.xlsx"))
    assert "不支持" in err.value.user_message


def test_pdf_radical_code_points_become_ideographs_and_articles(tmp_path: Path) -> None:
    # Chromium's and Word's PDFs map 人 一 二 to Kangxi radicals (⼈ ⼀ ⼆): they look the same
    # but 第⼀条 started no article and 退役军⼈ matched no query.
    path = tmp_path / "jobs.pdf"
    path.write_bytes(make_pdf([
        "扬州市退役军⼈就业创业扶持办法",
        "第⼀条 为促进退役军⼈就业创业，制定本办法。",
        "第⼆条 本办法⾃2025年6⽉1⽇起施⾏。",
    ]))
    doc = load_document(path)
    assert doc.metadata["title"] == "扬州市退役军人就业创业扶持办法"
    assert "⼈" not in doc.text and "退役军人" in doc.text
    assert doc.metadata["date_effective"] == "2025-06-01"
    articles = [c.article for c in chunk_text(doc.text, doc.metadata["title"]) if c.article]
    assert articles == ["第一条", "第二条"]
    txt = load_bytes("通知\n第⼀条 退役军⼈优待。".encode(), Path("copied.txt"))
    assert "第一条 退役军人优待。" in txt.text


@pytest.mark.parametrize(("info_title", "expected"), [
    ("about:blank", "示例交通优待办法"),  # Chromium's print-to-PDF of a page set by script
    ("Untitled", "示例交通优待办法"),
    ("Microsoft Word - 示例.docx", "示例交通优待办法"),
    ("关于示例交通优待的通知", "关于示例交通优待的通知"),  # a real title in the properties wins
])
def test_pdf_placeholder_info_title_gives_way_to_the_first_line(
    tmp_path: Path, info_title: str, expected: str
) -> None:
    from pypdf import PdfReader, PdfWriter

    pdf = make_pdf(["示例交通优待办法", "第一条 本办法自2024年1月1日起施行。"])
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.add_metadata({"/Title": info_title})
    buf = io.BytesIO()
    writer.write(buf)
    path = tmp_path / "rule.pdf"
    path.write_bytes(buf.getvalue())
    assert load_document(path).metadata["title"] == expected


def test_government_page_details_and_issuer_line_become_metadata() -> None:
    # A bureau's web page shows its details on one line; a Word file names the issuing body on
    # the line under its title. Both used to leave issuer and 发文字号 empty.
    page = ("<html><body><h1>甲市关于退役军人子女教育优待的通知（测试样例）</h1>"
            "<p>发文机关：甲市退役军人事务局　发文字号：甲退役军人发〔2025〕3号　成文日期：2025-02-20</p>"
            "<p>一、退役军人子女在本市接受义务教育的，按照就近就便原则优先安排。</p>"
            "<p>二、本通知自2025年3月1日起施行。</p></body></html>")
    meta = load_bytes(page.encode(), Path("notice.html")).metadata
    assert meta["title"] == "甲市关于退役军人子女教育优待的通知（测试样例）"
    assert meta["issuer"] == "甲市退役军人事务局"
    assert meta["doc_number"] == "甲退役军人发〔2025〕3号"
    assert meta["date_issued"] == "2025-02-20" and meta["date_effective"] == "2025-03-01"
    text = "乙市退役军人就业创业扶持办法（测试样例）\n乙市退役军人事务局\n第一条 为促进就业，制定本办法。"
    meta = load_bytes(text.encode(), Path("jobs.txt")).metadata
    assert meta["title"] == "乙市退役军人就业创业扶持办法（测试样例）"
    assert meta["issuer"] == "乙市退役军人事务局"


def test_a_text_without_front_matter_topics_gets_those_its_words_say() -> None:
    text = "扬州市退役军人免费乘车通知\n第一条 持优待证的退役军人免费乘坐公交和地铁。\n第二条 定制公交除外。"
    doc = load_bytes(text.encode(), Path("notice.txt"))
    assert "|transit|" in doc.metadata["topics"], doc.metadata
