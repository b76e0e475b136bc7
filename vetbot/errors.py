"""The project's exception tree.

Service code raises these; the boundaries (CLI, FastAPI, Telegram handlers) translate them
into user-facing Chinese messages and status codes. ``user_message`` is always safe to show.

    VetbotError
    ├── ConfigurationError      settings or files are missing or invalid
    ├── KnowledgeBaseError      the index cannot be opened or written
    │   └── IngestError         one input file could not be read or parsed
    ├── InvalidInputError       the user's input is unusable (empty, too long, bad filter)
    ├── NotFoundError           a ticket, document or job does not exist
    ├── PermissionDeniedError   the actor may not do this
    ├── OperationCancelledError long work stopped at a checkpoint (job cancelled, shutdown)
    └── CaseError               complaint case rules
        └── InvalidTransitionError  a status change the lifecycle does not allow
"""

from __future__ import annotations


class VetbotError(Exception):
    """Base of all project errors; ``user_message`` is Chinese text safe to show to users."""

    default_message = "系统出现问题，请稍后再试，或拨打 12345 政务服务热线。"

    def __init__(self, message: str | None = None, *, user_message: str | None = None) -> None:
        super().__init__(message or user_message or self.default_message)
        self.user_message = user_message or self.default_message


class ConfigurationError(VetbotError):
    """Settings or configuration files are missing or invalid."""

    default_message = "系统配置有误，请联系管理员。"


class KnowledgeBaseError(VetbotError):
    """The knowledge base cannot be opened, read or written."""

    default_message = "政策知识库暂时不可用，请稍后再试。"


class IngestError(KnowledgeBaseError):
    """One input file could not be read or parsed; the ingest run skips it."""

    default_message = "文件无法读取或解析，已跳过。"


class InvalidInputError(VetbotError):
    """The user's input cannot be used (empty, too long, unknown filter value...)."""

    default_message = "输入内容有误，请检查后重试。"


class NotFoundError(VetbotError):
    """A ticket, document, job or user does not exist."""

    default_message = "未找到相关记录。"


class PermissionDeniedError(VetbotError):
    """The acting user may not perform this action."""

    default_message = "您没有权限进行此操作。"


class OperationCancelledError(VetbotError):
    """Long work (an ingest job) was stopped at a cancellation checkpoint (``vetbot.cancel``)."""

    default_message = "操作已取消。"


class CaseError(VetbotError):
    """A complaint case rule was violated."""

    default_message = "投诉案件操作失败。"


class InvalidTransitionError(CaseError):
    """The requested status change is not allowed by the case lifecycle."""

    default_message = "当前状态下不能进行该操作。"
