"""Lifecycle rules, statutory deadlines and ticket numbers (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from complaints import lifecycle as lc
from complaints.tickets import format_ticket, normalize_ticket, ticket_day
from vetbot.errors import CaseError, InvalidInputError, InvalidTransitionError

from .conftest import T0


@pytest.mark.parametrize(
    ("status", "action", "target"),
    [
        (lc.PENDING, "accept", lc.ACCEPTED),
        (lc.PENDING, "reject", lc.REJECTED),
        (lc.PENDING, "transfer", lc.TRANSFERRED),
        (lc.ACCEPTED, "start", lc.IN_PROGRESS),
        (lc.ACCEPTED, "conclude", lc.CONCLUDED),
        (lc.IN_PROGRESS, "conclude", lc.CONCLUDED),
        (lc.IN_PROGRESS, "transfer", lc.TRANSFERRED),
        (lc.IN_PROGRESS, "reply", lc.IN_PROGRESS),
        (lc.ACCEPTED, "extend", lc.ACCEPTED),
        (lc.CONCLUDED, "rate", lc.CONCLUDED),
    ],
)
def test_allowed_transitions(status: str, action: str, target: str) -> None:
    assert lc.check_transition(status, action) == target


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (lc.PENDING, "conclude"),
        (lc.PENDING, "start"),
        (lc.PENDING, "extend"),
        (lc.ACCEPTED, "accept"),
        (lc.CONCLUDED, "accept"),
        (lc.REJECTED, "reply"),
        (lc.TRANSFERRED, "conclude"),
        (lc.IN_PROGRESS, "rate"),
    ],
)
def test_forbidden_transitions_name_status_and_action(status: str, action: str) -> None:
    with pytest.raises(InvalidTransitionError) as err:
        lc.check_transition(status, action)
    msg = err.value.user_message
    assert f"“{status}”" in msg
    assert f"“{lc.ACTION_LABELS[action]}”" in msg


def test_closed_cases_allow_no_handler_action() -> None:
    assert lc.allowed_actions(lc.REJECTED) == []
    with pytest.raises(InvalidTransitionError) as err:
        lc.check_transition(lc.REJECTED, "accept")
    assert "已结束" in err.value.user_message


def test_deadlines_follow_xinfang_regulation() -> None:
    received = datetime(2026, 1, 1, 2, 0, tzinfo=UTC)
    assert lc.accept_due(received) == received + timedelta(days=15)
    assert lc.conclude_due(received) == received + timedelta(days=60)
    assert lc.active_deadline(lc.PENDING, received, None) == received
    assert lc.active_deadline(lc.CONCLUDED, received, received) is None


def test_extension_rules() -> None:
    assert lc.check_extension(False, 30, "  需要跨部门核实 ") == "需要跨部门核实"
    assert lc.check_extension(False, 1, "x") == "x"
    with pytest.raises(CaseError) as err:
        lc.check_extension(True, 10, "再延一次")
    assert "不能再次延期" in err.value.user_message
    for bad in (0, 31, -5):
        with pytest.raises(CaseError) as err:
            lc.check_extension(False, bad, "理由")
        assert "30" in err.value.user_message
    with pytest.raises(CaseError) as err:
        lc.check_extension(False, 10, "   ")
    assert "理由" in err.value.user_message


def test_overdue_and_due_soon_windows() -> None:
    due = datetime(2026, 1, 16, tzinfo=UTC)
    assert not lc.is_overdue(lc.PENDING, due, None, due)
    assert lc.is_overdue(lc.PENDING, due, None, due + timedelta(seconds=1))
    assert lc.is_due_soon(lc.PENDING, due, None, due - timedelta(days=2), days=3)
    assert not lc.is_due_soon(lc.PENDING, due, None, due - timedelta(days=4), days=3)
    assert not lc.is_overdue(lc.CONCLUDED, due, due, due + timedelta(days=100))
    assert lc.is_overdue(lc.IN_PROGRESS, due, due, due + timedelta(days=1))


def test_ticket_day_is_china_local() -> None:
    # 17:00 UTC on 1 March is already 2 March in China
    assert ticket_day(datetime(2026, 3, 1, 17, 0, tzinfo=UTC)) == "20260302"
    assert ticket_day(T0) == "20260302"
    assert format_ticket("20260302", 7) == "TS-20260302-0007"
    assert format_ticket("20260302", 12345) == "TS-20260302-12345"


def test_normalize_ticket() -> None:
    assert normalize_ticket(" ts-20260302-0007 ") == "TS-20260302-0007"
    assert normalize_ticket("TS－20260302－0007") == "TS-20260302-0007"
    assert normalize_ticket("202603020007") == "TS-20260302-0007"
    for bad in ("", "TS-2026-1", "hello"):
        with pytest.raises(InvalidInputError) as err:
            normalize_ticket(bad)
        assert "编号" in err.value.user_message


def test_a_bad_ticket_is_not_echoed_with_an_id_or_phone_number_in_clear() -> None:
    # Users paste all sorts after /status; the refusal quotes what they typed back to them
    # (and it reaches logs), so ID-card and phone numbers in it must come back masked.
    with pytest.raises(InvalidInputError) as err:
        normalize_ticket("我的身份证号330102195001011234 电话13912345678")
    assert "330102195001011234" not in err.value.user_message
    assert "13912345678" not in err.value.user_message
    assert "13912345678" not in str(err.value) and "330102195001011234" not in str(err.value)
    with pytest.raises(InvalidInputError) as err:
        normalize_ticket("电话13912345678")
    assert "139****5678" in err.value.user_message
    with pytest.raises(InvalidInputError) as err:
        normalize_ticket("查" * 500)
    assert len(err.value.user_message) < 120  # a pasted letter is not echoed back whole
