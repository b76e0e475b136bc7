"""Fixtures for ingest tests: a knowledge store in tmp_path with deterministic embeddings."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from knowledge.store import KnowledgeStore, make_chroma_client
from tests.fakes import HashingEmbeddings

FIXTURE_LAWS = Path(__file__).resolve().parents[1] / "fixtures" / "laws"


@pytest.fixture
def open_store(tmp_path: Path) -> Callable[..., KnowledgeStore]:
    """Open (or reopen) the KB at ``tmp_path/kb`` with fresh HashingEmbeddings."""

    def _open(kb_dir: Path | None = None) -> KnowledgeStore:
        kb = kb_dir or tmp_path / "kb"
        return KnowledgeStore(kb, HashingEmbeddings(), make_chroma_client(kb, None))

    return _open


@pytest.fixture
def store(open_store: Callable[..., KnowledgeStore]) -> KnowledgeStore:
    """An empty knowledge store in tmp_path."""
    return open_store()


@pytest.fixture
def laws_dir(tmp_path: Path) -> Path:
    """A writable copy of the fixture law corpus."""
    target = tmp_path / "laws"
    shutil.copytree(FIXTURE_LAWS, target)
    return target
