"""Highlighting: <mark> around query terms, everything else escaped."""

from __future__ import annotations

from api.highlight import highlight, match_spans, snippet


def test_marks_terms_and_escapes_the_rest() -> None:
    html = str(highlight("优待证<b>补办</b> & 换发", ["优待证", "补办"]))
    assert html == "<mark>优待证</mark>&lt;b&gt;<mark>补办</mark>&lt;/b&gt; &amp; 换发"


def test_overlapping_terms_merge_into_one_mark() -> None:
    assert str(highlight("申请优待证", ["优待", "优待证", "待证"])) == "申请<mark>优待证</mark>"


def test_matching_ignores_case_and_full_width() -> None:
    assert match_spans("ＡＢＣ abc", ["abc"]) == [(0, 3), (4, 7)]


def test_terms_cannot_inject_markup() -> None:
    html = str(highlight("a<script>b", ["<script>"]))
    assert "<script>" not in html
    assert "<mark>&lt;script&gt;</mark>" in html


def test_snippet_windows_around_the_match() -> None:
    text = "前言。" * 100 + "优待证遗失的可以补办。" + "后记。" * 100
    out = str(snippet(text, ["补办"], width=60))
    assert "<mark>补办</mark>" in out
    assert out.startswith("…") and out.endswith("…")
    assert len(out.replace("<mark>", "").replace("</mark>", "")) <= 62


def test_short_text_is_not_cut() -> None:
    assert str(snippet("短文本", ["文本"])) == "短<mark>文本</mark>"
