"""Rate limits shared by processes: two limiter instances on one database."""

from __future__ import annotations

from pathlib import Path

from vetbot.db import Base, create_db_engine, make_session_factory
from vetbot.ratelimit_db import limiter_for
from vetbot.settings import Settings


def test_two_limiters_on_one_database_share_the_limit(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'rl.db'}")
    Base.metadata.create_all(engine)
    sessions = make_session_factory(engine)
    settings = Settings(data_dir=tmp_path, rate_limit_backend="database")
    now = [1000.0]
    a = limiter_for(settings, "bot:messages", 3, 60.0, sessions, clock=lambda: now[0])
    b = limiter_for(settings, "bot:messages", 3, 60.0, sessions, clock=lambda: now[0])
    assert a.hit(42) and b.hit(42) and a.hit(42)
    assert not b.hit(42)  # the fourth event, in either process, is over the limit
    assert a.exceeded(42) and b.exceeded(42)
    assert b.hit(7)  # keys are separate
    assert a.should_warn(42) and not b.should_warn(42)  # warned once across processes
    other = limiter_for(settings, "login:account", 3, 60.0, sessions, clock=lambda: now[0])
    assert other.hit(42)  # scopes are separate limiters
    now[0] += 61.0
    assert b.hit(42)  # the window slid
    b.record(("user", "1.2.3.4"))
    a.reset(("user", "1.2.3.4"))
    assert not a.exceeded(("user", "1.2.3.4"))
    engine.dispose()


def test_memory_is_the_default_backend(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.rate_limit_backend == "memory"
    limiter = limiter_for(settings, "bot:messages", 1, 60.0, None)
    assert limiter.hit("k") and not limiter.hit("k")
    assert len(limiter) == 1


def test_a_durable_limiter_is_kept_in_the_database_whatever_the_backend(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'rl.db'}")
    Base.metadata.create_all(engine)
    sessions = make_session_factory(engine)
    settings = Settings(data_dir=tmp_path)
    assert settings.rate_limit_backend == "memory"
    before = limiter_for(settings, "case-link:case", 2, 60.0, sessions, durable=True)
    before.record("TS-20261201-0001")
    before.record("TS-20261201-0001")
    # a new limiter (another process, or the same one restarted) sees the same count
    after = limiter_for(settings, "case-link:case", 2, 60.0, sessions, durable=True)
    assert after.exceeded("TS-20261201-0001") and len(after) == 0
    assert not limiter_for(settings, "case-link:case", 2, 60.0, sessions).exceeded("TS-20261201-0001")
    engine.dispose()
