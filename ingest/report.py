"""What one ingest run did, per file: chunks, articles, warnings, the metadata it read.

``IngestReport.summary()`` is the Chinese one-screen summary (CLI, ingest job page);
``IngestReport.details()`` adds one block per added or updated file so staff can check the
title, issuer, dates and region ingest read; ``IngestReport.to_dict()`` is the JSON form
(``vetbot ingest --json``):

```
{"added": [{"doc_id", "path", "chunks", "articles", "warnings": [...], "metadata": {...},
            "stats": {"encoding", "furniture_removed", "numbering_reconstructed",
                      "pages", "pages_without_text"}}],
 "updated": [...], "unchanged": [...], "removed": [doc_id], "failed": [{"path", "reason"}],
 "unsupported": [path], "warnings": ["path：warning"], "supersessions": ["…已被《…》取代…"],
 "chunks_written": int}
```
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from typing import Any

from knowledge.versions import Supersession

# Metadata shown per file in the human report, with Chinese labels.
_SHOWN = (
    ("title", "标题"), ("issuer", "发文机关"), ("doc_number", "文号"), ("date_adopted", "通过/公布"),
    ("date_amended", "最近修改"), ("date_effective", "施行"), ("region", "地区"), ("region_path", "行政区划"),
)


@dataclass
class IngestedDocument:
    """A document that was added, updated or found unchanged (articles etc. only when loaded)."""

    doc_id: str
    path: str
    chunks: int
    articles: int = 0
    warnings: list[str] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    stats: dict[str, str | int] = field(default_factory=dict)


@dataclass
class FailedFile:
    """A file that was skipped, with the Chinese reason shown to the user."""

    path: str
    reason: str


@dataclass
class IngestReport:
    """What one ingest run did."""

    added: list[IngestedDocument] = field(default_factory=list)
    updated: list[IngestedDocument] = field(default_factory=list)
    unchanged: list[IngestedDocument] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[FailedFile] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Superseded documents in the knowledge base after this run, in Chinese
    # (《国防教育法》（2018-04-27）已被《国防教育法》取代（2024-09-21起施行））.
    supersessions: list[str] = field(default_factory=list)
    # The same supersessions with their doc ids (not in to_dict): one uploaded file's report
    # shows only those its own document takes part in (supersessions_of).
    superseded: list[Supersession] = field(default_factory=list, repr=False)

    @property
    def ingested(self) -> int:
        """Documents now in the index from this run's files (added + updated + unchanged)."""
        return len(self.added) + len(self.updated) + len(self.unchanged)

    @property
    def chunks_written(self) -> int:
        """Chunks of added and updated documents."""
        return sum(d.chunks for d in self.added + self.updated)

    @property
    def nothing_ingested(self) -> bool:
        """True when no supported file was found or every one of them failed."""
        return self.ingested == 0

    def set_supersessions(self, superseded: list[Supersession]) -> None:
        """Record the knowledge base's superseded documents (``superseded`` and its lines)."""
        self.superseded = list(superseded)
        self.supersessions = [s.describe() for s in self.superseded]

    def supersessions_of(self, doc_ids: Collection[str]) -> list[str]:
        """The lines of ``supersessions`` whose old or new document is one of ``doc_ids``."""
        return [s.describe() for s in self.superseded if s.old in doc_ids or s.new in doc_ids]

    def summary(self) -> str:
        """A Chinese multi-line summary for the CLI and the ingest job page."""
        lines = [
            f"新增 {len(self.added)}，更新 {len(self.updated)}，未变 {len(self.unchanged)}，"
            f"删除 {len(self.removed)}，失败 {len(self.failed)}"
            f"（写入 {self.chunks_written} 个片段）"
        ]
        for item in self.failed:
            lines.append(f"  失败：{item.path}：{item.reason}")
        if self.unsupported:
            shown = "，".join(self.unsupported[:10]) + ("……" if len(self.unsupported) > 10 else "")
            lines.append(f"  已跳过不支持的文件 {len(self.unsupported)} 个：{shown}")
        for warning in self.warnings:
            lines.append(f"  提示：{warning}")
        for line in self.supersessions:
            lines.append(f"  版本：{line}")
        if self.nothing_ingested and not self.failed:
            lines.append("  没有找到可导入的文件（支持 .md .markdown .txt .docx .pdf .html .htm）")
        return "\n".join(lines)

    def details(self) -> str:
        """Per added/updated file: chunks, articles and the metadata read (Chinese, multi-line)."""
        lines: list[str] = []
        for doc in self.added + self.updated:
            lines.append(f"{doc.path}：{doc.chunks} 个片段，{doc.articles} 条")
            shown = [f"{label}：{doc.metadata[key]}" for key, label in _SHOWN if doc.metadata.get(key)]
            if shown:
                lines.append("  " + "；".join(shown))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``vetbot ingest --json``, API ingest jobs); see the module docstring."""
        data = asdict(self)
        del data["superseded"]  # ``supersessions`` says the same in the JSON form's shape
        data["chunks_written"] = self.chunks_written
        return data
