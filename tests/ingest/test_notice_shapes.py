"""Shapes met in the field: summaries mixing article and plain ``##`` sections, bureau notices
with joint issuers and an in-force clause in the body (.txt and .docx alike)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.chunking import chunk_text
from ingest.loaders import load_document
from ingest.metadata import finalize_metadata
from ingest.pipeline import document_chunks

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def test_article_section_after_a_plain_heading_is_not_labelled_with_it() -> None:
    doc = load_document(FIXTURES / "mixed_headings.md")
    chunks = chunk_text(doc.text, doc.metadata["title"])
    by_article = {c.article: c for c in chunks if c.article}
    # "## 审核流程和办理时限" is a sibling section, not a chapter over the articles after it.
    assert by_article["第二十五条"].heading == ""
    assert by_article["第二十五条"].text.startswith("第二十五条 不予发放优待证的情形")
    assert by_article["第二十六条"].heading == ""
    plain = {c.heading: c for c in chunks if not c.article}
    assert "30个工作日" in plain["审核流程和办理时限"].text
    # A deeper article still sits under the plain section that contains it, not under its sibling.
    assert by_article["第三十条"].heading == "银行卡功能"
    assert plain["银行卡功能 > 开卡费用"].text.startswith("合作银行")


def _as_docx(source: Path, target: Path) -> Path:
    """The same notice typed into Word: one paragraph per line, the title in the Title style."""
    import docx

    document = docx.Document()
    for i, line in enumerate(source.read_text(encoding="utf-8").splitlines()):
        if line.strip():
            document.add_paragraph(line, style="Title" if i == 0 else None)
    document.save(target)
    return target


@pytest.mark.parametrize("suffix", [".txt", ".docx"])
def test_joint_issuers_and_the_in_force_clause_of_a_notice(suffix: str, tmp_path: Path) -> None:
    source = FIXTURES / "joint_notice.txt"
    path = source if suffix == ".txt" else _as_docx(source, tmp_path / "joint_notice.docx")
    doc = load_document(path)
    meta = doc.metadata
    assert meta["issuer"] == "金华市退役军人事务局、金华市交通运输局"
    assert meta["doc_number"] == "金退役军人发〔2025〕12号"
    assert meta["date_issued"] == "2025-03-01"
    # Stated in 第二条, not in the last article.
    assert meta["date_effective"] == "2025-04-01"
    assert meta["region"] == "金华市"
    passages = document_chunks(doc)
    # The issuer line and the 主送机关 line are no passage of their own.
    assert [p.article for p in passages] == ["第一条", "第二条", "第三条"]
    assert not any("交通运输局" in p.text for p in passages)


def test_issuers_one_per_line_and_a_closing_line_in_force_on_issue() -> None:
    meta = load_document(FIXTURES / "notice_on_issue.txt").metadata
    assert meta["issuer"] == "扬州市退役军人事务局、扬州市园林局"
    assert meta["date_issued"] == "2025-05-20"
    assert meta["date_effective"] == "2025-05-20"  # 本通知自印发之日起施行


def test_a_notice_that_only_says_when_its_measure_starts() -> None:
    meta = load_document(FIXTURES / "measure_start_notice.txt").metadata
    assert meta["issuer"] == "扬州市退役军人事务局"
    assert meta["date_issued"] == "2025-06-01"
    assert meta["date_effective"] == "2025-07-01"


@pytest.mark.parametrize(("body", "effective"), [
    ("第一条 优待。\n第二条 本办法从2025年4月1日起正式实施。", "2025-04-01"),
    ("第一条 优待。\n第二条 本意见自2025年4月1日起执行。\n第三条 解释权归市局。", "2025-04-01"),
    ("第一条 优待。\n本规定于2025年4月1日施行。", "2025-04-01"),
    ("第一条 优待。\n本通知自发布之日起实施。", "2025-03-01"),
    # A date inside a sentence is not when the notice starts.
    ("第一条 2025年4月1日前申领的，自2025年5月1日起换发。", ""),
])
def test_in_force_clauses(body: str, effective: str) -> None:
    text = f"某市关于优待的通知\n某市退役军人事务局\n2025年3月1日\n{body}\n"
    assert finalize_metadata({}, text, "x")["date_effective"] == effective
