"""Formatting, splitting, phone validation, the rate limiter and the notifier."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from bot.formatting import esc, format_answer, normalise_phone, split_message
from bot.notifier import TelegramNotifier, render_notice
from complaints.service import Notice
from knowledge.types import Answer, Passage
from vetbot.ratelimit import SlidingWindowLimiter


def test_split_prefers_paragraphs_and_never_breaks_entities() -> None:
    paras = [("甲" * 1500), ("乙" * 1500), ("丙" * 1500)]
    parts = split_message("\n\n".join(paras), limit=3100)
    assert parts == [paras[0] + "\n\n" + paras[1], paras[2]]

    text = ("a&amp;b" * 1000) + "\n\n" + "短段落"
    parts = split_message(text, limit=500)
    assert all(len(p) <= 500 for p in parts)
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")
    for p in parts:  # every entity is whole inside its part
        assert p.count("&") == p.count("&amp;")


def test_format_answer_escapes_everything_and_lists_citations() -> None:
    src = Passage(
        title="某办法<script>", article="第一条", text="x", score=1.0, region="济南市", scope="local"
    )
    answer = Answer(question="q", answer="可以 <b>免费</b> & 优先", refused=False, sources=[src])
    html = format_answer(answer)
    assert "可以 &lt;b&gt;免费&lt;/b&gt; &amp; 优先" in html
    assert "1. 《某办法&lt;script&gt;》第一条（济南市地方规定）" in html
    assert "不构成法律意见" in html
    refused = format_answer(Answer(question="q", answer="抱歉", refused=True))
    assert refused == "抱歉"
    assert esc(None) == ""


def test_format_answer_labels_texts_no_longer_in_force_and_lists_related() -> None:
    # A 官方口径 may cite a passage superseded since it was written; 相关条文 are listed too.
    old = Passage(
        title="旧办法",
        article="第五条",
        text="x",
        score=1.0,
        status="已被取代",
        superseded_by="新办法",
        status_date="2024-09-21",
    )
    rel = Passage(
        title="废止办法",
        article="第二条",
        text="y",
        score=0.9,
        status="已废止",
        superseded_by="新办法",
        status_date="",
    )
    cur = Passage(title="新办法", article="第三条", text="z", score=1.0)
    html = format_answer(
        Answer(question="q", answer="可以。", refused=False, sources=[cur, old], related=[rel])
    )
    assert "1. 《新办法》第三条\n" in html
    assert "2. 《旧办法》第五条（已被《新办法》取代（2024-09-21起施行））" in html
    assert "<b>相关条文：</b>\n· 《废止办法》第二条（已废止：被《新办法》废止）" in html


def test_a_refusal_lists_the_text_not_yet_in_force_it_mentions() -> None:
    pending = Passage(title="新通知", article="第一条", text="x", score=0.0, region="金华市", scope="local",
                      status="尚未施行", status_date="2027-01-01")
    text = "抱歉。\n另：《新通知》将于2027年1月1日起施行"
    answer = Answer(question="q", answer=text, refused=True, sources=[pending], related=[pending])
    html = format_answer(answer)
    listed = "· 《新通知》第一条（金华市地方规定）（尚未施行（2027-01-01起施行））"
    assert html.endswith(f"<b>相关条文：</b>\n{listed}")
    assert "政策依据" not in html


def test_mainland_mobile_validation() -> None:
    assert normalise_phone("13812345678") == "13812345678"
    assert normalise_phone("+86 138-1234-5678") == "13812345678"
    assert normalise_phone("8613812345678") == "13812345678"
    for bad in ("12812345678", "1381234567", "138123456789", "0531-12345678", "电话"):
        assert normalise_phone(bad) is None


def test_sliding_window_limiter() -> None:
    now = [0.0]
    limiter = SlidingWindowLimiter(3, 60.0, clock=lambda: now[0])
    assert [limiter.hit(1) for _ in range(3)] == [True, True, True]
    assert limiter.hit(1) is False
    assert limiter.hit(2) is True  # per user
    assert limiter.should_warn(1) is True and limiter.should_warn(1) is False
    now[0] = 59.9
    assert limiter.hit(1) is False  # the window slides, it does not reset per minute
    now[0] = 60.0
    assert limiter.hit(1) is True


def test_notice_rendering() -> None:
    new = Notice(
        chat_id=1,
        ticket="TS-20260101-0001",
        status="待受理",
        text="【新投诉】<内容>",
        kind="handler",
        action="intake",
        handler_id="h",
    )
    text, markup = render_notice(new)
    assert "&lt;内容&gt;" in text
    # issue 11: a new case offers only what 待受理 allows (办结 needs 受理 first)
    assert [b.text for row in markup.inline_keyboard for b in row] == ["受理", "不予受理", "转办"]
    assert markup.inline_keyboard[0][0].callback_data == "ca:accept:TS-20260101-0001"
    done = Notice(chat_id=2, ticket="TS-20260101-0001", status="已办结", text="已办结", action="conclude")
    _, markup = render_notice(done)
    assert [b.callback_data for b in markup.inline_keyboard[0]] == [
        f"rt:TS-20260101-0001:{i}" for i in range(3)
    ]
    _, markup = render_notice(Notice(chat_id=2, ticket="T", status="已受理", text="已受理", action="accept"))
    assert markup is None


class _RecordingBot:
    def __init__(self) -> None:
        self.sent: list[tuple[int, str, str]] = []

    async def send_message(self, chat_id: int, text: str, **kwargs: object) -> None:
        await asyncio.sleep(0.05)  # a slow network must not slow the caller
        self.sent.append((chat_id, text, threading.current_thread().name))


class _App:
    def __init__(self) -> None:
        self.bot = _RecordingBot()


async def test_notifier_is_non_blocking_from_threads_and_buffers_before_start() -> None:
    app = _App()
    notifier = TelegramNotifier(app)  # type: ignore[arg-type]
    early = Notice(chat_id=7, ticket="T1", status="待受理", text="早到的通知")
    notifier.notify(early)  # not started: buffered
    assert app.bot.sent == []
    notifier.start()
    await notifier.drain()
    assert [s[1] for s in app.bot.sent] == ["早到的通知"]

    def from_worker() -> float:  # like CaseService called through asyncio.to_thread
        t0 = time.perf_counter()
        notifier.notify(Notice(chat_id=8, ticket="T2", status="已受理", text="线程里的通知"))
        return time.perf_counter() - t0

    # an outbox notice is left to the outbox dispatcher (none here): never sent directly
    notifier.notify(Notice(chat_id=9, ticket="T3", status="已受理", text="outbox", notice_id=5))
    await notifier.drain()
    assert all(s[0] != 9 for s in app.bot.sent)

    elapsed = await asyncio.to_thread(from_worker)
    assert elapsed < 0.04  # returned before the (slow) send finished
    await notifier.drain()
    assert app.bot.sent[-1][:2] == (8, "线程里的通知")
    assert app.bot.sent[-1][2] == threading.current_thread().name  # delivered on the loop's thread


async def test_blocked_bot_is_a_permanent_delivery_failure() -> None:
    from telegram.error import Forbidden

    from complaints.outbox import PermanentDeliveryError

    class _BlockedBot:
        async def send_message(self, *args: object, **kwargs: object) -> None:
            raise Forbidden("bot was blocked by the user")

    app = _App()
    app.bot = _BlockedBot()  # type: ignore[assignment]
    notifier = TelegramNotifier(app)  # type: ignore[arg-type]
    with pytest.raises(PermanentDeliveryError):
        await notifier.send(Notice(chat_id=1, ticket="T", status="已受理", text="x", notice_id=1))
