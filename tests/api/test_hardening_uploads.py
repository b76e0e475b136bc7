"""Issue 12 item 7: a failed re-upload never loses the previous good file; no staging leftovers."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from api.jobs import JobRunner, sniff_mismatch
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
