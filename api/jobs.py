"""Background ingest jobs for documents uploaded through the API.

Uploads are saved under ``<data_dir>/uploads/.jobs/<job id>/`` and the job (one worker
thread, so jobs never contend for the index lock) moves each file to ``<data_dir>/uploads/``
and ingests it with ``ingest.pipeline.ingest_paths``. Re-uploading a file of the same name
replaces that document only when the new file ingests: until then the previous file waits in
``.jobs/<job id>.previous/`` and comes back if the new one fails, or, after a crash, at the
next start (which also removes every staging leftover).

The job writes through its own :class:`KnowledgeStore` over the same Chroma collection and
embeddings as the serving store, so searches keep running while files are embedded; the
serving store is reloaded under an exclusive lock only once the new index is published.
"""

from __future__ import annotations

import codecs
import logging
import os
import re
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import IngestJob, utcnow
from ingest.pipeline import ingest_paths
from knowledge.store import KnowledgeStore
from vetbot.errors import NotFoundError

logger = logging.getLogger(__name__)

ALLOWED_SUFFIXES: tuple[str, ...] = (".md", ".txt", ".docx", ".pdf", ".html")
MAX_FILES_PER_UPLOAD = 20
_UNSAFE_NAME = re.compile(r"[\\/\x00-\x1f<>:\"|?*]+")


class ReadWriteLock:
    """Many readers or one writer (writers wait for readers; new readers wait for a writer)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0

    @contextmanager
    def read(self) -> Iterator[None]:
        """Shared section."""
        with self._cond:
            while self._writer or self._writers_waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        """Exclusive section."""
        with self._cond:
            self._writers_waiting += 1
            while self._writer or self._readers:
                self._cond.wait()
            self._writers_waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


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


def _restore(previous: Path | None, target: Path) -> None:
    """Undo a failed replacement: the previous good file comes back, or the new one goes."""
    if previous is not None:
        os.replace(previous, target)
    else:
        target.unlink(missing_ok=True)


class JobRunner:
    """Creates job rows and runs them one at a time on a worker thread."""

    def __init__(
        self,
        session_factory: Callable[[], Session],
        uploads_dir: Path,
        store_provider: Callable[[], KnowledgeStore],
        kb_lock: ReadWriteLock,
        *,
        audit: Callable[..., None] | None = None,
    ) -> None:
        self._session_factory = session_factory
        self.uploads_dir = Path(uploads_dir)
        self._store_provider = store_provider
        self._kb_lock = kb_lock
        self._audit = audit
        self._executor: ThreadPoolExecutor | None = None
        self._futures: dict[str, Future[None]] = {}
        # Checked between files: a cancelled job, or every job when the server stops.
        self._cancelled: set[str] = set()
        self._stopping = threading.Event()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start the worker and fail jobs that a previous process left unfinished."""
        self._stopping.clear()
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-job")
        try:
            with self._session_factory() as session:
                stale = session.scalars(select(IngestJob).where(IngestJob.status.in_(("queued", "running"))))
                for job in stale:
                    job.status, job.finished_at = "failed", utcnow()
                    job.error = "服务重启，导入任务被中断，请重新上传。"
                session.commit()
        except Exception:  # tables may not exist yet (db upgrade not run); jobs then fail on create
            logger.warning("could not check for interrupted ingest jobs", exc_info=True)
        self._recover_interrupted()

    def shutdown(self) -> None:
        """Stop: queued jobs are dropped, the running one stops after its current file.

        Returns at once (SIGTERM must not hang on a long job); the worker thread ends after
        that file and marks the job ``cancelled``.
        """
        self._stopping.set()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def cancel(self, job_id: str) -> IngestJob:
        """Cancel a queued or running job (it stops before its next file); NotFoundError if unknown.

        Files already ingested stay; the job ends with status ``cancelled``.
        """
        job = self.get(job_id)
        if job.status in ("queued", "running"):
            self._cancelled.add(job_id)
            future = self._futures.get(job_id)
            if future is not None and future.cancel():
                self._finish_cancelled(job_id, [dict(f) for f in job.files])
                shutil.rmtree(self.staging_dir(job_id), ignore_errors=True)
        return self.get(job_id)

    def _finish_cancelled(self, job_id: str, files: list[dict[str, Any]]) -> None:
        for entry in files:
            if entry["status"] in ("queued", "running"):
                entry["status"], entry["error"] = "cancelled", "任务已取消。"
        self._update(job_id, status="cancelled", finished_at=utcnow(), files=files, error="导入任务已取消。")

    def wait(self, job_id: str, timeout: float | None = None) -> None:
        """Block until a job submitted by this runner finished (tests, CLI)."""
        future = self._futures.get(job_id)
        if future is not None:
            future.result(timeout=timeout)

    # ------------------------------------------------------------------ jobs
    def staging_dir(self, job_id: str) -> Path:
        """Where a job's uploaded files wait until the job runs."""
        return self.uploads_dir / ".jobs" / job_id

    def new_job_id(self) -> str:
        """A fresh job id."""
        return uuid.uuid4().hex

    def submit(self, job_id: str, files: list[tuple[str, int]], created_by: str) -> IngestJob:
        """Record a queued job for files already saved in ``staging_dir(job_id)`` and queue it."""
        job = IngestJob(
            id=job_id,
            created_by=created_by,
            status="queued",
            total=len(files),
            processed=0,
            files=[
                {"name": n, "size": s, "status": "queued", "error": None, "doc_id": None, "chunks": None}
                for n, s in files
            ],
        )
        with self._session_factory() as session:
            session.add(job)
            session.commit()
        if self._executor is None:
            self.start()
        assert self._executor is not None
        self._futures[job_id] = self._executor.submit(self._run, job_id)
        return job

    def get(self, job_id: str) -> IngestJob:
        """A job by id; NotFoundError if unknown."""
        with self._session_factory() as session:
            job = session.get(IngestJob, job_id)
        if job is None:
            raise NotFoundError(f"job {job_id}", user_message="未找到该导入任务。")
        return job

    def _update(self, job_id: str, **changes: Any) -> None:
        with self._session_factory() as session:
            job = session.get(IngestJob, job_id)
            if job is None:
                return
            for key, value in changes.items():
                setattr(job, key, value)
            session.commit()

    def _run(self, job_id: str) -> None:
        job = self.get(job_id)
        files = [dict(f) for f in job.files]
        self._update(job_id, status="running", started_at=utcnow())
        staging = self.staging_dir(job_id)
        ok = 0
        try:
            store = self._writer_store()
            for i, entry in enumerate(files):
                if job_id in self._cancelled or self._stopping.is_set():
                    break
                entry["status"] = "running"
                self._update(job_id, files=[dict(f) for f in files])
                target = self.uploads_dir / entry["name"]
                previous = self._keep_previous(job_id, target)
                try:
                    shutil.move(str(staging / entry["name"]), target)
                    report = ingest_paths(store, [target], progress=False)
                except Exception as exc:  # one bad file must not stop the others
                    logger.exception("ingest of %s failed", entry["name"])
                    entry["status"], entry["error"] = "failed", getattr(exc, "user_message", "导入失败。")
                    _restore(previous, target)
                else:
                    if report.failed:
                        entry["status"], entry["error"] = "failed", report.failed[0].reason
                        _restore(previous, target)
                    else:
                        if previous is not None:
                            previous.unlink(missing_ok=True)
                        docs = report.added + report.updated + report.unchanged
                        changed = report.added + report.updated
                        entry["status"] = "unchanged" if report.unchanged and not changed else "done"
                        if docs:
                            entry["doc_id"], entry["chunks"] = docs[0].doc_id, docs[0].chunks
                        ok += 1
                self._update(job_id, files=[dict(f) for f in files], processed=i + 1)
            self._reload_serving_store()
            if job_id in self._cancelled or self._stopping.is_set():
                self._finish_cancelled(job_id, files)
                return
            status = "done" if ok or not files else "failed"
            self._update(
                job_id,
                status=status,
                finished_at=utcnow(),
                error=None if status == "done" else "所有文件均导入失败。",
            )
        except Exception as exc:
            logger.exception("ingest job %s failed", job_id)
            self._update(
                job_id,
                status="failed",
                finished_at=utcnow(),
                files=files,
                error=getattr(exc, "user_message", None) or "导入任务失败，请查看服务器日志。",
            )
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            shutil.rmtree(self._previous_dir(job_id), ignore_errors=True)
            if self._audit is not None:
                self._audit(
                    "system:ingest",
                    "documents.ingested",
                    f"job:{job_id}",
                    {"files": [{k: f.get(k) for k in ("name", "status", "doc_id", "error")} for f in files]},
                )

    def _previous_dir(self, job_id: str) -> Path:
        return self.uploads_dir / ".jobs" / f"{job_id}.previous"

    def _keep_previous(self, job_id: str, target: Path) -> Path | None:
        """Move an existing upload of the same name aside until its replacement is ingested."""
        if not target.exists():
            return None
        previous = self._previous_dir(job_id) / target.name
        previous.parent.mkdir(parents=True, exist_ok=True)
        os.replace(target, previous)
        return previous

    def _recover_interrupted(self) -> None:
        """Put back files a killed job had moved aside, and drop every staging leftover.

        Runs at start, when no job is running: every ``.jobs`` entry belongs to a dead process.
        """
        jobs_dir = self.uploads_dir / ".jobs"
        if not jobs_dir.is_dir():
            return
        for kept in jobs_dir.glob("*.previous/*"):
            os.replace(kept, self.uploads_dir / kept.name)
            logger.warning("restored %s after an interrupted ingest job", kept.name)
        for leftover in jobs_dir.iterdir():
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)

    def _writer_store(self) -> KnowledgeStore:
        """A second store over the serving store's KB, collection, embeddings and tokenizer."""
        serving = self._store_provider()
        return KnowledgeStore(
            serving.kb_dir,
            serving.embeddings,
            serving.client,
            collection_name=serving.vectorstore._collection.name,
            tokenizer=serving.tokenizer,
            catalog=serving.catalog,
        )

    def _reload_serving_store(self) -> None:
        serving = self._store_provider()
        with self._kb_lock.write():
            serving.reload()
