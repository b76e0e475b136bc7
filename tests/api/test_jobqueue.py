"""Ingest jobs as a database queue: any process runs them, cancel and status via the database."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from api import jobqueue
from api.jobs import JobRunner
from api.models import IngestJob, utcnow
from tests.fakes import HashingEmbeddings
from tests.knowledge.conftest import build_tiny_kb
from vetbot.db import Base, create_db_engine, import_all_models, make_session_factory

DOC = "# 济南市退役军人乘车优待办法\n\n第一条 退役军人凭优待证免费乘坐市内公交。\n".encode()


@pytest.fixture
def sessions(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = create_db_engine(f"sqlite:///{tmp_path / 'q.db'}")
    import_all_models()
    Base.metadata.create_all(engine)
    yield make_session_factory(engine)
    engine.dispose()


def _stage(runner: JobRunner, job_id: str, name: str = "jinan.md") -> list[tuple[str, int]]:
    staging = runner.staging_dir(job_id)
    staging.mkdir(parents=True)
    (staging / name).write_bytes(DOC)
    return [(name, len(DOC))]


def test_a_job_queued_by_one_process_is_run_by_another(sessions, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = build_tiny_kb(tmp_path / "kb", HashingEmbeddings())
    api = JobRunner(sessions, tmp_path / "api-uploads", lambda: store, None, run_jobs=False)
    # The worker has its own data directory (another machine): the files travel in the database.
    worker = JobRunner(sessions, tmp_path / "worker-uploads", lambda: store, None, poll_interval=0.05)
    job_id = api.new_job_id()
    api.submit(job_id, _stage(api, job_id), "admin")
    assert api.get(job_id).status == "queued"
    worker.start()
    try:
        api.wait(job_id, timeout=60)
    finally:
        worker.shutdown()
    job = api.get(job_id)
    assert job.status == "done", job.files
    assert job.files[0]["doc_id"] in store.documents
    assert (tmp_path / "worker-uploads" / "jinan.md").read_bytes() == DOC
    assert jobqueue.files_of(sessions, job_id) == []  # stored upload dropped once done


def test_cancel_through_any_process_and_single_claim(sessions, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    api = JobRunner(sessions, tmp_path / "uploads", lambda: None, None, run_jobs=False)  # type: ignore[arg-type,return-value]
    first, second = api.new_job_id(), api.new_job_id()
    api.submit(first, _stage(api, first, "a.md"), "admin")
    api.submit(second, _stage(api, second, "b.md"), "admin")
    other = JobRunner(sessions, tmp_path / "elsewhere", lambda: None, None, run_jobs=False)  # type: ignore[arg-type,return-value]
    assert other.cancel(first).status == "cancelled"  # unclaimed: cancelled at once
    now = utcnow()
    claimed = jobqueue.claim(sessions, now)
    assert claimed is not None and claimed[0] == second
    assert jobqueue.claim(sessions, now) is None  # held under a lease: nobody else gets it
    # A lease that ran out (the process died) is claimable again, with its attempt counted.
    again = jobqueue.claim(sessions, now + jobqueue.LEASE + timedelta(seconds=1))
    assert again is not None and again[0] == second and again[2] == 1
    assert not jobqueue.renew(sessions, second, claimed[1], now)  # the old token lost the job
    # A cancel of a claimed job is a request the running process sees between files.
    assert not jobqueue.request_cancel(sessions, second, now)
    assert jobqueue.cancel_requested(sessions, second)


def test_job_of_a_dead_process_fails_instead_of_running_twice(sessions, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = build_tiny_kb(tmp_path / "kb", HashingEmbeddings())
    api = JobRunner(sessions, tmp_path / "uploads", lambda: store, None, run_jobs=False)
    job_id = api.new_job_id()
    api.submit(job_id, _stage(api, job_id), "admin")
    assert jobqueue.claim(sessions, utcnow() - jobqueue.LEASE - timedelta(minutes=1)) is not None
    worker = JobRunner(sessions, tmp_path / "w", lambda: store, None, poll_interval=0.05)
    worker.start()
    try:
        api.wait(job_id, timeout=60)
    finally:
        worker.shutdown()
    job: IngestJob = api.get(job_id)
    assert job.status == "failed" and "中断" in (job.error or "")


def test_revision_0014_creates_the_model_schema(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import vetbot.ratelimit_db  # noqa: F401  (its table)
    from vetbot.db import upgrade

    ours = {"ingest_queue", "ingest_job_files", "rate_limit_windows"}
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    engine = create_db_engine(url)
    import_all_models()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    touching = [d for d in diff if any(name in repr(d) for name in ours)]
    assert touching == []
