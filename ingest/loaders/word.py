"""Word (.docx) via python-docx: paragraphs and tables in document order, automatic numbering.

Article numbers that exist only as Word automatic numbering (a list level with lvlText
``第%1条`` and numFmt ``chineseCounting``) are rendered as Word shows them — ``第一条 …`` —
and reported with a warning, because a reader of the plain text would otherwise see
unnumbered paragraphs. Supported number formats: decimal (and zero-padded / full-width),
the Chinese counting formats, ideographTraditional (甲乙丙), letters and roman numerals;
bullets are left out.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.loaders.base import Extracted
from vetbot.cancel import checkpoint
from vetbot.errors import IngestError
from vetbot.textnorm import int_to_chinese

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_TRADITIONAL = "甲乙丙丁戊己庚辛壬癸"
_DIGITS = "〇一二三四五六七八九"


@dataclass
class _Level:
    fmt: str = "decimal"
    text: str = "%1."
    start: int = 1
    suffix: str = "tab"


@dataclass
class _Numbering:
    """numId → levels, and the running counters Word keeps while it lays out the document."""

    levels: dict[str, dict[int, _Level]] = field(default_factory=dict)
    abstract_of: dict[str, str] = field(default_factory=dict)
    counters: dict[str, dict[int, int]] = field(default_factory=dict)

    def render(self, num_id: str, ilvl: int) -> str:
        levels = self.levels.get(num_id)
        if not levels or ilvl not in levels:
            return ""
        # Counters belong to the abstract list: numIds sharing it continue one sequence.
        key = self.abstract_of.get(num_id, num_id)
        counters = self.counters.setdefault(key, {})
        level = levels[ilvl]
        counters[ilvl] = counters.get(ilvl, level.start - 1) + 1
        for deeper in [k for k in counters if k > ilvl]:
            del counters[deeper]
        if level.fmt in ("bullet", "none"):
            return ""

        def value(m: re.Match[str]) -> str:
            lvl = int(m.group(1)) - 1
            ref = levels.get(lvl, level)
            return _format(counters.get(lvl, ref.start), ref.fmt)

        label = re.sub(r"%([1-9])", value, level.text)
        return label + ("" if level.suffix == "nothing" else " ")


def _format(n: int, fmt: str) -> str:
    if fmt in ("chineseCounting", "chineseCountingThousand", "japaneseCounting", "taiwaneseCounting",
               "taiwaneseCountingThousand", "chineseLegalSimplified"):
        return int_to_chinese(n)
    if fmt in ("ideographDigital", "taiwaneseDigital", "japaneseDigitalTenThousand"):
        return "".join(_DIGITS[int(d)] for d in str(n))
    if fmt == "ideographTraditional":
        return _TRADITIONAL[(n - 1) % 10]
    if fmt == "decimalZero":
        return f"{n:02d}"
    if fmt == "decimalFullWidth":
        return str(n).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    if fmt in ("lowerLetter", "upperLetter"):
        letter = chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1)
        return letter.upper() if fmt == "upperLetter" else letter
    if fmt in ("lowerRoman", "upperRoman"):
        roman = _roman(n)
        return roman if fmt == "upperRoman" else roman.lower()
    return str(n)


def _roman(n: int) -> str:
    out = ""
    for value, numeral in ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
                           (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):
        while n >= value:
            out += numeral
            n -= value
    return out


def _val(element: Any, tag: str) -> str | None:
    child = element.find(f"{_W}{tag}") if element is not None else None
    return child.get(f"{_W}val") if child is not None else None


def _read_levels(element: Any) -> dict[int, _Level]:
    levels: dict[int, _Level] = {}
    for lvl in element.findall(f"{_W}lvl"):
        ilvl = int(lvl.get(f"{_W}ilvl", "0"))
        start = _val(lvl, "start")
        levels[ilvl] = _Level(fmt=_val(lvl, "numFmt") or "decimal", text=_val(lvl, "lvlText") or "",
                              start=int(start) if start and start.isdigit() else 1,
                              suffix=_val(lvl, "suff") or "tab")
    return levels


def _numbering(document: Any) -> _Numbering:
    numbering = _Numbering()
    try:
        root = document.part.numbering_part.element
    except (KeyError, NotImplementedError, AttributeError):
        return numbering
    abstract = {a.get(f"{_W}abstractNumId"): _read_levels(a) for a in root.findall(f"{_W}abstractNum")}
    for num in root.findall(f"{_W}num"):
        num_id = num.get(f"{_W}numId")
        abstract_id = _val(num, "abstractNumId")
        if num_id is None or abstract_id not in abstract:
            continue
        levels = {k: _Level(v.fmt, v.text, v.start, v.suffix) for k, v in abstract[abstract_id].items()}
        for override in num.findall(f"{_W}lvlOverride"):
            ilvl = int(override.get(f"{_W}ilvl", "0"))
            start = _val(override, "startOverride")
            if start and start.isdigit() and ilvl in levels:
                levels[ilvl].start = int(start)
            lvl = override.find(f"{_W}lvl")
            if lvl is not None:
                levels.update(_read_levels(override))
        numbering.levels[num_id] = levels
        numbering.abstract_of[num_id] = str(abstract_id)
    return numbering


def _num_pr(paragraph: Any) -> tuple[str, int] | None:
    """(numId, ilvl) of a paragraph's own or its style's numbering."""
    candidates = [paragraph._p.pPr]
    style = paragraph.style
    while style is not None:
        candidates.append(style.element.pPr)
        style = style.base_style
    for ppr in candidates:
        num_pr = ppr.find(f"{_W}numPr") if ppr is not None else None
        if num_pr is None:
            continue
        num_id = _val(num_pr, "numId")
        ilvl = _val(num_pr, "ilvl")
        if num_id is not None and num_id != "0":
            return num_id, int(ilvl) if ilvl and ilvl.isdigit() else 0
    return None


def _heading_level(style: str) -> int:
    s = style.lower()
    if s == "title":
        return 1
    m = re.match(r"(?:heading|标题)\s*(\d)", s)
    return min(int(m.group(1)), 6) if m else 0


MAX_DOCX_UNPACKED = 64 << 20  # bytes of all parts together, decompressed
MAX_DOCX_RATIO = 100  # decompressed / compressed, over the whole package


def _check_package(data: bytes, path: Path) -> None:
    """Refuse zip bombs before python-docx parses anything (sizes from the zip directory)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            unpacked = sum(info.file_size for info in package.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # damaged packages get their own message below
    if unpacked > MAX_DOCX_UNPACKED or unpacked > MAX_DOCX_RATIO * max(len(data), 1):
        raise IngestError(
            f"docx {path.name} unpacks to {unpacked} bytes from {len(data)}",
            user_message=f"Word 文件解压后过大（{unpacked >> 20} MB），疑似异常文件，已拒绝",
        )


def load_docx(data: bytes, path: Path) -> Extracted:
    """A .docx file; IngestError when it is damaged, not a Word document, or a zip bomb."""
    _check_package(data, path)
    try:
        import docx
        from docx.table import Table
        from docx.text.paragraph import Paragraph

        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise IngestError(f"cannot open docx {path.name}: {exc}",
                          user_message="Word 文件已损坏或不是有效的 .docx 文件") from exc
    except Exception as exc:  # python-docx raises assorted errors on damaged packages
        raise IngestError(f"cannot open docx {path.name}: {exc}",
                          user_message="Word 文件已损坏或不是有效的 .docx 文件") from exc
    numbering = _numbering(document)
    out = Extracted(text="")
    lines: list[str] = []
    # Walk the body in order so tables stay where they are in the document.
    for i, element in enumerate(document.element.body.iterchildren()):
        if not i % 200:
            checkpoint()  # a huge body takes minutes to walk; a cancelled job stops here
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "p":
            para = Paragraph(element, document)
            text = para.text.strip()
            num = _num_pr(para)
            label = numbering.render(*num) if num else ""
            if not text:
                continue
            if label.strip():
                out.numbering_reconstructed += 1
                text = label + text
            style = (para.style.name if para.style is not None else "") or ""
            level = _heading_level(style)
            lines.append(f"{'#' * level} {text}" if level else text)
        elif tag == "tbl":
            for row in Table(element, document).rows:
                cells: list[str] = []
                for cell in row.cells:
                    value = cell.text.strip().replace("\n", " ")
                    # Merged cells repeat; keep each value once per row.
                    if value and (not cells or cells[-1] != value):
                        cells.append(value)
                if cells:
                    lines.append(" | ".join(cells))
    if out.numbering_reconstructed:
        out.warnings.append(
            f"已按 Word 显示还原自动编号 {out.numbering_reconstructed} 处（如“第一条”），请核对条文编号")
    core_title = (document.core_properties.title or "").strip()
    if core_title:
        out.front["title"] = core_title
    out.text = "\n".join(lines)
    return out
