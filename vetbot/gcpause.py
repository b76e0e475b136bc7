"""Pausing Python's cyclic garbage collector while a large, acyclic structure is built.

Loading a knowledge base of 100k chunks allocates millions of containers; each time the
objects promoted since the last full collection reach a quarter of the long-lived ones,
CPython runs a full collection over the whole heap, several times during one load (~0.7 s
of a 2.5 s start at 100k chunks). The records built are acyclic and freed by reference
counting, so nothing is left for those collections to find; what a paused section does
leave (a cycle) is collected by the first collection after it.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_depth = 0
_paused_enabled = False  # whether the collector was on when the outermost pause began


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Run the body with the cyclic collector off, then restore its previous state.

    Nested and concurrent pauses (several threads loading) share one pause: the collector
    is switched back on when the last one ends, and only if it was on when the first began.
    """
    global _depth, _paused_enabled
    with _lock:
        if _depth == 0:
            _paused_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _paused_enabled:
                gc.enable()
