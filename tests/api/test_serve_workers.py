"""``vetbot serve --workers N``: each uvicorn worker builds its app from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI

from api.cli import register
from api.commands import worker_app


def test_worker_app_reads_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VETBOT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VETBOT_TELEGRAM_TOKEN", "")
    app = worker_app()
    assert isinstance(app, FastAPI)
    assert app.state.runtime.settings.data_dir == tmp_path
    assert app.state.telegram_application is None  # the bot runs once, as `vetbot bot`


def test_serve_takes_a_worker_count() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    assert parser.parse_args(["serve", "--workers", "3"]).workers == 3
    assert parser.parse_args(["serve"]).workers == 1
