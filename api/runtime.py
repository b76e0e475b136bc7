"""The services one app instance uses, and their lazy loading.

``create_app`` builds a :class:`Runtime`; injected services (tests, the bench) are ready at
once, missing ones are built by :meth:`Runtime.load` in a background thread started by the
app's lifespan, so ``/healthz`` answers while models load and ``/readyz`` says why not ready.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from api.errors import ServiceNotReadyError
from api.rwlock import ReadWriteLock
from api.users import UserService
from complaints.classifier import ComplaintClassifier
from complaints.routing import RoutingTable
from complaints.service import CaseService
from ingest.bootstrap import open_knowledge_service
from knowledge.service import KnowledgeService
from vetbot.db import create_db_engine, make_session_factory
from vetbot.errors import VetbotError
from vetbot.settings import Settings

logger = logging.getLogger(__name__)


class Runtime:
    """Holds settings, the session factory and the (possibly still loading) services."""

    def __init__(
        self,
        settings: Settings,
        *,
        knowledge: KnowledgeService | None = None,
        cases: CaseService | None = None,
        session_factory: Callable[[], Session] | None = None,
    ) -> None:
        self.settings = settings
        if session_factory is None:
            session_factory = make_session_factory(create_db_engine(settings.sqlalchemy_url))
        self.session_factory: Callable[[], Session] = session_factory
        self.users = UserService(session_factory)
        self._knowledge = knowledge
        self._cases = cases
        self._lock = threading.Lock()
        # Readers (ask/search/documents) share; reloading the serving index after an upload is exclusive.
        self.kb_lock = ReadWriteLock()
        self._loaded = threading.Event()
        self._error: str | None = None
        self.load_seconds: float | None = None
        self.notifier: Any = None  # set by the app when the Telegram bot runs alongside
        if knowledge is not None:
            self._loaded.set()

    # ------------------------------------------------------------------ loading
    @property
    def needs_loading(self) -> bool:
        """True when the knowledge service still has to be built."""
        return self._knowledge is None and not self._loaded.is_set()

    def load(self) -> None:
        """Build the knowledge service (models, index) and the case service; never raises."""
        started = time.perf_counter()
        try:
            with self._lock:
                if self._knowledge is None:
                    logger.info(
                        "loading embedding model and knowledge base from %s", self.settings.default_kb_dir
                    )
                    knowledge = open_knowledge_service(self.settings, classifier_factory=ComplaintClassifier)
                    # The first query would otherwise pay for the tokenizer and corpus statistics.
                    knowledge.warm_up()
                    self._knowledge = knowledge
                if self._cases is not None and getattr(self._cases, "classifier", "n/a") is None:
                    self._cases.classifier = getattr(self._knowledge, "classifier", None)
            self.load_seconds = time.perf_counter() - started
            logger.info("knowledge service ready in %.1f s", self.load_seconds)
        except VetbotError as exc:
            self._error = exc.user_message
            logger.error("knowledge service failed to load: %s", exc)
        except Exception as exc:  # any failure must surface in /readyz, not kill the app
            self._error = f"知识库加载失败（{type(exc).__name__}），请查看服务器日志。"
            logger.exception("knowledge service failed to load")
        finally:
            self._loaded.set()

    def wait_loaded(self, timeout: float | None = None) -> bool:
        """Block until loading finished (successfully or not)."""
        return self._loaded.wait(timeout)

    def readiness(self) -> tuple[bool, str]:
        """(ready, Chinese reason when not ready)."""
        if self._error:
            return False, self._error
        if not self._loaded.is_set() or self._knowledge is None:
            return False, "正在加载向量模型和政策知识库，请稍候。"
        try:
            empty = not self._knowledge.store.documents
        except Exception:  # a half-built service: report, do not crash the probe
            logger.exception("readiness check failed")
            return False, "政策知识库暂时不可用。"
        if empty:
            return False, "政策知识库为空，请先运行 vetbot ingest 导入政策文件。"
        return True, ""

    # ------------------------------------------------------------------ access
    @property
    def knowledge(self) -> KnowledgeService:
        """The knowledge service; ServiceNotReadyError (503) while loading or after a failure."""
        if self._knowledge is None or not self._loaded.is_set():
            if self._error:
                raise ServiceNotReadyError(self._error, user_message=self._error)
            raise ServiceNotReadyError("knowledge service not loaded")
        return self._knowledge

    @property
    def knowledge_if_ready(self) -> KnowledgeService | None:
        """The knowledge service when loaded, else None."""
        return self._knowledge

    @property
    def cases(self) -> CaseService:
        """The complaint case service, built on first use when not injected."""
        if self._cases is None:
            with self._lock:
                if self._cases is None:
                    knowledge = self.knowledge_if_ready
                    self._cases = build_case_service(
                        self.settings,
                        self.session_factory,
                        notifier=self.notifier,
                        classifier=getattr(knowledge, "classifier", None),
                    )
        return self._cases


def build_case_service(
    settings: Settings,
    session_factory: Callable[[], Session],
    *,
    notifier: Any = None,
    classifier: Any = None,
) -> CaseService:
    """A CaseService over the configured routing table; the classifier is shared with the
    knowledge service (the same embeddings), and attached later if models are still loading.

    Raises ConfigurationError when the routing table is missing or invalid.
    """
    routing = RoutingTable.load(settings.routing_file)
    return CaseService(session_factory, routing, notifier=notifier, classifier=classifier)
