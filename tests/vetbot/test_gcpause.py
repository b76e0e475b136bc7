"""vetbot.gcpause: the collector is off inside a pause and back to its previous state after."""

from __future__ import annotations

import gc
import threading

import pytest

from vetbot.gcpause import paused_gc


@pytest.fixture(autouse=True)
def _collector_on() -> None:
    gc.enable()
    yield
    gc.enable()


def test_pause_turns_the_collector_off_and_back_on() -> None:
    with paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_pause_restores_the_collector_after_an_error() -> None:
    with pytest.raises(RuntimeError), paused_gc():
        raise RuntimeError("load failed")
    assert gc.isenabled()


def test_nested_pauses_end_with_the_outermost() -> None:
    with paused_gc():
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_switched_off_before_stays_off() -> None:
    gc.disable()
    with paused_gc():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_concurrent_pauses_share_one_pause() -> None:
    inside, release = threading.Event(), threading.Event()

    def load() -> None:
        with paused_gc():
            inside.set()
            release.wait(5)

    worker = threading.Thread(target=load)
    worker.start()
    assert inside.wait(5)
    with paused_gc():
        pass
    assert not gc.isenabled()  # the other thread's load is still running
    release.set()
    worker.join(5)
    assert gc.isenabled()
