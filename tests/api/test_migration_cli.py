"""Alembic revision 0003_web matches the models; the users/apikeys CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect

from api.app import create_app
from tests.api.support import FakeKnowledge
from vetbot.db import Base, create_db_engine, make_session_factory, upgrade

WEB_TABLES = {"web_users", "api_keys", "audit_log", "ingest_jobs"}


def test_migration_creates_exactly_the_model_schema(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import api.models  # noqa: F401

    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url, "web@head")
    engine = create_db_engine(url)
    assert set(inspect(engine).get_table_names()) >= WEB_TABLES
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    ours = [d for d in diff if _table_of(d) in WEB_TABLES]
    assert ours == []


def _table_of(diff: object) -> str | None:
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:] if isinstance(item, tuple) else ():
        name = getattr(part, "name", None)
        table = getattr(part, "table", None)
        if table is not None and getattr(table, "name", None):
            return str(table.name)
        if isinstance(part, str) and part in WEB_TABLES:
            return part
        if name in WEB_TABLES:
            return str(name)
    return None


def test_users_and_apikeys_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from vetbot.cli import main
    from vetbot.settings import Settings

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("VETBOT_DATABASE_URL", url)
    monkeypatch.setenv("VETBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VETBOT_SECRET_KEY", "cli-test-secret-0123456789abcdef0123456789")
    # A fresh database is migrated by the command itself (it used to ask for `vetbot db upgrade`).
    assert main(["users", "list"]) == 0
    assert "数据库结构已自动升级" in capsys.readouterr().err

    assert main(["users", "add", "chief", "--role", "admin", "--password", "first-admin-pw"]) == 0
    assert main(["users", "add", "chief", "--role", "admin", "--password", "first-admin-pw"]) == 1
    assert "已存在" in capsys.readouterr().err
    assert main(["users", "add", "weak", "--role", "staff", "--password", "short"]) == 1
    assert "至少需要 8 个字符" in capsys.readouterr().err
    assert main(["users", "list"]) == 0
    assert "chief\tadmin\t启用" in capsys.readouterr().out
    assert main(["apikeys", "create", "kiosk", "--role", "staff"]) == 0
    key = capsys.readouterr().out.strip().splitlines()[-1]
    assert key.startswith("vbk_")

    settings = Settings(_env_file=None, database_url=url, data_dir=tmp_path / "data")  # type: ignore[call-arg]
    assert settings.secret_key.get_secret_value().startswith("cli-test")
    app = create_app(
        settings, knowledge=FakeKnowledge(), session_factory=make_session_factory(create_db_engine(url))
    )
    with TestClient(app) as c:
        assert c.get("/v1/search", params={"q": "优待证"}, headers={"X-API-Key": key}).status_code == 200
        r = c.post("/v1/auth/token", data={"username": "chief", "password": "first-admin-pw"})
        assert r.status_code == 200 and r.json()["role"] == "admin"
    assert main(["apikeys", "revoke", "kiosk"]) == 0
    assert main(["users", "disable", "chief"]) == 0
