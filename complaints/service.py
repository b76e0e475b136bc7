"""The complaint case service: intake and the lifecycle actions of caseworkers and complainants.

Plain synchronous Python over an injected SQLAlchemy session factory (call it from async code
with ``asyncio.to_thread``). It knows nothing of Telegram or HTTP: the complainant and the
caseworkers are told about changes through a notification outbox: every notice is written to
``case_notices`` in the same transaction as the change (``complaints.notices``;
``complaints.outbox`` delivers it, retrying until Telegram takes it), and after the commit the
injected ``Notifier`` port, if any, is called with the notice (carrying its ``notice_id``) as a
hint to deliver now. A failing notifier never loses a change nor its notice.

The read side (``get``, ``list_cases``, ``overdue``, ``due_soon``) is inherited from
``complaints.queries.CaseQueries``; office aggregates are computed from case records by
``complaints.aggregates``.

Every action raises ``InvalidInputError`` for a malformed ticket or missing text,
``NotFoundError`` for an unknown ticket, ``PermissionDeniedError`` when the actor is neither
the assigned caseworker nor office/admin, ``InvalidTransitionError`` when the case's status
does not allow the action, and ``CaseError`` when the case changed concurrently.

Privacy: every ``CaseView`` has ID-card, phone and card numbers masked unless the viewer is
the case's assigned caseworker.

The module is a little over 500 lines on purpose: each lifecycle action is one short method
with the notice text it sends beside it, and they share one transaction routine (``act``);
validation, views, reads and notices already live in their own modules.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from complaints import lifecycle as lc
from complaints.followers import is_follower
from complaints.models import Case, CaseEvent
from complaints.notices import Notice, NoticeDraft, Notifier, enqueue_notices
from complaints.outbox_store import NoticeStats, OutboxEntry, list_undelivered, outbox_stats, requeue
from complaints.queries import CaseQueries, events_of, load_case
from complaints.routing import Handler, RouteTarget, RoutingTable
from complaints.themes import THEMES
from complaints.tickets import next_ticket, normalize_ticket
from complaints.types import (
    STAFF_ROLES,
    SYSTEM_ACTOR,
    UNNAMED_COMPLAINANT,
    Actor,
    CaseView,
    ComplaintIntake,
    channel_label,
)
from complaints.validation import clean_attachments, clean_complaint_text, clean_note, required_text
from vetbot.clock import to_china, utcnow
from vetbot.errors import CaseError, InvalidInputError, PermissionDeniedError
from vetbot.privacy import mask_text

logger = logging.getLogger(__name__)

_INTAKE_TRIES = 8


class ComplaintClassifierLike(Protocol):
    """What intake needs from ``complaints.classifier.ComplaintClassifier``."""

    def classify(self, text: str) -> Any:
        """Return an object with a ``theme`` attribute (a code of ``complaints.themes.THEMES``)."""
        ...


class CaseService(CaseQueries):
    """Complaint cases: intake and lifecycle actions, plus the reads of ``CaseQueries``."""

    def __init__(
        self,
        session_factory: Callable[[], Session],
        routing: RoutingTable,
        notifier: Notifier | None = None,
        classifier: ComplaintClassifierLike | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__(session_factory, routing, clock)
        self.notifier = notifier
        self.classifier = classifier

    def caseworker_actor(self, caseworker_id: str) -> Actor:
        """An ``Actor`` for a caseworker of the routing table (``NotFoundError`` if unknown)."""
        h = self.routing.handler(caseworker_id)
        return Actor(id=h.id, name=h.name, role="handler", telegram_chat_id=h.telegram_chat_id)

    # The bot and the web API still call it by its former name.
    handler_actor = caseworker_actor

    def recorded_actor(self, actor: Actor) -> Actor:
        """``actor`` as the case history records it: a caseworker of the routing table signs
        with the name the table gives (吴晓燕), whether acting from Telegram or from a web
        account (whose display name defaults to its login, fe_handler); anyone else as given."""
        caseworker = self.routing.handlers.get(actor.id) if actor.role == "handler" else None
        if caseworker is None or not caseworker.name or caseworker.name == actor.name:
            return actor
        return dataclasses.replace(actor, name=caseworker.name)

    # ---------------------------------------------------------------- intake
    def intake(self, intake: ComplaintIntake) -> CaseView:
        """File a complaint: classify (if needed), route, assign, commit, then notify the caseworker.

        The case is committed before this returns, so the ticket shown to the complainant
        always exists. The returned view is masked (the complainant is not the caseworker).
        Raises ``InvalidInputError`` for an empty or too long text, an unknown theme or bad
        attachments, ``NotFoundError`` when the routing table names an unknown caseworker, and
        ``CaseError`` when the database stays busy through every retry.
        """
        text = clean_complaint_text(intake.text)
        channel = (intake.channel or "").strip() or "unknown"
        attachments = clean_attachments(intake.attachments)
        theme = self._theme_for(intake.theme, text)
        region = self.routing.canonical_region(intake.region)
        target = self.routing.route(theme, region)

        last_exc: Exception | None = None
        for attempt in range(1, _INTAKE_TRIES + 1):
            now = self.now()
            try:
                with self._sessions() as session:
                    with session.begin():
                        # The counter row is written first: on SQLite that takes the write lock at
                        # the start of the transaction, so nothing read before can go stale.
                        ticket = next_ticket(session, now)
                        caseworker = self._pick_caseworker(session, target)
                        case = Case(
                            ticket=ticket,
                            channel=channel[:16],
                            complainant_chat_id=intake.complainant_chat_id,
                            complainant_name=(intake.complainant_name or "").strip()[:64] or None,
                            complainant_phone=(intake.complainant_phone or "").strip()[:32] or None,
                            region=region[:32],
                            theme=theme,
                            text=text,
                            attachments=attachments,
                            status=lc.PENDING,
                            assigned_handler_id=caseworker.id,
                            assigned_unit=caseworker.unit,
                            created_at=now,
                            accept_due=lc.accept_due(now),
                            extended=False,
                            updated_at=now,
                        )
                        session.add(case)
                        session.flush()
                        complainant = Actor(
                            id=str(intake.complainant_chat_id)
                            if intake.complainant_chat_id is not None
                            else "anonymous",
                            name=case.complainant_name or UNNAMED_COMPLAINANT,
                            role="complainant",
                        )
                        events = [
                            _event(
                                case,
                                complainant,
                                "intake",
                                None,
                                lc.PENDING,
                                f"渠道：{channel_label(channel)}",
                                now,
                            ),
                            _event(
                                case,
                                SYSTEM_ACTOR,
                                "assign",
                                None,
                                lc.PENDING,
                                _assign_note(caseworker, target),
                                now,
                            ),
                        ]
                        session.add_all(events)
                        notices = enqueue_notices(
                            session,
                            case,
                            [
                                NoticeDraft(
                                    chat_id=caseworker.telegram_chat_id,
                                    kind="handler",
                                    status=lc.PENDING,
                                    action="intake",
                                    text=self._new_case_text(case),
                                    handler_id=caseworker.id,
                                )
                            ],
                            now,
                        )
                    view = self._view(case, None, events)
                break
            except IntegrityError as exc:  # ticket collision (counter reset or imported cases)
                last_exc = exc
                logger.warning("ticket collision on intake (attempt %d), retrying", attempt)
            except OperationalError as exc:
                if not _is_transient(exc):
                    raise
                last_exc = exc
                logger.warning("database busy on intake (attempt %d), retrying", attempt)
                time.sleep(min(0.05 * attempt, 0.5) + random.random() * 0.05)
        else:
            raise CaseError(
                f"intake failed after {_INTAKE_TRIES} attempts: {last_exc}",
                user_message="投诉暂时未能登记，请稍后再试，或拨打 12345 政务服务热线。",
            )
        logger.info("case %s filed: theme=%s region=%s caseworker=%s", ticket, theme, region, caseworker.id)
        self._notify_all(notices)
        return view

    def _theme_for(self, theme: str | None, text: str) -> str:
        themes = THEMES
        if theme is not None:
            if theme not in themes:
                raise InvalidInputError(f"unknown theme {theme!r}", user_message=f"未知的投诉主题：{theme}。")
            return theme
        if self.classifier is None:
            logger.warning("no classifier injected; complaint filed under theme 'other'")
            return "other"
        code = getattr(self.classifier.classify(text), "theme", "other")
        return code if code in themes else "other"

    def _pick_caseworker(self, session: Session, target: RouteTarget) -> Handler:
        members = self.routing.members(target)
        if len(members) == 1:
            return members[0]
        load = _open_load(session, [m.id for m in members])
        return min(members, key=lambda m: load.get(m.id, 0))  # ties: first in file order

    def _new_case_text(self, case: Case) -> str:
        # Telegram chats are not the case store: ID-card, bank-card and phone numbers stay masked.
        text = mask_text(case.text)
        excerpt = text if len(text) <= 200 else text[:200] + "…"
        return (
            f"【新投诉待受理】编号 {case.ticket}\n"
            f"主题：{THEMES.get(case.theme, case.theme)}；地区：{case.region}\n"
            f"内容：{excerpt}\n"
            f"请于 {_fmt_day(case.accept_due)} 前决定是否受理（{lc.LEGAL_BASIS['accept']}）。"
        )

    # ---------------------------------------------------------------- caseworker actions
    def accept(self, ticket: str, actor: Actor, note: str | None = None) -> CaseView:
        """受理: start the 60-day conclusion clock (XF 34)."""

        def apply(case: Case, now: datetime) -> str:
            case.accepted_at = now
            case.conclude_due = lc.conclude_due(now)
            return clean_note(note) or ""

        return self.act(
            ticket,
            actor,
            "accept",
            apply,
            lambda c: (
                f"您的投诉（编号 {c.ticket}）已受理，承办单位：{c.assigned_unit}。"
                f"我们将在 {_fmt_day(c.conclude_due)} 前办结并答复您。"
            ),
        )

    def reject(self, ticket: str, actor: Actor, reason: str) -> CaseView:
        """不予受理, with a mandatory reason that is told to the complainant."""
        reason_text = required_text(reason, "请填写不予受理的理由，理由将告知信访人。")

        def apply(case: Case, now: datetime) -> str:
            case.result = reason_text
            case.closed_at = now
            return reason_text

        return self.act(
            ticket,
            actor,
            "reject",
            apply,
            lambda c: (
                f"您的投诉（编号 {c.ticket}）不予受理。理由：{reason_text}\n"
                "如有疑问，可拨打 12345 政务服务热线，或到当地退役军人服务站咨询。"
            ),
        )

    def transfer(self, ticket: str, actor: Actor, to: str, note: str | None = None) -> CaseView:
        """已转办: hand the case to the competent agency outside this system (XF 22/23)."""
        target = required_text(to, "请填写转办的有权处理机关或单位。")
        note_text = clean_note(note)

        def apply(case: Case, now: datetime) -> str:
            case.transferred_to = target[:128]
            # The note is for the receiving unit; the complainant's 办理结果 only says where it went.
            case.result = f"已转交{target}办理"
            case.closed_at = now
            return f"转至：{target}" + (f"；{note_text}" if note_text else "")

        return self.act(
            ticket,
            actor,
            "transfer",
            apply,
            lambda c: (
                f"您的投诉（编号 {c.ticket}）已转交{target}办理，请留意其答复。"
                f"您仍可发送 /status {c.ticket} 查询办理进度。"
            ),
        )

    def start(self, ticket: str, actor: Actor, note: str | None = None) -> CaseView:
        """办理中: the caseworker is working on it."""
        return self.act(
            ticket,
            actor,
            "start",
            lambda case, now: clean_note(note) or "",
            lambda c: f"您的投诉（编号 {c.ticket}）正在办理中，承办单位：{c.assigned_unit}。",
        )

    def reply(self, ticket: str, actor: Actor, text: str) -> CaseView:
        """Send the complainant a message about the case (an event; no status change)."""
        body = required_text(text, "回复内容不能为空。")
        return self.act(
            ticket,
            actor,
            "reply",
            lambda case, now: body,
            lambda c: f"关于您的投诉（编号 {c.ticket}），承办人回复：\n{body}",
        )

    def conclude(self, ticket: str, actor: Actor, result: str) -> CaseView:
        """已办结, with the result told to the complainant, who may then rate it."""
        result_text = required_text(result, "请填写办理结果，结果将答复信访人。")

        def apply(case: Case, now: datetime) -> str:
            case.result = result_text
            case.concluded_at = now
            case.closed_at = now
            return result_text

        return self.act(
            ticket,
            actor,
            "conclude",
            apply,
            lambda c: (
                f"您的投诉（编号 {c.ticket}）已办结。办理结果：\n{result_text}\n"
                f"请对办理结果进行评价：{' / '.join(lc.RATINGS)}。"
                "如对处理意见不服，可自收到答复之日起 30 日内向上一级机关请求复查"
                "（《信访工作条例》第三十五条）。"
            ),
        )

    def extend(self, ticket: str, actor: Actor, days: int, reason: str) -> CaseView:
        """Extend the conclusion deadline once, by at most 30 days, with a reason (XF 34)."""

        def apply(case: Case, now: datetime) -> str:
            cleaned = lc.check_extension(case.extended, days, reason)
            assert case.conclude_due is not None  # accepted cases always have one
            case.conclude_due = case.conclude_due + timedelta(days=days)
            case.extended = True
            case.extension_days = days
            case.extension_reason = cleaned
            return f"延期 {days} 天：{cleaned}"

        return self.act(
            ticket,
            actor,
            "extend",
            apply,
            lambda c: (
                f"您的投诉（编号 {c.ticket}）因情况复杂，办理期限延长 {c.extension_days} 天，"
                f"将于 {_fmt_day(c.conclude_due)} 前办结。延期理由：{c.extension_reason}"
            ),
        )

    def reassign(self, ticket: str, actor: Actor, caseworker_id: str, note: str | None = None) -> CaseView:
        """Give the case to another caseworker of the routing table (an event; status unchanged).

        Raises ``NotFoundError`` for an unknown caseworker and ``CaseError`` when the case is
        already theirs.
        """
        new = self.routing.handler(caseworker_id)
        note_text = clean_note(note)
        previous: dict[str, str | None] = {}

        def apply(case: Case, now: datetime) -> str:
            if case.assigned_handler_id == new.id:
                raise CaseError("same caseworker", user_message=f"案件已由“{new.name}”承办，无需改派。")
            previous["id"] = case.assigned_handler_id
            case.assigned_handler_id = new.id
            case.assigned_unit = new.unit
            old = self.routing.handlers.get(previous["id"] or "")
            old_label = f"{old.name}（{old.unit}）" if old else (previous["id"] or "无")
            return f"由 {old_label} 改派至 {new.name}（{new.unit}）" + (f"：{note_text}" if note_text else "")

        def caseworker_notice(case: Case) -> list[NoticeDraft]:
            return [
                NoticeDraft(
                    chat_id=new.telegram_chat_id,
                    kind="handler",
                    status=case.status,
                    action="reassign",
                    text=f"【改派】案件 {case.ticket} 已改派给您承办，当前状态：{case.status}。"
                    + (f"\n说明：{note_text}" if note_text else ""),
                    handler_id=new.id,
                )
            ]

        return self.act(ticket, actor, "reassign", apply, None, caseworker_notice)

    def rate(self, ticket: str, chat_id: int, rating: str) -> CaseView:
        """The complainant's satisfaction rating (满意/基本满意/不满意), once, after 已办结, from the
        chat that filed the case or one following it (``complaints.followers``)."""
        rating = (rating or "").strip()
        if rating not in lc.RATINGS:
            raise InvalidInputError(
                f"bad rating {rating!r}", user_message=f"评价只能是：{'、'.join(lc.RATINGS)}。"
            )
        ticket = normalize_ticket(ticket)
        now = self.now()
        with self._sessions() as session:
            with session.begin():
                case = load_case(session, ticket, for_update=True)
                if case.complainant_chat_id != chat_id and not is_follower(session, case.id, chat_id):
                    raise PermissionDeniedError(
                        f"chat {chat_id} rating {ticket}", user_message="只有提交该投诉的信访人本人可以评价。"
                    )
                lc.check_transition(case.status, "rate")
                if case.rating is not None:
                    raise CaseError(
                        f"{ticket} already rated",
                        user_message=f"您已评价过该投诉（{case.rating}），感谢您的反馈。",
                    )
                case.rating, case.rated_at, case.updated_at = rating, now, now
                actor = Actor(
                    id=str(chat_id), name=case.complainant_name or UNNAMED_COMPLAINANT, role="complainant"
                )
                session.add(_event(case, actor, "rate", case.status, case.status, rating, now))
                self._flush(session, ticket)
                events = events_of(session, case.id)
            view = self._view(case, None, events)
        logger.info("case %s rated %s", ticket, rating)
        return view

    # ---------------------------------------------------------------- action machinery
    def act(
        self,
        ticket: str,
        actor: Actor,
        action: str,
        apply: Callable[[Case, datetime], str],
        complainant_text: Callable[[Case], str] | None,
        other_notices: Callable[[Case], list[NoticeDraft]] | None = None,
        authorize: Callable[[Case, Actor], None] | None = None,
    ) -> CaseView:
        """Check permission and lifecycle, apply, append the event and the outbox notices,
        commit, then notify.

        ``apply(case, now)`` changes the row and returns the event note; ``complainant_text``
        (None: nothing for the complainant) and ``other_notices`` build the outbox rows.
        Raises as the class docstring says. Other action modules (``complaints.supervision``)
        build their actions on it; ``authorize`` replaces the caseworker/office permission check
        (a partner unit answering 协办)."""
        ticket = normalize_ticket(ticket)
        actor = self.recorded_actor(actor)
        now = self.now()
        with self._sessions() as session:
            with session.begin():
                case = load_case(session, ticket, for_update=True)
                (authorize or _check_permission)(case, actor)
                from_status = case.status
                to_status = lc.check_transition(from_status, action)
                note = apply(case, now)
                case.status = to_status
                case.updated_at = now
                session.add(_event(case, actor, action, from_status, to_status, note or None, now))
                self._flush(session, ticket)
                events = events_of(session, case.id)
                drafts: list[NoticeDraft] = []
                if complainant_text is not None:
                    drafts.append(
                        NoticeDraft(
                            chat_id=case.complainant_chat_id,
                            kind="complainant",
                            status=to_status,
                            action=action,
                            # ID-card and card numbers a caseworker typed never travel to
                            # Telegram (nor sit in the outbox); a contact phone stays usable.
                            text=mask_text(complainant_text(case), keep_phones=True),
                        )
                    )
                if other_notices is not None:
                    drafts.extend(other_notices(case))
                notices = enqueue_notices(session, case, drafts, now)
            view = self._view(case, actor, events)
        logger.info("case %s: %s by %s (%s -> %s)", ticket, action, actor.id, from_status, to_status)
        self._notify_all(notices)
        return view

    @staticmethod
    def _flush(session: Session, ticket: str) -> None:
        try:
            session.flush()
        except StaleDataError as exc:
            raise CaseError(
                f"{ticket} changed concurrently", user_message="该案件刚被其他人更新，请刷新后重试。"
            ) from exc

    def _notify_all(self, notices: Sequence[Notice]) -> None:
        for notice in notices:
            self._notify(notice)

    def _notify(self, notice: Notice) -> None:
        """Hint the notifier after commit; a failure is logged and never undoes the change
        (the notice stays in the outbox and is delivered later)."""
        if self.notifier is None:
            return
        try:
            self.notifier.notify(notice)
        except Exception:
            logger.exception("notifier failed for %s (%s, %s)", notice.ticket, notice.kind, notice.action)

    # ---------------------------------------------------------------- notification outbox
    def pending_notices(self, limit: int = 100) -> list[OutboxEntry]:
        """Undelivered notices (pending and failed), oldest first, text masked (for the office)."""
        return list_undelivered(self._sessions, limit=limit)

    def notice_stats(self) -> NoticeStats:
        """Counts of outbox notices per state, how many are due now, and the oldest pending."""
        return outbox_stats(self._sessions, now=self.now())

    def retry_notice(self, notice_id: int) -> None:
        """Put a failed notice back in the queue (e.g. after the complainant unblocked the bot).

        Raises ``NotFoundError`` when no failed notice has that id."""
        requeue(self._sessions, notice_id, now=self.now())


# --------------------------------------------------------------------------------------------
# module helpers
# --------------------------------------------------------------------------------------------


def _check_permission(case: Case, actor: Actor) -> None:
    if actor.role in STAFF_ROLES:
        return
    if actor.role == "handler" and actor.id == case.assigned_handler_id:  # the caseworker
        return
    raise PermissionDeniedError(
        f"{actor.role}:{actor.id} may not act on {case.ticket}",
        user_message=f"只有本案承办人或双拥办/管理员可以办理投诉 {case.ticket}。",
    )


def _event(
    case: Case,
    actor: Actor,
    action: str,
    from_status: str | None,
    to_status: str | None,
    note: str | None,
    at: datetime,
) -> CaseEvent:
    return CaseEvent(
        case_id=case.id,
        at=at,
        actor_id=actor.id[:64],
        actor_name=(actor.name or actor.id)[:64],
        actor_role=actor.role,
        action=action,
        from_status=from_status,
        to_status=to_status,
        note=note,
    )


def _open_load(session: Session, caseworker_ids: list[str]) -> dict[str, int]:
    rows = session.execute(
        select(Case.assigned_handler_id, func.count())
        .where(Case.assigned_handler_id.in_(caseworker_ids), Case.status.in_(lc.OPEN_STATUSES))
        .group_by(Case.assigned_handler_id)
    ).all()
    return {str(h): int(n) for h, n in rows}


def _assign_note(caseworker: Handler, target: RouteTarget) -> str:
    how = {"rule": "按分派规则", "default": "按主题默认", "fallback": "兜底"}[target.via]
    group = f"（{target.id} 组内按工作量）" if target.kind == "group" else ""
    return f"{how}自动分派至 {caseworker.name}（{caseworker.unit}）{group}"


def _is_transient(exc: OperationalError) -> bool:
    msg = str(exc.orig).lower() if exc.orig is not None else str(exc).lower()
    return "locked" in msg or "busy" in msg or "deadlock" in msg or "could not serialize" in msg


def _fmt_day(dt: datetime | None) -> str:
    if dt is None:
        return "—"
    local = to_china(dt)
    return f"{local.year}年{local.month}月{local.day}日"


__all__ = ["CaseService", "ComplaintClassifierLike"]
