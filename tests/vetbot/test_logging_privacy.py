"""Logging masks personal numbers and survives a replaced stderr."""

from __future__ import annotations

import io
import logging
import sys

import pytest

from vetbot.logging_setup import configure_logging
from vetbot.privacy import mask_phone, mask_text


@pytest.mark.parametrize(
    ("raw", "secret", "kept"),
    [
        ("我的电话13812345678", "13812345678", "138****5678"),
        ("身份证 370102199001011234", "370102199001011234", "370***********1234"),
        ("银行卡 6222 0212 3456 7890 123", "6222 0212 3456 7890 123", "6222"),
        ("座机 0531-88886666", "88886666", "0531-****6666"),
    ],
)
def test_mask_text_hides_personal_numbers(raw: str, secret: str, kept: str) -> None:
    masked = mask_text(raw)
    assert secret not in masked
    assert kept in masked


def test_ticket_numbers_are_not_masked_as_card_numbers() -> None:
    assert mask_text("工单 TS-20261122-0042 已受理") == "工单 TS-20261122-0042 已受理"


def test_mask_phone_field() -> None:
    assert mask_phone("+86 138-1234-5678") == "861****5678"
    assert mask_phone("12") == "****"
    assert mask_phone(None) is None


def test_log_records_are_masked_and_follow_the_current_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    configure_logging("INFO")
    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    logging.getLogger("vetbot.test").info("来电 %s", "13812345678")
    first.close()  # the stream a test runner hands out may be closed later
    second = io.StringIO()
    monkeypatch.setattr(sys, "stderr", second)
    logging.getLogger("vetbot.test").warning("身份证 370102199001011234")
    out = second.getvalue()
    assert "370***********1234" in out and "370102199001011234" not in out


def test_httpx_request_logs_are_silenced() -> None:
    configure_logging("DEBUG")
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING
