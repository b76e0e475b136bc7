"""Text extraction per file format, plus document metadata.

``load_document(path)`` / ``load_bytes(data, path)`` return a :class:`LoadedDocument` (plain
text with Markdown-style ``#`` headings where the format has them, flat string metadata, and
Chinese warnings for the ingest report) or raise :class:`vetbot.errors.IngestError` with a
Chinese reason. One module per format: :mod:`.text` (.txt .md), :mod:`.word` (.docx),
:mod:`.pdf`, :mod:`.web` (.html .htm); metadata comes from :mod:`ingest.metadata`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ingest.loaders.base import Extracted
from ingest.loaders.pdf import load_pdf
from ingest.loaders.text import decode_text, load_markdown, load_txt
from ingest.loaders.web import load_html
from ingest.loaders.word import load_docx
from ingest.metadata import EXTRA_KEYS, METADATA_KEYS, finalize_metadata, region_from_title, scope_of
from vetbot.cancel import checkpoint
from vetbot.errors import IngestError
from vetbot.textnorm import unify_radicals

__all__ = [
    "EXTRA_KEYS",
    "METADATA_KEYS",
    "SUPPORTED_SUFFIXES",
    "LoadedDocument",
    "decode_text",
    "is_supported",
    "load_bytes",
    "load_document",
    "region_from_title",
    "scope_of",
]

SUPPORTED_SUFFIXES = frozenset({".md", ".markdown", ".txt", ".docx", ".pdf", ".html", ".htm"})

_LOADERS: dict[str, Callable[[bytes, Path], Extracted]] = {
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".txt": load_txt,
    ".docx": load_docx,
    ".pdf": load_pdf,
    ".html": load_html,
    ".htm": load_html,
}


@dataclass
class LoadedDocument:
    """Extracted text (headings as ``#`` lines where known), flat metadata and report facts.

    ``stats``: ``encoding``, ``furniture_removed``, ``numbering_reconstructed``, ``pages``,
    ``pages_without_text`` (ints and strings, for the JSON ingest report).
    """

    text: str
    metadata: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    stats: dict[str, str | int] = field(default_factory=dict)


MAX_TEXT_CHARS = 2_000_000  # characters of one document; the longest national law is ~200k


def is_supported(path: Path) -> bool:
    """True when ``path`` has an extension this module can load."""
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def load_bytes(data: bytes, path: Path) -> LoadedDocument:
    """Extract text and metadata from ``data``, the content of ``path``.

    Raises IngestError (Chinese ``user_message``) for unreadable, scanned or empty documents.
    """
    loader = _LOADERS.get(path.suffix.lower())
    if loader is None:
        raise IngestError(f"unsupported file type {path.suffix}",
                          user_message=f"不支持的文件类型 {path.suffix or '（无扩展名）'}")
    extracted = loader(data, path)
    checkpoint()
    # Radical code points (第⼀条) also come in Word and text files copied out of PDFs.
    text = unify_radicals(extracted.text.replace("\x00", "")).strip()
    if not text:
        raise IngestError(f"no text in {path.name}", user_message="文件中没有可提取的文字")
    if len(text) > MAX_TEXT_CHARS:
        raise IngestError(f"{path.name}: {len(text)} characters",
                          user_message=f"文件文字过多（{len(text)} 字，上限 {MAX_TEXT_CHARS} 字），"
                                       "请拆分后导入")
    warnings = list(extracted.warnings)
    metadata = finalize_metadata(extracted.front, text, fallback_title=path.stem, warnings=warnings)
    stats: dict[str, str | int] = {
        "encoding": extracted.encoding,
        "furniture_removed": extracted.furniture_removed,
        "numbering_reconstructed": extracted.numbering_reconstructed,
        "pages": extracted.pages,
        "pages_without_text": extracted.pages_without_text,
    }
    return LoadedDocument(text=text, metadata=metadata, warnings=warnings, stats=stats)


def load_document(path: Path) -> LoadedDocument:
    """Read ``path`` and extract its text and metadata (IngestError when it cannot)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"cannot read {path}: {exc}",
                          user_message="文件无法读取（权限不足或已被删除）") from exc
    return load_bytes(data, path)
