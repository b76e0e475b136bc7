"""What an uploaded document may be: its types, how many at once, a safe name, a content check.

Used by the upload endpoint (``api.routers.uploads``) before a file is staged for an ingest job
(``api.jobs``), and for what the uploader is told back about each file (:func:`upload_report`).
"""

from __future__ import annotations

import codecs
import os
import re
from pathlib import Path
from typing import Any

from ingest.report import IngestReport

ALLOWED_SUFFIXES: tuple[str, ...] = (".md", ".txt", ".docx", ".pdf", ".html")
MAX_FILES_PER_UPLOAD = 20
_UNSAFE_NAME = re.compile(r"[\\/\x00-\x1f<>:\"|?*]+")


def safe_filename(name: str) -> str:
    """The base name of an uploaded file without path parts or control characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE_NAME.sub("_", base).strip().lstrip(".")
    return base[:120]


def sniff_mismatch(suffix: str, head: bytes) -> bool:
    """True when the first bytes clearly contradict the extension (binary formats only)."""
    if suffix == ".pdf":
        return not head.lstrip()[:5].startswith(b"%PDF")
    if suffix == ".docx":
        return not head.startswith(b"PK")
    if suffix in (".md", ".txt", ".html"):
        head = head[:4096]
        # UTF-16 text (Windows Notepad's "Unicode") is full of NUL bytes but is text: the
        # ingest loaders decode it (BOM, or NULs only in every other byte).
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return False
        if b"\x00" not in head:
            return False
        only_one_parity = b"\x00" not in head[0::2] or b"\x00" not in head[1::2]
        return not only_one_parity
    return False



def upload_report(report: IngestReport, uploads_dir: Path) -> dict[str, Any]:
    """An uploaded file's ingest report for the job: {"supersessions": [...], "notes": [...]}.

    The notes name the file, not the server's upload folder (ingest prefixes each note with
    the path it was given); the supersessions are those the file's own document is part of,
    not every superseded text of the knowledge base.
    """
    folder = str(uploads_dir) + os.sep
    notes = [note.replace(folder, "") for note in report.warnings]
    own = {doc.doc_id for doc in report.added + report.updated + report.unchanged}
    return {"supersessions": report.supersessions_of(own), "notes": notes}


MISMATCH_ERROR = "文件内容与扩展名不符（例如把 PDF 改名为 .docx），已跳过，请检查后重新上传。"


def staged_mismatch(staged: Path) -> bool:
    """Whether a staged upload's first bytes contradict its extension (see :func:`sniff_mismatch`)."""
    try:
        with staged.open("rb") as fh:
            head = fh.read(8192)
    except OSError:
        return False  # the ingest reports a missing or unreadable file itself
    return sniff_mismatch(staged.suffix.lower(), head)


def restore_previous(previous: Path | None, target: Path) -> None:
    """Undo a failed replacement of an uploaded file: the previous good file comes back, or the
    new one goes."""
    if previous is not None:
        os.replace(previous, target)
    else:
        target.unlink(missing_ok=True)
