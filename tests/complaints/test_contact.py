"""The complainant's contact phone added or corrected by staff (``complaints.contact``), and the
check of the number typed (``complaints.validation.check_contact_phone``)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from complaints.contact import set_contact_phone
from complaints.followers import CaseFollowing
from complaints.models import CaseNotice
from complaints.routing import RoutingTable
from complaints.service import CaseService
from complaints.types import Actor
from complaints.validation import CONTACT_PHONE_MESSAGE, check_contact_phone
from tests.complaints.conftest import OFFICE, file_case, handler
from vetbot.errors import CaseError, InvalidInputError, PermissionDeniedError
from vetbot.ratelimit import SlidingWindowLimiter

NEW_PHONE = "139 8765 4321"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("13812345678", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("１３８ １２３４ ５６７８", "13812345678"),
        ("0531-88881234", "0531-88881234"),
        ("（0531）8888123", "0531-8888123"),
        ("010 62345678", "010-62345678"),
        ("02168881234", "021-68881234"),
    ],
)
def test_a_mobile_or_a_landline_with_its_area_code_is_accepted(typed: str, stored: str) -> None:
    assert check_contact_phone(typed) == stored


@pytest.mark.parametrize(
    "typed", ["", "5678", "12345678901", "1381234567", "138123456789", "88881234", "0531-123", "电话"]
)
def test_anything_else_is_refused_with_a_message_saying_what_to_type(typed: str) -> None:
    with pytest.raises(InvalidInputError) as bad:
        check_contact_phone(typed)
    assert bad.value.user_message == CONTACT_PHONE_MESSAGE


def test_a_walk_in_case_without_a_phone_gets_one_and_can_then_be_followed(
    service: CaseService, routing: RoutingTable, caplog: pytest.LogCaptureFixture
) -> None:
    ticket = file_case(
        service, "公交司机不认优待证", channel="visit", complainant_chat_id=None, complainant_phone=None
    )
    caseworker = handler(routing, service.get(ticket).assigned_handler_id or "")
    following = CaseFollowing(service, SlidingWindowLimiter(5, 3600), SlidingWindowLimiter(10, 86400))
    with pytest.raises(PermissionDeniedError):  # nothing to verify against yet
        following.verify(ticket, 901, "4321")
    caplog.set_level(logging.DEBUG)
    view = set_contact_phone(service, ticket, caseworker, NEW_PHONE, "信访人到窗口补登")
    # the assigned caseworker sees the number; the history has it masked, with the reason
    assert view.complainant_phone == "13987654321"
    event = view.events[-1]
    assert event.action == "phone" and event.action_label == "联系电话" and event.actor_id == caseworker.id
    assert event.note == "联系电话补登 139****4321；信访人到窗口补登"
    assert view.status == "待受理"  # an annotation: the status is untouched
    # everyone else sees it masked
    assert service.get(ticket, OFFICE).complainant_phone == "139****4321"
    # never logged in clear
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "13987654321" not in logged and "8765" not in logged
    # the complainant can now follow the case with the new number's last four digits
    assert following.verify(ticket, 902, "4321").ticket == ticket


def test_a_wrong_phone_is_corrected_and_the_history_says_from_what_masked(
    service: CaseService, routing: RoutingTable
) -> None:
    ticket = file_case(service, "公交司机不认优待证", channel="visit", complainant_chat_id=None)
    view = set_contact_phone(service, ticket, OFFICE, "0531-88881234")
    assert view.events[-1].note == "联系电话由 138****5678 更正为 053****1234"
    with pytest.raises(CaseError):  # the same number again (any spelling)
        set_contact_phone(service, ticket, OFFICE, "053188881234")
    with pytest.raises(InvalidInputError):
        set_contact_phone(service, ticket, OFFICE, "1234")
    # allowed in a closed case too: its complainant may still want to follow it
    service.reject(ticket, OFFICE, "不属于本单位职责范围，已告知向有权机关反映。")
    assert set_contact_phone(service, ticket, OFFICE, NEW_PHONE).complainant_phone == "139****4321"


def test_only_who_may_act_on_the_case_may_change_its_phone(
    service: CaseService, routing: RoutingTable
) -> None:
    ticket = file_case(service, "公交司机不认优待证", channel="visit", complainant_chat_id=None)
    assigned = service.get(ticket).assigned_handler_id
    other = next(h for h in routing.handlers.values() if h.id != assigned)
    outsiders = [
        Actor(id=other.id, name=other.name, role="handler"),
        Actor(id="p-1", name="协办单位", role="partner"),
        Actor(id="555", name="信访人", role="complainant"),
    ]
    for actor in outsiders:
        with pytest.raises(PermissionDeniedError):
            set_contact_phone(service, ticket, actor, NEW_PHONE)
    assert service.get(ticket, OFFICE).complainant_phone == "138****5678"
    assert [e.action for e in service.get(ticket).events].count("phone") == 0


def test_a_correction_unlinks_the_chats_that_proved_the_old_number(
    service: CaseService, routing: RoutingTable, session_factory: Callable[[], Session]
) -> None:
    # fe26 §4: a chat verified with the wrong number's digits kept the case after the correction
    # (notices, /status, the rating buttons); it must verify again with the new number.
    ticket = file_case(service, "公交司机不认优待证", channel="visit", complainant_chat_id=None)
    following = CaseFollowing(service, SlidingWindowLimiter(5, 3600), SlidingWindowLimiter(10, 86400))
    following.verify(ticket, 901, "5678")  # the old number 138****5678
    following.verify(ticket, 902, "5678")
    service.accept(ticket, OFFICE)  # a notice for each follower, still waiting in the outbox
    caseworker = handler(routing, service.get(ticket).assigned_handler_id or "")

    view = set_contact_phone(service, ticket, caseworker, NEW_PHONE, "原号码登记错误")
    assert view.events[-1].note == (
        "联系电话由 138****5678 更正为 139****4321；原号码登记错误；"
        "已取消 2 个按原号码核验的 Telegram 关注，需用新号码重新核验"
    )
    for chat in (901, 902):
        assert following.access(ticket, chat).kind == "verify"
        assert following.list_for_chat(chat) == []
    with session_factory() as session:
        waiting = session.scalars(
            select(CaseNotice.chat_id).where(CaseNotice.ticket == ticket, CaseNotice.state == "pending")
        ).all()
    assert 901 not in waiting and 902 not in waiting  # nothing queued reaches them either

    service.conclude(ticket, caseworker, "已协调公交公司，司机已接受培训，今后凭优待证免费乘车。")
    with session_factory() as session:
        told = session.scalars(
            select(CaseNotice.chat_id).where(CaseNotice.ticket == ticket, CaseNotice.action == "conclude")
        ).all()
    assert told == [None]  # the walk-in filer's skipped row only: no 办结 notice, no rating buttons
    with pytest.raises(PermissionDeniedError):
        service.rate(ticket, 901, "满意")
    # the old digits no longer link; the new number's do
    with pytest.raises(PermissionDeniedError):
        following.verify(ticket, 903, "5678")
    assert following.verify(ticket, 901, "4321").ticket == ticket
    assert service.rate(ticket, 901, "满意").rating == "满意"
