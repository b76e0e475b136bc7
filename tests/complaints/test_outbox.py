"""The notification outbox (``complaints.outbox``) on SQLite and PostgreSQL.

* Every notice is written in the transaction of its change (a rolled-back change has none).
* Failed sends stay pending with backoff and are delivered later; delivered ones never again.
* Two dispatchers running at once send every notice exactly once, in per-chat order.
* Changes made through ``vetbot cases`` (no notifier) are delivered by a later pass.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from complaints import lifecycle as lc
from complaints import service as service_module
from complaints.models import (
    NOTICE_DELIVERED,
    NOTICE_FAILED,
    NOTICE_PENDING,
    NOTICE_SKIPPED,
    Case,
    CaseNotice,
)
from complaints.notices import Notice
from complaints.outbox import (
    OutboxDispatcher,
    PermanentDeliveryError,
    RetryPolicy,
    adeliver_pending,
    deliver_pending,
)
from complaints.outbox_store import claim, purge_delivered
from complaints.routing import RoutingTable
from complaints.service import CaseService
from complaints.types import ComplaintIntake
from vetbot.cli import main
from vetbot.db import create_db_engine, make_session_factory
from vetbot.errors import NotFoundError

from .conftest import OFFICE, ROUTING_FILE, FakeClock, RecordingNotifier, handler

PHONE = "13912345678"


def _file(service: CaseService, chat_id: int | None = 555, **kw: Any) -> str:
    fields: dict[str, Any] = {"region": "济南", "theme": "card", "complainant_chat_id": chat_id}
    fields.update(kw)
    return service.intake(ComplaintIntake(text=f"优待证办不下来，电话 {PHONE}", **fields)).ticket


def _rows(session_factory: Callable[[], Session], **where: Any) -> list[CaseNotice]:
    with session_factory() as s:
        stmt = select(CaseNotice).order_by(CaseNotice.id)
        for key, value in where.items():
            stmt = stmt.where(getattr(CaseNotice, key) == value)
        return list(s.scalars(stmt))


class Recorder:
    """A ``send`` that records notices and fails while ``fail_with`` is set."""

    def __init__(self) -> None:
        self.sent: list[Notice] = []
        self.calls = 0
        self.fail_with: BaseException | None = None

    def __call__(self, notice: Notice) -> None:
        self.calls += 1
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append(notice)

    def ids(self) -> list[int]:
        return [n.notice_id or 0 for n in self.sent]


# ------------------------------------------------------------------------------ written with the change


def test_status_change_writes_its_notice_in_the_same_transaction(
    service: CaseService,
    session_factory: Callable[[], Session],
    notifier: RecordingNotifier,
    routing: RoutingTable,
) -> None:
    ticket = _file(service)
    service.accept(ticket, handler(routing, "jn-a"))
    rows = _rows(session_factory)
    assert [(r.kind, r.action, r.state, r.chat_id) for r in rows] == [
        ("handler", "intake", NOTICE_PENDING, 1001),
        ("complainant", "accept", NOTICE_PENDING, 555),
    ]
    accept_row = rows[1]
    with session_factory() as s:
        case = s.scalars(select(Case).where(Case.ticket == ticket)).one()
    assert accept_row.case_id == case.id and accept_row.status == lc.ACCEPTED
    assert accept_row.created_at == case.updated_at and accept_row.delivered_at is None
    assert accept_row.attempts == 0 and accept_row.next_attempt_at == case.updated_at
    # the fast path still runs, and names the outbox row
    assert [n.notice_id for n in notifier.notices] == [rows[0].id, rows[1].id]
    assert notifier.notices[1].text == accept_row.text and "已受理" in accept_row.text


def test_a_rolled_back_change_leaves_no_notice(
    service: CaseService,
    session_factory: Callable[[], Session],
    notifier: RecordingNotifier,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ticket = _file(service)
    before = len(_rows(session_factory))
    real = service_module.enqueue_notices

    def enqueue_then_fail(*args: Any, **kwargs: Any) -> list[Notice]:
        real(*args, **kwargs)  # the rows are flushed...
        raise RuntimeError("crash before commit")  # ...and the transaction then aborts

    monkeypatch.setattr(service_module, "enqueue_notices", enqueue_then_fail)
    with pytest.raises(RuntimeError):
        service.accept(ticket, OFFICE)
    with pytest.raises(RuntimeError):
        _file(service, chat_id=556)
    assert service.get(ticket).status == lc.PENDING
    assert len(_rows(session_factory)) == before
    with session_factory() as s:
        assert s.scalars(select(Case.ticket)).all() == [ticket]  # the failed intake left nothing
    assert len(notifier.notices) == 1  # only the first intake's handler notice


def test_notices_without_a_chat_are_recorded_as_skipped(
    service: CaseService, session_factory: Callable[[], Session], notifier: RecordingNotifier
) -> None:
    web = _file(service, chat_id=None, channel="web")
    service.accept(web, OFFICE)  # complainant has no Telegram
    _file(service, chat_id=557, region="金华市")  # card outside Jinan -> "prov", no Telegram
    demo = _file(service, chat_id=900_000_001, channel="demo")
    service.accept(demo, OFFICE)
    rows = _rows(session_factory)
    states = [(r.ticket == web, r.ticket == demo, r.kind, r.chat_id, r.state) for r in rows]
    assert states == [
        (True, False, "handler", 1001, NOTICE_PENDING),
        (True, False, "complainant", None, NOTICE_SKIPPED),
        (False, False, "handler", None, NOTICE_SKIPPED),
        (False, True, "handler", 1001, NOTICE_SKIPPED),
        (False, True, "complainant", 900_000_001, NOTICE_SKIPPED),
    ]
    assert [n.notice_id for n in notifier.notices] == [rows[0].id]  # skipped ones are not hinted
    send = Recorder()
    report = deliver_pending(service, send)
    assert send.ids() == [rows[0].id] and report.delivered == [rows[0].id]
    stats = service.notice_stats()
    assert (stats.pending, stats.delivered, stats.skipped, stats.failed) == (0, 1, 4, 0)


# ------------------------------------------------------------------------------ delivery and retries


def test_failed_send_backs_off_then_delivers_once(
    service: CaseService, session_factory: Callable[[], Session], clock: FakeClock, routing: RoutingTable
) -> None:
    ticket = _file(service)
    service.accept(ticket, handler(routing, "jn-a"))
    send = Recorder()
    send.fail_with = ConnectionError(f"telegram unreachable (echo: {PHONE})")
    report = deliver_pending(service, send)
    rows = _rows(session_factory)
    # both notices (to the handler and to the complainant) failed
    assert sorted(report.retrying) == [r.id for r in rows] and report.delivered == []
    for r in rows:
        assert r.state == NOTICE_PENDING and r.delivered_at is None and r.attempts == 1
        assert r.next_attempt_at == clock.now + timedelta(seconds=30)
        assert r.last_error is not None and "139****5678" in r.last_error and PHONE not in r.last_error
        assert r.claim_token is None and r.claimed_until is None
    assert service.notice_stats().due == 0

    send.fail_with = None
    assert deliver_pending(service, send).attempted == 0  # still backing off
    clock.advance(seconds=29)
    assert deliver_pending(service, send).attempted == 0
    clock.advance(seconds=2)
    report = deliver_pending(service, send)
    assert sorted(report.delivered) == [r.id for r in rows]
    assert sorted(send.ids()) == [r.id for r in rows]
    rows = _rows(session_factory)
    assert all(r.state == NOTICE_DELIVERED and r.delivered_at == clock.now and r.attempts == 2 for r in rows)

    clock.advance(days=1)
    assert deliver_pending(service, send).attempted == 0  # delivered notices are never re-sent
    assert len(send.sent) == 2


def test_backoff_grows_gives_up_and_can_be_requeued(
    service: CaseService, session_factory: Callable[[], Session], clock: FakeClock
) -> None:
    ticket = _file(service)
    service.accept(ticket, OFFICE)
    [handler_row, complainant_row] = _rows(session_factory)
    policy = RetryPolicy(max_attempts=4, base_delay=timedelta(seconds=10), max_delay=timedelta(seconds=35))
    send = Recorder()
    send.fail_with = TimeoutError("timed out")
    waits = []
    for _ in range(3):
        report = deliver_pending(service, send, policy=policy)
        assert sorted(report.retrying) == [handler_row.id, complainant_row.id]
        row = _rows(session_factory, id=complainant_row.id)[0]
        waits.append(row.next_attempt_at - clock.now)
        clock.now = row.next_attempt_at
    assert waits == [timedelta(seconds=10), timedelta(seconds=20), timedelta(seconds=35)]
    report = deliver_pending(service, send, policy=policy)
    assert sorted(report.gave_up) == [handler_row.id, complainant_row.id]
    clock.advance(days=1)
    assert deliver_pending(service, send, policy=policy).attempted == 0
    stats = service.notice_stats()
    assert (stats.pending, stats.failed) == (0, 2)
    listed = service.pending_notices()
    assert [e.id for e in listed] == [handler_row.id, complainant_row.id]
    assert all(e.state == NOTICE_FAILED and e.attempts == 4 for e in listed)
    assert PHONE not in listed[0].text and "139****5678" in listed[0].text  # office view is masked

    service.retry_notice(complainant_row.id)
    with pytest.raises(NotFoundError):
        service.retry_notice(complainant_row.id)  # no longer failed
    send.fail_with = None
    report = deliver_pending(service, send, policy=policy)
    assert report.delivered == [complainant_row.id] and send.ids() == [complainant_row.id]


def test_permanent_error_gives_up_at_once_and_retry_after_is_honoured(
    service: CaseService, session_factory: Callable[[], Session], clock: FakeClock
) -> None:
    _file(service, chat_id=600)  # handler notice to chat 1001

    class RetryAfter(Exception):
        retry_after = 120

    send = Recorder()
    send.fail_with = RetryAfter("flood control")
    deliver_pending(service, send)
    [row] = _rows(session_factory)
    assert row.state == NOTICE_PENDING and row.next_attempt_at == clock.now + timedelta(seconds=120)
    clock.advance(seconds=121)
    send.fail_with = PermanentDeliveryError("Forbidden: bot was blocked by the user")
    report = deliver_pending(service, send)
    [row] = _rows(session_factory)
    assert report.gave_up == [row.id] and row.state == NOTICE_FAILED and row.attempts == 2
    assert "blocked" in (row.last_error or "")


def test_notices_to_one_chat_keep_their_order(
    service: CaseService, session_factory: Callable[[], Session], clock: FakeClock
) -> None:
    ticket = _file(service, chat_id=700)
    service.accept(ticket, OFFICE)
    service.start(ticket, OFFICE)
    service.conclude(ticket, OFFICE, "已补办")
    sent: list[Notice] = []
    failed: list[int | None] = []

    def send(notice: Notice) -> None:
        if notice.action == "accept" and not failed:  # the first complainant send fails
            failed.append(notice.notice_id)
            raise ConnectionError("connection reset")
        sent.append(notice)

    report = deliver_pending(service, send)
    assert report.retrying == failed and [n.action for n in sent] == ["intake"]  # to the handler
    clock.advance(minutes=1)
    deliver_pending(service, send)
    assert [n.action for n in sent if n.chat_id == 700] == ["accept", "start", "conclude"]


def test_coroutine_send_is_refused_by_the_sync_variant_without_losing_the_claim(
    service: CaseService, session_factory: Callable[[], Session]
) -> None:
    _file(service)

    async def send(notice: Notice) -> None:
        raise AssertionError("never awaited")

    with pytest.raises(TypeError, match="adeliver_pending"):
        deliver_pending(service, send)
    [row] = _rows(session_factory)
    assert row.state == NOTICE_PENDING and row.claim_token is None and row.attempts == 0
    assert deliver_pending(service, Recorder()).delivered == [row.id]


def test_a_crashed_dispatchers_claim_expires(
    service: CaseService, session_factory: Callable[[], Session], clock: FakeClock
) -> None:
    _file(service)
    lease = RetryPolicy().lease
    _, claimed = claim(session_factory, clock.now, 10, lease)  # then "dies" without sending
    assert len(claimed) == 1
    send = Recorder()
    assert deliver_pending(service, send).attempted == 0  # still leased to the dead dispatcher
    clock.advance(seconds=lease.total_seconds() + 1)
    assert deliver_pending(service, send).delivered == [claimed[0].notice_id]


def test_two_dispatchers_send_each_notice_once(
    db_url: str, session_factory: Callable[[], Session], routing: RoutingTable, clock: FakeClock
) -> None:
    service = CaseService(session_factory, routing, clock=clock)
    for i in range(10):
        ticket = _file(service, chat_id=800 + i, region="扬州市", theme="other")
        service.accept(ticket, OFFICE)
        service.reply(ticket, OFFICE, f"第 {i} 件正在核实")
    expected = sorted(r.id for r in _rows(session_factory, state=NOTICE_PENDING))
    assert len(expected) == 30

    sent: list[tuple[int, int]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def dispatcher(n: int) -> None:
        def send(notice: Notice) -> None:
            with lock:
                sent.append((notice.notice_id or 0, n))
            time.sleep(0.003)  # let the other dispatcher interleave

        engine = create_db_engine(db_url)  # a separate engine, as in another process
        try:
            other = CaseService(make_session_factory(engine), routing, clock=clock)
            barrier.wait(timeout=30)
            deadline = time.monotonic() + 60
            # small batches so that the two dispatchers keep competing for rows
            while other.notice_stats().pending and time.monotonic() < deadline:
                if deliver_pending(other, send, limit=3).attempted == 0:
                    time.sleep(0.002)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=dispatcher, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    counts = Counter(nid for nid, _ in sent)
    assert sorted(counts) == expected
    assert max(counts.values()) == 1
    assert [r.id for r in _rows(session_factory, state=NOTICE_DELIVERED)] == expected


# ------------------------------------------------------------------------------ CLI and the bot loop


@pytest.fixture
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("_restore_logging")
def test_cli_action_is_delivered_by_a_later_pass(
    db_url: str,
    tmp_path: Path,
    session_factory: Callable[[], Session],
    routing: RoutingTable,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VETBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VETBOT_DATABASE_URL", db_url)
    monkeypatch.setenv("VETBOT_ROUTING_FILE", str(ROUTING_FILE))
    monkeypatch.delenv("VETBOT_CASES_ACTOR", raising=False)
    service = CaseService(session_factory, routing)  # the bot process: real clock
    ticket = _file(service, chat_id=4242)
    deliver_pending(service, Recorder())  # the handler's intake notice goes out

    assert main(["cases", "accept", ticket, "--as", "jn-a"]) == 0
    assert main(["cases", "reply", ticket, "材料已转制证中心", "--as", "jn-a"]) == 0
    capsys.readouterr()
    pending = _rows(session_factory, state=NOTICE_PENDING)
    assert [(r.action, r.chat_id) for r in pending] == [("accept", 4242), ("reply", 4242)]

    send = Recorder()
    report = deliver_pending(service, send)
    assert report.delivered == [r.id for r in pending]
    assert [(n.chat_id, n.ticket, n.action) for n in send.sent] == [
        (4242, ticket, "accept"),
        (4242, ticket, "reply"),
    ]
    assert "已受理" in send.sent[0].text and "材料已转制证中心" in send.sent[1].text
    assert deliver_pending(service, send).attempted == 0


async def _wait_until(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


async def test_dispatcher_delivers_backlog_on_start_and_new_notices_on_notify(
    session_factory: Callable[[], Session], routing: RoutingTable, clock: FakeClock
) -> None:
    service = CaseService(session_factory, routing, clock=clock)
    backlog = _file(service, chat_id=31)  # filed while the bot was down (no notifier)
    service.accept(backlog, OFFICE)
    sent: list[Notice] = []

    async def send(notice: Notice) -> None:
        await asyncio.sleep(0)
        sent.append(notice)

    # a long interval: only the start and the notify hints can trigger the passes in time
    dispatcher = OutboxDispatcher(service, send, interval=3600)
    service.notifier = dispatcher
    dispatcher.start()
    try:
        await _wait_until(lambda: len(sent) == 2)
        assert [n.action for n in sent] == ["intake", "accept"]
        ticket = (
            await asyncio.to_thread(
                service.intake,
                ComplaintIntake(text="公交卡不认优待证", region="扬州市", complainant_chat_id=32),
            )
        ).ticket
        await _wait_until(lambda: len(sent) == 3)
        await asyncio.to_thread(service.reject, ticket, OFFICE, "不属于本机关职权范围")
        await _wait_until(lambda: len(sent) == 4)
    finally:
        await dispatcher.stop()
    assert [(n.ticket, n.kind, n.action) for n in sent[2:]] == [
        (ticket, "handler", "intake"),
        (ticket, "complainant", "reject"),
    ]
    assert all(r.state == NOTICE_DELIVERED for r in _rows(session_factory))
    assert len({n.notice_id for n in sent}) == 4


async def test_async_pass_records_failures_like_the_sync_one(
    service: CaseService, session_factory: Callable[[], Session], clock: FakeClock
) -> None:
    _file(service)

    async def down(notice: Notice) -> None:
        raise ConnectionError("telegram down")

    report = await adeliver_pending(service, down)
    [row] = _rows(session_factory)
    assert report.retrying == [row.id] and row.attempts == 1 and row.state == NOTICE_PENDING
    clock.advance(minutes=1)
    got: list[Notice] = []
    report = await adeliver_pending(service, got.append)  # a plain function works too
    assert report.delivered == [row.id] and got[0].notice_id == row.id


def test_purge_removes_only_old_settled_notices(
    service: CaseService, session_factory: Callable[[], Session], clock: FakeClock
) -> None:
    _file(service)
    deliver_pending(service, Recorder())
    _file(service, chat_id=None, channel="web")  # handler notice pending
    assert purge_delivered(session_factory, clock.now) == 0  # nothing older than now
    assert purge_delivered(session_factory, clock.now + timedelta(days=1)) == 1
    assert [r.state for r in _rows(session_factory)] == [NOTICE_PENDING]


async def test_stopping_mid_pass_neither_loses_nor_resends(
    service: CaseService, session_factory: Callable[[], Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    from complaints import outbox

    ticket = _file(service, chat_id=41)
    service.accept(ticket, OFFICE)
    first, second = _rows(session_factory)
    real_settle = outbox._settle

    def slow_settle(*args: Any) -> None:
        time.sleep(0.3)  # the shutdown arrives while the sent notice is being marked
        real_settle(*args)

    monkeypatch.setattr(outbox, "_settle", slow_settle)
    sent: list[Notice] = []

    async def send(notice: Notice) -> None:
        sent.append(notice)

    dispatcher = OutboxDispatcher(service, send, interval=3600)
    dispatcher.start()
    await _wait_until(lambda: len(sent) == 1)
    await dispatcher.stop()
    rows = {r.id: r for r in _rows(session_factory)}
    assert rows[first.id].state == NOTICE_DELIVERED  # the mark finished before the release
    assert rows[second.id].state == NOTICE_PENDING and rows[second.id].claim_token is None  # handed back

    monkeypatch.setattr(outbox, "_settle", real_settle)
    report = await adeliver_pending(service, send)
    assert report.delivered == [second.id]
    assert [n.notice_id for n in sent] == [first.id, second.id]
