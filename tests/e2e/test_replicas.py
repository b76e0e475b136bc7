"""Two API replicas over one PostgreSQL and one Chroma server (issue 13), each a real process.

Each replica is ``vetbot serve --no-bot`` in its own empty data directory, sharing only
``VETBOT_DATABASE_URL`` (a fresh schema on the throwaway cluster of ``make test``) and
``VETBOT_CHROMA_URL`` (a ``chroma run`` on loopback). A document uploaded through replica 1
is cited by replica 2's answer, which picks up the new index generation without a restart;
a complaint filed on replica 2 is visible on replica 1. Every wait is bounded.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.db_support import postgres_schema
from tests.knowledge.test_chroma_server import chroma_url  # noqa: F401  (module fixture)
from vetbot.settings import PROJECT_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(900)]

VETBOT = Path(sys.executable).with_name("vetbot")
TITLE = "示例市退役军人游览优待办法"
POLICY = f"""---
title: {TITLE}
issuer: 示例市退役军人事务局
date_issued: 2026-01-01
region: 全国
topics: [culture_tourism]
---
# {TITLE}
## 第一条 示例湖景区
退役军人凭优待证免费游览示例湖景区，无需提前预约，节假日同样适用。
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Replica:
    """One ``vetbot serve`` process with its own data directory."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        home.mkdir(parents=True)
        self.home = home
        port = _free_port()
        self.env = {**env, "VETBOT_DATA_DIR": str(home / "data"), "VETBOT_PORT": str(port)}
        self.url = f"http://127.0.0.1:{port}"

    def vetbot(self, *argv: str) -> str:
        proc = subprocess.run([str(VETBOT), *argv], cwd=self.home, env=self.env, capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout

    @contextmanager
    def serving(self) -> Iterator[None]:
        log = self.home / "serve.log"
        with log.open("w", encoding="utf-8") as out:
            proc = subprocess.Popen([str(VETBOT), "serve", "--no-bot", "--host", "127.0.0.1"], cwd=self.home,
                                    env={**self.env, "PYTHONUNBUFFERED": "1"}, stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 300
            while True:
                assert proc.poll() is None, f"serve exited {proc.returncode}:\n{log.read_text()}"
                assert time.monotonic() < deadline, f"serve not ready:\n{log.read_text()}"
                try:
                    if httpx.get(f"{self.url}/readyz", timeout=5).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.5)
            yield
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def _poll(fn: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


def test_an_upload_on_one_replica_is_cited_by_the_other(tmp_path: Path, chroma_url: str) -> None:  # noqa: F811
    with postgres_schema("rep") as db_url:
        base = {k: v for k, v in os.environ.items() if not k.startswith("VETBOT_")}
        base.update(PYTHONPATH=str(PROJECT_ROOT), VETBOT_DATABASE_URL=db_url, VETBOT_CHROMA_URL=chroma_url,
                    VETBOT_KB_REFRESH_SECONDS="0.2")
        one, two = Replica(tmp_path / "one", base), Replica(tmp_path / "two", base)
        created = one.vetbot("apikeys", "create", "replica-test", "--role", "admin")
        match = re.search(r"vbk_\S+", created)
        assert match, created
        headers = {"X-API-Key": match.group(0)}

        with one.serving(), two.serving():
            question = {"question": "退役军人游览示例湖景区需要买门票吗？"}
            before = httpx.post(f"{two.url}/v1/ask", json=question, headers=headers, timeout=60).json()
            assert TITLE not in {s["title"] for s in before.get("sources", [])}

            r = httpx.post(f"{one.url}/v1/documents", files=[("files", ("lake.md", POLICY.encode()))],
                           headers=headers, timeout=60)
            assert r.status_code == 202, r.text
            job_url = f"{one.url}/v1/jobs/{r.json()['job_id']}"
            job = _poll(lambda: (j := httpx.get(job_url, headers=headers, timeout=30).json())["status"]
                        in ("done", "failed") and j, 180, "the upload job")
            assert job["status"] == "done", job

            def cited() -> dict[str, Any] | None:
                body = httpx.post(f"{two.url}/v1/ask", json=question, headers=headers, timeout=60).json()
                titles = {s["title"] for s in body.get("sources", [])}
                return body if TITLE in titles else None

            answer = _poll(cited, 30, "replica 2 to cite the uploaded document")
            assert not answer["refused"] and "示例湖" in answer["answer"]

            filed = httpx.post(f"{two.url}/v1/complaints", headers=headers, timeout=60,
                               json={"text": "示例湖景区不认优待证，要求购票。", "channel": "phone",
                                     "region": "济南市"})
            assert filed.status_code == 201, filed.text
            ticket = filed.json()["ticket"]
            seen = httpx.get(f"{one.url}/v1/complaints/{ticket}", headers=headers, timeout=30)
            assert seen.status_code == 200 and seen.json()["ticket"] == ticket
