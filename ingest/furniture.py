"""Furniture: lines that belong to the page or the site, not to the document.

Three kinds, all removed before chunking and counted for the ingest report:

- web and repost furniture (:func:`is_furniture_line`): reading-time badges
  (本篇文章2091字,读完约5分钟), "下面是小编为大家整理的…", share bars, print/close links, font
  size switches, view counters, "上一篇/下一篇", source/editor lines;
- page numbers (:func:`is_page_number`): ``— 2 —``, ``- 2 -``, ``第 2 页 共 3 页``, ``2/3``;
- running headers and footers (:func:`strip_repeated`): short lines that come back on several
  pages (or, in text without page breaks, several times) — the first occurrence stays because
  on page one it is the document's own 红头 or 发文字号.

Where furniture was cut out of a sentence, the two halves are joined again
(…由乡镇开往 / — 2 — / 村的镇村公交… reads on as one line).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from ingest.signoff import is_signature_line

_WEB_FURNITURE = [re.compile(p) for p in (
    r"本(?:篇)?文(?:章)?(?:共)?\s*\d+\s*字.{0,6}(?:读完|阅读)(?:约|需要?)?\s*\d+\s*分钟",
    r"^(?:阅读(?:时间|量|数)|预计阅读|字数)[:：]?\s*\d+",
    r"小编",
    r"^(?:分享|分享到|分享至)[:：]",
    r"(?:打印本页|关闭窗口|打印文章|收藏本页|加入收藏)",
    r"^【?\s*字(?:体|号)[:：]?\s*[\[【]?\s*大\s*[\]】]?\s*[\[【]?\s*中",
    r"^(?:浏览|阅读|访问|点击)(?:次数|量|数)?[:：]\s*\d+",
    r"^(?:上一篇|下一篇|相关阅读|相关文章|推荐阅读|热门推荐|扫一扫)[:：]?",
    r"^(?:责任编辑|编辑|来源|作者|原标题|文章来源|信息来源)[:：].{0,40}$",
    r"^(?:发布时间|发布日期|时间)[:：]\s*\d{4}",
    r"^(?:您(?:当前)?的位置|当前位置)[:：]",
    r"(?:版权所有|ICP备|网站标识码|联系我们|网站地图)",
    r"^无障碍浏览",
    r"(?:本文|文章)(?:来源于|来自|转载自)网络",
    r"^(?:免责声明|声明)[:：]",
)]

_PAGE_NUMBER_RE = re.compile(
    r"^(?:[—–\-－_~·•\s]*\d{1,4}[—–\-－_~·•\s]*"
    r"|第\s*\d{1,4}\s*页(?:\s*[/，,]?\s*共\s*\d{1,4}\s*页)?"
    r"|\d{1,4}\s*/\s*\d{1,4}|Page\s*\d+(?:\s*of\s*\d+)?)$",
    re.IGNORECASE,
)
_BLOCK_START_RE = re.compile(
    r"^(?:#|第[〇零一二两三四五六七八九十百千0-9０-９]+[编章节条]|[（(][一二三四五六七八九十\d]+[）)]"
    r"|[一二三四五六七八九十]+、|\d+[.、．])"
)
_SENTENCE_END = "。！？；：:;!?」』”）)"


@dataclass
class Cleaned:
    """Lines without furniture, and how many lines of each kind were removed."""

    lines: list[str]
    web: int = 0
    page_numbers: int = 0
    repeated: int = 0

    @property
    def removed(self) -> int:
        """All furniture lines removed."""
        return self.web + self.page_numbers + self.repeated


def is_furniture_line(line: str) -> bool:
    """True for a web or repost furniture line (see the module docstring)."""
    line = line.strip()
    return bool(line) and any(p.search(line) for p in _WEB_FURNITURE)


def is_page_number(line: str) -> bool:
    """True for a page-number line: ``— 2 —``, ``第 2 页 共 3 页``, ``2/3``, ``7``."""
    return bool(_PAGE_NUMBER_RE.match(line.strip()))


def _key(line: str, mask_digits: bool) -> str:
    # Page numbers inside running heads differ page to page; compare page edges without digits.
    # In text without pages only identical lines repeat (附件1 and 附件2 are different lines).
    line = re.sub(r"\s+", "", line)
    return re.sub(r"\d+", "#", line) if mask_digits else line


def _repeat_candidate(line: str) -> bool:
    return (4 <= len(line) <= 60 and not _BLOCK_START_RE.match(line)
            and not any(p in line for p in "。；;") and " | " not in line)


def strip_repeated(pages: list[list[str]], *, edge: int = 3) -> tuple[list[list[str]], int]:
    """Drop running headers/footers: short lines repeated across pages, first occurrence kept.

    With several pages only the first and last ``edge`` lines of a page are candidates and a
    line must recur on at least two pages; a single page (plain text) counts repeats anywhere.
    Returns (pages, number of lines removed).
    """
    counts: Counter[str] = Counter()
    paged = len(pages) > 1
    for page in pages:
        idx = range(len(page)) if len(pages) == 1 else [*range(min(edge, len(page))),
                                                       *range(max(len(page) - edge, 0), len(page))]
        keys = [_key(page[i], paged) for i in sorted(set(idx)) if _repeat_candidate(page[i].strip())]
        counts.update(keys if len(pages) == 1 else set(keys))
    repeated = {k for k, n in counts.items() if n >= 2}
    if not repeated:
        return pages, 0
    seen: set[str] = set()
    removed = 0
    out: list[list[str]] = []
    for page in pages:
        kept = []
        for line in page:
            key = _key(line, paged)
            if key in repeated and _repeat_candidate(line.strip()):
                if key in seen:
                    removed += 1
                    kept.append("\f")  # a cut mark, see join_cuts
                    continue
                seen.add(key)
            kept.append(line)
        out.append(kept)
    return out, removed


def join_cuts(lines: list[str]) -> list[str]:
    """Remove cut marks (``\\f``), joining a sentence that furniture had split in two."""
    out: list[str] = []
    cut = False
    for line in lines:
        if line == "\f":
            cut = True
            continue
        stripped = line.strip()
        # A 落款 line (a date or an issuer alone, 抄送：…) is whole: a running head cut out above
        # it must not glue it to the attachment list before it.
        if (cut and out and stripped and out[-1].strip() and out[-1].strip()[-1] not in _SENTENCE_END
                and not _BLOCK_START_RE.match(stripped)
                and not is_signature_line(stripped) and not is_signature_line(out[-1])):
            out[-1] = out[-1].rstrip() + stripped
        else:
            out.append(line)
        if stripped:
            cut = False
    return out


def clean(pages: list[list[str]], *, repeated: bool = True) -> Cleaned:
    """Remove web furniture, page numbers and (with ``repeated``) running heads from ``pages``."""
    result = Cleaned(lines=[])
    marked: list[list[str]] = []
    for page in pages:
        kept = []
        for line in page:
            stripped = line.strip()
            if stripped and is_page_number(stripped):
                result.page_numbers += 1
                kept.append("\f")
            elif stripped and is_furniture_line(stripped):
                result.web += 1
                kept.append("\f")
            else:
                kept.append(line)
        marked.append(kept)
    if repeated:
        marked, result.repeated = strip_repeated(marked)
    # A page break alone is no cut: whether a line runs on is the reflow's decision (PDF).
    result.lines = join_cuts([line for page in marked for line in page])
    return result
