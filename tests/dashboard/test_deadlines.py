"""Overdue and due-soon cases per unit against the 信访 deadlines, with an injected clock."""

from __future__ import annotations

from datetime import datetime, timedelta

from complaints.deadlines import deadline_report, running_deadline
from complaints.records import CaseRecord, load_case_records
from complaints.types import ComplaintIntake

from .conftest import CST

NOW = datetime(2026, 5, 20, 12, 0, tzinfo=CST)


def _rec(ticket: str, unit: str, *, created_days_ago: float, accepted_days_ago: float | None = None,
         status: str = "待受理", extended: bool = False, concluded: bool = False, closed: bool = False,
         handler: str = "h1") -> CaseRecord:
    created = NOW - timedelta(days=created_days_ago)
    accepted = NOW - timedelta(days=accepted_days_ago) if accepted_days_ago is not None else None
    return CaseRecord(
        ticket=ticket, theme="card", region="济南市", text="", status=status, created_at=created,
        accepted_at=accepted, concluded_at=NOW - timedelta(days=1) if concluded else None, closed=closed,
        extended=extended, unit=unit, handler_id=handler,
    )


def test_overdue_and_due_soon_per_unit() -> None:
    recs = [
        _rec("A-accept-overdue", "U1", created_days_ago=16),          # 15-day acceptance missed
        _rec("A-accept-soon", "U1", created_days_ago=13),             # 2 days left
        _rec("A-accept-fine", "U1", created_days_ago=5),              # 10 days left
        _rec("A-conclude-overdue", "U2", created_days_ago=70, accepted_days_ago=61, status="已受理"),
        _rec("A-conclude-soon", "U2", created_days_ago=60, accepted_days_ago=58, status="办理中"),
        # extended by 30 days: due 90 days after acceptance, so 61 days is neither overdue nor soon
        _rec("A-extended", "U2", created_days_ago=70, accepted_days_ago=61, status="办理中", extended=True),
        _rec("A-extended-overdue", "U2", created_days_ago=100, accepted_days_ago=95, status="办理中",
             extended=True),
        _rec("A-done", "U1", created_days_ago=100, accepted_days_ago=95, status="已办结", concluded=True),
        _rec("A-rejected", "U1", created_days_ago=100, status="不予受理", closed=True),
        _rec("A-other-handler", "U1", created_days_ago=20, handler="h2"),
    ]
    report = deadline_report(recs, NOW, due_soon_days=3)
    by_key = {(u.unit, u.handler_id): u for u in report}
    u1, u2, u1h2 = by_key[("U1", "h1")], by_key[("U2", "h1")], by_key[("U1", "h2")]
    assert [i.ticket for i in u1.overdue] == ["A-accept-overdue"]
    assert [i.ticket for i in u1.due_soon] == ["A-accept-soon"]
    assert u1.open_count == 3  # concluded and rejected cases carry no deadline
    # Most overdue first.
    assert [i.ticket for i in u2.overdue] == ["A-extended-overdue", "A-conclude-overdue"]
    assert [i.ticket for i in u2.due_soon] == ["A-conclude-soon"]
    assert u2.overdue[1].stage == "conclude" and u2.overdue[1].stage_label == "办结"
    assert u1.overdue[0].stage == "accept" and u1.overdue[0].days_left == -1.0
    assert u2.due_soon[0].days_left == 2.0
    assert [i.ticket for i in u1h2.overdue] == ["A-other-handler"]
    # Units with more overdue cases come first.
    assert report[0] is u2
    # A wider window catches the case with 10 days left too.
    wide = {(u.unit, u.handler_id): u for u in deadline_report(recs, NOW, due_soon_days=10)}
    assert {i.ticket for i in wide[("U1", "h1")].due_soon} == {"A-accept-soon", "A-accept-fine"}


def test_stored_deadlines_take_precedence() -> None:
    rec = CaseRecord(ticket="S", theme="card", region="济南市", text="", status="已受理",
                     created_at=NOW - timedelta(days=30), accepted_at=NOW - timedelta(days=20),
                     conclude_due=NOW + timedelta(days=1))
    assert running_deadline(rec) == ("conclude", NOW + timedelta(days=1))
    assert running_deadline(CaseRecord(ticket="P", theme="card", region="济南市", text="", status="待受理",
                                       created_at=NOW)) == ("accept", NOW + timedelta(days=15))


def test_deadlines_of_cases_in_the_real_store(service, session_factory, clock) -> None:
    """Cases moved through CaseService: our report agrees with service.overdue()/due_soon()."""
    t0 = clock.now

    def file(region: str, day: float) -> str:
        clock.now = t0 + timedelta(days=day)
        return service.intake(ComplaintIntake(text="优待证迟迟不发", channel="web", region=region,
                                              theme="card")).ticket

    jn_late = file("济南市", 0)              # never accepted
    jn_soon = file("济南市", 5)              # acceptance due at day 20
    yz_acc = file("扬州市", 0)               # accepted day 2, conclusion due day 62
    yz_ext = file("扬州市", 0)               # accepted day 2, extended +30: due day 92
    jh_done = file("金华市", 0)
    handler_yz = service.handler_actor("yz-yfk")
    handler_jh = service.handler_actor("jh-fw")
    clock.now = t0 + timedelta(days=2)
    service.accept(yz_acc, handler_yz)
    service.accept(yz_ext, handler_yz)
    service.accept(jh_done, handler_jh)
    clock.now = t0 + timedelta(days=30)
    service.extend(yz_ext, handler_yz, days=30, reason="需要协调多个部门")
    service.conclude(jh_done, handler_jh, result="已办结")

    now = t0 + timedelta(days=18)
    with session_factory() as session:
        recs = load_case_records(session)
    names = {h.id: h.name for h in service.routing.handlers.values()}
    report = {u.handler_id: u for u in deadline_report(recs, now, handler_names=names)}
    assert report["jn-yfk"].handler_name == "王建国"
    assert [i.ticket for i in report["jn-yfk"].overdue] == [jn_late]
    assert [i.ticket for i in report["jn-yfk"].due_soon] == [jn_soon]
    assert report["jn-yfk"].unit == "济南市退役军人事务局优抚科"

    later = t0 + timedelta(days=63)
    report = {u.handler_id: u for u in deadline_report(recs, later)}
    assert [i.ticket for i in report["yz-yfk"].overdue] == [yz_acc]
    assert report["yz-yfk"].due_soon == []          # the extended case is due on day 92
    assert "jh-fw" not in report                    # concluded: no deadline runs
    ours = sorted(i.ticket for u in report.values() for i in u.overdue)
    assert ours == sorted(v.ticket for v in service.overdue(now=later))
    soon_at = t0 + timedelta(days=90)
    ours_soon = sorted(i.ticket for u in deadline_report(recs, soon_at) for i in u.due_soon)
    assert ours_soon == sorted(v.ticket for v in service.due_soon(days=3, now=soon_at)) == [yz_ext]
