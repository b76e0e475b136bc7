"""Case lifecycle: statuses, allowed actions and the statutory deadlines.

Statuses::

    待受理 ──accept──▶ 已受理 ──start──▶ 办理中 ──conclude──▶ 已办结 (rate)
       │                 │  └──────conclude──────────▶ 已办结
       ├──reject──▶ 不予受理
       ├──transfer─▶ 已转办 ◀──transfer── 已受理 / 办理中
       └──merge────▶ 已合并 ◀──merge───── 已受理 / 办理中   (a duplicate, folded into another case)

Deadlines follow 《信访工作条例》(2022): the decision whether to accept is due within 15 days
of receipt (第二十三条), the conclusion within 60 days of acceptance (第三十四条), extendable
once, by at most 30 days, with a stated reason (第三十四条). Days are calendar days counted
from the exact moment of intake/acceptance.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from vetbot.errors import CaseError, InvalidTransitionError

PENDING: Final = "待受理"
ACCEPTED: Final = "已受理"
IN_PROGRESS: Final = "办理中"
CONCLUDED: Final = "已办结"
REJECTED: Final = "不予受理"
TRANSFERRED: Final = "已转办"
MERGED: Final = "已合并"

STATUSES: Final = (PENDING, ACCEPTED, IN_PROGRESS, CONCLUDED, REJECTED, TRANSFERRED, MERGED)
OPEN_STATUSES: Final = (PENDING, ACCEPTED, IN_PROGRESS)
CLOSED_STATUSES: Final = (CONCLUDED, REJECTED, TRANSFERRED, MERGED)

# Days a partner unit has to answer a 协办 request unless the requester sets another.
ASSIST_DAYS: Final = 10
MAX_ASSIST_DAYS: Final = 30

RATINGS: Final = ("满意", "基本满意", "不满意")

ACCEPT_DAYS: Final = 15
CONCLUDE_DAYS: Final = 60
MAX_EXTENSION_DAYS: Final = 30
MAX_EXTENSION: Final = timedelta(days=MAX_EXTENSION_DAYS)

LEGAL_BASIS: Final = {
    "accept": "《信访工作条例》第二十三条",
    "conclude": "《信访工作条例》第三十四条",
    "extend": "《信访工作条例》第三十四条",
}

# action -> (statuses it may be taken from, status it leads to; None = no status change)
TRANSITIONS: Final[dict[str, tuple[tuple[str, ...], str | None]]] = {
    "accept": ((PENDING,), ACCEPTED),
    "reject": ((PENDING,), REJECTED),
    "transfer": ((PENDING, ACCEPTED, IN_PROGRESS), TRANSFERRED),
    "start": ((ACCEPTED,), IN_PROGRESS),
    "conclude": ((ACCEPTED, IN_PROGRESS), CONCLUDED),
    "reply": ((PENDING, ACCEPTED, IN_PROGRESS, CONCLUDED), None),
    "extend": ((ACCEPTED, IN_PROGRESS), None),
    "reassign": (OPEN_STATUSES, None),
    "rate": ((CONCLUDED,), None),
    # 督办/催办 by the office: logged and sent to the caseworker.
    "supervise": (OPEN_STATUSES, None),
    # 回访: staff record the complainant's satisfaction (by phone or at the window).
    "followup": ((CONCLUDED,), None),
    # 协办: once accepted, a partner unit is asked to help; the owner keeps the case
    # (complaints.partners).
    "assist": ((ACCEPTED, IN_PROGRESS), None),
    # 合并: a duplicate of another case (same person or issue) is closed into it (complaints.merging).
    "merge": (OPEN_STATUSES, MERGED),
}

# Annotations: history entries allowed in every status, not offered as lifecycle actions.
# An internal note (内部备注) is never shown or sent to the complainant.
# A partner's 协办 answer and the "merged in" entry on the surviving case are annotations too,
# and so is a contact phone added or corrected by staff (complaints.contact): a concluded case's
# complainant may still want to follow it.
ANNOTATIONS: Final = ("note", "attach", "assist_reply", "merged_in", "phone")

# History entries for staff only: the case desk labels them 内部，信访人不可见 and the
# complainant's own views (the bot's /status) leave them out.
INTERNAL_ACTIONS: Final = (
    "note",
    "supervise",
    "assign",
    "reassign",
    "attach",
    "assist",
    "assist_reply",
    "merged_in",
    "phone",
)

# Actions whose note the complainant may see (answers to them, never internal notes).
PUBLIC_ACTIONS: Final = ("accept", "reject", "transfer", "start", "reply", "conclude", "extend")

ACTION_LABELS: Final = {
    "intake": "登记",
    "assign": "分派",
    "accept": "受理",
    "reject": "不予受理",
    "transfer": "转办",
    "start": "开始办理",
    "conclude": "办结",
    "reply": "答复",
    "extend": "延期",
    "reassign": "改派",
    "rate": "评价",
    "note": "内部备注",
    "attach": "附件",
    "supervise": "督办",
    "followup": "回访",
    "assist": "协办",
    "assist_reply": "协办答复",
    "merge": "合并",
    "merged_in": "并入",
    "phone": "联系电话",
}


def check_transition(status: str, action: str) -> str:
    """Return the status ``action`` leads to from ``status`` (unchanged for non-status actions).

    Raises ``InvalidTransitionError`` naming the current status and the attempted action.
    """
    if action in ANNOTATIONS:
        return status
    if action not in TRANSITIONS:
        raise InvalidTransitionError(f"unknown action {action!r}", user_message=f"未知的案件操作：{action}。")
    allowed_from, target = TRANSITIONS[action]
    if status not in allowed_from:
        label = ACTION_LABELS.get(action, action)
        possible = [ACTION_LABELS[a] for a, (src, _) in TRANSITIONS.items() if status in src]
        hint = f"当前可进行的操作：{'、'.join(possible)}。" if possible else "该案件已结束，不能再办理。"
        raise InvalidTransitionError(
            f"action {action!r} not allowed in status {status!r}",
            user_message=f"案件当前状态为“{status}”，不能进行“{label}”操作。{hint}",
        )
    return target or status


def allowed_actions(status: str, extended: bool = False) -> list[str]:
    """Action codes that may be taken on a case in ``status``; 延期 not once the case has been
    extended (only one extension, XF 34; :func:`check_extension`)."""
    return [a for a, (src, _) in TRANSITIONS.items() if status in src and not (extended and a == "extend")]


def accept_due(received_at: datetime) -> datetime:
    """Deadline for deciding whether to accept (15 days after receipt, XF 23)."""
    return received_at + timedelta(days=ACCEPT_DAYS)


def conclude_due(accepted_at: datetime) -> datetime:
    """Deadline for concluding an accepted case (60 days after acceptance, XF 34)."""
    return accepted_at + timedelta(days=CONCLUDE_DAYS)


def check_extension(already_extended: bool, days: int, reason: str | None) -> str:
    """Validate an extension request; return the cleaned reason.

    Only one extension of 1..30 days, with a reason, is allowed (XF 34).
    """
    if already_extended:
        raise CaseError(
            "case already extended",
            user_message="该案件已延期过一次，依据《信访工作条例》第三十四条不能再次延期。",
        )
    if not isinstance(days, int) or days < 1 or days > MAX_EXTENSION_DAYS:
        raise CaseError(
            f"bad extension days {days!r}",
            user_message=f"延期天数必须为 1 至 {MAX_EXTENSION_DAYS} 天（《信访工作条例》第三十四条）。",
        )
    cleaned = (reason or "").strip()
    if not cleaned:
        raise CaseError("extension without reason", user_message="延期必须填写延期理由，并将告知信访人。")
    return cleaned


def active_deadline(status: str, accept_by: datetime | None, conclude_by: datetime | None) -> datetime | None:
    """The deadline that applies in ``status`` (None once the case is closed)."""
    if status == PENDING:
        return accept_by
    if status in (ACCEPTED, IN_PROGRESS):
        return conclude_by
    return None


def is_overdue(status: str, accept_by: datetime | None, conclude_by: datetime | None, now: datetime) -> bool:
    """True when ``now`` is past the deadline of the current status."""
    due = active_deadline(status, accept_by, conclude_by)
    return due is not None and now > due


def is_due_soon(
    status: str, accept_by: datetime | None, conclude_by: datetime | None, now: datetime, days: int
) -> bool:
    """True when the current deadline is not yet passed but falls within ``days`` days."""
    due = active_deadline(status, accept_by, conclude_by)
    return due is not None and now <= due <= now + timedelta(days=days)
