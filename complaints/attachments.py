"""Case files: photos and documents kept under the data directory, behind access control.

Files come from two places: uploads on the web case page / walk-in form, and photos the
complainant sent in Telegram (fetched once through the Bot API by the caller and handed in as
bytes). Either way the bytes are written to ``<root>/<ticket>/<n>-<sha12><ext>`` and the
case's ``attachments`` list gets ``{"file_id", "kind", "mime", "size", "name", "stored"}``
where ``stored`` is the path relative to ``root``. The web serves them only to viewers of the
case (``api.casepages``), never as static files.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from complaints.models import Case
from complaints.service import CaseService
from complaints.types import Actor, CaseView
from vetbot.errors import InvalidInputError, NotFoundError, PermissionDeniedError

MAX_FILE_BYTES = 10 * 1024 * 1024
ALLOWED_MIME = ("image/jpeg", "image/png", "image/webp", "image/gif", "application/pdf")
MAX_FILES_PER_CASE = 20
_SAFE = re.compile(r"[^0-9A-Za-z._-]+")


class AttachmentStore:
    """Files of cases under ``root`` (``<data_dir>/case-files``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def save(self, ticket: str, index: int, data: bytes, mime: str) -> str:
        """Write ``data``; return its path relative to ``root``. Raises ``InvalidInputError``
        for an empty or too large file (> ``MAX_FILE_BYTES``) or a type outside ``ALLOWED_MIME``."""
        if not data:
            raise InvalidInputError("empty file", user_message="上传的文件为空。")
        if len(data) > MAX_FILE_BYTES:
            raise InvalidInputError("file too large", user_message="单个文件不能超过 10 MB。")
        if mime not in ALLOWED_MIME:
            raise InvalidInputError(
                f"type {mime!r}", user_message="只能上传图片（JPG/PNG/WebP/GIF）或 PDF 文件。"
            )
        ext = mimetypes.guess_extension(mime) or ".bin"
        rel = f"{_SAFE.sub('', ticket)}/{index}-{hashlib.sha256(data).hexdigest()[:12]}{ext}"
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return rel

    def save_unfiled(self, data: bytes, mime: str) -> str:
        """Keep a file handed in with a complaint that has no ticket yet (walk-in intake);
        return its path relative to ``root``. Same errors as ``save``."""
        return self.save("intake", int(time.time() * 1000), data, mime)

    def path(self, stored: str) -> Path:
        """Absolute path of a stored file; ``NotFoundError`` if missing or outside ``root``."""
        root = self.root.resolve()
        path = (root / stored).resolve()
        if root not in path.parents or not path.is_file():
            raise NotFoundError(f"attachment {stored!r} missing", user_message="附件不存在或已被删除。")
        return path


def attach_file(
    service: CaseService,
    store: AttachmentStore,
    ticket: str,
    actor: Actor,
    data: bytes,
    *,
    mime: str,
    name: str | None = None,
    kind: str | None = None,
    replaces: str | None = None,
) -> CaseView:
    """Store ``data`` and add it to the case (an ``attach`` annotation in the history).

    ``replaces`` is the Telegram ``file_id`` of an attachment whose bytes were fetched: that
    entry gets ``stored`` instead of a new entry. Same errors as ``CaseService.act`` plus those
    of ``AttachmentStore.save``."""

    def apply(case: Case, now: datetime) -> str:
        items: list[dict[str, Any]] = [dict(a) for a in (case.attachments or [])]
        if replaces is None and len(items) >= MAX_FILES_PER_CASE:
            raise InvalidInputError(
                "too many files", user_message=f"每件投诉最多 {MAX_FILES_PER_CASE} 个附件。"
            )
        stored = store.save(case.ticket, len(items), data, mime)
        entry = {
            "file_id": f"web:{stored}",
            "kind": kind or ("photo" if mime.startswith("image/") else "document"),
            "mime": mime,
            "size": len(data),
            "name": (name or "")[:100] or None,
            "stored": stored,
        }
        target = next((a for a in items if replaces and a.get("file_id") == replaces), None)
        if replaces is not None and target is None:
            raise NotFoundError(f"no attachment {replaces!r}", user_message="附件不存在。")
        if target is not None:
            target.update(stored=stored, mime=mime, size=len(data))
        else:
            items.append(entry)
        case.attachments = items  # a new list: the JSON column sees the change
        if target is not None:
            return f"已从 Telegram 取回附件：{target.get('kind') or 'photo'}"
        return f"附件：{entry['name'] or entry['kind']}"

    return service.act(ticket, actor, "attach", apply, None, authorize=_system_or_staff)


def _system_or_staff(case: Case, actor: Actor) -> None:
    # The bot's fetcher (system) stores Telegram photos; people need the usual case rights.
    if actor.role == "system":
        return
    if actor.role in ("office", "admin") or (
        actor.role == "handler" and actor.id == case.assigned_handler_id
    ):
        return
    raise PermissionDeniedError(
        f"{actor.role}:{actor.id} attaching to {case.ticket}",
        user_message=f"只有本案承办人或双拥办/管理员可以为投诉 {case.ticket} 添加附件。",
    )


def sniff_image_mime(data: bytes) -> str:
    """The image type of ``data`` from its first bytes (JPEG, PNG, GIF, WebP); ``InvalidInputError``
    for anything else, so a file that is not a picture is never stored as a photo."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    raise InvalidInputError("not an image", user_message="取回的文件不是图片。")


def unfetched_telegram_photos(
    session_factory: Callable[[], Session], limit: int = 200
) -> list[tuple[str, str]]:
    """(ticket, Telegram file_id) of photos not yet stored here, newest cases first, from the
    ``limit`` most recent Telegram cases (what a background fetch works through)."""
    with session_factory() as session:
        rows = session.scalars(
            select(Case)
            .where(Case.channel == "telegram")
            .order_by(Case.created_at.desc(), Case.id.desc())
            .limit(limit)
        ).all()
        return [
            (c.ticket, str(a["file_id"]))
            for c in rows
            for a in (c.attachments or [])
            if a.get("kind") == "photo" and not a.get("stored") and a.get("file_id")
        ]


def stored_attachment(case_view: CaseView, index: int) -> tuple[str, str]:
    """(stored path, mime) of attachment ``index`` of a case; ``NotFoundError`` when absent or
    not yet fetched from Telegram."""
    if index < 0 or index >= len(case_view.attachments):
        raise NotFoundError(f"no attachment {index}", user_message="附件不存在。")
    item = case_view.attachments[index]
    if not item.stored:
        raise NotFoundError(f"attachment {index} not stored", user_message="附件尚未从 Telegram 取回。")
    return item.stored, item.mime or "application/octet-stream"


__all__ = [
    "ALLOWED_MIME",
    "MAX_FILE_BYTES",
    "AttachmentStore",
    "attach_file",
    "sniff_image_mime",
    "stored_attachment",
    "unfetched_telegram_photos",
]
