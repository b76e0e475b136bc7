"""Issue 12 item 5: login cannot be used to exhaust memory or to lock real users out."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import api.security
from api.app import create_app
from tests.api.conftest import PASSWORD, make_settings
from tests.api.support import Users


def _client(
    tmp_path: Path, fake_knowledge: Any, case_service: Any, session_factory: Any, **kw: Any
) -> TestClient:
    settings = make_settings(tmp_path, **kw)
    app = create_app(settings, knowledge=fake_knowledge, cases=case_service, session_factory=session_factory)
    return TestClient(app)


def _login(client: TestClient, username: str, password: str, ip: str | None = None) -> int:
    headers = {"X-Forwarded-For": ip} if ip else {}
    return client.post(
        "/v1/auth/token", data={"username": username, "password": password}, headers=headers
    ).status_code


def test_forwarded_address_is_believed_only_from_a_configured_proxy(
    tmp_path: Path, fake_knowledge: Any, case_service: Any, session_factory: Any, users: Users
) -> None:
    # Without a trusted proxy the header is ignored: spoofed addresses share the peer's budget.
    with _client(tmp_path, fake_knowledge, case_service, session_factory) as client:
        for i in range(5):
            assert _login(client, "office", "wrong-password", ip=f"10.0.0.{i}") == 401
        assert _login(client, "office", PASSWORD, ip="10.0.0.99") == 429


def test_a_stranger_cannot_lock_a_real_user_out(
    tmp_path: Path, fake_knowledge: Any, case_service: Any, session_factory: Any, users: Users
) -> None:
    with _client(
        tmp_path, fake_knowledge, case_service, session_factory, trusted_proxies=["testclient"]
    ) as client:
        for _ in range(5):
            assert _login(client, "office", "wrong-password", ip="198.51.100.9") == 401
        assert _login(client, "office", PASSWORD, ip="198.51.100.9") == 429
        assert _login(client, "office", PASSWORD, ip="203.0.113.20") == 200


def test_per_address_budget_stops_a_password_sprayer(
    tmp_path: Path, fake_knowledge: Any, case_service: Any, session_factory: Any, users: Users
) -> None:
    with _client(
        tmp_path,
        fake_knowledge,
        case_service,
        session_factory,
        trusted_proxies=["testclient"],
        login_failures_per_address=4,
    ) as client:
        for i in range(4):
            assert _login(client, f"nobody{i}", "wrong-password", ip="198.51.100.7") == 401
        assert _login(client, "office", PASSWORD, ip="198.51.100.7") == 429
        assert _login(client, "office", PASSWORD, ip="198.51.100.8") == 200


def test_global_failure_flood_skips_the_decoy_hash_for_unknown_users(
    tmp_path: Path,
    fake_knowledge: Any,
    case_service: Any,
    session_factory: Any,
    users: Users,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decoys: list[int] = []
    real_dummy = api.security.dummy_verify
    monkeypatch.setattr("api.users.dummy_verify", lambda: decoys.append(1) or real_dummy())
    with _client(
        tmp_path,
        fake_knowledge,
        case_service,
        session_factory,
        trusted_proxies=["testclient"],
        login_failures_global=3,
    ) as client:
        for i in range(6):
            assert _login(client, f"random{i}", "wrong-password", ip=f"192.0.2.{i}") == 401
        assert len(decoys) == 3
        assert _login(client, "office", PASSWORD, ip="192.0.2.200") == 200  # real users still get in


def test_concurrent_hashing_is_bounded(
    tmp_path: Path,
    fake_knowledge: Any,
    case_service: Any,
    session_factory: Any,
    users: Users,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    running, peak, lock = 0, 0, threading.Lock()
    real_hasher = api.security._hasher()

    class SlowHasher:
        def verify(self, h: str, p: str) -> bool:
            nonlocal running, peak
            with lock:
                running += 1
                peak = max(peak, running)
            time.sleep(0.05)
            with lock:
                running -= 1
            return bool(real_hasher.verify(h, p))

        def hash(self, p: str) -> str:
            return str(real_hasher.hash(p))

    monkeypatch.setattr(api.security, "_hasher", lambda: SlowHasher())
    with _client(
        tmp_path, fake_knowledge, case_service, session_factory, login_max_concurrent_hashes=2
    ) as client, ThreadPoolExecutor(12) as pool:
        codes = list(pool.map(lambda i: _login(client, f"u{i}", "wrong-password"), range(12)))
    assert set(codes) <= {401, 429}
    assert peak <= 2
