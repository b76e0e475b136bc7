"""Document shapes seen in bureaus' real files, each with a fixture of our own.

One test per shape of the field-fixture list: inline articles, inserted articles (之一),
PDF page furniture, Word automatic numbering, full-width digits, a government page with
navigation, scanned PDFs, GBK and UTF-16 text, a Word table between articles, traditional
characters, a very long article, cross-reference lines, reposted web articles and speeches.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.chunking import Chunk, chunk_text
from ingest.loaders import LoadedDocument, load_bytes, load_document
from ingest.pipeline import document_chunks, ingest_paths
from knowledge.store import KnowledgeStore
from tests.ingest.helpers import make_numbered_docx, make_pdf_pages
from vetbot.errors import IngestError

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _articles(doc: LoadedDocument) -> list[Chunk]:
    return [c for c in chunk_text(doc.text, doc.metadata["title"]) if c.article]


def _chunks(doc: LoadedDocument) -> list[Chunk]:
    return document_chunks(doc)


def test_inline_articles_one_per_line() -> None:
    doc = load_document(FIXTURES / "inline_articles.txt")
    assert doc.metadata["title"] == "扬州市退役军人出行游览优待试行办法（测试样例，虚构条文，不是真实政策）"
    assert (doc.metadata["region"], doc.metadata["region_path"]) == ("扬州市", "江苏省/扬州市")
    chunks = _chunks(doc)
    # The title line is metadata, not a passage.
    assert all(c.article for c in chunks)
    assert [c.article for c in chunks] == ["第一条", "第二条", "第三条", "第四条", "第五条", "第六条"]
    assert chunks[2].text == "第三条 持证人乘坐本市常规公交线路免费；旅游专线和定制公交按原价购票。"
    assert doc.metadata["date_effective"] == "2025-05-01"  # 试行: in force on trial


def test_inserted_articles_keep_their_zhiyi_labels() -> None:
    doc = load_document(FIXTURES / "zhiyi_articles.md")
    arts = _articles(doc)
    assert [c.article for c in arts] == ["第八条", "第九条", "第九条之一", "第九条之二", "第十条"]
    assert [c.article_no for c in arts] == [8, 9, 9, 9, 10]
    assert arts[2].text.startswith("第九条之一 烈士遗属")
    assert doc.metadata["region"] == "济南市"


def test_pdf_extracted_furniture_is_dropped_and_sentence_reads_on() -> None:
    doc = load_document(FIXTURES / "pdf_extracted_headers.txt")
    meta = doc.metadata
    assert meta["title"] == "关于优待证持证人乘坐城乡公交的通知（测试样例，虚构条文，不是真实政策）"
    assert meta["doc_number"] == "金退役军人发〔2025〕12号"
    assert meta["issuer"] == "金华市退役军人事务局"
    assert (meta["region"], meta["region_path"]) == ("金华市", "浙江省/金华市")
    chunks = _chunks(doc)
    assert [c.article for c in chunks] == ["第一条", "第二条", "第三条", "第四条", "第五条"]
    third = chunks[2].text
    assert "由乡镇开往行政村的镇村公交，持证人免费乘车。" in third
    for junk in ("— 2 —", "第 2 页", "事务局文件"):
        assert all(junk not in c.text for c in chunks)
    assert any("页码" in w and "页眉页脚" in w for w in doc.warnings)
    assert doc.stats["furniture_removed"] == 5


def test_real_pdf_running_header_footer_and_page_numbers(tmp_path: Path) -> None:
    header = "金华市退役军人事务局文件"
    pages = [
        [header, "金退役军人发〔2025〕12号", "关于持证人乘车优待的通知",
         "第一条 本通知适用于在本市居住的优待证持证人和三属优待证持证人员。",
         "第二条 持证人乘坐城乡公交车，按票价的一半购票；由乡镇开往",
         "第 1 页 共 2 页"],
        [header, "行政村的镇村公交，持证人免费乘车。", "第三条 本通知自印发之日起施行。",
         "第 2 页 共 2 页"],
    ]
    path = tmp_path / "notice.pdf"
    path.write_bytes(make_pdf_pages(pages))
    doc = load_document(path)
    assert doc.metadata["doc_number"] == "金退役军人发〔2025〕12号"
    chunks = _chunks(doc)
    assert [c.article for c in chunks] == ["第一条", "第二条", "第三条"]
    assert chunks[1].text == ("第二条 持证人乘坐城乡公交车，按票价的一半购票；"
                              "由乡镇开往行政村的镇村公交，持证人免费乘车。")
    assert doc.stats["pages"] == 2


def test_word_automatic_numbering_is_rendered_as_word_shows_it(tmp_path: Path) -> None:
    path = make_numbered_docx(tmp_path / "rules.docx", "扬州市退役军人服务站工作规范（测试样例）", [
        (0, "服务站工作日对外办公，午间安排人员值班。"),
        (0, "材料不齐的，工作人员应当一次性告知需要补充的材料："),
        (1, "身份证明；"),
        (1, "优待证。"),
        (0, "行动不便的优抚对象，服务站应当上门办理。"),
        (0, "服务站受理的投诉，应当在五个工作日内答复。"),
    ])
    doc = load_document(path)
    arts = _articles(doc)
    assert [c.article for c in arts] == ["第一条", "第二条", "第三条", "第四条"]
    assert arts[1].text == ("第二条 材料不齐的，工作人员应当一次性告知需要补充的材料：\n"
                            "（一）身份证明；\n（二）优待证。")
    assert any("自动编号" in w for w in doc.warnings)
    assert doc.stats["numbering_reconstructed"] == 6


def test_word_decimal_numbering_gets_the_chinese_citation_label(tmp_path: Path) -> None:
    path = make_numbered_docx(tmp_path / "d.docx", "济南市示例规定", [(0, "甲。"), (0, "乙。")],
                              fmt0="decimal", text0="第%1条")
    arts = _articles(load_document(path))
    assert [(c.article, c.article_no) for c in arts] == [("第一条", 1), ("第二条", 2)]
    assert arts[0].text == "第1条 甲。"  # stored as Word shows it


def test_fullwidth_digits_are_one_citation_style_and_match(store: KnowledgeStore) -> None:
    doc = load_document(FIXTURES / "fullwidth.md")
    arts = _articles(doc)
    assert [(c.article, c.article_no) for c in arts] == [
        ("第五十一条", 51), ("第五十二条", 52), ("第五十三条", 53)]
    assert arts[0].text.startswith("第５１条")  # stored as written
    assert doc.metadata["date_effective"] == "2025-01-01"
    assert doc.metadata["region"] == "河北省"
    ingest_paths(store, [FIXTURES / "fullwidth.md"], progress=False)
    for query in ("50%", "第51条", "第五十一条 长途客运"):
        top = store.chunks[store.bm25_search(store.tokenizer.tokens(query), 1)[0][0]]
        assert top.metadata["article"] == "第五十一条", query


def test_government_page_keeps_only_the_main_text() -> None:
    doc = load_document(FIXTURES / "nav_junk.html")
    assert doc.metadata["title"] == (
        "杭州市退役军人优待证持证人文化场馆优待规定（测试样例，虚构条文，不是真实政策）")
    assert (doc.metadata["region"], doc.metadata["region_path"]) == ("杭州市", "浙江省/杭州市")
    chunks = _chunks(doc)
    assert [c.article for c in chunks] == ["第一条", "第二条", "第三条"]
    assert chunks[2].text.startswith("第三条 民营文化场馆")
    for junk in ("无障碍浏览", "首页", "您当前的位置", "热点信息", "服务大厅开放时间", "分享到", "备案号",
                 "版权所有", "访问统计", "在线咨询"):
        assert junk not in doc.text, junk


def test_page_title_without_h1_loses_its_site_suffix() -> None:
    html = ("<html><head><title>济南市退役军人优待办法_政策文件_济南市退役军人事务局</title></head><body>"
            "<div><p>第一条 持证人免费乘坐公交车。</p>"
            "<p>第二条 本办法自发布之日起施行。</p></div></body></html>")
    doc = load_bytes(html.encode(), Path("p.html"))
    assert doc.metadata["title"] == "济南市退役军人优待办法"


def test_scanned_pdf_is_refused_in_chinese_and_others_still_ingested(store: KnowledgeStore,
                                                                    tmp_path: Path) -> None:
    (tmp_path / "scan.pdf").write_bytes(make_pdf_pages([[], []]))
    (tmp_path / "good.md").write_text("# 济南市示例办法\n\n第一条 持证人免费乘车。\n", encoding="utf-8")
    with pytest.raises(IngestError) as err:
        load_document(tmp_path / "scan.pdf")
    assert "扫描件" in err.value.user_message
    report = ingest_paths(store, [tmp_path], progress=False)
    assert [d.doc_id for d in report.added] == ["good.md"]
    assert [Path(f.path).name for f in report.failed] == ["scan.pdf"]
    assert "扫描件" in report.failed[0].reason


def test_pdf_with_some_scanned_pages_warns_per_page(tmp_path: Path) -> None:
    path = tmp_path / "mixed.pdf"
    path.write_bytes(make_pdf_pages([["示例通知", "第一条 持证人免费乘坐公交车。"], []]))
    doc = load_document(path)
    assert doc.stats["pages_without_text"] == 1
    assert any("第 2 页没有文字层" in w for w in doc.warnings)


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-16", "utf-16-le"])
def test_chinese_and_utf16_text_files(encoding: str, tmp_path: Path) -> None:
    path = tmp_path / "notice.txt"
    body = "济南市优待通知\n第一条 退役军人凭优待证免费乘车。\n第二条 本通知自2025年1月1日起施行。\n"
    path.write_bytes(body.encode(encoding))
    doc = load_document(path)
    assert [c.article for c in _articles(doc)] == ["第一条", "第二条"]
    assert doc.metadata["title"] == "济南市优待通知"
    assert doc.metadata["date_effective"] == "2025-01-01"
    if encoding.startswith("gb"):
        assert doc.stats["encoding"] == "gb18030"
        assert any("GB18030" in w for w in doc.warnings)


def test_word_table_between_articles_stays_in_order(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_heading("济南市优待金标准（测试样例）", level=1)
    document.add_paragraph("第一条 义务兵家庭优待金标准见下表。")
    table = document.add_table(rows=2, cols=2)
    for r, row in enumerate([["类别", "标准"], ["城镇", "每年一万元"]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.add_paragraph("第二条 优待金由区县人民政府发放。")
    path = tmp_path / "table.docx"
    document.save(str(path))
    arts = _articles(load_document(path))
    assert [c.article for c in arts] == ["第一条", "第二条"]
    assert arts[0].text == "第一条 义务兵家庭优待金标准见下表。\n类别 | 标准\n城镇 | 每年一万元"


def test_traditional_page_is_found_by_simplified_question(store: KnowledgeStore) -> None:
    doc = load_document(FIXTURES / "traditional.md")
    assert doc.metadata["title"].startswith("長沙市")
    assert (doc.metadata["region"], doc.metadata["region_path"]) == ("长沙市", "湖南省/长沙市")
    assert [c.article for c in _articles(doc)] == ["第一条", "第二条"]
    ingest_paths(store, [FIXTURES / "traditional.md"], progress=False)
    top = store.chunks[store.bm25_search(store.tokenizer.tokens("退役军人 免费 游览 公园"), 1)[0][0]]
    assert top.metadata["article"] == "第二条"
    assert top.text.startswith("第二條 退役軍人")  # stored as written


def test_long_article_splits_on_item_boundaries_with_its_label() -> None:
    items = [f"（{n}）" + "持证人按照规定享受相应的交通、文旅、医疗和教育方面的优待服务" * 4 + "；"
             for n in "一二三四五六七八"]
    text = "# 金华市示例条例\n\n第七条 持证人享受下列优待：\n" + "\n".join(items) + "\n\n第八条 附则。\n"
    doc = load_bytes(text.encode(), Path("long.md"))
    parts = [c for c in _articles(doc) if c.article == "第七条"]
    assert len(parts) >= 2 and sum(len(p.text) for p in parts) > 1000
    assert parts[0].text.startswith("第七条 持证人享受下列优待：\n（一）")
    for part in parts[1:]:
        assert part.text.startswith("第七条 （")  # cut between items, never inside one
    pieces = [line for p in parts for line in p.text.removeprefix("第七条 ").split("\n")]
    assert pieces == ["持证人享受下列优待：", *items]


def test_cross_reference_line_is_not_a_new_article() -> None:
    text = ("# 济南市示例办法\n\n第四条 持证人可以申请临时救助。\n"
            "第五条规定的情形除外。\n\n第五条 本办法自发布之日起施行。\n")
    arts = _articles(load_bytes(text.encode(), Path("x.md")))
    assert [c.article for c in arts] == ["第四条", "第五条"]
    assert arts[0].text == "第四条 持证人可以申请临时救助。\n第五条规定的情形除外。"


def test_reposted_meeting_article_title_issuer_and_district_region() -> None:
    doc = load_document(FIXTURES / "repost_meeting.txt")
    meta = doc.metadata
    assert meta["title"] == "黄浦区召开2024年双拥工作领导小组会议（测试样例，虚构内容）"
    assert meta["issuer"] == ""
    assert (meta["region"], meta["region_path"], meta["region_code"]) == ("黄浦区", "上海市/黄浦区", "310101")
    assert meta["scope"] == "local"
    for junk in ("读完约", "小编", "分享到"):
        assert junk not in doc.text
    # The running heading is kept once.
    assert doc.text.count("黄浦区召开2024年双拥工作领导小组会议") == 1


def test_reposted_speech_region_comes_from_a_named_place_not_from_zaiquanshi() -> None:
    doc = load_document(FIXTURES / "repost_speech.txt")
    meta = doc.metadata
    assert meta["title"] == "在全市退役军人工作会议上的讲话（测试样例，虚构内容）"
    assert (meta["region"], meta["region_path"]) == ("扬州市", "江苏省/扬州市")
    assert any("按正文判断" in w for w in doc.warnings)
    assert "责任编辑" not in doc.text


def test_official_head_dates_versions_and_repeal() -> None:
    text = ("# 山东省示例信访条例\n\n"
            "（2015年9月24日山东省第十二届人民代表大会常务委员会第十六次会议通过　"
            "根据2020年11月27日山东省第十三届人民代表大会常务委员会第二十五次会议修正　"
            "2023年3月30日山东省第十四届人民代表大会常务委员会第二次会议修订）\n\n"
            "第一条 为了规范信访工作，制定本条例。\n\n"
            "第二条 本条例自2023年5月1日起施行。《山东省示例旧条例》同时废止。\n")
    meta = load_bytes(text.encode(), Path("sd.md")).metadata
    assert meta["issuer"] == "山东省人民代表大会常务委员会"
    assert (meta["date_adopted"], meta["date_issued"]) == ("2015-09-24", "2015-09-24")
    assert (meta["date_amended"], meta["date_version"]) == ("2023-03-30", "2023-03-30")
    assert meta["date_effective"] == "2023-05-01"
    assert meta["repeals"] == "山东省示例旧条例"
    assert (meta["region"], meta["region_code"]) == ("山东省", "370000")


def test_state_council_order_gives_issuer_and_order_number() -> None:
    text = ("# 示例条例\n\n2005年1月5日 国务院第76次常务会议通过\n\n"
            "2005年1月10日 中华人民共和国国务院令第431号公布\n\n第一条 目的。\n\n"
            "第二条 本条例自公布之日起施行。\n")
    meta = load_bytes(text.encode(), Path("gwy.md")).metadata
    assert (meta["issuer"], meta["doc_number"]) == ("国务院", "国务院令第431号")
    assert (meta["date_adopted"], meta["date_issued"], meta["date_effective"]) == (
        "2005-01-05", "2005-01-10", "2005-01-10")
    assert (meta["region"], meta["scope"]) == ("全国", "national")


def test_doc_number_abbreviation_gives_the_province() -> None:
    text = "关于做好退役军人优待工作的通知\n鲁退役军人发〔2024〕3号\n第一条 各地要落实优待政策。\n"
    meta = load_bytes(text.encode(), Path("lu.txt")).metadata
    assert (meta["doc_number"], meta["region"]) == ("鲁退役军人发〔2024〕3号", "山东省")
    assert meta["title"] == "关于做好退役军人优待工作的通知"


def test_ingest_report_lists_files_articles_warnings_and_metadata(store: KnowledgeStore) -> None:
    report = ingest_paths(store, [FIXTURES / "pdf_extracted_headers.txt", FIXTURES / "zhiyi_articles.md"],
                          progress=False)
    by_name = {Path(d.path).name: d for d in report.added}
    notice = by_name["pdf_extracted_headers.txt"]
    assert (notice.chunks, notice.articles) == (5, 5)
    assert notice.metadata["doc_number"] == "金退役军人发〔2025〕12号"
    assert notice.stats["furniture_removed"] == 5 and notice.warnings
    assert by_name["zhiyi_articles.md"].articles == 5
    details = report.details()
    assert "文号：金退役军人发〔2025〕12号" in details and "行政区划：浙江省/金华市" in details
    data = report.to_dict()
    assert data["chunks_written"] == 10 and data["added"][0]["metadata"]["title"]
    chunk = next(c for c in store.chunks.values() if c.metadata["doc_id"] == "pdf_extracted_headers.txt")
    assert (chunk.metadata["region_path"], chunk.metadata["region_code"]) == ("浙江省/金华市", "330700")


def test_plain_text_head_lines_are_metadata_not_a_passage(store: KnowledgeStore) -> None:
    # The shape a bureau uploads: title, issuing body, 文号 and date lines, a blank line, then
    # the articles. The head lines became a passage of their own (a search hit with no content).
    report = ingest_paths(store, [FIXTURES / "bureau_head_lines.txt"], progress=False)
    assert report.added and not report.failed
    doc = next(iter(store.documents.values()))
    meta = doc.chunks[0].metadata
    assert meta["title"] == "扬州市退役军人优待证使用管理办法（测试样例，虚构条文，不是真实政策）"
    assert (meta["issuer"], meta["doc_number"]) == ("扬州市退役军人事务局", "扬退役军人发〔2025〕3号")
    assert (meta["date_issued"], meta["date_version"]) == ("2025-02-10", "2025-02-10")
    assert meta["date_effective"] == "2025-03-01"
    assert [c.metadata["article"] for c in doc.chunks] == ["第一条", "第二条", "第三条"]
    assert all("事务局" not in c.text and "〔2025〕" not in c.text for c in doc.chunks)


@pytest.mark.parametrize(
    "head",
    [
        "发文机关：乙市退役军人事务局\n发文字号：乙退役军人发〔2024〕9号\n成文日期：2024-12-01\n",
        "乙市退役军人事务局文件\n乙退役军人发〔2024〕9号\n（2024年12月1日乙市退役军人事务局印发）\n",
        "乙市退役军人事务局\n2024年12月1日\n乙退役军人发〔2024〕9号\n",
    ],
)
def test_every_kind_of_head_line_is_metadata(head: str) -> None:
    text = (f"乙市烈士纪念设施管理办法\n{head}\n"
            "第一条 烈士纪念设施由退役军人事务部门管理。\n第二条 本办法自印发之日起施行。\n")
    doc = load_bytes(text.encode(), Path("yi.txt"))
    assert doc.metadata["doc_number"] == "乙退役军人发〔2024〕9号"
    assert doc.metadata["date_issued"] == "2024-12-01"
    assert [c.article for c in _chunks(doc)] == ["第一条", "第二条"]


def test_head_note_of_a_law_is_metadata_not_a_passage() -> None:
    text = ("# 示例优抚条例\n\n（2010年3月1日国务院、中央军事委员会令第100号公布　"
            "根据2015年6月1日国务院、中央军事委员会令第120号修正）\n\n"
            "第一条 为了做好优抚工作，制定本条例。\n")
    doc = load_bytes(text.encode(), Path("law.md"))
    assert (doc.metadata["date_issued"], doc.metadata["date_version"]) == ("2010-03-01", "2015-06-01")
    assert [c.article for c in _chunks(doc)] == ["第一条"]


@pytest.mark.parametrize(
    ("clause", "repeals"),
    [
        # fe25: the 文号 in brackets between the title and 同时废止 hid the repeal, and the old
        # notice stayed in force.
        ("《关于退役军人免费乘坐示例市轨道交通的通知》（示退役军人发〔2025〕12号）同时废止。",
         "关于退役军人免费乘坐示例市轨道交通的通知"),
        ("《示例甲办法》和《示例乙规定》同时废止。", "示例甲办法|示例乙规定"),
        ("原《示例旧规定》废止。", "示例旧规定"),
    ],
)
def test_a_repeal_names_every_title_before_it(clause: str, repeals: str) -> None:
    text = ("示例市关于退役军人乘坐轨道交通的通知\n第一条 退役军人持优待证乘坐轨道交通享受半价。\n"
            f"第二条 本通知自2027年1月1日起施行。{clause}\n")
    assert load_bytes(text.encode(), Path("n.txt")).metadata["repeals"] == repeals
