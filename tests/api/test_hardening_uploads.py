"""Issue 12 item 7: a failed re-upload never loses the previous good file; no staging leftovers."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import api.jobs
from api.jobs import JobRunner
from api.uploadfiles import sniff_mismatch
from tests.api.conftest import DATA
from tests.api.support import Users
from tests.api.test_uploads import _upload, kb_client  # noqa: F401  (fixture)
from vetbot.settings import Settings


def _run(client: TestClient, users: Users, name: str, data: bytes) -> dict:
    r = _upload(client, users, [(name, data)])
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    client.app.state.jobs.wait(job_id, timeout=120)  # type: ignore[attr-defined]
    return client.get(f"/v1/jobs/{job_id}", headers=users.headers("admin")).json()


def test_failed_reupload_keeps_the_previous_file(
    kb_client: TestClient,  # noqa: F811
    users: Users,
    settings: Settings,
) -> None:
    good = (DATA / "jinan-transit.md").read_bytes()
    assert _run(kb_client, users, "keep.md", good)["status"] == "done"
    job = _run(kb_client, users, "keep.md", b"")
    assert job["files"][0]["status"] == "failed"
    uploads = settings.data_dir / "uploads"
    assert (uploads / "keep.md").read_bytes() == good
    assert not any((uploads / ".jobs").iterdir())


def test_start_restores_files_of_an_interrupted_job_and_clears_staging(tmp_path: Path) -> None:
    uploads = tmp_path / "uploads"
    (uploads / ".jobs" / "dead").mkdir(parents=True)
    (uploads / ".jobs" / "dead" / "other.md").write_text("staged, never ingested")
    (uploads / ".jobs" / "dead.previous").mkdir()
    (uploads / ".jobs" / "dead.previous" / "keep.md").write_text("the good one")
    (uploads / "keep.md").write_text("half-ingested replacement")
    runner = JobRunner(lambda: None, uploads, lambda: None, None)  # type: ignore[arg-type,return-value]
    runner.start()
    runner.shutdown()
    assert (uploads / "keep.md").read_text() == "the good one"
    assert list((uploads / ".jobs").iterdir()) == []


def test_utf16_text_uploads_are_accepted_and_ingested(
    kb_client: TestClient,  # noqa: F811
    users: Users,
) -> None:
    text = "# 济南市退役军人乘车优待办法\n\n第一条 退役军人凭优待证免费乘坐市内公交。\n"
    for name, data in (
        ("u16le.txt", text.encode("utf-16")),
        ("u16be.md", b"\xfe\xff" + text.encode("utf-16-be")),
    ):
        job = _run(kb_client, users, name, data)
        assert job["files"][0]["status"] == "done", job
    assert sniff_mismatch(".txt", b"\x00\x01\x00\x02\x03\x00\x00\x00")  # binary stays refused


def _slow_ingest(monkeypatch: pytest.MonkeyPatch, seconds: float) -> threading.Event:
    started = threading.Event()
    real = api.jobs.ingest_paths

    def slow(*args: Any, **kwargs: Any) -> Any:
        started.set()
        time.sleep(seconds)
        return real(*args, **kwargs)

    monkeypatch.setattr(api.jobs, "ingest_paths", slow)
    return started


def test_a_running_job_can_be_cancelled(
    kb_client: TestClient,  # noqa: F811
    users: Users,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started = _slow_ingest(monkeypatch, 0.5)
    good = (DATA / "jinan-transit.md").read_bytes()
    r = _upload(kb_client, users, [(f"f{i}.md", good) for i in range(6)])
    job_id = r.json()["job_id"]
    assert started.wait(30)
    cancelled = kb_client.post(f"/v1/jobs/{job_id}/cancel", headers=users.headers("admin"))
    assert cancelled.status_code == 200
    kb_client.app.state.jobs.wait(job_id, timeout=60)  # type: ignore[attr-defined]
    job = kb_client.get(f"/v1/jobs/{job_id}", headers=users.headers("admin")).json()
    assert job["status"] == "cancelled"
    assert any(f["status"] == "cancelled" for f in job["files"])
    assert kb_client.post("/v1/jobs/nope/cancel", headers=users.headers("admin")).status_code == 404
    assert kb_client.post(f"/v1/jobs/{job_id}/cancel", headers=users.headers("staff")).status_code == 403


def test_shutdown_during_a_long_job_returns_promptly(
    kb_client: TestClient,  # noqa: F811
    users: Users,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started = _slow_ingest(monkeypatch, 1.0)
    good = (DATA / "jinan-transit.md").read_bytes()
    job_id = _upload(kb_client, users, [(f"g{i}.md", good) for i in range(20)]).json()["job_id"]
    assert started.wait(30)
    runner = kb_client.app.state.jobs  # type: ignore[attr-defined]
    began = time.perf_counter()
    runner.shutdown()
    assert time.perf_counter() - began < 1.0  # 20 files x 1 s would take 20 s
    assert runner.join(10)  # the worker stops after its current file
    assert runner.get(job_id).status == "queued"  # back in the queue for the next start
