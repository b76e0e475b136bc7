"""Case followers (``complaints.followers``): access, phone-digit check, notices and limits,
on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from complaints.followers import (
    CaseFollowing,
    TooManyAttemptsError,
    phone_suffix,
    typed_suffix,
)
from complaints.models import CaseNotice
from complaints.service import CaseService
from tests.complaints.conftest import OFFICE, file_case
from vetbot.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from vetbot.ratelimit import SlidingWindowLimiter

WALK_IN = 777


def _following(service: CaseService, per_chat: int = 3, per_case: int = 5) -> CaseFollowing:
    return CaseFollowing(service, SlidingWindowLimiter(per_chat, 3600), SlidingWindowLimiter(per_case, 86400))


def test_digits_typed_and_stored() -> None:
    assert phone_suffix("+86 138-1234-5678") == "5678" and phone_suffix("12") is None
    assert phone_suffix(None) is None
    assert typed_suffix(" ５６７８ ") == "5678" and typed_suffix("138 1234 5678") == "5678"
    # the words and marks people put around the digits (s21t)
    assert typed_suffix("尾号是5678") == "5678" and typed_suffix("5678。") == "5678"
    assert typed_suffix("手机号：138-1234-5678") == "5678"
    for bad in ("567", "56789", "abcd", "", "2024年优待证", "尾号"):
        with pytest.raises(InvalidInputError):
            typed_suffix(bad)


def test_a_walk_in_case_is_linked_by_the_phone_and_its_notices_fan_out(
    service: CaseService, session_factory: Callable[[], Session]
) -> None:
    ticket = file_case(service, "公交司机不认优待证", channel="visit", complainant_chat_id=None)
    following = _following(service)
    assert following.access(ticket, WALK_IN).kind == "verify"
    with pytest.raises(PermissionDeniedError) as wrong:
        following.verify(ticket, WALK_IN, "0000")
    assert "13812345678" not in wrong.value.user_message
    view = following.verify(ticket, WALK_IN, "5678")
    assert view.ticket == ticket and "13812345678" not in (view.complainant_phone or "")
    following.verify(ticket, WALK_IN, "5678")  # linking twice is harmless
    access = following.access(ticket, WALK_IN)
    assert access.kind == "view" and access.view is not None
    assert [v.ticket for v in following.list_for_chat(WALK_IN)] == [ticket]

    service.accept(ticket, OFFICE)
    with session_factory() as session:
        rows = session.scalars(
            select(CaseNotice).where(CaseNotice.ticket == ticket, CaseNotice.kind == "complainant")
        ).all()
    # the walk-in filer has no chat (skipped row); the follower gets its own pending row, once
    assert sorted((r.chat_id or 0, r.state) for r in rows) == [(0, "skipped"), (WALK_IN, "pending")]


def test_failures_are_limited_per_chat_and_per_case(service: CaseService) -> None:
    ticket = file_case(service, "公交司机不认优待证", channel="visit", complainant_chat_id=None)
    following = _following(service, per_chat=2, per_case=3)
    for _ in range(2):
        with pytest.raises(PermissionDeniedError):
            following.verify(ticket, 1, "1111")
    with pytest.raises(TooManyAttemptsError):
        following.verify(ticket, 1, "5678")
    with pytest.raises(InvalidInputError):
        following.verify(ticket, 2, "12")  # malformed input is no guess
    with pytest.raises(PermissionDeniedError):
        following.verify(ticket, 2, "2222")
    with pytest.raises(TooManyAttemptsError):  # the case has had 3 failures from any chats
        following.verify(ticket, 3, "5678")


def test_unknown_ticket_and_no_phone(service: CaseService) -> None:
    following = _following(service)
    with pytest.raises(NotFoundError):
        following.access("TS-20990101-0001", WALK_IN)
    ticket = file_case(service, "公交司机不认优待证", complainant_phone=None, complainant_chat_id=None)
    assert following.access(ticket, WALK_IN).kind == "no_phone"
    with pytest.raises(PermissionDeniedError):
        following.verify(ticket, WALK_IN, "5678")
