"""Request and response bodies of the JSON API (validation messages are Chinese)."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

from knowledge.types import Answer, Passage
from vetbot import regions
from vetbot.errors import InvalidInputError

MAX_QUESTION_CHARS = 500
MAX_QUERY_CHARS = 200
MAX_SEARCH_K = 50
MAX_CONTEXT_CHARS = 4000  # a context the server returned is well under 1000
# NUL and other C0 controls (tab and line breaks allowed) and lone UTF-16 surrogates: neither
# SQLite (UTF-8) nor PostgreSQL (no NUL in text) can store them.
_UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def clean_question(value: Any, max_chars: int = MAX_QUESTION_CHARS, label: str = "问题") -> str:
    """Strip ``value``; PydanticCustomError (Chinese) when empty or too long."""
    if not isinstance(value, str):
        raise PydanticCustomError("string_type", f"{label}必须是文本。")
    text = value.strip()
    if _UNSTORABLE.search(text):
        raise PydanticCustomError(
            "text_unstorable", f"{label}包含无法识别的字符（控制字符或残缺编码），请删除后重试。"
        )
    if not text:
        hint = "请输入您要咨询的内容" if label == "问题" else f"请填写{label}"
        raise PydanticCustomError("question_empty", f"{label}不能为空，{hint}。")
    if len(text) > max_chars:
        raise PydanticCustomError(
            "question_too_long", f"{label}太长了（{len(text)} 字），请控制在 {max_chars} 字以内。"
        )
    return text


def clean_region(value: Any) -> str | None:
    """A request's region through :func:`vetbot.regions.validate_region` (PydanticCustomError → 422)."""
    try:
        return regions.validate_region(_optional_text(value))
    except InvalidInputError as exc:
        raise PydanticCustomError("region_unknown", exc.user_message) from exc


def _optional_text(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise PydanticCustomError("string_type", "必须是文本。")
    return value.strip() or None


class AskRequest(BaseModel):
    """``POST /v1/ask``."""

    question: str = Field(description="问题（1–500 字）", examples=["优待证丢了怎么补办？"])
    region: str | None = Field(None, max_length=32, description="所在地区，如 济南市；不填按全国政策回答")
    context: dict[str, Any] | None = Field(
        None,
        description=(
            "对话上下文：原样带回上一次回答返回的 context，追问（如“那火车呢？”）即按上一问理解；"
            "30 分钟未续问即失效。不带或为 null 时按新话题回答。"
        ),
        examples=[{}],
    )

    @field_validator("question", mode="before")
    @classmethod
    def _question(cls, value: Any) -> str:
        return clean_question(value)

    @field_validator("context")
    @classmethod
    def _context(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and len(json.dumps(value, ensure_ascii=False, default=str)) > MAX_CONTEXT_CHARS:
            raise PydanticCustomError(
                "context_too_long", "对话上下文过长，请原样带回上一次回答返回的 context。"
            )
        return value

    @field_validator("region", mode="before")
    @classmethod
    def _region(cls, value: Any) -> str | None:
        return clean_region(value)


class AskResponse(Answer):
    """The answer (same JSON as ``vetbot ask --json``) plus the id to rate it with."""

    log_id: int | None = Field(None, description="问答记录编号，用于 POST /v1/ask/{id}/rating")
    rating_token: str | None = Field(
        None, description="评价凭证：匿名提问时评价须带上（POST /v1/ask/{id}/rating 的 token）"
    )
    context: dict[str, Any] | None = Field(
        None, description="对话上下文：下一问原样带回以便追问（null 表示没有可延续的话题）"
    )


class RatingRequest(BaseModel):
    """``POST /v1/ask/{id}/rating``."""

    rating: Literal["up", "down"] = Field(description="up = 有用 👍，down = 没用 👎")
    token: str | None = Field(
        None, max_length=64, description="回答附带的 rating_token；匿名提问的回答凭它评价"
    )
    reason: str | None = Field(
        None, max_length=200, description="工作人员代提问人评价时必填的理由（记入审计日志）"
    )


class RatingResponse(BaseModel):
    """Confirmation of a rating."""

    log_id: int
    rating: str


class SearchHit(Passage):
    """One ranked passage with a highlighted snippet, and its document's 文号 and 施行日期 (staff
    see whether a text is in force without opening it; ``status`` says 现行有效 / 已被取代 / …)."""

    rank: int
    doc_number: str = Field("", description="文件的发文字号（文号）；没有则为空")
    date_effective: str = Field("", description="文件的施行日期 YYYY-MM-DD；未注明则为空")
    snippet_html: str = Field(description="HTML：查询词用 <mark> 标出，其余已转义")
    anchor: str = Field(description="文件页面中该条文的锚点，如 chunk-…")
    document_url: str = Field(description="文件页面地址（含锚点）")
    upcoming_note: str = Field(
        "", description="现行有效、但将被知识库中尚未施行的文件取代或废止时：将于YYYY-MM-DD被《…》废止/取代"
    )


class SearchResponse(BaseModel):
    """``GET /v1/search``."""

    query: str
    terms: list[str]
    total: int
    results: list[SearchHit]


class ChunkOut(BaseModel):
    """One chunk (article) of a document."""

    chunk_id: str
    anchor: str
    article: str = ""
    heading: str = ""
    text: str


class DocumentSummary(BaseModel):
    """Metadata of an ingested document."""

    doc_id: str
    title: str
    region: str
    scope: str
    topics: list[str]
    issuer: str = ""
    doc_number: str = ""
    date_issued: str = ""
    date_effective: str = ""
    source_url: str = ""
    path: str = ""
    chunk_count: int
    ingested_at: str = ""
    status: str = Field("现行有效", description="现行有效/已被取代/已废止/尚未施行（knowledge.versions）")
    status_note: str = Field("", description="已被《…》取代（…起施行）；现行有效时为空")
    upcoming_note: str = Field(
        "", description="现行有效、但将被知识库中尚未施行的文件取代或废止时：将于YYYY-MM-DD被《…》废止/取代"
    )


class DocumentDetail(DocumentSummary):
    """Metadata and all chunks of a document."""

    chunks: list[ChunkOut]


class DocumentList(BaseModel):
    """``GET /v1/documents``."""

    total: int
    documents: list[DocumentSummary]


class JobFile(BaseModel):
    """Progress of one uploaded file."""

    name: str
    size: int = 0
    status: str = "queued"
    error: str | None = None
    doc_id: str | None = None
    chunks: int | None = None
    # The file's ingest report once done: articles, warnings, metadata read, stats, versions
    # (``ingest.report.IngestedDocument`` fields plus ``supersessions``).
    report: dict[str, Any] | None = None


class JobOut(BaseModel):
    """``GET /v1/jobs/{id}``."""

    id: str
    status: Literal["queued", "running", "done", "failed", "cancelled"]
    total: int
    processed: int
    files: list[JobFile]
    error: str | None = None
    created_by: str = ""
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


class JobAccepted(BaseModel):
    """``POST /v1/documents`` response."""

    job_id: str
    status: str
    files: list[str]
    status_url: str


class TokenResponse(BaseModel):
    """``POST /v1/auth/token``."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int
    role: str


class MeResponse(BaseModel):
    """``GET /v1/auth/me``."""

    kind: str
    name: str
    display_name: str
    role: str
    permissions: list[str]


_USERNAME = re.compile(r"^[\w.@-]{1,64}$")


class UserCreate(BaseModel):
    """``POST /v1/users`` (admin)."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=8, max_length=128)
    role: Literal["staff", "partner", "handler", "office", "editor", "admin"]
    display_name: str = Field("", max_length=64)
    handler_id: str | None = Field(None, max_length=64)
    region: str | None = Field(None, max_length=32)

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        if not _USERNAME.match(value):
            raise PydanticCustomError(
                "username", "用户名只能包含字母、数字、汉字和 . _ @ -，最长 64 个字符。"
            )
        return value


class UserUpdate(BaseModel):
    """``PATCH /v1/users/{username}`` (admin)."""

    role: Literal["staff", "partner", "handler", "office", "editor", "admin"] | None = None
    active: bool | None = None
    password: str | None = Field(None, min_length=8, max_length=128)
    display_name: str | None = Field(None, max_length=64)
    handler_id: str | None = Field(None, max_length=64)
    region: str | None = Field(None, max_length=32)


class UserOut(BaseModel):
    """A user as shown to admins (never the hash)."""

    username: str
    display_name: str
    role: str
    active: bool
    handler_id: str | None = None
    region: str | None = None
    created_at: datetime | None = None
    last_login_at: datetime | None = None


class ApiKeyCreate(BaseModel):
    """``POST /v1/api-keys`` (admin)."""

    name: str = Field(min_length=1, max_length=64)
    role: Literal["staff", "handler", "office", "admin"]


class ApiKeyOut(BaseModel):
    """An API key's metadata; ``key`` only in the creation response."""

    name: str
    role: str
    prefix: str
    created_at: datetime | None = None
    created_by: str = ""
    last_used_at: datetime | None = None
    revoked: bool = False
    key: str | None = Field(None, description="仅在创建时返回一次，请妥善保存")
