"""CaseService on a real database (SQLite and PostgreSQL): intake, lifecycle, privacy, queries."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from complaints import lifecycle as lc
from complaints.models import Case, CaseEvent, TicketCounter
from complaints.notices import Notice
from complaints.routing import RoutingTable
from complaints.service import CaseService
from complaints.types import Actor, Attachment, CaseFilter, ComplaintIntake
from vetbot.errors import (
    CaseError,
    InvalidInputError,
    InvalidTransitionError,
    NotFoundError,
    PermissionDeniedError,
)

from .conftest import (
    ADMIN,
    CARD,
    ID_CARD,
    OFFICE,
    PHONE,
    SENSITIVE,
    T0,
    FailingNotifier,
    FakeClock,
    KeywordClassifier,
    RecordingNotifier,
    handler,
)
from .conftest import file_case as _intake

TICKET_RE = re.compile(r"^TS-\d{8}-\d{4}$")


# ------------------------------------------------------------------------------------ intake


def test_intake_commits_numbers_routes_and_notifies_handler(
    service: CaseService, session_factory: Callable[[], Session], notifier: RecordingNotifier
) -> None:
    view = service.intake(
        ComplaintIntake(
            text=SENSITIVE,
            channel="telegram",
            complainant_chat_id=555,
            complainant_name="赵老兵",
            complainant_phone=PHONE,
            region="济南",
            theme="card",
            attachments=[
                Attachment(file_id="AgAD1", kind="photo", mime="image/jpeg", size=2048, name="证明.jpg")
            ],
        )
    )
    assert TICKET_RE.match(view.ticket)
    assert view.ticket == "TS-20260302-0001"
    assert view.status == lc.PENDING
    assert (view.assigned_handler_id, view.assigned_unit) == ("jn-a", "济南市退役军人事务局优抚科")
    assert view.region == "济南市"
    assert view.accept_due == T0 + timedelta(days=15)
    assert view.attachments[0].file_id == "AgAD1" and view.attachments[0].size == 2048
    assert [e.action for e in view.events] == ["intake", "assign"]
    # committed: a brand-new session sees it
    with session_factory() as s:
        row = s.scalars(select(Case).where(Case.ticket == view.ticket)).one()
        assert row.text == SENSITIVE and row.complainant_phone == PHONE
        assert row.attachments[0]["name"] == "证明.jpg"
    handler_notices = notifier.to("handler")
    assert len(handler_notices) == 1
    assert handler_notices[0].chat_id == 1001 and handler_notices[0].ticket == view.ticket
    assert notifier.to("complainant") == []  # the channel shows the ticket itself
    second = _intake(service, "第二件优待证投诉")
    assert second == "TS-20260302-0002"


def test_intake_classifies_when_theme_missing(
    session_factory: Callable[[], Session], routing: RoutingTable, clock: FakeClock
) -> None:
    classifier = KeywordClassifier()
    svc = CaseService(session_factory, routing, classifier=classifier, clock=clock)
    view = svc.intake(ComplaintIntake(text="扬州坐公交不给免费", region="扬州市", complainant_chat_id=1))
    assert view.theme == "transit" and view.theme_label
    assert view.assigned_handler_id == "yz-a"
    assert classifier.calls == ["扬州坐公交不给免费"]
    explicit = svc.intake(ComplaintIntake(text="扬州坐公交不给免费", region="扬州市", theme="housing"))
    assert explicit.theme == "housing" and len(classifier.calls) == 1
    with pytest.raises(InvalidInputError):
        svc.intake(ComplaintIntake(text="x", theme="nonsense"))
    with pytest.raises(InvalidInputError) as err:
        svc.intake(ComplaintIntake(text="   "))
    assert "不能为空" in err.value.user_message


def test_group_assignment_goes_to_least_loaded_member(service: CaseService) -> None:
    first = service.get(_intake(service, "济南公交问题一", theme="transit"))
    second = service.get(_intake(service, "济南公交问题二", theme="transit"))
    third = service.get(_intake(service, "济南公交问题三", theme="transit"))
    assert first.assigned_handler_id == "jn-b"  # tie: first member
    assert second.assigned_handler_id == "jn-c"
    assert third.assigned_handler_id == "jn-b"


def test_fallback_and_unknown_region(service: CaseService) -> None:
    view = service.get(_intake(service, "住房问题", region=None, theme="housing"))
    assert view.region == "未知地区" and view.assigned_handler_id == "xfk"


# ------------------------------------------------------------------------------------ lifecycle


def test_happy_path_records_events_and_notifies_every_status_change(
    service: CaseService, routing: RoutingTable, notifier: RecordingNotifier, clock: FakeClock
) -> None:
    ticket = _intake(service)
    jn_a = handler(routing, "jn-a")
    clock.advance(days=2)
    accepted = service.accept(ticket, jn_a, note="材料齐全")
    assert accepted.status == lc.ACCEPTED
    assert accepted.accepted_at == T0 + timedelta(days=2)
    assert accepted.conclude_due == T0 + timedelta(days=62)
    clock.advance(days=1)
    assert service.start(ticket, jn_a).status == lc.IN_PROGRESS
    replied = service.reply(ticket, jn_a, "已联系制证中心，正在加急。")
    assert replied.status == lc.IN_PROGRESS
    extended = service.extend(ticket, jn_a, 20, "需要省里核实服役信息")
    assert extended.conclude_due == T0 + timedelta(days=82) and extended.extended
    clock.advance(days=10)
    done = service.conclude(ticket, jn_a, "已补办优待证并寄出。")
    assert done.status == lc.CONCLUDED and done.concluded_at == T0 + timedelta(days=13)
    rated = service.rate(ticket, 555, "满意")
    assert rated.rating == "满意"

    full = service.get(ticket, jn_a)
    assert [e.action for e in full.events] == [
        "intake",
        "assign",
        "accept",
        "start",
        "reply",
        "extend",
        "conclude",
        "rate",
    ]
    transitions = [
        (e.from_status, e.to_status) for e in full.events if e.action in ("accept", "start", "conclude")
    ]
    assert transitions == [
        (lc.PENDING, lc.ACCEPTED),
        (lc.ACCEPTED, lc.IN_PROGRESS),
        (lc.IN_PROGRESS, lc.CONCLUDED),
    ]
    assert full.events[2].actor_id == "jn-a" and full.events[2].note == "材料齐全"
    assert full.events[-1].actor_role == "complainant"

    to_complainant = notifier.to("complainant")
    assert [(n.action, n.status) for n in to_complainant] == [
        ("accept", lc.ACCEPTED),
        ("start", lc.IN_PROGRESS),
        ("reply", lc.IN_PROGRESS),
        ("extend", lc.IN_PROGRESS),
        ("conclude", lc.CONCLUDED),
    ]
    assert all(n.chat_id == 555 and n.ticket == ticket for n in to_complainant)
    assert "已联系制证中心" in to_complainant[2].text
    assert "需要省里核实服役信息" in to_complainant[3].text
    assert "满意" in to_complainant[4].text and "已补办" in to_complainant[4].text


def test_reject_and_transfer_close_the_case(
    service: CaseService, routing: RoutingTable, notifier: RecordingNotifier
) -> None:
    t1 = _intake(service)
    rejected = service.reject(t1, handler(routing, "jn-a"), "不属于本机关职权范围，已告知向法院起诉。")
    assert rejected.status == lc.REJECTED and rejected.closed_at is not None and rejected.due_at is None
    assert "不予受理" in notifier.to("complainant")[-1].text
    with pytest.raises(InvalidInputError):
        service.reject(_intake(service), handler(routing, "jn-a"), "  ")
    t2 = _intake(service)
    service.accept(t2, OFFICE)
    moved = service.transfer(t2, OFFICE, "济南市人力资源和社会保障局", note="涉及社保缴费")
    assert moved.status == lc.TRANSFERRED and moved.transferred_to == "济南市人力资源和社会保障局"
    assert "济南市人力资源和社会保障局" in notifier.to("complainant")[-1].text
    with pytest.raises(InvalidTransitionError):
        service.conclude(t2, OFFICE, "办完了")


def test_invalid_transitions_are_rejected_with_clear_message(
    service: CaseService, routing: RoutingTable
) -> None:
    ticket = _intake(service)
    jn_a = handler(routing, "jn-a")
    with pytest.raises(InvalidTransitionError) as err:
        service.conclude(ticket, jn_a, "结果")
    assert "“待受理”" in err.value.user_message and "“办结”" in err.value.user_message
    with pytest.raises(InvalidTransitionError):
        service.extend(ticket, jn_a, 10, "理由")
    with pytest.raises(InvalidTransitionError):
        service.rate(ticket, 555, "满意")
    service.accept(ticket, jn_a)
    with pytest.raises(InvalidTransitionError) as err:
        service.accept(ticket, jn_a)
    assert "“已受理”" in err.value.user_message and "“受理”" in err.value.user_message
    # a refused action leaves no trace
    assert [e.action for e in service.get(ticket).events] == ["intake", "assign", "accept"]


def test_extension_only_once_and_at_most_30_days(service: CaseService, routing: RoutingTable) -> None:
    ticket = _intake(service)
    jn_a = handler(routing, "jn-a")
    service.accept(ticket, jn_a)
    with pytest.raises(CaseError) as err:
        service.extend(ticket, jn_a, 31, "情况复杂")
    assert "30" in err.value.user_message
    with pytest.raises(CaseError):
        service.extend(ticket, jn_a, 10, "")
    due_before = service.get(ticket).conclude_due
    assert due_before is not None
    view = service.extend(ticket, jn_a, 30, "情况复杂，需要多部门会商")
    assert view.conclude_due == due_before + timedelta(days=30)
    assert view.extension_days == 30 and view.extension_reason == "情况复杂，需要多部门会商"
    with pytest.raises(CaseError) as err:
        service.extend(ticket, jn_a, 1, "再延一天")
    assert "不能再次延期" in err.value.user_message
    assert service.get(ticket).conclude_due == due_before + timedelta(days=30)


def test_rating_rules(service: CaseService, routing: RoutingTable) -> None:
    ticket = _intake(service)
    service.accept(ticket, OFFICE)
    service.conclude(ticket, OFFICE, "已解决")
    with pytest.raises(PermissionDeniedError):
        service.rate(ticket, 999, "满意")
    with pytest.raises(InvalidInputError):
        service.rate(ticket, 555, "还行")
    assert service.rate(ticket, 555, "不满意").rating == "不满意"
    with pytest.raises(CaseError):
        service.rate(ticket, 555, "满意")


def test_events_are_append_only(service: CaseService, session_factory: Callable[[], Session]) -> None:
    ticket = _intake(service)
    with session_factory() as s:
        case_id = s.scalars(select(Case.id).where(Case.ticket == ticket)).one()
        event = s.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id)).first()
        assert event is not None
        event.note = "篡改"
        with pytest.raises(CaseError):
            s.commit()
        s.rollback()
        s.delete(s.get(CaseEvent, event.id))
        with pytest.raises(CaseError):
            s.commit()
    assert service.get(ticket).events[0].note == "渠道：Telegram 机器人"


# ------------------------------------------------------------------------------------ deadlines


def test_overdue_and_due_soon_follow_the_current_status(
    service: CaseService, routing: RoutingTable, clock: FakeClock
) -> None:
    ticket = _intake(service)
    other = _intake(service, "另一件", region="扬州市", theme="other")
    now = T0
    assert service.overdue(now) == [] and service.due_soon(3, now) == []
    soon = T0 + timedelta(days=13)
    assert {v.ticket for v in service.due_soon(3, soon)} == {ticket, other}
    late = T0 + timedelta(days=15, seconds=1)
    overdue = service.overdue(late)
    assert {v.ticket for v in overdue} == {ticket, other} and all(v.overdue for v in overdue)
    # accepting late moves it onto the 60-day clock: no longer overdue
    clock.now = late
    service.accept(ticket, handler(routing, "jn-a"))
    assert [v.ticket for v in service.overdue(late)] == [other]
    assert [v.ticket for v in service.list_cases(CaseFilter(overdue=True), OFFICE)] == [other]
    assert service.overdue(late + timedelta(days=60)) != []
    assert ticket in {v.ticket for v in service.overdue(late + timedelta(days=60, seconds=1))}
    assert ticket in {v.ticket for v in service.due_soon(3, late + timedelta(days=58))}
    # the clock decides: the view's overdue flag reflects the injected time
    clock.now = late + timedelta(days=61)
    assert service.get(ticket).overdue
    service.conclude(ticket, OFFICE, "已办结")
    assert ticket not in {v.ticket for v in service.overdue(late + timedelta(days=61))}
    assert service.list_cases(CaseFilter(due_soon=True, due_soon_days=3), OFFICE) == []


# ------------------------------------------------------------------------------------ notifier


def test_notifier_runs_after_commit(
    session_factory: Callable[[], Session], routing: RoutingTable, clock: FakeClock
) -> None:
    def db_status(notice: Notice) -> str:
        with session_factory() as s:
            return s.scalars(select(Case.status).where(Case.ticket == notice.ticket)).one()

    probe = RecordingNotifier(probe=db_status)
    svc = CaseService(session_factory, routing, notifier=probe, clock=clock)
    ticket = svc.intake(
        ComplaintIntake(text="优待证", region="济南", theme="card", complainant_chat_id=7)
    ).ticket
    svc.accept(ticket, OFFICE)
    svc.start(ticket, OFFICE)
    svc.conclude(ticket, OFFICE, "好了")
    assert probe.probes == [lc.PENDING, lc.ACCEPTED, lc.IN_PROGRESS, lc.CONCLUDED]


def test_failing_notifier_never_loses_the_change(
    session_factory: Callable[[], Session],
    routing: RoutingTable,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    failing = FailingNotifier()
    svc = CaseService(session_factory, routing, notifier=failing, clock=clock)
    with caplog.at_level(logging.ERROR, logger="complaints.service"):
        ticket = svc.intake(
            ComplaintIntake(text=SENSITIVE, region="济南", theme="card", complainant_chat_id=7)
        ).ticket
        view = svc.accept(ticket, handler(routing, "jn-a"))
    assert view.status == lc.ACCEPTED
    assert failing.calls == 2  # handler notice + complainant notice
    assert svc.get(ticket).status == lc.ACCEPTED
    assert any("notifier failed" in r.getMessage() for r in caplog.records)


def test_reassign_is_an_event_and_moves_permission(
    service: CaseService, routing: RoutingTable, notifier: RecordingNotifier
) -> None:
    ticket = _intake(service)
    jn_a, yz_a = handler(routing, "jn-a"), handler(routing, "yz-a")
    view = service.reassign(ticket, jn_a, "yz-a", note="当事人已迁居扬州")
    assert view.assigned_handler_id == "yz-a" and view.assigned_unit == "扬州市退役军人事务局"
    assert view.status == lc.PENDING
    event = service.get(ticket).events[-1]
    assert event.action == "reassign" and "陈四" in (event.note or "")
    assert notifier.to("handler")[-1].chat_id == 2001
    with pytest.raises(PermissionDeniedError):
        service.accept(ticket, jn_a)
    assert service.accept(ticket, yz_a).status == lc.ACCEPTED
    with pytest.raises(NotFoundError):
        service.reassign(ticket, OFFICE, "ghost")
    with pytest.raises(CaseError):
        service.reassign(ticket, OFFICE, "yz-a")


# ------------------------------------------------------------------------------------ privacy & permissions


def test_views_are_masked_except_for_the_assigned_handler(
    service: CaseService, routing: RoutingTable, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        ticket = _intake(service)
        service.accept(ticket, handler(routing, "jn-a"), note=f"已电话联系 {PHONE}")
    mine = service.get(ticket, handler(routing, "jn-a"))
    assert not mine.masked and PHONE in mine.text and ID_CARD in mine.text and CARD in mine.text
    assert mine.complainant_phone == PHONE
    assert PHONE in (mine.events[2].note or "")
    for viewer in (None, OFFICE, ADMIN, handler(routing, "jn-b")):
        view = service.get(ticket, viewer)
        assert view.masked
        for secret in (PHONE, ID_CARD, CARD):
            assert secret not in view.text
            assert all(secret not in (e.note or "") for e in view.events)
        assert view.complainant_phone == "138****5678"
        assert "优待证" in view.text
    for view in service.list_for_complainant(555) + service.list_cases(CaseFilter(), OFFICE):
        assert PHONE not in view.text and ID_CARD not in view.text
    handler_list = service.list_cases(CaseFilter(), handler(routing, "jn-a"))
    assert PHONE in handler_list[0].text
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert ticket in logged
    for secret in (PHONE, ID_CARD, CARD):
        assert secret not in logged


def test_only_assigned_handler_or_office_may_act(service: CaseService, routing: RoutingTable) -> None:
    ticket = _intake(service)
    for intruder in (
        handler(routing, "jn-b"),
        Actor(id="555", name="信访人", role="complainant"),
        Actor(id="bot", name="系统", role="system"),
    ):
        with pytest.raises(PermissionDeniedError) as err:
            service.accept(ticket, intruder)
        assert ticket in err.value.user_message
    assert service.accept(ticket, ADMIN).status == lc.ACCEPTED
    with pytest.raises(PermissionDeniedError):
        service.list_cases(CaseFilter(), Actor(id="555", name="x", role="complainant"))
    with pytest.raises(PermissionDeniedError):
        service.list_cases(CaseFilter(handler_id="jn-a"), handler(routing, "jn-b"))
    assert service.list_cases(CaseFilter(), handler(routing, "jn-b")) == []


def test_get_and_complainant_views(service: CaseService) -> None:
    t1 = _intake(service)
    t2 = _intake(service, "第二件", complainant_chat_id=556)
    assert [v.ticket for v in service.list_for_complainant(555)] == [t1]
    assert service.get_for_complainant(t1.lower(), 555).ticket == t1
    with pytest.raises(NotFoundError):
        service.get_for_complainant(t2, 555)
    with pytest.raises(NotFoundError):
        service.get("TS-20990101-0001")
    with pytest.raises(InvalidInputError):
        service.get("garbage")


# ------------------------------------------------------------------------------------ queries & aggregates


def test_list_filters(service: CaseService, routing: RoutingTable, clock: FakeClock) -> None:
    a = _intake(service, "济南优待证")
    b = _intake(service, "扬州公交", region="扬州市", theme="transit")
    clock.advance(days=8)
    c = _intake(service, "济南其他", theme="other")
    service.accept(a, OFFICE)

    def tickets(**kw: object) -> set[str]:
        return {v.ticket for v in service.list_cases(CaseFilter(**kw), OFFICE)}  # type: ignore[arg-type]

    assert tickets() == {a, b, c}
    assert tickets(status=lc.ACCEPTED) == {a}
    assert tickets(theme="transit") == {b}
    assert tickets(region="济南") == {a, c}
    assert tickets(region="扬州市") == {b}
    assert tickets(handler_id="jn-a") == {a}
    assert tickets(unit="扬州市退役军人事务局") == {b}
    assert tickets(created_from=date(2026, 3, 5)) == {c}
    assert tickets(created_to=date(2026, 3, 2)) == {a, b}
    assert tickets(created_from=T0 + timedelta(days=1), created_to=T0 + timedelta(days=9)) == {c}
    assert len(service.list_cases(CaseFilter(limit=1), OFFICE)) == 1
    with pytest.raises(InvalidInputError) as err:
        service.list_cases(CaseFilter(status="完成"), OFFICE)
    assert "待受理" in err.value.user_message


def test_counter_row_tracks_the_sequence(
    service: CaseService, session_factory: Callable[[], Session]
) -> None:
    for i in range(3):
        _intake(service, f"第{i}件")
    with session_factory() as s:
        assert s.get(TicketCounter, "20260302").n == 3  # type: ignore[union-attr]
        assert s.scalar(select(func.count()).select_from(Case)) == 3


def test_complainant_notices_mask_id_and_card_numbers_but_keep_a_contact_phone(
    service: CaseService, routing: RoutingTable, notifier: RecordingNotifier
) -> None:
    # fe27 §3: the 办结 notice carried the ID number the caseworker typed, in clear, to Telegram.
    ticket = _intake(service)
    jn_a = handler(routing, "jn-a")
    service.accept(ticket, jn_a)
    service.reply(ticket, jn_a, "已核对身份证370102198001011234，补贴将发到卡6222021234567890123。")
    service.conclude(
        ticket, jn_a, "已办结，有疑问请拨打0531-82345678或13912345678，身份证370102198001011234已核对。"
    )
    reply, done = [n.text for n in notifier.to("complainant")][-2:]
    for text in (reply, done):
        assert "370102198001011234" not in text and "370***********1234" in text
    assert "6222021234567890123" not in reply
    assert "0531-82345678" in done and "13912345678" in done  # the number to call back stays usable
    # the caseworker's own record is unchanged
    assert "370102198001011234" in (service.get(ticket, jn_a).result or "")
