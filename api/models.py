"""ORM models of the web app: staff users, API keys, the audit log and ingest jobs.

Schema changes go through the Alembic revision ``0003_web`` (branch ``web``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from complaints.models import UTCDateTime
from vetbot.db import Base

# Roles, least to most privileged. handler, office and editor include staff rights (editor: the
# knowledge base: metadata, passages, curated answers, hit testing); admin has all.
# partner: an account of a partner unit (协办单位: 交通运输局, 教育局...); its handler_id is the
# partner's id in the routing table.
ROLES: tuple[str, ...] = ("staff", "partner", "handler", "office", "editor", "admin")
ROLE_LABELS: dict[str, str] = {
    "staff": "服务站工作人员",
    "partner": "协办单位",
    "handler": "承办人",
    "office": "双拥办",
    "editor": "知识库编辑",
    "admin": "管理员",
}

JOB_STATES: tuple[str, ...] = ("queued", "running", "done", "failed")


def utcnow() -> datetime:
    """Timezone-aware current time (UTC)."""
    return datetime.now(UTC)


class User(Base):
    """A person who logs into the web pages or the API with a password."""

    __tablename__ = "web_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    display_name: Mapped[str] = mapped_column(String(64), default="")
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Id of this person in the complaints routing table (handlers); defaults to the username.
    handler_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    region: Mapped[str | None] = mapped_column(String(32), nullable=True)
    telegram_chat_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Carried in session tokens; bumped on password/role change or disable to end all sessions.
    token_version: Mapped[int] = mapped_column(Integer, default=1)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    @property
    def actor_id(self) -> str:
        """The id this user acts under in the complaint case store."""
        return self.handler_id or self.username


class ApiKey(Base):
    """A key for a system client; only its SHA-256 is stored (keys are long random strings)."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(96), default="")
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class AuditLog(Base):
    """Who did what to which target, for writes not covered by the case event log."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(96))
    action: Mapped[str] = mapped_column(String(48), index=True)
    target: Mapped[str] = mapped_column(String(255), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)


class IngestJob(Base):
    """A background ingest of uploaded files into the default knowledge base."""

    __tablename__ = "ingest_jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    created_by: Mapped[str] = mapped_column(String(96), default="")
    status: Mapped[str] = mapped_column(String(16), default="queued")
    total: Mapped[int] = mapped_column(Integer, default=0)
    processed: Mapped[int] = mapped_column(Integer, default=0)
    # One entry per uploaded file: {name, size, status, error, doc_id, chunks}.
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class IngestQueueEntry(Base):
    """An ingest job's place in the database queue (revision ``0014_ingest_jobs``).

    Any process running the queue (``api.jobqueue``: the API in-process, or ``vetbot worker``)
    claims an entry with a token and a lease (``claimed_until``) and renews it between files;
    an entry whose lease ran out belongs to a dead process. ``cancel_requested`` reaches the
    process running the job whichever process the cancel request arrived at.
    """

    __tablename__ = "ingest_queue"

    job_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    enqueued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    claim_token: Mapped[str | None] = mapped_column(String(36), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    claimed_by: Mapped[str] = mapped_column(String(64), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)


class IngestJobFile(Base):
    """An uploaded file of a queued job, kept in the database so any worker can ingest it."""

    __tablename__ = "ingest_job_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(String(32), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(128))
    data: Mapped[bytes] = mapped_column(LargeBinary)
