"""Incremental ingest: walk files and folders, load, chunk and stage them into a KnowledgeStore.

Every document is keyed by a stable ``doc_id`` (the slug of its path relative to the root
given on the command line, or its file name for a single-file argument) and by the SHA-256 of
its raw bytes. Unchanged documents are skipped, changed ones replaced, and with ``prune`` the
documents of a walked folder that no longer exist are removed. Writing goes through
``KnowledgeStore.writer()``, so an interrupted run leaves the previous index untouched.

A file that cannot be read or parsed is reported (with a Chinese reason) and skipped; errors
of the store or of the embedding backend abort the run without publishing anything.

A run can be cancelled: ``ingest_paths(..., cancel=token)`` checks the token (``vetbot.cancel``)
between files and inside one (loader pages, chunking sections, embedding batches) and raises
``OperationCancelledError``; nothing of that run is published.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from ingest.chunking import Chunk, chunk_text
from ingest.loaders import EXTRA_KEYS, METADATA_KEYS, LoadedDocument, is_supported, load_bytes
from ingest.metadata import head_metadata_lines
from ingest.report import FailedFile, IngestedDocument, IngestReport
from ingest.signoff import split_tail
from knowledge.overlay import OverlayHook, topics_value
from knowledge.store import ChunkRecord, DocumentRecord, KnowledgeStore, content_hash
from knowledge.topic_detection import PASSAGE_TOPICS, passage_topics
from knowledge.versions import Supersession, VersionIndex
from vetbot.cancel import CancelToken, cancellable, checkpoint
from vetbot.clock import china_today
from vetbot.errors import IngestError

logger = logging.getLogger(__name__)

# Bump when loaders or chunking change their output: documents ingested by an older version
# are then re-chunked although their bytes did not change.
# 3: PDF radical code points, placeholder PDF titles, labelled details;
# 4: head lines (issuer, 发文字号, dates, 题注) are metadata, no longer a passage of their own;
# 5: a "## 第N条" section no longer inherits a sibling "## heading"; joint issuers and the 主送机关
#    line are head lines; in-force dates of notices (本通知自…起施行, 自<date>起，…)
# 6: each passage's own topics (``passage_topics``), for the topic filter of staff search
# 7: the 落款 after the last article (issuer, date, 抄送, 印发…) is in no passage, attachments after
#    it are passages of their own; a 公布令 head (国务院令/第N号/现予公布/总理 某某) is metadata
INGEST_VERSION = "7"

__all__ = [
    "FailedFile", "IngestReport", "IngestedDocument", "build_record", "document_chunks", "ingest_paths",
    "slugify",
]

# Below this many files a progress bar is just noise.
_PROGRESS_MIN_FILES = 5


@dataclass
class _Candidate:
    file: Path  # where to read it
    display: str  # the path as given on the command line (joined with the relative path)
    doc_id: str
    root: str  # resolved root (folder, or the file itself)


def slugify(path: str | PurePath) -> str:
    """Stable document id from a relative path: CJK kept, separators and spaces become '-'."""
    text = PurePath(path).as_posix()
    text = re.sub(r"[^\w.\-]+", "-", text)
    text = re.sub(r"-{2,}", "-", text).replace("-.", ".").strip("-.")
    return text or "doc"


def _skip_name(name: str) -> bool:
    # Hidden files, editor backups and Office lock files are never documents.
    return name.startswith((".", "~$")) or name.endswith("~")


# A folder's own notes (README.md, LICENSE...) describe the folder; ingested, they would be
# cited as a nationwide policy. Named explicitly on the command line, they are ingested.
_FOLDER_NOTES = frozenset({"readme", "license", "licence", "changelog", "notice", "authors"})


def collect(paths: Iterable[Path], report: IngestReport) -> tuple[list[_Candidate], list[str]]:
    """Expand command-line paths into candidate files; returns (candidates, folder roots)."""
    candidates: list[_Candidate] = []
    folder_roots: list[str] = []
    for given in paths:
        given = Path(given)
        if given.is_dir():
            root = str(given.resolve())
            folder_roots.append(root)
            for file in sorted(given.rglob("*")):
                rel = file.relative_to(given)
                if any(_skip_name(part) for part in rel.parts) or not file.is_file():
                    continue
                if not is_supported(file):
                    report.unsupported.append(str(file))
                    continue
                if file.stem.lower() in _FOLDER_NOTES:
                    report.warnings.append(f"{file}：文件夹说明文件，不是政策文件，已跳过")
                    continue
                candidates.append(_Candidate(file, str(file), slugify(rel), root))
        elif given.is_file():
            if not is_supported(given):
                report.unsupported.append(str(given))
                continue
            candidates.append(_Candidate(given, str(given), slugify(given.name), str(given.resolve())))
        else:
            report.failed.append(FailedFile(str(given), "路径不存在"))
    return candidates, folder_roots


MAX_CHUNKS_PER_DOCUMENT = 5000  # a whole national code is well under 2000


def document_chunks(loaded: LoadedDocument) -> list[Chunk]:
    """The passages of a loaded document: its head lines (issuer, 红头, 发文字号, dates) are
    metadata (:func:`ingest.metadata.head_metadata_lines`), never a passage of their own; the
    落款 after the last article (issuer, date, 抄送, 印发…, :func:`ingest.signoff.split_tail`) is
    in no passage, and each attachment after it is chunked on its own under the heading
    ``附件1 <its title>``."""
    meta = loaded.metadata
    drop = head_metadata_lines(loaded.text, meta.get("title", ""))
    # Front matter may name them although the head does not read them (a 红头 of its issuer).
    drop |= {meta.get("doc_number", ""), f"{meta.get('issuer', '')}文件"} - {"", "文件"}
    tail = split_tail(loaded.text)
    chunks = chunk_text(tail.body, meta.get("title", ""), drop=drop)
    for attachment in tail.attachments:
        for chunk in chunk_text("\n".join(attachment.lines)):
            chunk.heading = " > ".join(filter(None, (attachment.heading, chunk.heading)))
            chunks.append(chunk)
    return chunks


def build_record(doc_id: str, path: str, sha256: str, loaded: LoadedDocument,
                 extra: dict[str, Any] | None = None) -> DocumentRecord:
    """Chunk a loaded document into a DocumentRecord with the documented chunk metadata."""
    meta = loaded.metadata
    chunks = document_chunks(loaded)
    if len(chunks) > MAX_CHUNKS_PER_DOCUMENT:
        raise IngestError(f"{path}: {len(chunks)} chunks",
                          user_message=f"文件切分出的片段过多（{len(chunks)} 个，"
                                       f"上限 {MAX_CHUNKS_PER_DOCUMENT} 个），请拆分后导入")
    records: list[ChunkRecord] = []
    for i, chunk in enumerate(chunks):
        chunk_id = f"{doc_id}:{sha256[:12]}:{i}"
        records.append(ChunkRecord(
            chunk_id=chunk_id,
            text=chunk.text,
            metadata={
                "doc_id": doc_id,
                "chunk_id": chunk_id,
                "title": meta.get("title", ""),
                "article": chunk.article,
                "article_no": chunk.article_no,
                "heading": chunk.heading,
                "path": path,
                "region": meta.get("region", ""),
                "scope": meta.get("scope", "national"),
                "topics": meta.get("topics", ""),
                PASSAGE_TOPICS: topics_value(passage_topics(chunk.text)),
                "issuer": meta.get("issuer", ""),
                "doc_number": meta.get("doc_number", ""),
                "date_issued": meta.get("date_issued", ""),
                "date_effective": meta.get("date_effective", ""),
                "source_url": meta.get("source_url", ""),
                **{key: meta.get(key, "") for key in EXTRA_KEYS},
            },
        ))
    doc_meta: dict[str, Any] = {key: meta.get(key, "") for key in METADATA_KEYS + EXTRA_KEYS}
    doc_meta.update(extra or {})
    doc_meta["ingest_version"] = INGEST_VERSION
    doc_meta["chars"] = len(loaded.text)
    return DocumentRecord(doc_id=doc_id, path=path, sha256=sha256, metadata=doc_meta, chunks=records)


def _is_current(doc: DocumentRecord | None, sha256: str) -> bool:
    return doc is not None and doc.sha256 == sha256 and doc.metadata.get("ingest_version") == INGEST_VERSION


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _prune_targets(
    documents: dict[str, DocumentRecord], folder_roots: list[str], seen: set[str]
) -> list[str]:
    """Documents that came from one of ``folder_roots`` but were not seen in this walk."""
    out = []
    for doc_id, doc in documents.items():
        if doc_id in seen:
            continue
        root = str(doc.metadata.get("root", ""))
        source = str(doc.metadata.get("source", ""))
        if any(root == r or (source and _under(source, r)) for r in folder_roots):
            out.append(doc_id)
    return sorted(out)


def _read(candidate: _Candidate) -> bytes:
    try:
        return candidate.file.read_bytes()
    except OSError as exc:
        raise IngestError(f"cannot read {candidate.file}: {exc}",
                          user_message="文件无法读取（权限不足或已被删除）") from exc


def _work_pending(store: KnowledgeStore, candidates: list[_Candidate], folder_roots: list[str],
                  prune: bool) -> tuple[bool, set[str]]:
    """Cheap pre-check (hashes only, no lock): would this run change the index at all?

    Returns (pending, doc ids of unreadable files).
    """
    store.reload()
    seen: set[str] = set()
    unreadable: set[str] = set()
    for cand in candidates:
        if cand.doc_id in seen:
            return True, unreadable  # duplicates are reported by the full pass
        seen.add(cand.doc_id)
        try:
            data = _read(cand)
        except IngestError:
            unreadable.add(cand.doc_id)
            continue
        if not _is_current(store.documents.get(cand.doc_id), content_hash(data)):
            return True, unreadable
    return prune and bool(_prune_targets(store.documents, folder_roots, seen)), unreadable


def _progress(items: list[_Candidate], enabled: bool) -> Iterable[_Candidate]:
    if not enabled or len(items) < _PROGRESS_MIN_FILES or not sys.stderr.isatty():
        return items
    from tqdm import tqdm

    return tqdm(items, desc="导入", unit="个文件", file=sys.stderr, leave=False)


def _supersessions(store: KnowledgeStore) -> list[Supersession]:
    """The superseded documents the knowledge base holds (same title, or repealed by name), then
    those a text not yet in force (China's today) will replace or repeal on its day."""
    index = VersionIndex({d.doc_id: d.metadata for d in store.documents.values()}, china_today())
    return index.supersessions + index.upcoming_supersessions


def ingest_paths(store: KnowledgeStore, paths: list[Path], *, prune: bool = False, rebuild: bool = False,
                 progress: bool = True, overlay: OverlayHook | None = None,
                 cancel: CancelToken | None = None) -> IngestReport:
    """Ingest files and folders into ``store`` incrementally and report what happened.

    ``prune`` removes documents of the walked folders whose files are gone; ``rebuild`` empties
    the store first. Unreadable files are reported in ``failed`` and skipped; store and
    embedding errors propagate and leave the previous index as it was. ``overlay`` applies the
    staff edits kept for a document (``knowledge.kbedits.KbEditRepository.apply``) to every
    record staged; a document it disables is not staged (and leaves the index). ``cancel`` (e.g. a
    ``threading.Event``) is checked between files and within one (parsing, chunking, embedding
    batches): once set, ``OperationCancelledError`` is raised and nothing is published.
    """
    with cancellable(cancel):
        return _ingest(store, paths, prune=prune, rebuild=rebuild, progress=progress, overlay=overlay)


def _ingest(store: KnowledgeStore, paths: list[Path], *, prune: bool, rebuild: bool,
            overlay: OverlayHook | None, progress: bool) -> IngestReport:
    report = IngestReport()
    candidates, folder_roots = collect(paths, report)
    pending, unreadable = (True, set()) if rebuild else _work_pending(store, candidates, folder_roots, prune)
    if not pending:
        # Nothing to write: report without taking the lock or publishing a new generation.
        for cand in candidates:
            doc = store.documents.get(cand.doc_id)
            if doc is None or cand.doc_id in unreadable:
                report.failed.append(FailedFile(cand.display, "文件无法读取（权限不足或已被删除）"))
            else:
                report.unchanged.append(IngestedDocument(cand.doc_id, cand.display, len(doc.chunks)))
        report.set_supersessions(_supersessions(store))
        return report

    with store.writer() as writer:
        if rebuild:
            writer.reset()
        seen: dict[str, str] = {}
        for cand in _progress(candidates, progress):
            checkpoint()
            if cand.doc_id in seen:
                report.failed.append(FailedFile(
                    cand.display, f"文档编号 {cand.doc_id} 与 {seen[cand.doc_id]} 重复，请改名后再导入"))
                continue
            seen[cand.doc_id] = cand.display
            try:
                data = _read(cand)
                sha = content_hash(data)
                existing = writer.documents.get(cand.doc_id)
                if _is_current(existing, sha):
                    assert existing is not None
                    report.unchanged.append(IngestedDocument(cand.doc_id, cand.display, len(existing.chunks)))
                    continue
                loaded = load_bytes(data, cand.file)
                record = build_record(cand.doc_id, cand.display, sha, loaded,
                                      {"root": cand.root, "source": str(cand.file.resolve()),
                                       "format": cand.file.suffix.lower().lstrip(".")})
                if not record.chunks:
                    raise IngestError(f"no chunks in {cand.display}", user_message="文件中没有可索引的内容")
            except IngestError as exc:
                logger.info("skipping %s: %s", cand.display, exc)
                report.failed.append(FailedFile(cand.display, exc.user_message))
                continue
            report.warnings.extend(f"{cand.display}：{w}" for w in loaded.warnings)
            edited = overlay(record) if overlay is not None else record
            if edited is None:
                report.warnings.append(f"{cand.display}：该文件已在知识库管理中停用，未写入索引")
                if existing is not None:
                    writer.stage_removal(cand.doc_id)
                continue
            if edited is not record:
                report.warnings.append(f"{cand.display}：已套用知识库管理中的人工修改")
            record = edited
            if existing is not None and existing.metadata.get("root") not in (None, cand.root):
                report.warnings.append(
                    f"{cand.display}：文档编号 {cand.doc_id} 原来自 {existing.path}，已被替换")
            checkpoint()  # chunking is done; embedding (inside stage_document) checks per batch
            writer.stage_document(record)
            articles = {c.metadata["article"] for c in record.chunks if c.metadata["article"]}
            entry = IngestedDocument(cand.doc_id, cand.display, len(record.chunks), articles=len(articles),
                                     warnings=list(loaded.warnings), metadata=dict(loaded.metadata),
                                     stats=dict(loaded.stats))
            (report.updated if existing is not None else report.added).append(entry)
            logger.debug("staged %s (%d chunks)", cand.doc_id, len(record.chunks))
        if prune:
            for doc_id in _prune_targets(writer.documents, folder_roots, set(seen)):
                writer.stage_removal(doc_id)
                report.removed.append(doc_id)
    report.set_supersessions(_supersessions(store))
    # DEBUG: the CLI prints the summary itself, and an INFO line here showed it twice.
    logger.debug("ingest: %s", report.summary().splitlines()[0])
    return report
