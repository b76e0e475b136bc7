"""The 落款 after the last article and the 公布令 before the title (ingest.signoff), in each
shape a bureau sends: a text file, a Word file, a web page, Markdown; and the texts that must
not be cut."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest import pipeline
from ingest.chunking import Chunk
from ingest.loaders import load_bytes, load_document
from ingest.pipeline import document_chunks, ingest_paths
from ingest.signoff import split_tail
from knowledge.store import KnowledgeStore

FIXTURES = Path(__file__).resolve().parent / "fixtures"

# Words of a 落款 that no article of the fixtures contains.
SIGNATURE_WORDS = ("此件", "抄送", "印发", "总理", "主席令", "国务院令", "2024年9月13日", "2025年4月1日",
                   "2025年7月1日")


def _last_article(chunks: list[Chunk]) -> Chunk:
    return [c for c in chunks if c.article][-1]


def _no_signature(chunks: list[Chunk]) -> None:
    for chunk in chunks:
        assert not any(word in chunk.text for word in SIGNATURE_WORDS), chunk.text


def test_notice_with_attachments_as_a_text_file() -> None:
    doc = load_document(FIXTURES / "signature_notice.txt")
    chunks = document_chunks(doc)
    assert [c.article for c in chunks if c.article] == ["第一条", "第二条", "第三条"]
    assert _last_article(chunks).text == "第三条 本办法自2025年5月1日起施行。"
    _no_signature(chunks)
    # The attachments with content are passages of their own, named by number and title.
    attachments = [c for c in chunks if not c.article]
    assert [c.heading for c in attachments] == ["附件1 文化场馆优待项目表", "附件2 优待证遗失补办申请表"]
    assert "甲市革命纪念馆 | 免费，免预约" in attachments[0].text
    assert not any("甲市退役军人事务局" in c.text for c in chunks)
    # The head names no issuer or date: the 落款 does.
    meta = doc.metadata
    assert (meta["issuer"], meta["date_issued"], meta["date_effective"]) == (
        "甲市退役军人事务局", "2025-04-01", "2025-05-01")


def test_state_council_order_head_is_metadata_and_its_signature_no_passage() -> None:
    doc = load_document(FIXTURES / "state_council_order.txt")
    meta = doc.metadata
    assert meta["title"] == "示例退役军人优待条例（测试样例，虚构条文，不是真实政策）"
    assert (meta["issuer"], meta["doc_number"]) == ("国务院", "国务院令第九百零一号")
    assert (meta["date_adopted"], meta["date_issued"], meta["date_effective"]) == (
        "2024-08-30", "2024-09-13", "2024-10-01")
    chunks = document_chunks(doc)
    # No passage of the order's lines before the title: every passage is an article.
    assert [c.article for c in chunks] == ["第一条", "第二条", "第三条"]
    assert _last_article(chunks).text == "第三条 本条例自2024年10月1日起施行。"
    _no_signature(chunks)


def test_presidential_order_names_the_body_that_passed_the_law() -> None:
    doc = load_document(FIXTURES / "presidential_order.md")
    meta = doc.metadata
    assert meta["title"] == "中华人民共和国示例军人优待法（测试样例，虚构条文，不是真实政策）"
    assert (meta["issuer"], meta["doc_number"]) == ("全国人民代表大会常务委员会", "主席令第九十九号")
    # 修订通过: the date of this version, not of the first adoption.
    assert (meta["date_amended"], meta["date_version"], meta["date_effective"]) == (
        "2024-09-13", "2024-09-13", "2024-09-21")
    chunks = document_chunks(doc)
    assert [c.article for c in chunks] == ["第一条", "第二条"]
    _no_signature(chunks)


def test_government_page_with_joint_signature() -> None:
    doc = load_document(FIXTURES / "signature_page.html")
    chunks = document_chunks(doc)
    assert [c.article for c in chunks] == ["第一条", "第二条", "第三条"]
    assert _last_article(chunks).text == "第三条 本办法自2025年8月1日起施行。"
    _no_signature(chunks)
    assert (doc.metadata["issuer"], doc.metadata["date_issued"]) == (
        "乙市退役军人事务局、乙市卫生健康委员会", "2025-07-01")


def _docx(paragraphs: list[tuple[str, bool]]) -> bytes:
    """A Word file: one paragraph per (text, right-aligned) pair, as a 落款 is typed."""
    import io

    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    document = docx.Document()
    for text, right in paragraphs:
        paragraph = document.add_paragraph(text)
        if right:
            paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_provincial_regulation_as_a_word_file_keeps_its_head_dates() -> None:
    data = _docx([
        ("浙江省示例退役军人优待条例（测试样例，虚构条文，不是真实政策）", False),
        ("（2024年9月13日浙江省第十四届人民代表大会常务委员会第十二次会议通过）", False),
        ("第一条 为了做好退役军人优待工作，制定本条例。", False),
        ("第二条 本条例自2024年12月1日起施行。", False),
        ("浙江省人民代表大会常务委员会", True),
        ("2024年9月13日", True),
        ("抄送：省委办公厅，省政府办公厅。", False),
    ])
    doc = load_bytes(data, Path("regulation.docx"))
    chunks = document_chunks(doc)
    assert [c.text for c in chunks] == [
        "第一条 为了做好退役军人优待工作，制定本条例。", "第二条 本条例自2024年12月1日起施行。"]
    meta = doc.metadata
    # The head's 题注 gives issuer and date; the 落款 only fills what the head lacks.
    assert (meta["issuer"], meta["date_issued"], meta["date_effective"]) == (
        "浙江省人民代表大会常务委员会", "2024-09-13", "2024-12-01")


def test_issuer_and_date_repeated_from_the_head_are_not_glued_to_the_attachment_list() -> None:
    # In a text without pages a line met twice is a running head: the second 甲市退役军人事务局
    # goes, and the date under it must stay a line of its own.
    text = ("甲市关于优待证持证人免费乘车的通知（测试样例，虚构条文，不是真实政策）\n甲市退役军人事务局\n"
            "甲退役军人发〔2025〕5号\n第一条 持证人免费乘坐本市公交车。\n"
            "第二条 本通知自2025年5月1日起施行。\n"
            "附件：1.线路表\n甲市退役军人事务局\n2025年4月1日\n（此件公开发布）\n")
    doc = load_bytes(text.encode(), Path("notice.txt"))
    assert "附件：1.线路表\n2025年4月1日" in doc.text
    assert doc.metadata["date_issued"] == "2025-04-01"
    chunks = document_chunks(doc)
    assert _last_article(chunks).text == "第二条 本通知自2025年5月1日起施行。"


@pytest.mark.parametrize("text", [
    # A last article that ends in a date sentence keeps it.
    "第一条 优待。\n第二条 本条例自2024年9月21日起施行。\n",
    "第一条 优待。\n第二条 本条例自公布之日起施行。\n2024年9月21日前发放的优待证继续有效。\n",
    # An issuer named alone inside the last article, with article text after it.
    "第一条 优待。\n第二条 下列单位负责解释：\n甲市退役军人事务局\n甲市财政局负责资金保障。\n",
    # A table captioned 附表1 between articles is no attachment.
    "第一条 优待项目如下表：\n附表1 优待项目\n项目 | 内容\n公交 | 免费\n"
    "第二条 本办法自2025年1月1日起施行。\n",
    # 附件1 opening a sentence is no attachment heading.
    "第一条 优待。\n第二条 优待场馆如下：\n附件1所列场馆免费开放\n",
    # No articles: nothing is cut.
    "甲市退役军人事务局\n2025年4月1日\n",
])
def test_texts_that_are_not_cut(text: str) -> None:
    tail = split_tail(text)
    assert tail.body == text
    assert (tail.signature, tail.attachments, tail.issuer, tail.date_signed) == ([], [], "", "")


def test_repeal_clause_before_long_attachments_is_read() -> None:
    rows = "\n".join(f"{i} | 甲市第{i}公园 | 免收首道门票" for i in range(1, 200))
    text = ("甲市优待办法（测试样例，虚构条文，不是真实政策）\n第一条 优待。\n"
            "第二条 本办法自2025年5月1日起施行。《甲市旧优待办法》同时废止。\n"
            f"甲市退役军人事务局\n2025年4月1日\n附件\n公园名单\n{rows}\n")
    doc = load_bytes(text.encode(), Path("parks.txt"))
    assert doc.metadata["repeals"] == "甲市旧优待办法"
    chunks = document_chunks(doc)
    assert _last_article(chunks).text.endswith("同时废止。")
    assert {c.heading for c in chunks if not c.article} == {"附件 公园名单"}


def test_documents_of_an_older_ingest_version_are_chunked_again(
        store: KnowledgeStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "culture.txt").write_bytes((FIXTURES / "signature_notice.txt").read_bytes())
    monkeypatch.setattr(pipeline, "INGEST_VERSION", "6")
    ingest_paths(store, [folder], progress=False)
    monkeypatch.undo()
    # Same bytes, newer chunking: the document is updated, not skipped as unchanged.
    report = ingest_paths(store, [folder], progress=False)
    assert [d.doc_id for d in report.updated] == ["culture.txt"] and report.unchanged == []
    doc = store.documents["culture.txt"]
    assert doc.metadata["ingest_version"] == pipeline.INGEST_VERSION
    assert not any("抄送" in c.text for c in doc.chunks)
