"""Crash-safety and consistency rules of the knowledge store."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.store import ChunkRecord, DocumentRecord, KnowledgeStore, make_chroma_client
from tests.fakes import HashingEmbeddings
from vetbot.errors import KnowledgeBaseError
from vetbot.settings import Settings


def _store(kb: Path, emb: HashingEmbeddings | None = None) -> KnowledgeStore:
    return KnowledgeStore(kb, emb or HashingEmbeddings(), make_chroma_client(kb, None))


def _doc(doc_id: str, sha: str, texts: list[str]) -> DocumentRecord:
    chunks = [ChunkRecord(f"{doc_id}:{sha}:{i}", t, {"title": doc_id}) for i, t in enumerate(texts)]
    return DocumentRecord(doc_id, f"{doc_id}.md", sha, {"title": doc_id}, chunks)


def test_an_aborted_write_leaves_the_previous_index_and_is_swept_later(tmp_path: Path) -> None:
    store = _store(tmp_path)
    with store.writer() as w:
        w.stage_document(_doc("a", "v1", ["优待证丢失后到银行挂失"]))
    generation_before = store.catalog.head()

    with pytest.raises(RuntimeError), store.writer() as w:
        w.stage_document(_doc("a", "v2", ["优待证丢失后到服务站补办"]))
        raise RuntimeError("killed mid-ingest")

    # The published generation is untouched and the orphaned v2 vector is invisible to readers.
    assert store.catalog.head().generation == generation_before.generation  # type: ignore[union-attr]
    fresh = _store(tmp_path)
    assert set(fresh.chunks) == {"a:v1:0"}
    assert [cid for cid, _ in fresh.dense_search("服务站补办", 5)] == ["a:v1:0"]
    assert fresh.bm25_search(fresh.tokenizer.tokens("挂失"), 5)[0][0] == "a:v1:0"
    assert fresh.vectorstore._collection.count() == 2

    # The next successful commit removes the leftover vector.
    with fresh.writer() as w:
        w.stage_document(_doc("b", "v1", ["烈士纪念设施免费开放"]))
    assert fresh.vectorstore._collection.count() == 2
    assert set(fresh.chunks) == {"a:v1:0", "b:v1:0"}


def test_replacing_a_document_drops_its_old_chunks(tmp_path: Path) -> None:
    store = _store(tmp_path)
    with store.writer() as w:
        w.stage_document(_doc("a", "v1", ["旧内容一", "旧内容二"]))
    with store.writer() as w:
        w.stage_document(_doc("a", "v2", ["新内容"]))
    assert set(store.chunks) == {"a:v2:0"}
    assert store.vectorstore._collection.count() == 1
    assert store.is_unchanged("a", "v2") and not store.is_unchanged("a", "v1")
    assert len(list(tmp_path.glob("bm25-*"))) == 1


def test_opening_with_another_embedding_model_is_refused(tmp_path: Path) -> None:
    with _store(tmp_path).writer() as w:
        w.stage_document(_doc("a", "v1", ["内容"]))

    class Other(HashingEmbeddings):
        model_id = "fake:other"

    with pytest.raises(KnowledgeBaseError) as info:
        _store(tmp_path, Other())
    assert "向量模型" in info.value.user_message


def test_only_one_writer_at_a_time(tmp_path: Path) -> None:
    first, second = _store(tmp_path), _store(tmp_path)
    with first.writer(), pytest.raises(KnowledgeBaseError), second.writer():
        pass


def test_missing_bm25_files_are_rebuilt_from_the_stored_tokens(tmp_path: Path) -> None:
    import shutil

    with _store(tmp_path).writer() as w:
        w.stage_document(_doc("a", "v1", ["残疾军人乘坐火车享受半价优待"]))
    for path in tmp_path.glob("bm25-*"):
        shutil.rmtree(path)
    store = _store(tmp_path)
    assert store.bm25_search(store.tokenizer.tokens("残疾军人火车"), 3)[0][0] == "a:v1:0"


def test_reset_empties_everything(tmp_path: Path) -> None:
    store = _store(tmp_path)
    with store.writer() as w:
        w.stage_document(_doc("a", "v1", ["内容"]))
    store.reset()
    assert store.is_empty()
    assert store.vectorstore._collection.count() == 0
    assert store.dense_search("内容", 3) == []


def test_orphan_vectors_never_crowd_out_live_results_and_are_swept_on_open(tmp_path: Path) -> None:
    """Issue 12 item 9: many orphans nearer the query than any live chunk."""
    emb = HashingEmbeddings()
    store = _store(tmp_path, emb)
    with store.writer() as w:
        w.stage_document(_doc("a", "v1", ["优待证补办流程", "烈士纪念设施免费开放"]))
    query = "优待证补办"
    vector = emb.embed_query(query)
    orphans = [f"dead:v9:{i}" for i in range(60)]
    store.vectorstore._collection.add(ids=orphans, embeddings=[vector] * len(orphans), documents=["x"] * 60)
    hits = [cid for cid, _ in store.dense_search(query, 2)]
    assert sorted(hits) == ["a:v1:0", "a:v1:1"]
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    reopened = KnowledgeStore.open(tmp_path, settings, emb, client=store.client)
    assert reopened.vectorstore._collection.count() == 2
