"""Background ingest jobs for documents uploaded through the API.

Jobs are a database queue with leases (``api.jobqueue``): the upload is stored with the job, and
whichever process runs the queue claims it: the API process itself (one thread, the default,
so ``make run`` stays one process) or ``vetbot worker`` processes (``VETBOT_JOBS_IN_PROCESS=false``
on the API). Status and cancel go through the database, so any API process answers them.
The runner writes the files to ``<data_dir>/uploads/.jobs/<job id>/``, moves each to
``<data_dir>/uploads/`` and ingests it with ``ingest.pipeline.ingest_paths``.
Re-uploading a file of the same name replaces that document only when the new file ingests:
until then the previous file waits in ``.jobs/<job id>.previous/`` and comes back if the new
one fails, or, after a crash, at the next start (which also drops dead jobs' staging leftovers).
A job stopped by shutdown goes back to the queue and runs again at the next start.

The job writes through its own :class:`KnowledgeStore` over the same Chroma collection and
embeddings as the serving store, so searches keep running while files are embedded; the
serving store is reloaded under an exclusive lock only once the new index is published.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api import jobqueue
from api.models import IngestJob, IngestQueueEntry, utcnow
from api.rwlock import ReadWriteLock
from api.uploadfiles import MISMATCH_ERROR, restore_previous, staged_mismatch, upload_report
from ingest.pipeline import ingest_paths
from knowledge.overlay import OverlayHook
from knowledge.store import KnowledgeStore
from vetbot.errors import NotFoundError, OperationCancelledError

logger = logging.getLogger(__name__)

TERMINAL_STATES = ("done", "failed", "cancelled")
_INTERRUPTED = "服务重启，导入任务被中断，请重新上传。"


class _JobToken:
    """A job's cancellation token for ``ingest_paths``: set by ``cancel(job_id)`` or ``shutdown()``."""

    def __init__(self, is_set: Callable[[], bool]) -> None:
        self.is_set = is_set


class JobRunner:
    """Creates queued jobs and, when ``run_jobs`` is set, runs the queue on a worker thread.

    ``run_jobs`` False (``VETBOT_JOBS_IN_PROCESS=false``): this process only enqueues, reports
    and cancels; ``vetbot worker`` runs the jobs. Either way the runner polls for jobs finished
    elsewhere and reloads the serving store after them.
    """

    def __init__(
        self,
        session_factory: Callable[[], Session],
        uploads_dir: Path,
        store_provider: Callable[[], KnowledgeStore],
        kb_lock: ReadWriteLock | None,
        *,
        audit: Callable[..., None] | None = None,
        run_jobs: bool = True,
        poll_interval: float = 2.0,
        overlay: OverlayHook | None = None,
    ) -> None:
        self._session_factory = session_factory
        self.uploads_dir = Path(uploads_dir)
        self._store_provider = store_provider
        self._kb_lock = kb_lock
        self._audit = audit
        self.run_jobs = run_jobs
        self._overlay = overlay  # staff edits re-applied to every file ingested (knowledge.kbedits)
        self.poll_interval = poll_interval
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        # Checked between files and inside one (ingest_paths' cancel token): a cancelled job,
        # or every job when the process stops.
        self._cancelled: set[str] = set()
        self._stopping = threading.Event()
        self._seen_finished: Any = None
        self._held: tuple[str, str] | None = None  # (job id, claim token) of the job running here

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start polling the queue; fail jobs of dead processes; clear their staging leftovers."""
        self._stopping.clear()
        live: set[str] = set()
        try:
            self._fail_orphans()
            live = jobqueue.live_job_ids(self._session_factory, utcnow())
            self._seen_finished = jobqueue.last_finished(self._session_factory)
        except Exception:  # tables may not exist yet (db upgrade not run); jobs then fail on create
            logger.warning("could not check for interrupted ingest jobs", exc_info=True)
        self._recover_interrupted(live)
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name="ingest-jobs", daemon=True)
            self._thread.start()

    def _fail_orphans(self) -> None:
        """Jobs left queued/running without a queue entry (before revision 0014) cannot run."""
        with self._session_factory() as session:
            queued = select(IngestQueueEntry.job_id)
            stale = session.scalars(
                select(IngestJob).where(
                    IngestJob.status.in_(("queued", "running")), IngestJob.id.not_in(queued)
                )
            )
            for job in stale:
                job.status, job.finished_at, job.error = "failed", utcnow(), _INTERRUPTED
            session.commit()

    def shutdown(self) -> None:
        """Stop: no new job is claimed, the running one stops at its next checkpoint.

        Returns at once (SIGTERM must not hang on a long job); the worker thread stops within
        the current file (parsing, chunking or an embedding batch), publishes nothing of it and
        puts the job back in the queue (status ``queued``): the next process to run the queue
        runs it again. Files it had finished are ingested again as unchanged.
        """
        self._stopping.set()
        self._wake.set()

    def run_forever(self, grace: float = 30.0) -> None:
        """Run the queue until :meth:`shutdown` (``vetbot worker``), then :meth:`stop_within`."""
        self.start()
        while not self._stopping.is_set():
            time.sleep(0.2)
        self.stop_within(grace)

    def stop_within(self, grace: float) -> bool:
        """After :meth:`shutdown`: wait up to ``grace`` seconds for the running job to put itself
        back in the queue; past that, put it back from here (the process is about to end).

        True when the job stopped within ``grace`` (or none was running).
        """
        if self.join(grace):
            return True
        logger.warning("ingest job still running %.1f s after shutdown (VETBOT_SHUTDOWN_GRACE_SECONDS): "
                       "put back in the queue for the next start", grace)
        self.release_held()
        return False

    def release_held(self) -> bool:
        """Put the job running here back in the queue (status ``queued``); False when none is held.

        The thread's later writes no longer hold the claim; the next run keeps the previous
        version of a file it was replacing (:meth:`_keep_previous`).
        """
        held = self._held
        if held is None:
            return False
        job_id, token = held
        if not jobqueue.release(self._session_factory, job_id, token):
            return False
        self._mark_queued(job_id, [dict(f) for f in self.get(job_id).files])
        return True

    def join(self, timeout: float) -> bool:
        """After :meth:`shutdown`, wait up to ``timeout`` seconds for the running job to stop.

        True when no job is left running. The job stops at its next cancellation checkpoint
        (seconds), restores the file it was replacing and is marked ``cancelled``.
        """
        if self._thread is None:
            return True
        self._thread.join(timeout=timeout)
        return not self._thread.is_alive()

    def cancel(self, job_id: str) -> IngestJob:
        """Cancel a queued or running job (it stops within its current file); NotFoundError if unknown.

        Works from any process: the request is stored with the job. Files already ingested
        stay; the one in progress keeps its previous version; the job ends with status ``cancelled``.
        """
        job = self.get(job_id)
        if job.status in ("queued", "running"):
            self._cancelled.add(job_id)
            if jobqueue.request_cancel(self._session_factory, job_id, utcnow()):
                self._finish_cancelled(job_id, [dict(f) for f in job.files])
                jobqueue.finish(self._session_factory, job_id)
                shutil.rmtree(self.staging_dir(job_id), ignore_errors=True)
        return self.get(job_id)

    def _finish_cancelled(self, job_id: str, files: list[dict[str, Any]], token: str | None = None) -> None:
        for entry in files:
            if entry["status"] in ("queued", "running"):
                entry["status"], entry["error"] = "cancelled", "任务已取消。"
        self._close(
            job_id, token, status="cancelled", finished_at=utcnow(), files=files, error="导入任务已取消。"
        )

    def _close(self, job_id: str, token: str | None, **changes: Any) -> None:
        """Take the job out of the queue, then record its end (so an ended job holds no upload).

        Nothing is recorded when ``token`` no longer holds the job (it was put back in the queue).
        """
        if token is not None and not jobqueue.finish(self._session_factory, job_id, token):
            return
        self._update(job_id, **changes)

    def _mark_queued(self, job_id: str, files: list[dict[str, Any]]) -> None:
        """Record a job put back in the queue as it was submitted."""
        fresh = [{"name": f["name"], "size": f.get("size"), "status": "queued", "error": None,
                  "doc_id": None, "chunks": None} for f in files]
        self._update(job_id, status="queued", started_at=None, processed=0, files=fresh)

    def wait(self, job_id: str, timeout: float | None = None) -> None:
        """Block until a job has ended, run by whichever process (tests, CLI).

        Raises TimeoutError after ``timeout`` seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.get(job_id).status not in TERMINAL_STATES:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"ingest job {job_id} still running")
            time.sleep(0.05)

    # ------------------------------------------------------------------ jobs
    def staging_dir(self, job_id: str) -> Path:
        """Where a job's uploaded files wait until the job runs."""
        return self.uploads_dir / ".jobs" / job_id

    def new_job_id(self) -> str:
        """A fresh job id."""
        return uuid.uuid4().hex

    def submit(self, job_id: str, files: list[tuple[str, int]], created_by: str) -> IngestJob:
        """Queue a job for files already saved in ``staging_dir(job_id)`` (stored with the job)."""
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
        staging = self.staging_dir(job_id)
        payload = [(n, (staging / n).read_bytes()) for n, _size in files]
        with self._session_factory() as session:
            jobqueue.enqueue(session, job, payload)
            session.commit()
        if self.run_jobs and (self._thread is None or not self._thread.is_alive()):
            self.start()
        self._wake.set()
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

    def _loop(self) -> None:
        """Claim and run jobs until stopped; notice jobs other processes finished."""
        while not self._stopping.is_set():
            try:
                claimed = None
                if self.run_jobs and self._store_ready():
                    claimed = jobqueue.claim(self._session_factory, utcnow())
                if claimed is not None:
                    self._run_claimed(*claimed)
                    continue
                self._reload_if_finished_elsewhere()
            except Exception:
                logger.warning("ingest queue poll failed", exc_info=True)
            self._wake.wait(self.poll_interval)
            self._wake.clear()

    def _store_ready(self) -> bool:
        """Whether the serving store is up: a process still loading its models claims nothing."""
        try:
            self._store_provider()
        except Exception:
            return False
        return True

    def _run_claimed(self, job_id: str, token: str, attempts: int) -> None:
        if attempts > 0:
            # A previous claim's process died mid-job: its files may be half moved.
            self._close(job_id, token, status="failed", finished_at=utcnow(), error=_INTERRUPTED)
            return
        staging = self.staging_dir(job_id)
        staging.mkdir(parents=True, exist_ok=True)
        for name, data in jobqueue.files_of(self._session_factory, job_id):
            if not (staging / name).exists():  # queued in another process (or machine)
                (staging / name).write_bytes(data)
        self._held = (job_id, token)
        try:
            self._run(job_id, token)
        finally:
            self._held = None
            jobqueue.finish(self._session_factory, job_id, token)  # no-op once put back in the queue
            self._seen_finished = jobqueue.last_finished(self._session_factory)

    def _stop_requested(self, job_id: str) -> bool:
        if job_id in self._cancelled or self._stopping.is_set():
            return True
        if jobqueue.cancel_requested(self._session_factory, job_id):
            self._cancelled.add(job_id)
            return True
        return False

    def _shutting_down(self, job_id: str) -> bool:
        """Stopping because the process ends, not because someone cancelled the job."""
        stopping = self._stopping.is_set() and job_id not in self._cancelled
        return stopping and not jobqueue.cancel_requested(self._session_factory, job_id)

    def _run(self, job_id: str, token: str) -> None:
        job = self.get(job_id)
        files = [dict(f) for f in job.files]
        self._update(job_id, status="running", started_at=utcnow())
        staging = self.staging_dir(job_id)
        ok = 0
        stopped = requeued = False
        try:
            store = self.writer_store()
            cancel_token = _JobToken(lambda: self._stop_requested(job_id))
            for i, entry in enumerate(files):
                if self._stop_requested(job_id):
                    stopped = True
                    break
                jobqueue.renew(self._session_factory, job_id, token, utcnow())
                entry["status"] = "running"
                self._update(job_id, files=[dict(f) for f in files])
                target = self.uploads_dir / entry["name"]
                if staged_mismatch(staging / entry["name"]):
                    entry["status"], entry["error"] = "failed", MISMATCH_ERROR
                    self._update(job_id, files=[dict(f) for f in files], processed=i + 1)
                    continue
                previous = self._keep_previous(job_id, target)
                try:
                    shutil.move(str(staging / entry["name"]), target)
                    report = ingest_paths(
                        store, [target], progress=False, overlay=self._overlay, cancel=cancel_token
                    )
                except OperationCancelledError:  # stopped inside the file: nothing of it published
                    entry["status"], entry["error"] = "cancelled", "任务已取消。"
                    restore_previous(previous, target)
                    stopped = True
                    break
                except Exception as exc:  # one bad file must not stop the others
                    logger.exception("ingest of %s failed", entry["name"])
                    entry["status"], entry["error"] = "failed", getattr(exc, "user_message", "导入失败。")
                    restore_previous(previous, target)
                else:
                    if report.failed:
                        entry["status"], entry["error"] = "failed", report.failed[0].reason
                        restore_previous(previous, target)
                    else:
                        if previous is not None:
                            previous.unlink(missing_ok=True)
                        docs = report.added + report.updated + report.unchanged
                        changed = report.added + report.updated
                        entry["status"] = "unchanged" if report.unchanged and not changed else "done"
                        entry["report"] = upload_report(report, self.uploads_dir)
                        if docs:
                            entry["doc_id"], entry["chunks"] = docs[0].doc_id, docs[0].chunks
                            entry["report"].update(asdict(docs[0]))
                        ok += 1
                self._update(job_id, files=[dict(f) for f in files], processed=i + 1)
            self.reload_serving_store()
            if stopped and self._shutting_down(job_id):
                # An accepted upload outlives a restart: back in the queue, not cancelled. When
                # the claim is already gone (put back by stop_within) the job is left as it is.
                if jobqueue.release(self._session_factory, job_id, token):
                    self._mark_queued(job_id, files)
                    logger.info("ingest job %s put back in the queue (shutdown)", job_id)
                requeued = True
                return
            if self._stop_requested(job_id):
                self._finish_cancelled(job_id, files, token)
                return
            status = "done" if ok or not files else "failed"
            self._close(
                job_id,
                token,
                status=status,
                finished_at=utcnow(),
                error=None if status == "done" else "所有文件均导入失败。",
            )
        except Exception as exc:
            logger.exception("ingest job %s failed", job_id)
            self._close(
                job_id,
                token,
                status="failed",
                finished_at=utcnow(),
                files=files,
                error=getattr(exc, "user_message", None) or "导入任务失败，请查看服务器日志。",
            )
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            shutil.rmtree(self._previous_dir(job_id), ignore_errors=True)
            if self._audit is not None and not requeued:
                self._audit(
                    "system:ingest",
                    "documents.ingested",
                    f"job:{job_id}",
                    {"files": [{k: f.get(k) for k in ("name", "status", "doc_id", "error")} for f in files]},
                )

    def _previous_dir(self, job_id: str) -> Path:
        return self.uploads_dir / ".jobs" / f"{job_id}.previous"

    def _keep_previous(self, job_id: str, target: Path) -> Path | None:
        """Move an existing upload of the same name aside until its replacement is ingested.

        A file kept aside by an interrupted run of this job is the good one: ``target`` is dropped.
        """
        previous = self._previous_dir(job_id) / target.name
        if previous.exists():
            target.unlink(missing_ok=True)
            return previous
        if not target.exists():
            return None
        previous.parent.mkdir(parents=True, exist_ok=True)
        os.replace(target, previous)
        return previous

    def _recover_interrupted(self, live: set[str]) -> None:
        """Put back files a killed job had moved aside, and drop staging leftovers.

        Entries of ``live`` jobs (queued, or held by a running process) are left alone.
        """
        jobs_dir = self.uploads_dir / ".jobs"
        if not jobs_dir.is_dir():
            return
        for kept in jobs_dir.glob("*.previous/*"):
            if kept.parent.name.removesuffix(".previous") in live:
                continue
            os.replace(kept, self.uploads_dir / kept.name)
            logger.warning("restored %s after an interrupted ingest job", kept.name)
        for leftover in jobs_dir.iterdir():
            if leftover.name.removesuffix(".previous") in live:
                continue
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)

    def writer_store(self) -> KnowledgeStore:
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

    def reload_serving_store(self) -> None:
        """Reload the serving store under the exclusive lock (searches wait, never see half an index)."""
        serving = self._store_provider()
        if self._kb_lock is None:
            serving.reload()
            return
        with self._kb_lock.write():
            serving.reload()

    def _reload_if_finished_elsewhere(self) -> None:
        """A job another process finished changed the KB: reload ours (cheap when it did not)."""
        latest = jobqueue.last_finished(self._session_factory)
        if latest is None or latest == self._seen_finished:
            return
        self._seen_finished = latest
        try:
            self.reload_serving_store()
        except Exception:  # no serving store yet (models loading): it opens the new KB anyway
            logger.debug("serving store not reloaded", exc_info=True)
