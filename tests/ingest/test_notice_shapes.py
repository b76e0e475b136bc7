"""Shapes met in the field: summaries mixing article and plain ``##`` sections, bureau notices
with joint issuers and an in-force clause in the body (.txt and .docx alike)."""

from __future__ import annotations

from pathlib import Path

from ingest.chunking import chunk_text
from ingest.loaders import load_document

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
