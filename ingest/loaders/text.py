"""Plain text and Markdown: encoding detection, front matter, furniture.

Encodings: a BOM (UTF-8, UTF-16) decides; then strict UTF-8; then charset-normalizer's guess
when it is a traditional-Chinese encoding (Big5); then GB18030, the superset of GBK/GB2312 and
the fallback for Chinese; then charset-normalizer's guess for anything else. Text that decodes
only into control characters is refused as binary.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from ingest import furniture
from ingest.loaders.base import Extracted
from ingest.metadata import parse_front_matter
from vetbot.errors import IngestError

_COMMENT_RE = re.compile(r"<!--.*?-->", re.DOTALL)
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_TRADITIONAL = frozenset({"big5", "big5hkscs", "cp950"})


def _looks_binary(text: str) -> bool:
    if not text:
        return False
    bad = sum(1 for c in text if (ord(c) < 32 and c not in "\n\r\t\f") or c == "\ufffd")
    return bad / len(text) > 0.01


def _lines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def detect_and_decode(data: bytes, name: str = "") -> tuple[str, str]:
    """(text, encoding) of ``data``; IngestError (Chinese message) when it is not text."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return _lines(data.decode(encoding)), encoding
            except UnicodeDecodeError:
                break
    try:
        return _lines(data.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    guess = (best.encoding or "").lower() if best is not None else ""
    order = [guess] if guess in _TRADITIONAL or guess.startswith("utf_16") else []
    order += ["gb18030"] + ([guess] if guess and guess not in order else [])
    for encoding in order:
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        if not _looks_binary(text):
            return _lines(text), encoding
    raise IngestError(
        f"cannot decode {name}",
        user_message="文件编码无法识别（支持 UTF-8 和 GB18030/GBK），可能不是文本文件",
    )


def decode_text(data: bytes, name: str = "") -> str:
    """Decode bytes of a text file (see the module docstring); IngestError when not text."""
    return detect_and_decode(data, name)[0]


def _encoding_warning(encoding: str) -> list[str]:
    if encoding in ("utf-8", "utf-8-sig"):
        return []
    return [f"文件不是 UTF-8 编码，已按 {encoding.upper().replace('_', '-')} 读取，请抽查文字是否正确"]


def _clean_text(text: str, extracted: Extracted, *, repeated: bool) -> str:
    cleaned = furniture.clean([text.split("\n")], repeated=repeated)
    extracted.note_furniture(cleaned)
    return "\n".join(cleaned.lines)


def load_txt(data: bytes, path: Path) -> Extracted:
    """A plain-text file: decoded, furniture and running heads removed."""
    text, encoding = detect_and_decode(data, path.name)
    out = Extracted(text="", encoding=encoding, warnings=_encoding_warning(encoding))
    out.text = _clean_text(text, out, repeated=True)
    return out


def load_markdown(data: bytes, path: Path) -> Extracted:
    """A Markdown file: YAML front matter split off, editorial comments and furniture removed.

    Files with front matter (the bundled summaries) are taken as written.
    """
    text, encoding = detect_and_decode(data, path.name)
    front, body, warnings = parse_front_matter(text, path.name)
    # Editorial markers such as <!-- INFO END --> are not content.
    body = _COMMENT_RE.sub("", body)
    out = Extracted(text=body, front=front, encoding=encoding,
                    warnings=_encoding_warning(encoding) + warnings)
    if not front:
        out.text = _clean_text(body, out, repeated=True)
    return out
