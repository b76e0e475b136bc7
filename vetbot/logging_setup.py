"""Logging configuration shared by every entry point."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from vetbot.privacy import MaskingFilter

# These libraries log full request URLs, and Telegram URLs contain the bot token.
_NOISY = (
    "httpx", "httpcore", "telegram.ext.ExtBot", "chromadb.telemetry", "urllib3", "jieba", "alembic", "bm25s",
)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at emit time.

    A plain StreamHandler keeps the stream it was created with, which breaks when that stream
    is replaced and closed later (embedding the CLI in a test runner or a host program).
    """

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def configure_logging(level: str = "INFO") -> None:
    """Configure root logging with personal-data masking and quiet HTTP clients."""
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskingFilter())
    # Some libraries (bm25s) force their own logger to DEBUG on import; the handler level
    # keeps their records out regardless of when they are imported.
    handler.setLevel(level.upper())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in _NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)
