"""Value objects of the case store: who acts, what comes in, and what a viewer sees.

Field names that say ``handler`` (``assigned_handler_id``, the actor role ``"handler"``) are
the caseworker (承办人) of a case; they are kept because they are stored in the database and
returned by the web API.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

# "handler" is the caseworker (承办人); the value is stored in case_events.actor_role.
# "partner" is a partner unit's account (协办单位): it sees only the cases sent to its unit.
Role = Literal["handler", "office", "admin", "system", "complainant", "partner"]
ROLES: tuple[str, ...] = ("handler", "office", "admin", "system", "complainant", "partner")
STAFF_ROLES: tuple[str, ...] = ("office", "admin")


@dataclass(frozen=True)
class Actor:
    """Who performs an action. Caseworkers use their routing-table id as ``id``."""

    id: str
    name: str
    role: Role
    telegram_chat_id: int | None = None


SYSTEM_ACTOR = Actor(id="system", name="系统", role="system")


@dataclass(frozen=True)
class Attachment:
    """Metadata of a file sent with a complaint (the bytes stay on Telegram)."""

    file_id: str
    kind: str = "document"  # photo / document / voice / video
    mime: str | None = None
    size: int | None = None  # bytes
    name: str | None = None
    stored: str | None = None  # path under the case-files root once the bytes are kept here


# How a complaint or question came in, as staff read it (the stored value is the code).
CHANNEL_LABELS: dict[str, str] = {
    "telegram": "Telegram 机器人",
    "web": "网页",
    "api": "系统接口",
    "phone": "电话",
    "visit": "来访（服务站登记）",
    "letter": "来信",
    "demo": "演示数据",
}


# How the timeline names a complainant who left no name: a word, not a name to mask (信**).
UNNAMED_COMPLAINANT = "信访人"


def channel_label(channel: str | None) -> str:
    """The Chinese name of a channel code (an unknown code is shown as is)."""
    return CHANNEL_LABELS.get(channel or "", channel or "")


@dataclass(frozen=True)
class ComplaintIntake:
    """A new complaint as a channel received it. ``theme=None`` lets the classifier decide."""

    text: str
    channel: str = "telegram"
    complainant_chat_id: int | None = None
    complainant_name: str | None = None
    complainant_phone: str | None = None
    region: str | None = None
    theme: str | None = None
    attachments: Sequence[Attachment | dict[str, Any]] = ()


@dataclass(frozen=True)
class CaseEventView:
    """One history entry as shown to a viewer (note masked unless assigned caseworker)."""

    at: datetime
    actor_id: str
    actor_name: str
    actor_role: str
    action: str
    action_label: str
    from_status: str | None
    to_status: str | None
    note: str | None


@dataclass(frozen=True)
class CaseView:
    """A case as one viewer may see it. ``masked`` tells whether personal numbers were masked.

    ``events`` is filled by ``get`` (single-case views); list queries leave it empty.
    ``due_at`` is the deadline of the current status (None once closed).
    ``assigned_handler_*`` name the assigned caseworker (承办人).
    """

    ticket: str
    status: str
    theme: str
    theme_label: str
    region: str
    channel: str
    text: str
    complainant_chat_id: int | None
    complainant_name: str | None
    complainant_phone: str | None
    attachments: list[Attachment]
    assigned_handler_id: str | None
    assigned_handler_name: str | None
    assigned_unit: str | None
    created_at: datetime
    accepted_at: datetime | None
    concluded_at: datetime | None
    closed_at: datetime | None
    accept_due: datetime
    conclude_due: datetime | None
    extended: bool
    extension_days: int | None
    extension_reason: str | None
    result: str | None
    transferred_to: str | None
    rating: str | None
    rated_at: datetime | None
    due_at: datetime | None
    overdue: bool
    masked: bool
    allowed_actions: list[str] = field(default_factory=list)
    events: list[CaseEventView] = field(default_factory=list)
    merged_into: str | None = None  # ticket of the case this duplicate was merged into


@dataclass(frozen=True)
class CaseFilter:
    """Filters of ``list_cases``. Dates are China-local days (``created_to`` inclusive);
    datetimes are exact bounds (``created_to`` exclusive). ``handler_id`` is a caseworker id.

    ``q`` searches the ticket and the complaint text (substring, case-insensitive);
    ``sort`` is one of ``SORTS`` (``-`` prefix = descending); ``complainant_phone`` /
    ``complainant_chat_id`` find the same person's cases."""

    status: str | None = None
    theme: str | None = None
    region: str | None = None
    handler_id: str | None = None
    unit: str | None = None
    created_from: date | datetime | None = None
    created_to: date | datetime | None = None
    overdue: bool = False
    due_soon: bool = False
    due_soon_days: int = 3
    q: str | None = None
    sort: str = "-created"
    complainant_phone: str | None = None
    complainant_chat_id: int | None = None
    limit: int = 200
    offset: int = 0


# Sort keys of ``CaseFilter.sort`` (without the "-" for descending).
SORTS: tuple[str, ...] = ("created", "due", "updated", "ticket", "status")


__all__ = [
    "ROLES",
    "SORTS",
    "STAFF_ROLES",
    "SYSTEM_ACTOR",
    "Actor",
    "Attachment",
    "CaseEventView",
    "CaseFilter",
    "CaseView",
    "ComplaintIntake",
    "Role",
]
