"""Text extraction per file format, plus document metadata.

``load_document(path)`` returns a :class:`LoadedDocument` (plain text with Markdown-style
headings where the format has them, and a flat metadata dict) or raises
:class:`vetbot.errors.IngestError` with a Chinese reason that the ingest report shows.

Metadata comes from Markdown YAML front matter when present (see docs/ARCHITECTURE.md);
otherwise it is derived from the document's own head: the first heading or line is the title,
a line such as ``2020年11月11日 第十三届全国人民代表大会常务委员会第二十三次会议通过`` gives the
issue date and the issuer, and a province or city name at the start of the title makes the
document local.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from knowledge.types import NATIONAL, TOPICS
from vetbot.errors import IngestError

logger = logging.getLogger(__name__)

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
SUPPORTED_SUFFIXES = frozenset({".md", ".markdown", ".txt", ".docx", ".pdf", ".html", ".htm"})

METADATA_KEYS = (
    "title",
    "issuer",
    "doc_number",
    "date_issued",
    "date_effective",
    "region",
    "scope",
    "topics",
    "source_url",
)

_PROVINCES = (
    "北京市", "天津市", "上海市", "重庆市", "河北省", "山西省", "辽宁省", "吉林省", "黑龙江省",
    "江苏省", "浙江省", "安徽省", "福建省", "江西省", "山东省", "河南省", "湖北省", "湖南省",
    "广东省", "海南省", "四川省", "贵州省", "云南省", "陕西省", "甘肃省", "青海省", "台湾省",
    "内蒙古自治区", "广西壮族自治区", "西藏自治区", "宁夏回族自治区", "新疆维吾尔自治区",
    "香港特别行政区", "澳门特别行政区",
)
# "济南市退役军人……" / "浙江省杭州市……": a city right at the start of the title.
_CITY_RE = re.compile(r"^([\u4e00-\u9fff]{2,4}?市)")
_NOT_CITY_PREFIX = ("城市", "都市", "本市", "全市", "各市")

_CN_NUM = "〇零一二两三四五六七八九十百"
_DATE_LINE_RE = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日\s*(.*)$")
_EFFECTIVE_RE = re.compile(r"自\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日\s*起\s*施行")
_SESSION_RE = re.compile(rf"第[{_CN_NUM}\d]+届")
_MEETING_RE = re.compile(rf"第[{_CN_NUM}\d]+次.*$")
_HEAD_STOP_RE = re.compile(r"^(?:#+\s*)?第[〇零一二两三四五六七八九十百千0-9]+[编章节条]")
_COMMENT_RE = re.compile(r"<!--.*?-->", re.DOTALL)
_FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\r?\n(.*?\r?\n)---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


@dataclass
class LoadedDocument:
    """Extracted text (headings as ``#`` lines where known) and flat document metadata."""

    text: str
    metadata: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- text decoding
def decode_text(data: bytes, name: str = "") -> str:
    """Decode bytes as UTF-8 (with or without BOM) or GB18030; IngestError when neither fits."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        # GB18030 decodes almost any byte soup; control characters betray binary data.
        if encoding == "gb18030" and _looks_binary(text):
            break
        return text.replace("\r\n", "\n").replace("\r", "\n")
    raise IngestError(
        f"cannot decode {name}",
        user_message="文件编码无法识别（支持 UTF-8 和 GB18030/GBK），可能不是文本文件",
    )


def _looks_binary(text: str) -> bool:
    if not text:
        return False
    bad = sum(1 for c in text if (ord(c) < 32 and c not in "\n\r\t\f") or c == "\ufffd")
    return bad / len(text) > 0.01


# --------------------------------------------------------------------------- metadata
def region_from_title(title: str) -> str:
    """The place a local regulation belongs to (浙江省, 济南市 ...), or 全国."""
    for province in _PROVINCES:
        if title.startswith(province):
            rest = title[len(province):]
            city = _CITY_RE.match(rest)
            # "浙江省杭州市……" is a city rule; "浙江省军人军属……" a provincial one.
            if city and not rest.startswith(_NOT_CITY_PREFIX):
                return city.group(1)
            return province
    m = _CITY_RE.match(title)
    if m and not title.startswith(_NOT_CITY_PREFIX) and not title.startswith("中华"):
        return m.group(1)
    return NATIONAL


def scope_of(region: str) -> str:
    """"national" for 全国, else "local"."""
    return "national" if region in ("", NATIONAL) else "local"


def _iso(year: str, month: str, day: str) -> str:
    try:
        return dt.date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return ""


def _issuer_from(rest: str) -> str:
    """"第十三届全国人民代表大会常务委员会第二十三次会议通过" → "全国人民代表大会常务委员会"."""
    rest = re.split(r"(?:审议)?(?:通过|发布|公布|批准|印发)", rest, maxsplit=1)[0]
    rest = _SESSION_RE.sub("", rest)
    rest = _MEETING_RE.sub("", rest)
    rest = re.sub(r"(?:会议|审议)$", "", rest.strip())
    return rest.strip(" ，,；;")


def metadata_from_head(text: str) -> dict[str, str]:
    """Derive title, issuer and dates from a document's head (before its first 章/条)."""
    meta: dict[str, str] = {}
    lines = [ln.strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("<!--")]
    head: list[str] = []
    for line in lines[:20]:
        if _HEAD_STOP_RE.match(line):
            break
        head.append(line)
    for line in head:
        m = re.match(r"^#\s+(.+)$", line)
        if m:
            meta["title"] = m.group(1).strip()
            break
    if "title" not in meta and lines:
        first = re.sub(r"^#+\s*", "", lines[0]).strip()
        meta["title"] = first[:80]
    issued_rank = -1
    for line in head:
        m = _DATE_LINE_RE.match(line)
        if not m:
            continue
        date = _iso(*m.group(1, 2, 3))
        rest = m.group(4).strip()
        if re.fullmatch(r"(?:起)?施行", rest) or rest.endswith("起施行"):
            meta.setdefault("date_effective", date)
            continue
        # Publication beats adoption, which beats approval: the date people cite.
        rank = 3 if re.search(r"发布|公布|印发", rest) else 2 if "通过" in rest else 1
        if rank > issued_rank and date:
            issued_rank = rank
            meta["date_issued"] = date
            issuer = _issuer_from(rest)
            if issuer:
                meta["issuer"] = issuer
    if "date_effective" not in meta:
        m = _EFFECTIVE_RE.search(text)
        if m:
            meta["date_effective"] = _iso(*m.group(1, 2, 3))
    return {k: v for k, v in meta.items() if v}


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()[:10]
    return str(value).strip()


def parse_front_matter(text: str, name: str = "") -> tuple[dict[str, Any], str, list[str]]:
    """Split YAML front matter off a Markdown text: (metadata, body, warnings)."""
    m = _FRONT_MATTER_RE.match(text)
    if not m:
        return {}, text, []
    import yaml

    try:
        data = yaml.safe_load(m.group(1)) or {}
    except yaml.YAMLError as exc:
        raise IngestError(f"bad front matter in {name}: {exc}",
                          user_message="文件开头的 YAML 元数据（front matter）格式错误") from exc
    if not isinstance(data, dict):
        raise IngestError(f"front matter of {name} is not a mapping",
                          user_message="文件开头的 YAML 元数据（front matter）不是键值格式")
    warnings: list[str] = []
    meta: dict[str, Any] = {}
    for key in METADATA_KEYS:
        if key in data:
            meta[key] = data[key]
    topics = data.get("topics") or []
    if isinstance(topics, str):
        topics = [t for t in re.split(r"[\s,，|]+", topics) if t]
    if not isinstance(topics, list):
        topics = []
    known = [str(t) for t in topics if str(t) in TOPICS]
    unknown = [str(t) for t in topics if str(t) not in TOPICS]
    if unknown:
        warnings.append(f"未知的主题代码已忽略：{', '.join(unknown)}")
    meta["topics"] = known
    return meta, text[m.end():], warnings


def finalize_metadata(front: dict[str, Any], text: str, fallback_title: str) -> dict[str, str]:
    """Merge front matter with what the head of ``text`` says; fill region, scope, topics."""
    derived = metadata_from_head(text)
    meta: dict[str, str] = {}
    for key in METADATA_KEYS:
        if key in ("topics", "scope"):
            continue
        meta[key] = _scalar(front.get(key)) or derived.get(key, "")
    meta["title"] = meta["title"] or fallback_title
    if not meta["region"]:
        meta["region"] = region_from_title(meta["title"])
    meta["scope"] = _scalar(front.get("scope")) or scope_of(meta["region"])
    if meta["scope"] not in ("national", "local"):
        meta["scope"] = scope_of(meta["region"])
    topics = front.get("topics") or []
    meta["topics"] = f"|{'|'.join(topics)}|" if topics else ""
    return meta


# --------------------------------------------------------------------------- formats
def _load_markdown(data: bytes, path: Path) -> tuple[str, dict[str, Any], list[str]]:
    text = decode_text(data, path.name)
    front, body, warnings = parse_front_matter(text, path.name)
    # Editorial markers such as <!-- INFO END --> are not content.
    body = _COMMENT_RE.sub("", body)
    return body, front, warnings


def _load_docx(data: bytes, path: Path) -> tuple[str, dict[str, Any], list[str]]:
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
    lines: list[str] = []
    # Walk the body in order so tables stay where they are in the document.
    for element in document.element.body.iterchildren():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "p":
            para = Paragraph(element, document)
            text = para.text.strip()
            if not text:
                continue
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
    front: dict[str, Any] = {}
    core_title = (document.core_properties.title or "").strip()
    if core_title:
        front["title"] = core_title
    return "\n".join(lines), front, []


def _heading_level(style: str) -> int:
    s = style.lower()
    if s == "title":
        return 1
    m = re.match(r"(?:heading|标题)\s*(\d)", s)
    return min(int(m.group(1)), 6) if m else 0


def _reflow_pdf_lines(text: str) -> str:
    """Join the visual lines of PDF pages into paragraphs.

    A line continues the previous one when the previous one is about as long as a full line
    of the page, does not end a sentence, and the line does not start an article, heading,
    item or date line. Short lines (titles, headings, date lines) stay on their own.
    """
    starts_block = re.compile(
        r"^(?:第[〇零一二两三四五六七八九十百千0-9]+[编章节条]|[（(][一二三四五六七八九十]+[）)]"
        r"|[一二三四五六七八九十]+、|\d{4}\s*年)"
    )
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
            and not starts_block.match(line)
        )
        if continues:
            out[-1] += line
        else:
            out.append(line)
        last_len = len(line)
    return "\n".join(ln for ln in out if ln)


def _load_pdf(data: bytes, path: Path) -> tuple[str, dict[str, Any], list[str]]:
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
        pages = [page.extract_text() or "" for page in reader.pages]
    except IngestError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise IngestError(f"cannot read pdf {path.name}: {exc}",
                          user_message="PDF 文件已损坏或格式无效") from exc
    except Exception as exc:  # pypdf raises assorted errors on damaged files
        raise IngestError(f"cannot read pdf {path.name}: {exc}",
                          user_message="PDF 文件已损坏或格式无效") from exc
    text = _reflow_pdf_lines("\n".join(pages))
    if not text.strip():
        raise IngestError(f"no text in pdf {path.name}",
                          user_message="PDF 中没有可提取的文字（可能是扫描件）")
    front: dict[str, Any] = {}
    try:
        info = reader.metadata
        info_title = str((info.get("/Title") if info is not None else "") or "").strip()
    except Exception:  # broken info dictionaries are common and harmless
        info_title = ""
    if info_title:
        front["title"] = info_title
    return text, front, []


def _load_html(data: bytes, path: Path) -> tuple[str, dict[str, Any], list[str]]:
    from bs4 import BeautifulSoup

    # Let BeautifulSoup sniff <meta charset>; fall back to our decoder for headerless GBK pages.
    try:
        soup = BeautifulSoup(data, "lxml")
    except Exception as exc:
        raise IngestError(f"cannot parse html {path.name}: {exc}",
                          user_message="HTML 文件无法解析") from exc
    if soup.original_encoding in (None, "windows-1252", "ascii"):
        soup = BeautifulSoup(decode_text(data, path.name), "lxml")
    page_title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(["script", "style", "nav", "noscript", "template", "iframe", "head", "footer"]):
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
    block_tags = ["p", "div", "li", "section", "article", "blockquote", "pre", "dd", "dt", "table"]
    for tag in soup.find_all(block_tags):
        tag.insert_before("\n")
        tag.insert_after("\n")
    text = soup.get_text()
    lines = [re.sub(r"[ \t\u3000\xa0]+", " ", ln).strip() for ln in text.splitlines()]
    body = "\n".join(ln for ln in lines if ln)
    front: dict[str, Any] = {}
    has_h1 = re.search(r"^# ", body, re.MULTILINE) is not None
    if page_title and not has_h1:
        front["title"] = page_title
    return body, front, []


def _load_txt(data: bytes, path: Path) -> tuple[str, dict[str, Any], list[str]]:
    return decode_text(data, path.name), {}, []


_LOADERS = {
    ".md": _load_markdown,
    ".markdown": _load_markdown,
    ".txt": _load_txt,
    ".docx": _load_docx,
    ".pdf": _load_pdf,
    ".html": _load_html,
    ".htm": _load_html,
}


def is_supported(path: Path) -> bool:
    """True when ``path`` has an extension this module can load."""
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def load_bytes(data: bytes, path: Path) -> LoadedDocument:
    """Extract text and metadata from ``data``, the content of ``path``.

    Raises IngestError (Chinese ``user_message``) for unreadable or empty documents.
    """
    loader = _LOADERS.get(path.suffix.lower())
    if loader is None:
        raise IngestError(f"unsupported file type {path.suffix}",
                          user_message=f"不支持的文件类型 {path.suffix or '（无扩展名）'}")
    text, front, warnings = loader(data, path)
    text = text.replace("\x00", "").strip()
    if not text:
        raise IngestError(f"no text in {path.name}", user_message="文件中没有可提取的文字")
    metadata = finalize_metadata(front, text, fallback_title=path.stem)
    return LoadedDocument(text=text, metadata=metadata, warnings=warnings)


def load_document(path: Path) -> LoadedDocument:
    """Read ``path`` and extract its text and metadata (IngestError when it cannot)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"cannot read {path}: {exc}",
                          user_message="文件无法读取（权限不足或已被删除）") from exc
    return load_bytes(data, path)
