"""Cooperative cancellation of long work: a token checked at checkpoints inside the work.

The caller passes a token (anything with ``is_set() -> bool``, such as ``threading.Event``) to
the entry point (``ingest.pipeline.ingest_paths(..., cancel=token)``), which installs it with
:func:`cancellable` for the duration of the call; the loops inside (loaders, chunking,
embedding batches) call :func:`checkpoint`, which raises ``OperationCancelledError`` once the
token is set. A context variable carries the token so the layers in between need no extra
parameter; with no token installed :func:`checkpoint` costs one lookup and never raises.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol

from vetbot.errors import OperationCancelledError


class CancelToken(Protocol):
    """Set when the work should stop (``threading.Event`` is one)."""

    def is_set(self) -> bool:
        """True once cancellation was requested."""
        ...


_CURRENT: ContextVar[CancelToken | None] = ContextVar("vetbot_cancel_token", default=None)


@contextmanager
def cancellable(token: CancelToken | None) -> Iterator[None]:
    """Make ``token`` the one :func:`checkpoint` checks in this thread/context (None: none)."""
    reset = _CURRENT.set(token)
    try:
        yield
    finally:
        _CURRENT.reset(reset)


def checkpoint() -> None:
    """Raise ``OperationCancelledError`` when the current token is set; otherwise return."""
    token = _CURRENT.get()
    if token is not None and token.is_set():
        raise OperationCancelledError("cancelled at a checkpoint", user_message="导入任务已取消。")


__all__ = ["CancelToken", "cancellable", "checkpoint"]
