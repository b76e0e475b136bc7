"""PDF text via pypdf, with running headers, footers and page numbers removed.

Furniture is found across pages (:func:`ingest.furniture.strip_repeated`), not from a fixed
list. Pages without a text layer are skipped with a warning; a file with no text layer at
all is refused (it is a scan and needs OCR first). Visual lines are then joined into
paragraphs (:func:`reflow_lines`).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from ingest import furniture
from ingest.loaders.base import Extracted
from vetbot.cancel import checkpoint
from vetbot.errors import IngestError, OperationCancelledError
from vetbot.textnorm import unify_radicals

# A page with fewer visible characters than this has no real text layer (a scan, perhaps
# with a stamped page number).
_MIN_PAGE_CHARS = 10
SCANNED_MESSAGE = "PDF 中没有可提取的文字（可能是扫描件）"

_STARTS_BLOCK = re.compile(
    r"^(?:第[〇零一二两三四五六七八九十百千0-9]+[编章节条]|[（(][一二三四五六七八九十]+[）)]"
    r"|[一二三四五六七八九十]+、|\d{4}\s*年)"
)

_HAN = re.compile(r"[\u4e00-\u9fff]")
_WORD_TITLE = re.compile(r"Microsoft (?:Word|PowerPoint|Excel) - ", re.I)


def reflow_lines(text: str) -> str:
    """Join the visual lines of PDF pages into paragraphs.

    A line continues the previous one when the previous one is about as long as a full line
    of the page, does not end a sentence, and the line does not start an article, heading,
    item or date line. Short lines (titles, headings, date lines) stay on their own.
    """
    raw_lines = [ln.strip() for ln in text.splitlines()]
    lengths = sorted(len(ln) for ln in raw_lines if ln)
    full = lengths[int(len(lengths) * 0.8)] if lengths else 0
    out: list[str] = []
    last_len = 0  # length of the previous visual line
    for line in raw_lines:
        if not line:
            if out and out[-1]:
                out.append("")
            continue
        prev = out[-1] if out else ""
        continues = (
            bool(prev)
            and last_len >= 0.7 * full
            and prev[-1] not in "。！？；：:;!?」』”"
            and not _STARTS_BLOCK.match(line)
        )
        if continues:
            out[-1] += line
        else:
            out.append(line)
        last_len = len(line)
    return "\n".join(ln for ln in out if ln)


def _read_pages(data: bytes, path: Path) -> tuple[list[str], str]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                reader.decrypt("")
            except Exception as exc:
                raise IngestError(f"encrypted pdf {path.name}",
                                  user_message="PDF 文件已加密，无法读取") from exc
        if len(reader.pages) == 0:
            raise IngestError(f"pdf without pages {path.name}", user_message="PDF 文件已损坏或格式无效")
        pages = []
        for page in reader.pages:
            checkpoint()  # a page can take seconds; a cancelled job stops here
            # Before reflow: 第⼀条 (a Kangxi radical) must start its block like 第一条.
            pages.append(unify_radicals(page.extract_text() or ""))
    except (IngestError, OperationCancelledError):
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise IngestError(f"cannot read pdf {path.name}: {exc}",
                          user_message="PDF 文件已损坏或格式无效") from exc
    except Exception as exc:  # pypdf raises assorted errors on damaged files
        raise IngestError(f"cannot read pdf {path.name}: {exc}",
                          user_message="PDF 文件已损坏或格式无效") from exc
    try:
        info = reader.metadata
        title = unify_radicals(str((info.get("/Title") if info is not None else "") or "").strip())
    except Exception:  # broken info dictionaries are common and harmless
        title = ""
    return pages, title


def load_pdf(data: bytes, path: Path) -> Extracted:
    """A PDF with a text layer; IngestError for scans, encrypted or damaged files."""
    pages, info_title = _read_pages(data, path)
    out = Extracted(text="", pages=len(pages))
    texts: list[list[str]] = []
    blank: list[int] = []
    for number, page in enumerate(pages, start=1):
        if len(re.sub(r"\s+", "", page)) < _MIN_PAGE_CHARS:
            blank.append(number)
            continue
        texts.append(page.splitlines())
    if not texts:
        raise IngestError(f"no text in pdf {path.name}", user_message=SCANNED_MESSAGE)
    if blank:
        out.pages_without_text = len(blank)
        shown = "、".join(str(n) for n in blank[:10]) + ("……" if len(blank) > 10 else "")
        out.warnings.append(f"第 {shown} 页没有文字层（可能是扫描页），已跳过；这些页需要先做文字识别")
    cleaned = furniture.clean(texts, repeated=len(texts) > 1)
    out.note_furniture(cleaned)
    out.text = reflow_lines("\n".join(cleaned.lines))
    # The info dictionary's title is often a tool's placeholder (about:blank, Untitled,
    # 'Microsoft Word - 1.doc'); only one in Chinese is taken over the first line's.
    if _HAN.search(info_title) and not _WORD_TITLE.match(info_title):
        out.front["title"] = info_title
    return out
