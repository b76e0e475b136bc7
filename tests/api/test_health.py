"""/healthz, /readyz while models load, after a failure and with an empty index; /metrics; docs."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.api.support import FakeKnowledge, Users
from vetbot.errors import KnowledgeBaseError
from vetbot.settings import Settings


def test_ready_when_services_are_injected(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json()["documents"] == 2
    assert "vetbot_ready 1.0" in client.get("/metrics").text


def test_not_ready_while_loading_then_ready(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, session_factory: Any, users: Users
) -> None:
    release = threading.Event()
    fake = FakeKnowledge()

    def slow_from_settings(cls: Any, settings: Settings, **_: Any) -> Any:
        assert release.wait(30)
        return fake

    fake.warm_up = lambda: None  # type: ignore[attr-defined]
    monkeypatch.setattr("knowledge.service.KnowledgeService.from_settings", classmethod(slow_from_settings))
    app = create_app(settings, session_factory=session_factory)
    with TestClient(app) as c:
        assert c.get("/healthz").status_code == 200
        r = c.get("/readyz")
        assert r.status_code == 503 and r.json()["reason"] == "正在加载向量模型和政策知识库，请稍候。"
        busy = c.get("/v1/search", params={"q": "优待证"}, headers=users.headers("staff"))
        assert busy.status_code == 503 and "正在加载" in busy.json()["detail"]
        assert busy.headers["retry-after"]
        release.set()
        assert app.state.runtime.wait_loaded(30)
        assert c.get("/readyz").status_code == 200
        assert c.get("/v1/search", params={"q": "优待证"}, headers=users.headers("staff")).status_code == 200


def test_load_failure_is_reported(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, session_factory: Any
) -> None:
    def broken(cls: Any, settings: Settings, **_: Any) -> Any:
        raise KnowledgeBaseError("disk on fire", user_message="政策知识库暂时不可用，请稍后再试。")

    monkeypatch.setattr("knowledge.service.KnowledgeService.from_settings", classmethod(broken))
    app = create_app(settings, session_factory=session_factory)
    with TestClient(app) as c:
        assert app.state.runtime.wait_loaded(30)
        r = c.get("/readyz")
        assert r.status_code == 503 and r.json()["reason"] == "政策知识库暂时不可用，请稍后再试。"
        assert "disk on fire" not in r.text


def test_empty_knowledge_base_is_not_ready(settings: Settings, session_factory: Any) -> None:
    empty = FakeKnowledge()
    empty.store.documents.clear()
    with TestClient(create_app(settings, knowledge=empty, session_factory=session_factory)) as c:
        r = c.get("/readyz")
        assert r.status_code == 503 and "vetbot ingest" in r.json()["reason"]


def test_metrics_use_route_templates_not_raw_paths(client: TestClient, users: Users) -> None:
    client.get("/v1/documents/jinan-transit", headers=users.headers("staff"))
    client.get("/v1/documents/card-rules", headers=users.headers("staff"))
    client.get("/no/such/path/123")
    text = client.get("/metrics").text
    assert 'route="/v1/documents/{doc_id}",status="200"} 2.0' in text
    assert "jinan-transit" not in text
    assert 'route="<unmatched>"' in text


def test_openapi_docs_are_served(client: TestClient) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200
    # Swagger UI is served from local assets, never from a CDN (the app runs offline).
    assert "/docs/assets/swagger-ui-bundle.js" in docs.text and "cdn" not in docs.text.lower()
    assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200
    spec = client.get("/openapi.json").json()
    for path in (
        "/v1/ask",
        "/v1/search",
        "/v1/documents",
        "/v1/documents/{doc_id}",
        "/v1/jobs/{job_id}",
        "/v1/complaints",
        "/v1/complaints/{ticket}",
        "/v1/complaints/{ticket}/actions",
        "/v1/ask/{log_id}/rating",
        "/v1/auth/token",
    ):
        assert path in spec["paths"], path


def test_security_headers(client: TestClient) -> None:
    r = client.get("/login")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"


def test_readyz_names_the_worker_instance_not_its_pid(client: TestClient) -> None:
    first = client.get("/readyz").json()
    assert first["status"] == "ready"
    assert len(first["instance"]) == 8 and first["instance"] != str(os.getpid())
    assert client.get("/readyz").json()["instance"] == first["instance"]
