"""README's first use, followed step by step as a new user would, each step a real process.

The commands are read from the files a user reads: the recipe of ``make run`` in the Makefile
(database, bundled knowledge base, ``vetbot serve``) and the ``.venv/bin/vetbot ...`` steps
of README's quick start (first admin, demo data). They run as the installed ``vetbot`` console
script in a fresh directory with no ``VETBOT_*`` settings, except a free loopback port and,
for the bot, a token and the address of a fake Bot API server (``tests.bot.fake_telegram``).

The user then logs in over HTTP, sees an empty and then a filled office dashboard, restarts
the server with ``VETBOT_TELEGRAM_TOKEN`` set, as README says, and asks the bot a question.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.bot.fake_telegram import FakeTelegramServer
from vetbot.settings import PROJECT_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

VETBOT = Path(sys.executable).with_name("vetbot")
TOKEN = "123456:README-TOKEN-abcdefghijklmnopqrstuvwxyz"
VETERAN = 5550777
PASSWORD = "first-admin-password"
CITATION = re.compile(r"《[^》]+》")


def make_run_recipe() -> list[list[str]]:
    """Arguments of each ``$(BIN)/vetbot`` command of the Makefile's ``run`` target, in order."""
    lines = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("run:"))
    recipe = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        argv = shlex.split(line.strip())
        assert argv[0] == "$(BIN)/vetbot", f"make run runs more than vetbot commands: {line!r}"
        recipe.append(argv[1:])
    return recipe


def readme_steps() -> dict[str, list[str]]:
    """README's ``.venv/bin/vetbot ...`` commands, keyed by subcommand (``users``, ``demo-data``)."""
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    quick_start = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = [shlex.split(c) for c in re.findall(r"`\.venv/bin/vetbot ([^`]+)`", quick_start)]
    return {argv[0]: argv for argv in commands}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FreshInstall:
    """A fresh working directory and the environment a new user's shell would have."""

    def __init__(self, home: Path) -> None:
        self.home = home
        # `make run` passes paths relative to the clone (knowledge/policies).
        (home / "knowledge").symlink_to(PROJECT_ROOT / "knowledge")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("VETBOT_")}
        # The checked-out code, as the editable install of `make setup` would run it.
        self.env["PYTHONPATH"] = str(PROJECT_ROOT)
        self.env["VETBOT_PORT"] = str(free_port())
        self.base_url = f"http://127.0.0.1:{self.env['VETBOT_PORT']}"

    def vetbot(self, argv: list[str], stdin: str | None = None) -> str:
        """Run ``vetbot ARGV`` to completion; its output (AssertionError with it on failure)."""
        proc = subprocess.run(
            [str(VETBOT), *argv],
            cwd=self.home,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=300,
        )
        output = proc.stdout + proc.stderr
        assert proc.returncode == 0, f"vetbot {shlex.join(argv)} exited {proc.returncode}:\n{output}"
        return output

    @contextmanager
    def serving(self, argv: list[str], extra_env: Mapping[str, str] | None = None) -> Iterator[Path]:
        """``vetbot ARGV`` (the server) in the background until /healthz answers; yields its log.

        Stops it with SIGINT (Ctrl+C) afterwards and checks that it exits cleanly.
        """
        log = self.home / f"serve-{len(list(self.home.glob('serve-*.log')))}.log"
        with log.open("w", encoding="utf-8") as out:
            proc = subprocess.Popen(
                [str(VETBOT), *argv],
                cwd=self.home,
                # Line by line, as on a terminal, so the log can be read while it runs.
                env={**self.env, "PYTHONUNBUFFERED": "1", **(extra_env or {})},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + 120
            while True:
                assert proc.poll() is None, f"vetbot serve exited {proc.returncode}:\n{log.read_text()}"
                assert time.monotonic() < deadline, f"vetbot serve did not answer:\n{log.read_text()}"
                try:
                    if httpx.get(f"{self.base_url}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.3)
            yield log
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        assert proc.returncode == 0, f"vetbot serve exited {proc.returncode} on Ctrl+C:\n{log.read_text()}"

    def wait_ready(self, timeout: float = 240) -> dict[str, object]:
        """Poll /readyz until the models and the knowledge base are loaded; its JSON."""
        deadline = time.monotonic() + timeout
        while True:
            r = httpx.get(f"{self.base_url}/readyz", timeout=5)
            if r.status_code == 200:
                return dict(r.json())
            assert time.monotonic() < deadline, f"never ready: {r.text}"
            time.sleep(1)


@contextmanager
def logged_in(base_url: str, username: str, password: str) -> Iterator[httpx.Client]:
    """A client logged in through the web login form (session cookie)."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        r = client.post("/login", data={"username": username, "password": password, "next": "/dashboard"})
        assert r.status_code == 303, r.text
        assert r.headers["location"] == "/dashboard"
        yield client


def dashboard_total(client: httpx.Client) -> int:
    """Cases the office dashboard counts (its page renders; the JSON gives the number)."""
    page = client.get("/dashboard")
    assert page.status_code == 200, page.text
    assert "投诉" in page.text
    r = client.get("/v1/dashboard/aggregates", params={"period": "month"})
    assert r.status_code == 200, r.text
    return int(r.json()["total"])


def test_readme_first_use_from_a_fresh_clone(tmp_path: Path) -> None:
    install = FreshInstall(tmp_path)
    recipe, steps = make_run_recipe(), readme_steps()
    assert recipe[-1][0] == "serve", recipe
    assert {"users", "demo-data"} <= steps.keys(), steps

    # --- `make run`: migrations, bundled knowledge base, the server -----------------------
    for argv in recipe[:-1]:
        install.vetbot(argv)
    policies = sorted((PROJECT_ROOT / "knowledge" / "policies").glob("*.md"))
    with install.serving(recipe[-1]) as log:
        assert "users add admin --role admin" in log.read_text(encoding="utf-8")  # the hint for step 2
        # The pages that need the case service wait for the models anyway (Runtime's lock).
        ready = install.wait_ready()
        assert ready["documents"] == len(policies), ready

        # --- README: the first admin (the password typed at the prompt; here on stdin) ------
        out = install.vetbot(steps["users"], stdin=f"{PASSWORD}\n")
        assert "admin" in out
        username = steps["users"][2]
        with logged_in(install.base_url, username, PASSWORD) as client:
            assert dashboard_total(client) == 0
            # --- README: demo data for the dashboard ---------------------------------------
            out = install.vetbot(steps["demo-data"])
            generated = re.search(r"已生成演示投诉 (\d+) 件", out)
            assert generated and int(generated.group(1)) > 0, out
            assert dashboard_total(client) > 0
            search = client.get("/search", params={"q": "优待证乘坐公交"})
            assert search.status_code == 200 and CITATION.search(search.text), search.text[:2000]

    # --- README: VETBOT_TELEGRAM_TOKEN runs the bot alongside ---------------------------------
    telegram = FakeTelegramServer().start()
    try:
        bot_env = {"VETBOT_TELEGRAM_TOKEN": TOKEN, "VETBOT_TELEGRAM_BASE_URL": telegram.base_url}
        with install.serving(recipe[-1], bot_env):
            api = telegram.api

            def replies() -> list[str]:
                return [m.get("text", "") for m in api.sent if m["chat"]["id"] == VETERAN]

            api.push(api.message_update(VETERAN, "/start"))
            api.wait_for(lambda: len(replies()) >= 1, timeout=240)
            assert "不构成法律意见" in replies()[0]
            api.push(api.message_update(VETERAN, "退役军人乘坐火车有什么优待？"))
            api.wait_for(lambda: any("政策依据" in t for t in replies()[1:]), timeout=120)
            answer = next(t for t in replies()[1:] if "政策依据" in t)
            assert CITATION.search(answer), answer
            with logged_in(install.base_url, username, PASSWORD) as client:
                assert dashboard_total(client) > 0  # same database, web and bot in one process
    finally:
        telegram.stop()
