"""The catalogue on both database backends: migration matches the models; publish and swap."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect

from knowledge.catalog import Catalog
from knowledge.store import ChunkRecord, DocumentRecord, KnowledgeStore, make_chroma_client
from tests.db_support import db_url  # noqa: F401  (fixture over sqlite and postgres)
from tests.fakes import HashingEmbeddings
from vetbot.db import Base, create_db_engine, upgrade

KB_TABLES = {"kb_catalogs", "kb_generations", "kb_documents", "kb_chunks"}


def _doc(doc_id: str, text: str) -> DocumentRecord:
    meta = {"doc_id": doc_id, "title": doc_id, "region": "全国"}
    chunks = [ChunkRecord(f"{doc_id}:h:0", text, meta)]
    return DocumentRecord(doc_id, f"{doc_id}.md", "h", {"title": doc_id}, chunks)


def test_migration_creates_exactly_the_model_schema(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import knowledge.kbmodels  # noqa: F401

    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url, "kb_catalog@head")
    engine = create_db_engine(url)
    assert set(inspect(engine).get_table_names()) >= KB_TABLES
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    ours = [d for d in diff if any(t in repr(d) for t in KB_TABLES)]
    assert ours == []


def test_two_processes_share_a_kb_through_the_database(db_url: str, tmp_path: Path) -> None:  # noqa: F811
    """Each store has its own directory (BM25 cache) and engine; vectors in one collection."""
    emb = HashingEmbeddings()
    client = make_chroma_client(tmp_path / "vectors", None)
    first = KnowledgeStore(tmp_path / "one", emb, client, catalog=Catalog(create_db_engine(db_url)),
                           refresh_seconds=0.0)
    with first.writer() as w:
        w.stage_document(_doc("a", "退役军人凭优待证免费乘坐公交"))
    second = KnowledgeStore(tmp_path / "two", emb, client, catalog=Catalog(create_db_engine(db_url)),
                            refresh_seconds=0.0)
    assert second.generation == 1 and set(second.chunks) == {"a:h:0"}
    assert (tmp_path / "two" / "bm25-g1").is_dir()  # built once from the stored tokens

    with first.writer() as w:
        w.stage_document(_doc("b", "烈士纪念设施免费开放"))
        w.stage_removal("a")
    assert second.refresh_if_stale() and set(second.chunks) == {"b:h:0"}
    assert second.bm25_search(second.tokenizer.tokens("烈士纪念设施"), 3)[0][0] == "b:h:0"
    assert second.corpus_counts.n == 1 and second.corpus_counts.regions == {"全国": 1}
    assert [c for c, _ in second.dense_search("烈士纪念设施", 3)] == ["b:h:0"]
