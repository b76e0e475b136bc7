"""The embedding thread policy (VETBOT_EMBED_THREADS) is applied before a model loads."""

from __future__ import annotations

import os

import pytest

from knowledge.embeddings import apply_thread_policy
from vetbot.settings import Settings


def test_default_is_one_thread_per_process() -> None:
    assert Settings().embed_threads == 1


def test_policy_sets_the_runtime_thread_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "3")  # an operator's explicit choice stays
    apply_thread_policy(2)

    assert os.environ["OMP_NUM_THREADS"] == "2"
    assert os.environ["OPENBLAS_NUM_THREADS"] == "2"
    assert os.environ["MKL_NUM_THREADS"] == "3"


def test_zero_leaves_the_runtime_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    apply_thread_policy(0)

    assert "OMP_NUM_THREADS" not in os.environ


def test_negative_thread_count_is_refused() -> None:
    with pytest.raises(ValueError):
        Settings(embed_threads=-1)
