"""A restart never loses an accepted upload: the job stopped by shutdown runs at the next start."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api import jobqueue
from api.app import create_app
from api.models import IngestQueueEntry
from knowledge.service import KnowledgeService
from tests.api.support import Users
from tests.api.test_polish_cancel import LONG, _job, _slow_embeddings
from tests.fakes import HashingEmbeddings
from vetbot.settings import Settings


def _app(settings: Settings, case_service: Any, session_factory: Any) -> Any:
    knowledge = KnowledgeService.from_settings(
        settings, kb_dir=settings.data_dir / "kb", embeddings=HashingEmbeddings()
    )
    return create_app(settings, knowledge=knowledge, cases=case_service, session_factory=session_factory)


def _entry(session_factory: Any, job_id: str) -> IngestQueueEntry:
    with session_factory() as session:
        entry = session.get(IngestQueueEntry, job_id)
    assert entry is not None
    return entry


def _runs_after_restart(
    settings: Settings,
    case_service: Any,
    session_factory: Any,
    job_id: str,
    ended: tuple[str, ...] = ("done",),
) -> None:
    app = _app(settings, case_service, session_factory)
    with TestClient(app):
        app.state.jobs.wait(job_id, timeout=60)
        job = app.state.jobs.get(job_id)
    assert job.status == "done" and job.files[0]["status"] in ended, job.files
    assert (settings.data_dir / "uploads" / "keep.md").read_bytes() == LONG
    assert any(d.endswith("keep.md") for d in app.state.runtime.knowledge.store.documents)


def test_a_job_stopped_by_shutdown_runs_again_at_the_next_start(
    settings: Settings, case_service: Any, session_factory: Any, users: Users, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _app(settings, case_service, session_factory)
    with TestClient(app) as client:
        started = _slow_embeddings(client, monkeypatch)
        job_id = _job(client, users, LONG)
        assert started.wait(30)
    entry = _entry(session_factory, job_id)
    assert not entry.done and entry.claimed_until is None and entry.attempts == 0
    assert jobqueue.files_of(session_factory, job_id)  # the upload is still stored with the job
    _runs_after_restart(settings, case_service, session_factory, job_id)


def test_a_batch_longer_than_the_grace_still_leaves_the_job_queued(
    settings: Settings, case_service: Any, session_factory: Any, users: Users, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An embedding batch that cannot stop for a while (a busy machine): the process ends
    # after VETBOT_SHUTDOWN_GRACE_SECONDS, and the job must still be there for the next start.
    settings.shutdown_grace_seconds = 0.3
    app = _app(settings, case_service, session_factory)
    in_batch, release = threading.Event(), threading.Event()
    with TestClient(app) as client:
        embeddings = client.app.state.runtime.knowledge.store.embeddings
        real = embeddings.embed_documents

        def stuck(texts: list[str]) -> Any:
            if len(texts) > 10:
                in_batch.set()
                release.wait(30)  # no checkpoint inside the batch
            return real(texts)

        monkeypatch.setattr(embeddings, "embed_documents", stuck)
        job_id = _job(client, users, LONG)
        assert in_batch.wait(30)
        began = time.perf_counter()
    assert time.perf_counter() - began < 5  # the grace, not the batch
    runner = app.state.jobs
    assert runner.get(job_id).status == "queued"
    entry = _entry(session_factory, job_id)
    assert not entry.done and entry.claimed_until is None and entry.attempts == 0
    release.set()  # the old thread finishes its batch: it must not record anything now
    assert runner.join(30)
    assert runner.get(job_id).status == "queued" and not _entry(session_factory, job_id).done
    # "unchanged" when the old thread, outliving the grace in this one test process, got as far
    # as publishing the file (a real process has ended by then).
    _runs_after_restart(settings, case_service, session_factory, job_id, ("done", "unchanged"))


def test_the_grace_is_a_documented_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VETBOT_SHUTDOWN_GRACE_SECONDS", "45")
    assert Settings(_env_file=None).shutdown_grace_seconds == 45.0  # type: ignore[call-arg]
    field = Settings.model_fields["shutdown_grace_seconds"]
    assert field.default >= 25 and field.description and "queue" in field.description
