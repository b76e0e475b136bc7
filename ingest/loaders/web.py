"""HTML pages: the main content (readability-lxml) as text with ``#`` headings.

Government pages wrap a document in top bars, menus, breadcrumbs, side lists, share bars and
footers; readability-lxml picks the block that holds the article, and only that block is
converted. Web furniture still inside it (share bars, "小编" lines) is removed line by line.
The title is the main block's ``<h1>``, else the page ``<title>`` without its site suffix
(``标题_政策文件_某某局`` → ``标题``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ingest import furniture
from ingest.loaders.base import Extracted
from ingest.loaders.text import detect_and_decode
from vetbot.errors import IngestError

_DROP_TAGS = ["script", "style", "nav", "noscript", "template", "iframe", "head", "footer", "aside", "form"]
_BLOCK_TAGS = ["p", "div", "li", "section", "article", "blockquote", "pre", "dd", "dt", "table"]
_META_CHARSET_RE = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_\-]+)", re.IGNORECASE)


def _decode(data: bytes, path: Path) -> tuple[str, str]:
    m = _META_CHARSET_RE.search(data[:4096])
    if m:
        declared = m.group(1).decode("ascii").lower()
        # Pages declaring gb2312/gbk routinely use characters only GB18030 has.
        encoding = "gb18030" if declared in ("gb2312", "gbk", "gb18030", "x-gbk") else declared
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError):
            pass
    return detect_and_decode(data, path.name)


def _site_suffixless(title: str) -> str:
    parts = [p.strip() for p in re.split(r"\s*(?:_|\||｜| - | — |-{2,})\s*", title) if p.strip()]
    return parts[0] if parts else title.strip()


def _to_text(soup: Any) -> str:
    for tag in soup(_DROP_TAGS):
        tag.decompose()
    for level in range(1, 7):
        for tag in soup.find_all(f"h{level}"):
            text = tag.get_text(" ", strip=True)
            tag.replace_with(f"\n{'#' * level} {text}\n" if text else "")
    for tag in soup.find_all("br"):
        tag.replace_with("\n")
    for row in soup.find_all("tr"):
        cells = [c.get_text(" ", strip=True) for c in row.find_all(["td", "th"])]
        row.replace_with("\n" + " | ".join(c for c in cells if c) + "\n")
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    text = soup.get_text()
    lines = [re.sub(r"[ \t\u3000\xa0]+", " ", ln).strip() for ln in text.splitlines()]
    return "\n".join(ln for ln in lines if ln)


def load_html(data: bytes, path: Path) -> Extracted:
    """An HTML page's main content; IngestError when it cannot be parsed."""
    from bs4 import BeautifulSoup
    from readability import Document

    html, encoding = _decode(data, path)
    try:
        page = BeautifulSoup(html, "lxml")
        page_title = page.title.get_text(" ", strip=True) if page.title else ""
        main_html = Document(html).summary(html_partial=True)
        main = BeautifulSoup(main_html, "lxml")
    except Exception as exc:  # lxml and readability raise assorted errors on broken markup
        raise IngestError(f"cannot parse html {path.name}: {exc}", user_message="HTML 文件无法解析") from exc
    body = _to_text(main)
    if not body.strip():
        # Readability found no article block (tiny pages): fall back to the whole body.
        body = _to_text(page)
    out = Extracted(text="", encoding=encoding)
    cleaned = furniture.clean([body.split("\n")], repeated=False)
    out.note_furniture(cleaned)
    out.text = "\n".join(cleaned.lines)
    has_h1 = re.search(r"^# ", out.text, re.MULTILINE) is not None
    if page_title and not has_h1:
        out.front["title"] = _site_suffixless(page_title)
    return out
