"""Alembic revision 0015_kb_admin creates exactly the knowledge-base admin tables."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect

from vetbot.db import Base, create_db_engine, upgrade

KB_TABLES = {"kb_document_edits", "kb_passage_edits", "kb_curated_answers"}


def test_migration_creates_exactly_the_model_schema(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import knowledge.curated
    import knowledge.kbedits  # noqa: F401

    url = f"sqlite:///{tmp_path / 'kb.db'}"
    upgrade(url, "kb_admin@head")
    engine = create_db_engine(url)
    assert set(inspect(engine).get_table_names()) >= KB_TABLES
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    ours = [d for d in diff if any(t in repr(d) for t in KB_TABLES)]
    assert ours == []
    upgrade(url, "heads")  # the other branches apply alongside
