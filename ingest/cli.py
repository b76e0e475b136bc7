"""``vetbot ingest``: load documents into a knowledge base directory."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.pipeline import ingest_paths
from knowledge.embeddings import LazyEmbeddings, build_embeddings, embedding_model_id
from knowledge.kbedits import repository_for
from knowledge.kbmigrate import MANIFEST, migrate_manifest
from knowledge.store import KnowledgeStore, collection_name_for, open_catalog
from knowledge.text import default_tokenizer
from vetbot.errors import KnowledgeBaseError

if TYPE_CHECKING:
    from vetbot.settings import Settings

logger = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``ingest`` subcommand."""
    parser = sub.add_parser(
        "ingest",
        help="导入政策文件到知识库（增量）",
        description=(
            "导入 .md .markdown .txt .docx .pdf .html .htm 文件或文件夹到知识库。"
            "未变化的文件会跳过，变化的文件会替换原有内容。不给路径时导入内置政策要点。"
        ),
    )
    parser.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="文件或文件夹")
    parser.add_argument("--kb", type=Path, default=None, help="知识库目录（默认 <data_dir>/kb）")
    parser.add_argument("--prune", action="store_true", help="删除所给文件夹中已不存在的文件对应的文档")
    parser.add_argument("--rebuild", action="store_true", help="清空知识库后重新导入")
    parser.add_argument("--no-progress", action="store_true", help="不显示进度条")
    parser.add_argument("--json", action="store_true", help="以 JSON 输出逐个文件的导入报告（供程序读取）")
    parser.add_argument("--strict", action="store_true", help="有任何文件导入失败时以退出码 2 结束")
    parser.add_argument("--migrate", action="store_true",
                        help="把旧版知识库目录的 manifest.json 导入数据库目录（不重新计算向量）后退出")
    parser.set_defaults(func=run_ingest)


def _migrate(kb_dir: Path, settings: Settings) -> int:
    """``vetbot ingest --migrate``: import an old ``manifest.json`` into the catalogue."""
    if not (kb_dir / MANIFEST).exists():
        print(f"{kb_dir} 中没有 manifest.json，无需迁移。")
        return 0
    catalog = open_catalog(kb_dir, settings)
    name = collection_name_for(settings.chroma_collection, kb_dir, bool(settings.chroma_url))
    count = migrate_manifest(kb_dir, catalog, name, default_tokenizer())
    print(f"已迁移知识库 {kb_dir}：{count} 个文档（向量未重新计算）。")
    return 0


def run_ingest(args: argparse.Namespace, settings: Settings) -> int:
    """Handler of ``vetbot ingest``.

    Exit status: 0 when every file was ingested (or unchanged); 1 when any file failed (the
    others are still ingested) or nothing could be ingested; with ``--strict`` 2 when some,
    but not all, files failed. ``--json`` prints :meth:`ingest.report.IngestReport.to_dict` plus ``kb``.
    """
    import json

    import bm25s  # noqa: F401  (its import sets the "bm25s" logger to DEBUG; undo that below)

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    kb_dir = Path(args.kb) if args.kb else settings.default_kb_dir
    if args.migrate:
        return _migrate(kb_dir, settings)
    paths = list(args.paths) or [settings.bundled_knowledge_dir]
    started = time.perf_counter()
    # The model loads only when a changed file needs embedding: hashes are checked first.
    embeddings = LazyEmbeddings(embedding_model_id(settings), lambda: build_embeddings(settings))
    try:
        store = KnowledgeStore.open(kb_dir, settings, embeddings)
    except KnowledgeBaseError:
        if not args.rebuild:
            raise
        # Built with another embedding model: --rebuild replaces everything, model included.
        store = KnowledgeStore.open(kb_dir, settings, embeddings, check_model=False)
    # Staff edits (knowledge-base admin) belong to the served KB: re-applied when it is rebuilt.
    edits = repository_for(settings) if kb_dir.resolve() == settings.default_kb_dir.resolve() else None
    report = ingest_paths(store, paths, prune=args.prune, rebuild=args.rebuild,
                          progress=not args.no_progress, overlay=edits.apply if edits else None)
    elapsed = time.perf_counter() - started
    if args.json:
        data = report.to_dict()
        data["kb"] = {"path": str(kb_dir), "documents": len(store.documents), "chunks": len(store.chunks),
                      "seconds": round(elapsed, 2)}
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print(report.summary())
        details = report.details()
        if details:
            print(details)
        print(f"知识库：{kb_dir}（共 {len(store.documents)} 个文档，{len(store.chunks)} 个片段，"
              f"用时 {elapsed:.1f} 秒）")
    if report.nothing_ingested:
        return 1
    if report.failed:
        return 2 if args.strict else 1
    return 0
