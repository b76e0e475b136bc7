"""Complainants' Telegram photos, fetched once through the Bot API and kept with the case.

A photo sent while filing is stored on the case as its Telegram ``file_id`` only. The
``PhotoFetcher`` gets each such file with the bot's own request object (``getFile``, then the
download from the Bot API's file URL, ``VETBOT_TELEGRAM_BASE_URL``'s ``/file`` counterpart when
set) and stores the bytes under ``<data_dir>/case-files`` (``complaints.attachments``), where
the web case page shows them to those entitled to the case. It runs right after a complaint
is filed and sweeps the recent Telegram cases when the bot starts. Idempotent: a photo that is
stored already is skipped, and one fetch runs at a time. Background runs (``start_fetch`` /
``start_sweep``) are cancelled by ``stop`` so that shutting the bot down never waits on Telegram;
what was not stored is fetched by the next sweep.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from complaints.attachments import AttachmentStore, attach_file, sniff_image_mime, unfetched_telegram_photos
from complaints.service import CaseService
from complaints.types import SYSTEM_ACTOR
from vetbot.errors import VetbotError

logger = logging.getLogger(__name__)


def file_base_url(base_url: str | None) -> str | None:
    """The Bot API file URL for a ``base_url`` (``…/bot`` → ``…/file/bot``); None for the default."""
    if not base_url:
        return None
    root = base_url.rstrip("/")
    if root.endswith("/bot"):
        return root[: -len("/bot")] + "/file/bot"
    return root + "/file/bot"


class PhotoFetcher:
    """Fetches unstored Telegram photos of cases into the case-file store."""

    def __init__(self, bot: Any, cases: CaseService, store: AttachmentStore) -> None:
        self.bot = bot
        self.cases = cases
        self.store = store
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[int]] = set()

    def start_fetch(self, ticket: str) -> None:
        """Fetch one case's photos in the background (right after filing)."""
        self._spawn(self.fetch_case(ticket))

    def start_sweep(self) -> None:
        """Sweep the recent Telegram cases in the background (when the bot starts)."""
        self._spawn(self.sweep())

    def _spawn(self, work: Coroutine[Any, Any, int]) -> None:
        task = asyncio.get_running_loop().create_task(work, name="vetbot-photo-fetch")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for the fetches already started (tests, and an orderly handover before acting)."""
        tasks = list(self._tasks)
        if tasks:
            await asyncio.wait(tasks)

    async def stop(self) -> None:
        """Cancel background fetches still running and wait (briefly) for them to end."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)

    async def fetch_case(self, ticket: str) -> int:
        """Fetch the unstored photos of one case; returns how many were stored."""
        pending = await asyncio.to_thread(unfetched_telegram_photos, self.cases.session_factory)
        return await self._fetch([p for p in pending if p[0] == ticket])

    async def sweep(self) -> int:
        """Fetch the unstored photos of the recent Telegram cases; returns how many were stored."""
        pending = await asyncio.to_thread(unfetched_telegram_photos, self.cases.session_factory)
        return await self._fetch(pending)

    async def _fetch(self, pending: list[tuple[str, str]]) -> int:
        stored = 0
        async with self._lock:
            for ticket, file_id in pending:
                # Checked again under the lock: another run may have stored it meanwhile.
                still = await asyncio.to_thread(unfetched_telegram_photos, self.cases.session_factory)
                if (ticket, file_id) not in still:
                    continue
                try:
                    file = await self.bot.get_file(file_id)
                    data = bytes(await file.download_as_bytearray())
                    mime = sniff_image_mime(data)
                    await asyncio.to_thread(
                        attach_file,
                        self.cases,
                        self.store,
                        ticket,
                        SYSTEM_ACTOR,
                        data,
                        mime=mime,
                        kind="photo",
                        replaces=file_id,
                    )
                    stored += 1
                except VetbotError as exc:
                    logger.warning("photo of case %s not stored: %s", ticket, exc)
                except Exception:  # Telegram or network trouble: the next sweep tries again
                    logger.warning("photo of case %s not fetched", ticket, exc_info=True)
        if stored:
            logger.info("stored %d Telegram photo(s)", stored)
        return stored


__all__ = ["PhotoFetcher", "file_base_url"]
