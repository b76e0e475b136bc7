"""The default knowledge base: built from the bundled policy summaries on first use.

``open_knowledge_service`` is how every interface (``vetbot ask/eval/bench``, the bot, the web
app) gets its :class:`~knowledge.service.KnowledgeService`: without ``kb_dir`` it opens the
default KB (``settings.default_kb_dir``) and, the first time, ingests
``settings.bundled_knowledge_dir`` into it; an explicit ``kb_dir`` is opened as it is.
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.pipeline import ingest_paths
from knowledge.service import ClassifierFactory, KnowledgeService
from knowledge.store import MANIFEST, KnowledgeStore, open_catalog

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

    from vetbot.settings import Settings

logger = logging.getLogger(__name__)


def needs_default_kb(settings: Settings) -> bool:
    """True when the default KB has never been built (its catalogue has no generation and the
    directory no old ``manifest.json`` to migrate)."""
    if (settings.default_kb_dir / MANIFEST).exists():
        return False
    catalog = open_catalog(settings.default_kb_dir, settings)
    try:
        return catalog.generation() == 0
    finally:
        catalog.engine.dispose()


def build_default_kb(store: KnowledgeStore, settings: Settings) -> None:
    """Ingest the bundled policy summaries into ``store`` (the default KB's first start).

    Raises IngestError / KnowledgeBaseError from the pipeline and the store.
    """
    logger.warning(
        "default knowledge base %s not found; building it from %s",
        settings.default_kb_dir, settings.bundled_knowledge_dir,
    )
    ingest_paths(store, [settings.bundled_knowledge_dir], progress=False)
    store.reload()


def open_knowledge_service(
    settings: Settings,
    kb_dir: Path | None = None,
    *,
    embeddings: Embeddings | None = None,
    classifier_factory: ClassifierFactory | None = None,
) -> KnowledgeService:
    """:meth:`KnowledgeService.from_settings`, building the default KB first when it is missing.

    ``classifier_factory`` (e.g. ``complaints.classifier.ComplaintClassifier``) is passed on;
    without it every message is treated as a question. Raises what ``from_settings`` and
    :func:`build_default_kb` raise (KnowledgeBaseError, ConfigurationError, IngestError).
    """
    prepare = None
    if kb_dir is None and needs_default_kb(settings):
        prepare = partial(build_default_kb, settings=settings)
    return KnowledgeService.from_settings(
        settings,
        kb_dir=kb_dir,
        embeddings=embeddings,
        classifier_factory=classifier_factory,
        prepare_store=prepare,
    )
