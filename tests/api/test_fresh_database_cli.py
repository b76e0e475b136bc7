"""On a fresh data directory the database commands bring the schema up to date themselves."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect

from vetbot.cli import main
from vetbot.db import create_db_engine, ensure_schema, upgrade


@pytest.fixture
def fresh_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("VETBOT_DATABASE_URL", url)
    monkeypatch.setenv("VETBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VETBOT_SECRET_KEY", "fresh-test-secret-0123456789abcdef0123456789")
    monkeypatch.delenv("VETBOT_CASES_ACTOR", raising=False)
    return url


def test_first_users_add_works_without_db_upgrade(fresh_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["users", "add", "chief", "--role", "admin", "--password", "first-admin-pw"]) == 0
    out, err = capsys.readouterr()
    assert "已创建用户 chief" in out and "已自动升级" in err
    assert main(["users", "list"]) == 0
    out, err = capsys.readouterr()
    assert "chief\tadmin" in out and "已自动升级" not in err  # once only


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["cases", "list"], "没有符合条件的案件"),
        (["apikeys", "list"], ""),
        (["users", "list"], "还没有用户"),
    ],
)
def test_database_commands_migrate_a_fresh_database(
    fresh_env: str, argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert expected in out and "Traceback" not in err
    assert inspect(create_db_engine(fresh_env)).has_table("complaint_cases")


def test_ensure_schema_applies_migrations_only_when_behind(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'e.db'}"
    upgrade(url, "web@head")  # a database left part-way (one branch only)
    assert ensure_schema(url) is True
    assert ensure_schema(url) is False
    tables = set(inspect(create_db_engine(url)).get_table_names())
    assert {"web_users", "complaint_cases", "api_keys"} <= tables
