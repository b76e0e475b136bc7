"""Issue 12 items 2 and 3: personal numbers are masked in access logs and through separators."""

from __future__ import annotations

import logging
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from vetbot.privacy import MaskingFilter, mask_text, without_personal_numbers

# Separators an attacker (or a careless user) puts inside a number.
SEPARATORS = [
    " ",
    "-",
    ".",
    ",",
    "，",
    "、",
    "/",
    "_",
    "·",
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\ufeff",
    "\u00ad",
    "\u3000",
    "\u00a0",
    "－",
    "．",
]
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _access_record(path: str) -> logging.LogRecord:
    return logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("203.0.113.7:51234", "GET", path, "1.1", 200),
        None,
    )


def _logged(record: logging.LogRecord) -> str:
    MaskingFilter().filter(record)
    return record.getMessage()


def test_access_log_masks_the_decoded_query() -> None:
    line = _logged(_access_record("/v1/search?q=13812345678%20370102198001011234"))
    assert "370102198001011234" not in line and "1981001011234" not in line
    assert "02198001" not in line and "12345678" not in line
    assert "203.0.113.7:51234" in line  # the client address is not a number to mask
    line = _logged(_access_record("/v1/search?q=%E5%8F%B7%E7%A0%816222021234567890123"))
    assert "6222021234567890123" not in line and "021234567890" not in line


def test_other_log_messages_are_masked_in_decoded_form() -> None:
    query = "q=13812345678%20370102198001011234"
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "url %s", (query,), None)
    assert "370102198001011234" not in _logged(record)


def test_issue_reproductions_are_masked() -> None:
    assert mask_text("138\u200b1234\u200b5678") == "138****5678"
    assert mask_text("电话138.1234.5678") == "电话138****5678"
    assert mask_text("电话138，1234，5678。") == "电话138****5678。"
    card = mask_text("卡号 6222 0212 3456 7890 123")
    assert "0212" not in card and "3456" not in card and "7890" not in card
    # Full-width punctuation elsewhere is kept: only the number is rewritten.
    assert mask_text("您好，工单 TS-20261122-0042 已受理。") == "您好，工单 TS-20261122-0042 已受理。"
    assert mask_text("2026-11-22 10:30:00 第3条") == "2026-11-22 10:30:00 第3条"


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text.translate(str.maketrans("０１２３４５６７８９", "0123456789")))


_mobile = st.tuples(st.sampled_from("3456789"), st.text("0123456789", min_size=9, max_size=9)).map(
    lambda t: "1" + t[0] + t[1]
)
_id_card = st.tuples(st.text("0123456789", min_size=17, max_size=17), st.sampled_from("0123456789X")).map(
    lambda t: t[0] + t[1]
)
_card = st.text("0123456789", min_size=16, max_size=19).filter(lambda d: not d.startswith("0"))


@settings(max_examples=400, deadline=None)
@given(
    number=st.one_of(_mobile, _id_card, _card),
    seps=st.lists(st.lists(st.sampled_from(SEPARATORS), max_size=2).map("".join), min_size=19, max_size=19),
    full_width=st.booleans(),
    before=st.sampled_from(["", "我的号码是", "电话：", "ID ", "q="]),
    after=st.sampled_from(["", "，谢谢", " 请回电", "。"]),
)
def test_no_number_survives_random_separators(
    number: str, seps: list[str], full_width: bool, before: str, after: str
) -> None:
    written = "".join(d + seps[i] for i, d in enumerate(number[:-1])) + number[-1]
    if full_width:
        written = written.translate(FULL_WIDTH)
    masked = mask_text(before + written + after)
    visible = _digits(masked)
    core = number.rstrip("X")
    assert core not in visible
    # At most the first four and last four digits stay visible (the texts around hold none).
    assert len(visible) <= 8, masked


def test_personal_numbers_and_their_labels_are_no_search_terms() -> None:
    text = "我的身份证号是370102198001011234，手机13812345678，优待证怎么办"
    stripped = without_personal_numbers(text)
    assert "身份证" not in stripped and "手机" not in stripped and not any(c.isdigit() for c in stripped)
    assert stripped.endswith("优待证怎么办")
    # Nothing personal: the text comes back as it was (not even normalised); tickets stay.
    assert without_personal_numbers("老兵坐地铁要钱吗？") == "老兵坐地铁要钱吗？"
    assert without_personal_numbers("TS-20260102-0001 我手机13812345678").startswith("TS-20260102-0001")


def test_keep_phones_masks_id_and_card_numbers_only() -> None:
    text = "请拨打0531-82345678或138 1234 5678；身份证370102198001011234，卡号6222021234567890123"
    kept = mask_text(text, keep_phones=True)
    assert "0531-82345678" in kept and "138 1234 5678" in kept
    assert "370***********1234" in kept and "6222 **** **** 0123" in kept
    assert "0531-82345678" not in mask_text(text)  # the default masks phones too
