"""Cancel and shutdown stop an ingest job inside one long file; the previous index stays (issue 12)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from knowledge.service import KnowledgeService
from tests.api.support import Users
from tests.api.test_uploads import _upload, kb_client  # noqa: F401  (fixture)
from tests.fakes import HashingEmbeddings
from vetbot.cancel import checkpoint
from vetbot.settings import Settings

GOOD = "# 保留的办法\n\n第一条 退役军人凭优待证免费乘坐公交。\n".encode()
LONG = ("# 保留的办法\n\n" + "\n\n".join(
    f"第{i}条 退役军人凭优待证享受第{i}项优待，具体办法由各地规定。" for i in range(1, 301)
) + "\n").encode()


def _slow_embeddings(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Embedding takes 50 ms a chunk and checks for cancellation per chunk, like the real backends."""
    embeddings = client.app.state.runtime.knowledge.store.embeddings  # type: ignore[attr-defined]
    real = embeddings.embed_documents
    started = threading.Event()

    def slow(texts: list[str]) -> Any:
        if len(texts) > 10:
            started.set()
            for _ in texts:
                checkpoint()
                time.sleep(0.05)
        return real(texts)

    monkeypatch.setattr(embeddings, "embed_documents", slow)
    return started


def _job(client: TestClient, users: Users, data: bytes) -> str:
    r = _upload(client, users, [("keep.md", data)])
    assert r.status_code == 202, r.text
    return str(r.json()["job_id"])


def _state(client: TestClient) -> tuple[dict[str, list[str]], bytes]:
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    docs = {d: [c.chunk_id for c in doc.chunks] for d, doc in runtime.knowledge.store.documents.items()}
    return docs, (runtime.settings.data_dir / "uploads" / "keep.md").read_bytes()


def test_cancel_stops_inside_a_long_file_and_keeps_the_previous_index(
    kb_client: TestClient,  # noqa: F811
    users: Users,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runner = kb_client.app.state.jobs  # type: ignore[attr-defined]
    first = _job(kb_client, users, GOOD)
    runner.wait(first, timeout=60)
    before = _state(kb_client)
    started = _slow_embeddings(kb_client, monkeypatch)
    job_id = _job(kb_client, users, LONG)  # 300 chunks x 50 ms = 15 s if not stopped
    assert started.wait(30)
    began = time.perf_counter()
    assert kb_client.post(f"/v1/jobs/{job_id}/cancel", headers=users.headers("admin")).status_code == 200
    runner.wait(job_id, timeout=10)
    assert time.perf_counter() - began < 3
    job = kb_client.get(f"/v1/jobs/{job_id}", headers=users.headers("admin")).json()
    assert job["status"] == "cancelled" and job["files"][0]["status"] == "cancelled", job
    assert _state(kb_client) == before  # old chunks served, old file kept
    assert not list((runner.uploads_dir / ".jobs").glob("*"))


def test_shutdown_stops_inside_a_long_file(
    kb_client: TestClient,  # noqa: F811
    users: Users,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runner = kb_client.app.state.jobs  # type: ignore[attr-defined]
    started = _slow_embeddings(kb_client, monkeypatch)
    job_id = _job(kb_client, users, LONG)
    assert started.wait(30)
    began = time.perf_counter()
    runner.shutdown()  # what SIGTERM does through the app's lifespan
    assert runner.join(10)  # the worker thread is done: the process can exit
    assert time.perf_counter() - began < 3
    # An accepted upload is not lost to a restart: it waits in the queue for the next process.
    assert runner.get(job_id).status == "queued"


def test_app_shutdown_lets_the_job_stop_cleanly_before_the_process_ends(
    settings: Settings,
    case_service: Any,
    session_factory: Any,
    users: Users,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # uvicorn re-raises SIGTERM after the lifespan: whatever the job has not recorded by then
    # is lost (it stayed "running" with the new file left in uploads/).
    knowledge = KnowledgeService.from_settings(
        settings, kb_dir=settings.data_dir / "kb", embeddings=HashingEmbeddings()
    )
    app = create_app(settings, knowledge=knowledge, cases=case_service, session_factory=session_factory)
    with TestClient(app) as client:
        started = _slow_embeddings(client, monkeypatch)
        job_id = _job(client, users, LONG)
        assert started.wait(30)
        began = time.perf_counter()
    assert time.perf_counter() - began < 5
    runner = app.state.jobs
    assert runner.get(job_id).status == "queued"  # put back in the queue, not cancelled
    assert not (settings.data_dir / "uploads" / "keep.md").exists()  # never ingested: not kept
    assert not list((settings.data_dir / "uploads" / ".jobs").glob("*"))
