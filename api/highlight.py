"""Query-term highlighting: ``<mark>`` around matches, everything else HTML-escaped."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable

from markupsafe import Markup


def _norm_char(ch: str) -> str:
    # One-to-one folding (NFKC of single chars can change length; keep width 1 or keep ch).
    folded = unicodedata.normalize("NFKC", ch).lower()
    return folded if len(folded) == 1 else ch.lower() if len(ch.lower()) == 1 else ch


def match_spans(text: str, terms: Iterable[str]) -> list[tuple[int, int]]:
    """Non-overlapping (start, end) spans of ``terms`` in ``text``; longer terms win ties."""
    folded = "".join(_norm_char(c) for c in text)
    spans: list[tuple[int, int]] = []
    cleaned = sorted({_fold(t) for t in terms if t and t.strip()}, key=len, reverse=True)
    for term in cleaned:
        if not term:
            continue
        for m in re.finditer(re.escape(term), folded):
            spans.append((m.start(), m.end()))
    if not spans:
        return []
    # Merge overlapping spans so nested terms (优待证 / 优待) give one <mark>.
    spans.sort()
    merged = [spans[0]]
    for start, end in spans[1:]:
        last_start, last_end = merged[-1]
        if start < last_end:
            merged[-1] = (last_start, max(last_end, end))
        else:
            merged.append((start, end))
    return merged


def _fold(term: str) -> str:
    return "".join(_norm_char(c) for c in term.strip())


def highlight(text: str, terms: Iterable[str]) -> Markup:
    """``text`` HTML-escaped, with ``<mark>`` around every occurrence of a term."""
    out: list[str] = []
    pos = 0
    for start, end in match_spans(text, terms):
        out.append(html.escape(text[pos:start]))
        out.append(f"<mark>{html.escape(text[start:end])}</mark>")
        pos = end
    out.append(html.escape(text[pos:]))
    return Markup("".join(out))


def snippet(text: str, terms: Iterable[str], width: int = 160) -> Markup:
    """A window of about ``width`` characters around the densest matches, highlighted.

    The window starts shortly before the first match of the best-covered region, so the
    reader sees why the passage matched; ellipses mark cut ends.
    """
    term_list = list(terms)
    text = " ".join(text.split())
    if len(text) <= width:
        return highlight(text, term_list)
    spans = match_spans(text, term_list)
    start = 0
    if spans:
        # Choose the window (anchored at a span start) covering the most matched characters.
        best, best_cover = spans[0][0], -1
        for anchor, _ in spans:
            cover = sum(min(e, anchor + width) - s for s, e in spans if anchor <= s < anchor + width)
            if cover > best_cover:
                best, best_cover = anchor, cover
        start = max(0, best - 20)
    end = min(len(text), start + width)
    start = max(0, end - width)
    body = highlight(text[start:end], term_list)
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    return Markup(prefix) + body + Markup(suffix)
