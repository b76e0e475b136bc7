"""Admin document upload: background ingest jobs into a real (small) knowledge base."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.users import UserService
from tests.api.conftest import DATA
from tests.api.support import Users
from tests.fakes import HashingEmbeddings
from vetbot.settings import Settings


@pytest.fixture
def kb_client(
    settings: Settings, case_service: Any, session_factory: Any, users: Users
) -> Iterator[TestClient]:
    """The app over a real KnowledgeService (fake embeddings) with one document ingested."""
    from ingest.pipeline import ingest_paths
    from knowledge.service import KnowledgeService

    knowledge = KnowledgeService.from_settings(
        settings, kb_dir=settings.data_dir / "kb", embeddings=HashingEmbeddings()
    )
    ingest_paths(knowledge.store, [DATA / "card-rules.md"], progress=False)
    app = create_app(settings, knowledge=knowledge, cases=case_service, session_factory=session_factory)
    with TestClient(app) as c:
        yield c


def _upload(client: TestClient, users: Users, files: list[tuple[str, bytes]], who: str = "admin") -> Any:
    return client.post(
        "/v1/documents", files=[("files", (name, data)) for name, data in files], headers=users.headers(who)
    )


def test_upload_ingests_in_the_background(
    kb_client: TestClient, users: Users, user_service: UserService, settings: Settings
) -> None:
    good = (DATA / "jinan-transit.md").read_bytes()
    r = _upload(
        kb_client, users, [("jinan-transit.md", good), ("broken.docx", b"PK\x03\x04 not really a docx")]
    )
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    assert r.json()["status_url"] == f"/v1/jobs/{job_id}"
    kb_client.app.state.jobs.wait(job_id, timeout=120)  # type: ignore[attr-defined]

    job = kb_client.get(f"/v1/jobs/{job_id}", headers=users.headers("admin")).json()
    assert job["status"] == "done" and job["processed"] == job["total"] == 2
    files = {f["name"]: f for f in job["files"]}
    assert files["jinan-transit.md"]["status"] == "done" and files["jinan-transit.md"]["chunks"] >= 1
    assert files["broken.docx"]["status"] == "failed"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in files["broken.docx"]["error"])

    # The serving index sees the new document at once.
    docs = kb_client.get("/v1/documents", headers=users.headers("staff")).json()["documents"]
    new = next(d for d in docs if d["title"] == "测试济南市退役军人乘车优待办法")
    assert new["region"] == "济南市"
    hits = kb_client.get(
        "/v1/search", params={"q": "公交 免费", "region": "济南市"}, headers=users.headers("staff")
    ).json()["results"]
    assert hits and hits[0]["doc_id"] == new["doc_id"]
    assert (settings.data_dir / "uploads" / "jinan-transit.md").exists()
    assert not (settings.data_dir / "uploads" / ".jobs" / job_id).exists()

    actions = [a.action for a in user_service.recent_audit()]
    assert "documents.upload" in actions and "documents.ingested" in actions

    # Uploading the same bytes again changes nothing.
    again = _upload(kb_client, users, [("jinan-transit.md", good)]).json()["job_id"]
    kb_client.app.state.jobs.wait(again, timeout=120)  # type: ignore[attr-defined]
    job = kb_client.get(f"/v1/jobs/{again}", headers=users.headers("admin")).json()
    assert job["files"][0]["status"] == "unchanged"


def test_upload_refuses_big_and_unsupported_files(
    kb_client: TestClient, users: Users, settings: Settings
) -> None:
    big = b"a" * (settings.max_upload_mb * (1 << 20) + 1)
    r = _upload(kb_client, users, [("big.txt", big)])
    assert r.status_code == 413 and "超过大小上限 1 MB" in r.json()["detail"]
    r = _upload(kb_client, users, [("tool.exe", b"MZ...")])
    assert r.status_code == 415 and ".md .txt .docx .pdf .html" in r.json()["detail"]
    r = _upload(kb_client, users, [("ok.md", b"# ok"), ("notes.markdown", b"# no")])
    assert r.status_code == 415
    r = _upload(kb_client, users, [("fake.pdf", b"<html>not a pdf</html>")])
    assert r.status_code == 415 and "内容与扩展名不符" in r.json()["detail"]
    jobs_dir = settings.data_dir / "uploads" / ".jobs"
    assert not jobs_dir.exists() or not any(jobs_dir.iterdir())  # refused uploads leave nothing behind


def test_a_file_whose_content_contradicts_its_extension_is_skipped_not_the_whole_upload(
    kb_client: TestClient, users: Users
) -> None:
    good = (DATA / "jinan-transit.md").read_bytes()
    r = _upload(kb_client, users, [("jinan-transit.md", good), ("fake.docx", b"%PDF-1.7 renamed pdf"),
                                   ("broken.pdf", b"not a pdf")])
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    kb_client.app.state.jobs.wait(job_id, timeout=120)  # type: ignore[attr-defined]
    job = kb_client.get(f"/v1/jobs/{job_id}", headers=users.headers("admin")).json()
    assert job["status"] == "done" and job["processed"] == job["total"] == 3
    files = {f["name"]: f for f in job["files"]}
    assert files["jinan-transit.md"]["status"] in ("done", "unchanged")
    for name in ("fake.docx", "broken.pdf"):
        assert files[name]["status"] == "failed" and "扩展名不符" in files[name]["error"]


def test_upload_is_admin_only(kb_client: TestClient, users: Users) -> None:
    for who in ("staff", "handler_jn", "office"):
        r = _upload(kb_client, users, [("a.md", b"# a")], who=who)
        assert r.status_code == 403, who
        assert "权限" in r.json()["detail"]
    assert kb_client.post("/v1/documents", files=[("files", ("a.md", b"# a"))]).status_code == 401
    assert kb_client.get("/v1/jobs/abc", headers=users.headers("office")).status_code == 403
    r = kb_client.get("/v1/jobs/abc", headers=users.headers("admin"))
    assert r.status_code == 404 and "导入任务" in r.json()["detail"]


def test_oversized_json_body_is_413_in_chinese(client: TestClient, users: Users) -> None:
    r = client.post(
        "/v1/ask",
        content=b'{"question": "' + b"a" * (2 << 20) + b'"}',
        headers={**users.headers("staff"), "Content-Type": "application/json"},
    )
    assert r.status_code == 413
    assert r.json()["detail"] == "请求内容过大（上限 1 MB）。"
    # Without a Content-Length (chunked), the body is counted while it is read.
    chunks = iter([b'{"question": "'] + [b"a" * 65536] * 40 + [b'"}'])
    r = client.post(
        "/v1/ask", content=chunks, headers={**users.headers("staff"), "Content-Type": "application/json"}
    )
    assert r.status_code == 413 and "上限 1 MB" in r.json()["detail"]


def test_interrupted_jobs_are_marked_failed_on_start(
    settings: Settings, session_factory: Any, fake_knowledge: Any, tmp_path: Path
) -> None:
    from api.models import IngestJob

    with session_factory() as s:
        s.add(IngestJob(id="stale", status="running", total=1, processed=0, files=[]))
        s.commit()
    with TestClient(create_app(settings, knowledge=fake_knowledge, session_factory=session_factory)):
        pass
    with session_factory() as s:
        job = s.get(IngestJob, "stale")
        assert job.status == "failed" and "重新上传" in job.error


def test_upload_report_notes_name_the_file_not_the_servers_path(
    kb_client: TestClient, users: Users, settings: Settings
) -> None:
    text = "# 测试市退役军人乘车优待办法\n\n第一条 持退役军人优待证乘坐本市公交车免费。\n".encode()
    job_id = _upload(kb_client, users, [("qinglan.md", text)]).json()["job_id"]
    kb_client.app.state.jobs.wait(job_id, timeout=120)  # type: ignore[attr-defined]
    job = kb_client.get(f"/v1/jobs/{job_id}", headers=users.headers("admin")).json()
    notes = job["files"][0]["report"]["notes"]
    assert any("不在行政区划表中" in n for n in notes), notes
    for note in notes:
        assert "uploads" not in note and str(settings.data_dir) not in note, note
        assert note.startswith("qinglan.md：")


def test_upload_report_lists_only_the_files_own_versions(kb_client: TestClient, users: Users) -> None:
    # Found by s21t: every file of an upload listed every supersession in the knowledge base
    # (《国防教育法》2018 showed 《信访条例》已废止…).
    versions = Path(__file__).resolve().parents[1] / "fixtures" / "versions"
    files = [(p.name, p.read_bytes()) for p in sorted(versions.glob("*.md"))]
    job_id = _upload(kb_client, users, files).json()["job_id"]
    kb_client.app.state.jobs.wait(job_id, timeout=120)  # type: ignore[attr-defined]
    job = kb_client.get(f"/v1/jobs/{job_id}", headers=users.headers("admin")).json()
    lines = {f["name"]: f["report"]["supersessions"] for f in job["files"]}
    assert all(f["status"] == "done" for f in job["files"]), job["files"]
    assert all("示例来访规定" in s for s in lines["示例来访规定.md"] + lines["示例来访工作办法.md"]), lines
    military = lines["示例军人优抚条例-2015.md"] + lines["示例军人优抚条例-2023.md"]
    assert all("示例军人优抚条例" in s for s in military), lines
    # each pair was reported with its second file, the one that made the older text superseded
    assert len(lines["示例来访规定.md"] + lines["示例来访工作办法.md"]) == 1, lines
    assert len(lines["示例军人优抚条例-2023.md"]) == 1, lines
