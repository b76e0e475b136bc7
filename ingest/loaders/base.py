"""What a format loader returns, and the facts it noted for the ingest report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ingest.furniture import Cleaned


@dataclass
class Extracted:
    """Text of one file as a loader extracted it, before metadata and chunking.

    ``front``: metadata the file format carries (front matter, document properties);
    ``warnings``: Chinese notes for the report; the counters feed the report's JSON.
    """

    text: str
    front: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    encoding: str = ""
    furniture_removed: int = 0
    numbering_reconstructed: int = 0
    pages: int = 0
    pages_without_text: int = 0

    def note_furniture(self, cleaned: Cleaned) -> None:
        """Count removed furniture and add one warning that says what went."""
        self.furniture_removed += cleaned.removed
        if not cleaned.removed:
            return
        parts = []
        if cleaned.repeated:
            parts.append(f"重复的页眉页脚 {cleaned.repeated} 行")
        if cleaned.page_numbers:
            parts.append(f"页码 {cleaned.page_numbers} 行")
        if cleaned.web:
            parts.append(f"网页或转载附加内容 {cleaned.web} 行")
        self.warnings.append(f"已去除非正文内容：{'，'.join(parts)}")
