"""Case followers (``complaints.followers``): access, phone-digit check, notices and limits,
on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from complaints.followers import (
    CASE_PAUSED_HOUR,
    LAST_WRONG,
    MAX_FAILURES_PER_CASE_HOUR,
    MAX_FAILURES_PER_CHAT,
    TOO_MANY,
    WRONG_DIGITS,
    AttemptsUsedUpError,
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
from vetbot.settings import Settings

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


def test_unknown_ticket_and_no_phone_read_like_any_case(service: CaseService) -> None:
    # fe24/fe25: an unknown ticket raised NotFoundError and a phone-less case said so: both told
    # a guesser something. Now both are asked for the digits and refused like a wrong guess.
    following = _following(service)
    unknown = "TS-20990101-0001"
    ticket = file_case(service, "公交司机不认优待证", complainant_phone=None, complainant_chat_id=None)
    filed = file_case(service, "景区不认优待证", channel="visit", complainant_chat_id=None)
    messages = []
    for chat, case_ticket in enumerate((unknown, ticket, filed), start=WALK_IN + 1):
        access = following.access(case_ticket, chat)
        assert access.kind == "verify" and access.view is None and access.paused is None
        with pytest.raises(PermissionDeniedError) as wrong:
            following.verify(case_ticket, chat, "0000")
        assert not isinstance(wrong.value, NotFoundError)
        messages.append(wrong.value.user_message)
    assert messages == [WRONG_DIGITS] * 3 and "12345" in WRONG_DIGITS
    with pytest.raises(PermissionDeniedError):  # no digits match a case without a phone
        following.verify(ticket, WALK_IN + 9, "5678")


def test_the_failure_that_uses_up_the_attempts_says_so_and_access_reports_the_pause(
    service: CaseService,
) -> None:
    ticket = file_case(service, "公交司机不认优待证", channel="visit", complainant_chat_id=None)
    following = CaseFollowing(
        service, SlidingWindowLimiter(3, 3600), SlidingWindowLimiter(10, 86400), SlidingWindowLimiter(2, 3600)
    )
    with pytest.raises(PermissionDeniedError) as first:
        following.verify(ticket, 1, "0000")
    assert type(first.value) is PermissionDeniedError
    with pytest.raises(AttemptsUsedUpError) as last:  # the case's hourly budget is used up now
        following.verify(ticket, 1, "0001")
    assert last.value.user_message == LAST_WRONG + CASE_PAUSED_HOUR
    assert following.access(ticket, 2).paused == CASE_PAUSED_HOUR
    # the chat's own allowance, spent on unknown tickets: the message is the chat's
    for unknown, guess in (("TS-20990101-0002", "0002"), ("TS-20990101-0003", "0003")):
        with pytest.raises(PermissionDeniedError) as wrong:
            following.verify(unknown, 3, guess)
        assert type(wrong.value) is PermissionDeniedError
    with pytest.raises(AttemptsUsedUpError) as chat_last:
        following.verify("TS-20990101-0004", 3, "0004")
    assert chat_last.value.user_message == LAST_WRONG + TOO_MANY
    assert following.access("TS-20990101-0005", 3).paused == TOO_MANY
    assert following.access("TS-20990101-0005", 4).paused is None
def test_a_case_paused_by_one_chats_guesses_is_paused_for_every_chat(
    service: CaseService,
    session_factory: Callable[[], Session],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Found by a fresh-eyes tester (F15): after 5 wrong guesses from chat 5010, chat 5011 got in
    # at once with the right digits; tickets are sequential, so a guesser just switches accounts.
    ticket = file_case(service, "公交司机不认优待证", channel="visit", complainant_chat_id=None)
    other = file_case(service, "景区不认优待证", channel="visit", complainant_chat_id=None)
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    assert settings.rate_limit_backend == "memory"
    following = CaseFollowing.from_settings(settings, service, session_factory)
    assert MAX_FAILURES_PER_CASE_HOUR <= MAX_FAILURES_PER_CHAT  # a second account adds nothing
    caplog.set_level(logging.INFO, logger="complaints.followers")
    for guess in range(MAX_FAILURES_PER_CASE_HOUR):
        with pytest.raises(PermissionDeniedError) as wrong:
            following.verify(ticket, 5010, f"{1000 + guess}")
        assert not isinstance(wrong.value, TooManyAttemptsError)
    with pytest.raises(TooManyAttemptsError) as paused:
        following.verify(ticket, 5011, "5678")  # the right digits, from a fresh chat
    assert paused.value.user_message == CASE_PAUSED_HOUR
    assert "该投诉" in paused.value.user_message and "1 小时" in paused.value.user_message
    assert following.access(ticket, 5011).kind == "verify"  # not linked
    assert following.list_for_chat(5011) == []
    # another case is not paused, and the same chat may still prove that one
    assert following.verify(other, 5011, "5678").ticket == other
    # the pause lives with the case in the database: a restarted bot does not lift it
    restarted = CaseFollowing.from_settings(settings, service, session_factory)
    with pytest.raises(TooManyAttemptsError):
        restarted.verify(ticket, 5012, "5678")
    # logged once, with the ticket only: no digits, no chat ids
    pauses = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(pauses) == 1 and ticket in pauses[0]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "5678" not in logged and "5010" not in logged and "5011" not in logged


def test_a_paused_case_reopens_when_its_window_slides(service: CaseService) -> None:
    ticket = file_case(service, "公交司机不认优待证", channel="visit", complainant_chat_id=None)
    now = [0.0]
    following = CaseFollowing(
        service,
        SlidingWindowLimiter(5, 3600, clock=lambda: now[0]),
        SlidingWindowLimiter(10, 86400, clock=lambda: now[0]),
        SlidingWindowLimiter(3, 3600, clock=lambda: now[0]),
    )
    for chat in (1, 2, 3):  # one guess each: the case's hourly budget, not any chat's
        with pytest.raises(PermissionDeniedError):
            following.verify(ticket, chat, "0000")
    with pytest.raises(TooManyAttemptsError):
        following.verify(ticket, 4, "5678")
    now[0] += 3600.0  # an hour later the real owner gets in; nobody is locked out for good
    assert following.verify(ticket, 4, "5678").ticket == ticket
    assert following.access(ticket, 4).kind == "view"
