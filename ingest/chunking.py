"""Chinese structure-aware chunking of legal texts, policy summaries and prose.

Legal texts are split along their own structure: 编 / 章 / 节 headings form the heading path
and every article (条) becomes one chunk whose text starts with its label (``第五十三条 ...``)
and keeps its paragraphs (款) and items (项). Very long articles are split at 款 (or 项)
boundaries, each part starting with the article label again so that it can be cited alone.

Bundled policy summaries use ``## 第N条 <short heading>`` sections; each such section is one
chunk with the article parsed from the heading. Other sections and free prose are split by
headings and paragraphs, with sentence-aware limits.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from vetbot.cancel import checkpoint
from vetbot.textnorm import article_label, chinese_to_int

__all__ = ["ARTICLE_LIMIT", "PROSE_LIMIT", "Chunk", "chinese_to_int", "chunk_text", "parse_article_label"]

# Chinese numerals as used in article and chapter labels (plus Arabic digits, full-width too).
_NUM = r"[〇零一二两三四五六七八九十百千万0-9０-９]+"
_ARTICLE_RE = re.compile(
    rf"^第(?P<num>{_NUM})[条條](?:之(?P<sub>[一二三四五六七八九十]+))?(?P<kuan>第{_NUM}款)?(?P<sep>[\s\u3000]+|$)?"
)
_STRUCT_RE = re.compile(
    rf"^第(?P<num>{_NUM})(?P<kind>分编|编|章|节|分編|編|節)(?P<sep>[\s\u3000]*)(?P<title>.*)$")
_MD_HEADING_RE = re.compile(r"^(?P<hashes>#{1,6})[ \t]+(?P<text>.+?)[ \t#]*$")
_ITEM_RE = re.compile(r"^[（(][一二三四五六七八九十]+[）)]")
_SENTENCE_END = "。！？；!?;"

# Rank of legal structure headings in the heading path (smaller is outer).
_STRUCT_RANK = {"编": 1, "分编": 2, "章": 3, "节": 4, "編": 1, "分編": 2, "節": 4}

ARTICLE_LIMIT = 600
PROSE_LIMIT = 500

# After a label without a separator these words make the line a cross-reference
# (第五条规定的……), not a new article.
_REFERENCE_RE = re.compile(r"^(?:规定|所称|所列|所述|的|中|和|及|或|至|、|，|,|第|之规定|以外|以及)")


@dataclass
class Chunk:
    """One chunk before ids and document metadata are attached."""

    text: str
    article: str = ""
    article_no: int = 0
    heading: str = ""


@dataclass
class _Section:
    """A run of lines that will become one or more chunks."""

    heading: str
    lines: list[str]
    article: str = ""
    article_no: int = 0


def _clean_heading_title(title: str) -> str:
    # Official texts space out short titles ("总  则"); "总则" is what people type.
    title = title.strip()
    if len(title) <= 8:
        title = re.sub(r"[\s\u3000]+", "", title)
    return re.sub(r"[\s\u3000]+", " ", title)


def _structural_heading(line: str) -> tuple[int, str] | None:
    """(rank, label) when ``line`` is a 编/章/节 heading such as ``第一章 总则``."""
    m = _STRUCT_RE.match(line)
    if not m:
        return None
    title = m.group("title").strip()
    # A heading is short and is not a sentence; "第二章规定的……。" is body text.
    if len(line) > 40 or any(p in title for p in "。；，,;："):
        return None
    try:
        chinese_to_int(m.group("num"))
    except ValueError:
        return None
    label = f"第{m.group('num')}{m.group('kind')}"
    title = _clean_heading_title(title)
    return _STRUCT_RANK[m.group("kind")], f"{label} {title}".strip()


def parse_article_label(text: str, *, require_separator: bool = True) -> tuple[str, int] | None:
    """Parse a leading article label: ``第一百零二条 ...`` → ("第一百零二条", 102).

    The label is given in citation form (:func:`vetbot.textnorm.article_label`): ``第51条`` and
    ``第５１条`` → ``第五十一条``. ``第十条之一`` keeps its suffix (number 10); ``第五十三条第二款``
    keeps the 款. With ``require_separator`` the label must be followed by whitespace or the end.
    """
    m = _ARTICLE_RE.match(text.strip())
    if not m:
        return None
    has_sep = m.group("sep") is not None
    if require_separator and not has_sep:
        return None
    try:
        number = chinese_to_int(m.group("num"))
    except ValueError:
        return None
    written = f"第{m.group('num')}条"
    if m.group("sub"):
        written += f"之{m.group('sub')}"
    if m.group("kuan") and has_sep:
        written += m.group("kuan")
    return article_label(written), number


def _split_sentences(text: str, limit: int) -> list[str]:
    """Split a long paragraph after sentence punctuation, packing sentences up to ``limit``."""
    sentences = [s for s in re.split(rf"(?<=[{_SENTENCE_END}])", text) if s]
    pieces: list[str] = []
    for sentence in sentences:
        # A "sentence" longer than the limit (lists without punctuation) is cut hard.
        while len(sentence) > limit:
            pieces.append(sentence[:limit])
            sentence = sentence[limit:]
        pieces.append(sentence)
    out: list[str] = []
    current = ""
    for piece in pieces:
        if current and len(current) + len(piece) > limit:
            out.append(current)
            current = ""
        current += piece
    if current:
        out.append(current)
    return out


def _pack(units: list[str], limit: int, sep: str = "\n") -> list[str]:
    """Greedily pack text units into groups of at most ``limit`` characters."""
    out: list[str] = []
    current: list[str] = []
    size = 0
    for unit in units:
        if len(unit) > limit:
            if current:
                out.append(sep.join(current))
                current, size = [], 0
            out.extend(_split_sentences(unit, limit))
            continue
        extra = len(unit) + (len(sep) if current else 0)
        if current and size + extra > limit:
            out.append(sep.join(current))
            current, size = [], 0
            extra = len(unit)
        current.append(unit)
        size += extra
    if current:
        out.append(sep.join(current))
    return out


def _split_article(label: str, paragraphs: list[str], limit: int) -> list[str]:
    """Split an over-long article at 款 boundaries (then 项), each part led by its label."""
    text = "\n".join(paragraphs)
    if len(text) <= limit:
        return [text]
    # A 款 is a paragraph together with the items (项) that follow it.
    kuan: list[list[str]] = []
    for para in paragraphs:
        if kuan and _ITEM_RE.match(para):
            kuan[-1].append(para)
        else:
            kuan.append([para])
    units: list[str] = []
    for group in kuan:
        joined = "\n".join(group)
        if len(joined) <= limit:
            units.append(joined)
        else:
            units.extend(_pack(group, limit))
    parts = _pack(units, limit)
    out = []
    for i, part in enumerate(parts):
        if i > 0 and not part.startswith(label):
            part = f"{label} {part}"
        out.append(part)
    return out


def _iter_sections(text: str, title: str, drop: Collection[str] = ()) -> list[_Section]:
    """Walk the lines and cut them into heading / article sections.

    Lines in ``drop`` (and a plain line equal to ``title``) are metadata while they come
    before the first heading or article.
    """
    stack: list[tuple[int, str]] = []
    sections: list[_Section] = []
    current = _Section(heading="", lines=[])
    last_article = 0
    title_seen = False

    def heading_path() -> str:
        return " > ".join(label for _, label in stack)

    def flush() -> None:
        nonlocal current
        if current.lines or current.article:
            sections.append(current)
        current = _Section(heading=heading_path(), lines=[])

    def push(rank: int, label: str) -> None:
        while stack and stack[-1][0] >= rank:
            stack.pop()
        stack.append((rank, label))

    for raw in text.splitlines():
        line = raw.strip().replace("\u3000", " ").strip()
        if not line:
            continue
        if not sections and not current.lines and not current.article and not stack and (
                line == title or line in drop):
            continue
        md = _MD_HEADING_RE.match(line)
        if md:
            level = len(md.group("hashes"))
            body = md.group("text").strip()
            article = parse_article_label(body, require_separator=False)
            if article:
                # Bundled summary format: "## 第N条 heading" is one article section. It is a
                # sibling of a plain "## heading" before it, whose title must not become its label.
                flush()
                while stack and stack[-1][0] >= level + 10:
                    stack.pop()
                current = _Section(heading=heading_path(), lines=[body], article=article[0],
                                   article_no=article[1])
                last_article = article[1]
                continue
            struct = _structural_heading(body)
            flush()
            if struct:
                push(*struct)
            elif level == 1 and not title_seen and (not title or body == title or not stack):
                # The document's own title is metadata, not part of every heading path.
                title_seen = True
            else:
                # Plain Markdown headings rank after 编/章/节 of the same depth.
                push(level + 10, re.sub(r"\s+", " ", body))
            current = _Section(heading=heading_path(), lines=[])
            continue
        struct = _structural_heading(line)
        if struct:
            flush()
            push(*struct)
            current = _Section(heading=heading_path(), lines=[])
            continue
        parsed = parse_article_label(line, require_separator=False)
        if parsed:
            has_sep = parse_article_label(line) is not None
            # "第三十条规定……" wrapped onto a new line is a reference, not a new article: without a
            # separator only the next number in sequence starts an article.
            after = _ARTICLE_RE.match(line)
            rest = line[after.end():] if after else ""
            if has_sep or (parsed[1] == last_article + 1 and not _REFERENCE_RE.match(rest)):
                flush()
                current = _Section(heading=heading_path(), lines=[line], article=parsed[0],
                                   article_no=parsed[1])
                last_article = parsed[1]
                continue
        current.lines.append(line)
    flush()
    return sections


def chunk_text(text: str, title: str = "", *, article_limit: int = ARTICLE_LIMIT,
               prose_limit: int = PROSE_LIMIT, drop: Collection[str] = ()) -> list[Chunk]:
    """Split a document's text into chunks (articles, summary sections or prose pieces).

    ``title`` is the document title; a leading ``# title`` heading is not repeated in heading
    paths and a leading plain title line is not a chunk. ``drop``: other head lines that are
    metadata (发文字号, 红头). Text is stored as written; only article labels are normalised
    (``Chunk.article``), and continuation parts of a long article start with that label.
    """
    chunks: list[Chunk] = []
    for section in _iter_sections(text, title, drop):
        checkpoint()  # per section: a cancelled ingest job stops inside a long document
        if section.article:
            for part in _split_article(section.article, section.lines, article_limit):
                chunks.append(Chunk(part, section.article, section.article_no, section.heading))
            continue
        for part in _pack(section.lines, prose_limit):
            if part.strip():
                chunks.append(Chunk(part, "", 0, section.heading))
    return chunks
