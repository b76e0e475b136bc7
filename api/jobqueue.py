"""The ingest job queue in the database: enqueue, claim with a lease, renew, finish, cancel.

The outbox's pattern (``complaints.outbox_store``): a claim is a token and a lease
(``claimed_until``) on an ``ingest_queue`` row, taken by a conditional UPDATE so two processes
never claim one job; every later write checks the token. An uploaded job's files are stored
with it (``ingest_job_files``) so a worker on another machine can ingest them. Used by
``api.jobs.JobRunner`` in the API process or in ``vetbot worker``.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from api.models import IngestJob, IngestJobFile, IngestQueueEntry

SessionFactory = Callable[[], Session]
LEASE = timedelta(minutes=10)
WORKER_NAME = f"{socket.gethostname()[:40]}:{uuid.uuid4().hex[:8]}"


def enqueue(session: Session, job: IngestJob, files: list[tuple[str, bytes]]) -> None:
    """Add ``job`` with its files to the queue in ``session`` (the caller commits)."""
    session.add(job)
    session.add(
        IngestQueueEntry(job_id=job.id, done=False, attempts=0, cancel_requested=False, claimed_by="")
    )
    for i, (name, data) in enumerate(files):
        session.add(IngestJobFile(job_id=job.id, position=i, name=name, data=data))


def claim(sessions: SessionFactory, now: datetime, lease: timedelta = LEASE) -> tuple[str, str, int] | None:
    """Claim the oldest claimable job: ``(job_id, token, attempts before this one)`` or None.

    Claimable: not done, and never claimed or its lease ran out (the process died).
    """
    with sessions() as session:
        candidates = session.scalars(
            select(IngestQueueEntry.job_id)
            .where(
                IngestQueueEntry.done.is_(False),
                or_(IngestQueueEntry.claimed_until.is_(None), IngestQueueEntry.claimed_until < now),
            )
            .order_by(IngestQueueEntry.enqueued_at)
            .limit(5)
        ).all()
        for job_id in candidates:
            token = str(uuid.uuid4())
            entry = session.get(IngestQueueEntry, job_id)
            attempts = entry.attempts if entry is not None else 0
            result = session.execute(
                update(IngestQueueEntry)
                .where(
                    IngestQueueEntry.job_id == job_id,
                    IngestQueueEntry.done.is_(False),
                    or_(IngestQueueEntry.claimed_until.is_(None), IngestQueueEntry.claimed_until < now),
                )
                .values(
                    claim_token=token, claimed_until=now + lease, claimed_by=WORKER_NAME,
                    attempts=IngestQueueEntry.attempts + 1,
                )
            )
            session.commit()
            if getattr(result, "rowcount", 0) == 1:
                return job_id, token, attempts
    return None


def renew(sessions: SessionFactory, job_id: str, token: str, now: datetime, lease: timedelta = LEASE) -> bool:
    """Extend a held lease; False when it was lost (another process took the job)."""
    with sessions() as session:
        result = session.execute(
            update(IngestQueueEntry)
            .where(IngestQueueEntry.job_id == job_id, IngestQueueEntry.claim_token == token)
            .values(claimed_until=now + lease)
        )
        session.commit()
        return getattr(result, "rowcount", 0) == 1


def finish(sessions: SessionFactory, job_id: str, token: str | None = None) -> bool:
    """Mark a job done in the queue and drop its stored files (``token`` checked when given).

    Returns False, changing nothing, for a token that no longer holds the job (released, or
    taken over): the job belongs to whichever process runs it now.
    """
    with sessions() as session:
        cond = [IngestQueueEntry.job_id == job_id]
        if token is not None:
            cond.append(IngestQueueEntry.claim_token == token)
        result = session.execute(update(IngestQueueEntry).where(*cond).values(done=True, claimed_until=None))
        held = token is None or getattr(result, "rowcount", 0) == 1
        if held:
            session.execute(delete(IngestJobFile).where(IngestJobFile.job_id == job_id))
        session.commit()
        return held


def release(sessions: SessionFactory, job_id: str, token: str) -> bool:
    """Put a held job back in the queue untouched (the process is stopping); False if not held.

    The claim is dropped and its attempt not counted, so the next claim runs the job as new
    rather than failing it as the leftover of a dead process.
    """
    with sessions() as session:
        result = session.execute(
            update(IngestQueueEntry)
            .where(IngestQueueEntry.job_id == job_id, IngestQueueEntry.claim_token == token,
                   IngestQueueEntry.done.is_(False))
            .values(claim_token=None, claimed_until=None, claimed_by="",
                    attempts=IngestQueueEntry.attempts - 1)
        )
        session.commit()
        return getattr(result, "rowcount", 0) == 1


def files_of(sessions: SessionFactory, job_id: str) -> list[tuple[str, bytes]]:
    """The stored files of a job, in upload order."""
    with sessions() as session:
        rows = session.scalars(
            select(IngestJobFile).where(IngestJobFile.job_id == job_id).order_by(IngestJobFile.position)
        ).all()
        return [(r.name, r.data) for r in rows]


def request_cancel(sessions: SessionFactory, job_id: str, now: datetime) -> bool:
    """Ask for a job to stop; True when it was unclaimed (the caller may finish it at once)."""
    with sessions() as session:
        entry = session.get(IngestQueueEntry, job_id)
        if entry is None or entry.done:
            return False
        entry.cancel_requested = True
        unclaimed = entry.claimed_until is None or entry.claimed_until < now
        if unclaimed:
            # Take it out of the queue in the same transaction: no worker may start it now.
            entry.done = True
        session.commit()
        return unclaimed


def cancel_requested(sessions: SessionFactory, job_id: str) -> bool:
    """Whether a cancel was requested for ``job_id`` (through any process)."""
    with sessions() as session:
        entry = session.get(IngestQueueEntry, job_id)
        return bool(entry is not None and entry.cancel_requested)


def live_job_ids(sessions: SessionFactory, now: datetime) -> set[str]:
    """Jobs queued or held under a live lease (their staging files must stay)."""
    with sessions() as session:
        return set(
            session.scalars(
                select(IngestQueueEntry.job_id).where(
                    IngestQueueEntry.done.is_(False),
                    or_(IngestQueueEntry.claimed_until.is_(None), IngestQueueEntry.claimed_until >= now),
                )
            ).all()
        )


def last_finished(sessions: SessionFactory) -> datetime | None:
    """When the most recent job finished (in any process): a changed KB to reload."""
    with sessions() as session:
        return session.scalars(
            select(IngestJob.finished_at).where(IngestJob.finished_at.is_not(None))
            .order_by(IngestJob.finished_at.desc()).limit(1)
        ).first()
