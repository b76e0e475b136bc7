"""Per-app dashboard state: the clock, the embeddings used for clustering, a small TTL cache.

``register(app)`` stores one :class:`DashboardState` at ``app.state.dashboard``. Tests (and a
deployment that wants a different model for clustering) may set ``embeddings`` and ``clock``
on it after ``create_app``; otherwise the knowledge service's embeddings are used.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from api.runtime import Runtime
from knowledge.clustering import CachedEmbeddings
from knowledge.text import ChineseTokenizer, default_tokenizer

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Clustering results are reused this long: the office looks at weekly trends, and a new
# complaint showing up five minutes late on the emerging-themes page is harmless.
CACHE_SECONDS = 300.0


@dataclass(frozen=True)
class Cached(Generic[T]):
    """A cached value and when it was computed."""

    value: T
    computed_at: datetime
    hit: bool


class TTLCache:
    """A small thread-safe cache whose entries expire; one computation per key at a time.

    Two requests for the same missing key wait for one computation instead of clustering
    twice (clustering takes seconds with a real model and CPUs are shared).
    """

    def __init__(
        self,
        ttl: float = CACHE_SECONDS,
        max_items: int = 64,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_items = max_items
        self._monotonic = monotonic
        self._items: OrderedDict[Hashable, tuple[float, datetime, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict[Hashable, threading.Lock] = {}

    def _fresh(self, key: Hashable) -> tuple[float, datetime, Any] | None:
        with self._lock:
            entry = self._items.get(key)
            if entry is not None and self._monotonic() - entry[0] < self.ttl:
                return entry
            return None

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> Cached[T]:
        """The cached value of ``key``, computing (and storing) it when missing or expired."""
        entry = self._fresh(key)
        if entry is not None:
            return Cached(entry[2], entry[1], True)
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            entry = self._fresh(key)  # computed by another request while we waited
            if entry is not None:
                return Cached(entry[2], entry[1], True)
            value = compute()
            now = datetime.now(UTC)
            with self._lock:
                self._items[key] = (self._monotonic(), now, value)
                self._items.move_to_end(key)
                while len(self._items) > self.max_items:
                    old, _ = self._items.popitem(last=False)
                    self._key_locks.pop(old, None)
            return Cached(value, now, False)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._items.clear()


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class DashboardState:
    """What the dashboard keeps between requests."""

    clock: Callable[[], datetime] = _utcnow
    embeddings: Embeddings | None = None  # None: the knowledge service's embeddings
    cache: TTLCache = field(default_factory=TTLCache)
    _wrapped: CachedEmbeddings | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> datetime:
        """The current instant (aware, UTC)."""
        now = self.clock()
        return now if now.tzinfo is not None else now.replace(tzinfo=UTC)

    def embeddings_for(self, runtime: Runtime) -> CachedEmbeddings:
        """The clustering embeddings wrapped in one long-lived ``CachedEmbeddings``.

        Raises ``ServiceNotReadyError`` while the knowledge service (and its model) loads.
        """
        inner = self.embeddings if self.embeddings is not None else runtime.knowledge.store.embeddings
        with self._lock:
            if self._wrapped is None or self._wrapped.inner is not inner:
                self._wrapped = CachedEmbeddings(inner)
            return self._wrapped

    @staticmethod
    def tokenizer_for(runtime: Runtime) -> ChineseTokenizer:
        """The knowledge store's jieba tokenizer (same dictionary), else the default one."""
        knowledge = runtime.knowledge_if_ready
        tokenizer = getattr(getattr(knowledge, "store", None), "tokenizer", None)
        if tokenizer is not None:
            return tokenizer  # type: ignore[no-any-return]
        return default_tokenizer()
