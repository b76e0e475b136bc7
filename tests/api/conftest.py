"""Fixtures of the API tests: settings on a temp dir, a migrated-like SQLite DB, users, clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.security import create_token
from api.users import UserService
from tests.api.support import FakeKnowledge, Users
from vetbot.db import Base, create_db_engine, make_session_factory
from vetbot.settings import Settings

DATA = Path(__file__).resolve().parent / "data"
PASSWORD = "correct-horse-9"
SECRET = "test-secret-key-for-api-tests-only-0123456789"


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings isolated from the environment and any .env file."""
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "database_url": f"sqlite:///{tmp_path / 'vetbot.db'}",
        "secret_key": SECRET,
        "routing_file": DATA / "routing.yaml",
        "max_upload_mb": 1,
        "telegram_token": None,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def make_session_factory_for(settings: Settings) -> sessionmaker[Session]:
    """Engine + tables for the web app, the question log and the complaint store."""
    import api.models  # noqa: F401
    import complaints.models  # noqa: F401
    import knowledge.questionlog  # noqa: F401

    engine = create_db_engine(settings.sqlalchemy_url)
    Base.metadata.create_all(engine)
    return make_session_factory(engine)


@pytest.fixture(autouse=True)
def _cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id, with test-sized cost parameters (the defaults take ~0.1 s a hash)."""
    from argon2 import PasswordHasher

    import api.security

    hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(api.security, "_hasher", lambda: hasher)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def session_factory(settings: Settings) -> sessionmaker[Session]:
    return make_session_factory_for(settings)


@pytest.fixture
def user_service(session_factory: sessionmaker[Session]) -> UserService:
    return UserService(session_factory)


@pytest.fixture
def users(user_service: UserService) -> Users:
    """One user per role (two handlers, each matched to a routing-table handler) and their tokens."""
    specs = [
        ("staff", "staff", None, "济南市"),
        ("handler_jn", "handler", "h-jn", None),
        ("handler_yz", "handler", "h-yz", None),
        ("office", "office", None, None),
        ("admin", "admin", None, None),
    ]
    tokens = {}
    for name, role, handler_id, region in specs:
        user = user_service.create_user(
            name, PASSWORD, role, display_name=f"{name}-显示名", handler_id=handler_id, region=region
        )
        tokens[name] = create_token(SECRET, user_id=user.id, username=name, role=role, hours=1)
    return Users(tokens)


@pytest.fixture
def case_service(settings: Settings, session_factory: sessionmaker[Session]) -> Any:
    from complaints.routing import RoutingTable
    from complaints.service import CaseService

    return CaseService(session_factory, RoutingTable.load(settings.routing_file))


@pytest.fixture
def fake_knowledge() -> FakeKnowledge:
    return FakeKnowledge()


@pytest.fixture
def client(
    settings: Settings, fake_knowledge: FakeKnowledge, case_service: Any, session_factory: Any, users: Users
) -> Iterator[TestClient]:
    app = create_app(settings, knowledge=fake_knowledge, cases=case_service, session_factory=session_factory)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def anon_client(
    tmp_path: Path, fake_knowledge: FakeKnowledge, case_service: Any, session_factory: Any
) -> Iterator[TestClient]:
    """An app with anonymous asking enabled."""
    settings = make_settings(tmp_path, anonymous_ask=True)
    app = create_app(settings, knowledge=fake_knowledge, cases=case_service, session_factory=session_factory)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def real_client(
    settings: Settings, knowledge_service: Any, case_service: Any, session_factory: Any, users: Users
) -> Iterator[TestClient]:
    """The app over the real bundled knowledge service (slow tests): ``users`` are created first."""
    app = create_app(
        settings, knowledge=knowledge_service, cases=case_service, session_factory=session_factory
    )
    with TestClient(app) as c:
        yield c
