"""Incremental ingest into a real embedded Chroma store (deterministic fake embeddings)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from ingest.pipeline import ingest_paths, slugify
from knowledge.store import KnowledgeStore
from tests.ingest.conftest import FIXTURE_LAWS

CHUNK_KEYS = {
    "doc_id", "chunk_id", "title", "article", "article_no", "heading", "path", "region", "scope",
    "topics", "issuer", "doc_number", "date_issued", "date_effective", "source_url",
    # Added by issue 15 (documented in knowledge/types.py).
    "date_adopted", "date_amended", "date_version", "region_path", "region_code", "repeals",
    # A passage's own topics (INGEST_VERSION 6, documented in knowledge/types.py).
    "passage_topics",
}

SIMPLE = ("# 示例办法\n\n## 第一章 总则\n\n第一条 退役军人凭优待证免费乘坐公交。\n\n"
          "第二条 本办法自发布之日起施行。\n")


def _manifest(store: KnowledgeStore) -> int:
    """The published generation (what the old manifest file stood for)."""
    return store.catalog.generation()


def _vector_ids(store: KnowledgeStore) -> set[str]:
    return set(store.vectorstore._collection.get(include=[])["ids"])


def test_fixture_laws_are_ingested_with_documented_metadata(store: KnowledgeStore) -> None:
    report = ingest_paths(store, [FIXTURE_LAWS], progress=False)
    assert report.failed == [] and len(report.added) == 3
    assert set(store.documents) == {
        "示例退役军人优待条例.md", "示例信访办理规定.md", "浙江省示例军属优待办法.md"}
    for doc in store.documents.values():
        for i, chunk in enumerate(doc.chunks):
            assert set(chunk.metadata) == CHUNK_KEYS
            assert chunk.chunk_id == f"{doc.doc_id}:{doc.sha256[:12]}:{i}" == chunk.metadata["chunk_id"]
            assert all(isinstance(v, str | int) for v in chunk.metadata.values())
    assert _vector_ids(store) == set(store.chunks)

    youdai = store.documents["示例退役军人优待条例.md"]
    numbers = [c.metadata["article_no"] for c in youdai.chunks if c.metadata["article"]]
    assert numbers == list(range(1, 21))
    art10 = next(c for c in youdai.chunks if c.metadata["article"] == "第十条")
    assert art10.metadata["heading"] == "第三章 交通文旅优待 > 第一节 交通出行"
    assert art10.metadata["title"] == "示例退役军人优待条例"
    assert art10.metadata["issuer"] == "国务院"
    assert art10.text.startswith("第十条 残疾退役军人")

    zj = store.documents["浙江省示例军属优待办法.md"].chunks[0].metadata
    assert (zj["region"], zj["scope"], zj["topics"]) == ("浙江省", "local", "|employment|education|housing|")
    assert zj["doc_number"] == "示政令第8号"

    # BM25 and dense search both see the new chunks.
    hits = store.bm25_search(store.tokenizer.tokens("随军家属 国有企业 招录 比例"), 3)
    top = store.chunks[hits[0][0]].metadata
    assert (top["doc_id"], top["article"]) == ("浙江省示例军属优待办法.md", "第五条")
    dense = store.dense_search("残疾退役军人凭优待证和残疾军人证乘坐火车", 1)
    assert store.chunks[dense[0][0]].metadata["article"] == "第十条"


def test_second_run_skips_unchanged_without_a_new_generation(store: KnowledgeStore) -> None:
    ingest_paths(store, [FIXTURE_LAWS], progress=False)
    before = _manifest(store)
    report = ingest_paths(store, [FIXTURE_LAWS], progress=False)
    assert len(report.unchanged) == 3
    assert report.added == report.updated == report.removed == report.failed == []
    assert _manifest(store) == before
    assert "未变 3" in report.summary()


def test_changed_file_replaces_its_chunks(store: KnowledgeStore, laws_dir: Path) -> None:
    ingest_paths(store, [laws_dir], progress=False)
    doc_id = "示例信访办理规定.md"
    old_ids = {c.chunk_id for c in store.documents[doc_id].chunks}
    other_ids = set(store.chunks) - old_ids
    path = laws_dir / "示例信访办理规定.md"
    changed = path.read_text(encoding="utf-8").replace("六十日内办结", "九十日内办结")
    path.write_text(changed, encoding="utf-8")

    report = ingest_paths(store, [laws_dir], progress=False)
    assert [d.doc_id for d in report.updated] == [doc_id]
    assert len(report.unchanged) == 2
    new_ids = {c.chunk_id for c in store.documents[doc_id].chunks}
    assert not old_ids & new_ids
    assert not old_ids & set(store.chunks)
    assert other_ids <= set(store.chunks)
    assert not old_ids & _vector_ids(store)  # swept from Chroma too
    art10 = next(c for c in store.documents[doc_id].chunks if c.metadata["article"] == "第十条")
    assert "九十日内办结" in art10.text

    reopened = KnowledgeStore(store.kb_dir, store.embeddings, store.client)
    assert set(reopened.chunks) == set(store.chunks)


def test_prune_removes_documents_of_deleted_files(store: KnowledgeStore, laws_dir: Path) -> None:
    ingest_paths(store, [laws_dir], progress=False)
    (laws_dir / "示例信访办理规定.md").unlink()

    report = ingest_paths(store, [laws_dir], progress=False)
    assert report.removed == [] and "示例信访办理规定.md" in store.documents

    report = ingest_paths(store, [laws_dir], prune=True, progress=False)
    assert report.removed == ["示例信访办理规定.md"]
    assert "示例信访办理规定.md" not in store.documents
    assert not any(cid.startswith("示例信访办理规定.md:") for cid in _vector_ids(store))
    assert len(store.documents) == 2


def test_prune_leaves_documents_of_other_roots(store: KnowledgeStore, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "one.md").write_text(SIMPLE, encoding="utf-8")
    (b / "two.md").write_text(SIMPLE.replace("公交", "地铁"), encoding="utf-8")
    ingest_paths(store, [a, b], progress=False)
    (a / "one.md").unlink()
    report = ingest_paths(store, [a], prune=True, progress=False)
    assert report.removed == ["one.md"]
    assert set(store.documents) == {"two.md"}


def test_corrupt_files_are_reported_and_skipped(store: KnowledgeStore, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "good.md").write_text(SIMPLE, encoding="utf-8")
    (src / "bad.pdf").write_bytes(b"%PDF-1.4\nnot really a pdf")
    (src / "bad.docx").write_bytes(b"PK\x03\x04broken")
    (src / "blob.txt").write_bytes(bytes(range(256)) * 4)
    (src / "sheet.xlsx").write_bytes(b"whatever")
    (src / ".hidden.md").write_text("hidden", encoding="utf-8")

    report = ingest_paths(store, [src], progress=False)
    assert [d.doc_id for d in report.added] == ["good.md"]
    failed = {Path(f.path).name: f.reason for f in report.failed}
    assert set(failed) == {"bad.pdf", "bad.docx", "blob.txt"}
    assert all(re.search(r"[\u4e00-\u9fff]", reason) for reason in failed.values())
    assert "PDF" in failed["bad.pdf"] and "Word" in failed["bad.docx"] and "编码" in failed["blob.txt"]
    assert [Path(p).name for p in report.unsupported] == ["sheet.xlsx"]
    summary = report.summary()
    assert "新增 1" in summary and "失败 3" in summary and "bad.pdf" in summary
    assert set(store.documents) == {"good.md"}


def test_changed_file_that_became_corrupt_keeps_its_old_version(
    store: KnowledgeStore, tmp_path: Path
) -> None:
    path = tmp_path / "rule.txt"
    path.write_text(SIMPLE, encoding="utf-8")
    ingest_paths(store, [path], progress=False)
    old = set(store.chunks)
    path.write_bytes(bytes(range(256)) * 4)
    report = ingest_paths(store, [path], progress=False)
    assert [f.path for f in report.failed] == [str(path)]
    assert set(store.chunks) == old


def test_interrupted_ingest_leaves_previous_index_usable(
    store: KnowledgeStore, laws_dir: Path, open_store: Callable[..., KnowledgeStore],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ingest_paths(store, [laws_dir], progress=False)
    manifest = _manifest(store)
    chunk_ids = set(store.chunks)
    for path in laws_dir.glob("*.md"):
        path.write_text(path.read_text(encoding="utf-8").replace("。", "！", 3), encoding="utf-8")
    (laws_dir / "新增.md").write_text(SIMPLE, encoding="utf-8")

    calls = {"n": 0}
    real_embed = store.embeddings.embed_documents

    def flaky(texts: list[str]) -> list[list[float]]:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("embedding backend crashed")
        return real_embed(texts)

    monkeypatch.setattr(store.embeddings, "embed_documents", flaky)
    with pytest.raises(RuntimeError, match="crashed"):
        ingest_paths(store, [laws_dir], progress=False)
    assert calls["n"] == 2  # the first changed document was already embedded and added

    assert _manifest(store) == manifest
    reopened = open_store(store.kb_dir)
    assert set(reopened.chunks) == chunk_ids
    hits = reopened.dense_search("残疾退役军人凭优待证和残疾军人证乘坐火车", 3)
    assert hits and all(cid in chunk_ids for cid, _ in hits)
    bm = reopened.bm25_search(reopened.tokenizer.tokens("信访事项 办结 延长"), 3)
    assert bm and all(cid in chunk_ids for cid, _ in bm)

    # The next successful run publishes everything and sweeps the orphaned vectors.
    monkeypatch.undo()
    report = ingest_paths(reopened, [laws_dir], progress=False)
    assert len(report.updated) == 3 and len(report.added) == 1
    assert _vector_ids(reopened) == set(reopened.chunks)


def test_rebuild_resets_the_store(store: KnowledgeStore, laws_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.md"
    other.write_text(SIMPLE, encoding="utf-8")
    ingest_paths(store, [laws_dir, other], progress=False)
    report = ingest_paths(store, [laws_dir], rebuild=True, progress=False)
    assert len(report.added) == 3 and report.unchanged == []
    assert "other.md" not in store.documents
    assert _vector_ids(store) == set(store.chunks)


def test_doc_ids_are_slugs_relative_to_the_given_root(store: KnowledgeStore, tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "地方 政策").mkdir(parents=True)
    (root / "地方 政策" / "济南市(2023) 优待.md").write_text(SIMPLE, encoding="utf-8")
    single = tmp_path / "单个文件.txt"
    single.write_text(SIMPLE, encoding="utf-8")
    ingest_paths(store, [root, single], progress=False)
    assert set(store.documents) == {"地方-政策-济南市-2023-优待.md", "单个文件.txt"}
    doc = store.documents["地方-政策-济南市-2023-优待.md"]
    assert doc.path == str(root / "地方 政策" / "济南市(2023) 优待.md")
    assert doc.chunks[0].metadata["path"] == doc.path


def test_slugify() -> None:
    assert slugify("a/b c/退役军人保障法(2020-11-11).md") == "a-b-c-退役军人保障法-2020-11-11.md"
    assert ":" not in slugify("x:y.md")


def test_duplicate_doc_ids_and_missing_paths(store: KnowledgeStore, tmp_path: Path) -> None:
    for sub in ("x", "y"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "same.md").write_text(SIMPLE + sub, encoding="utf-8")
    missing = tmp_path / "nope.md"
    report = ingest_paths(store, [tmp_path / "x" / "same.md", tmp_path / "y" / "same.md", missing],
                          progress=False)
    assert [d.path for d in report.added] == [str(tmp_path / "x" / "same.md")]
    reasons = {f.path: f.reason for f in report.failed}
    assert "重复" in reasons[str(tmp_path / "y" / "same.md")]
    assert reasons[str(missing)] == "路径不存在"


def test_report_is_json_ready(store: KnowledgeStore) -> None:
    report = ingest_paths(store, [FIXTURE_LAWS], progress=False)
    data = json.loads(json.dumps(report.to_dict(), ensure_ascii=False))
    assert len(data["added"]) == 3 and data["added"][0]["chunks"] > 0
    assert report.chunks_written == len(store.chunks)


def test_a_folders_readme_is_not_ingested_as_a_policy(store: KnowledgeStore, tmp_path: Path) -> None:
    folder = tmp_path / "official"
    folder.mkdir()
    (folder / "README.md").write_text("# Official texts\n\nSee the list below.\n", encoding="utf-8")
    (folder / "rules.md").write_text("# 示例办法\n\n第一条 退役军人凭优待证免费乘车。\n", encoding="utf-8")
    report = ingest_paths(store, [folder], progress=False)
    assert [d.doc_id for d in report.added] == ["rules.md"]
    assert any("README.md" in w and "已跳过" in w for w in report.warnings)
    # Named on its own, the file is what the user asked for.
    named = ingest_paths(store, [folder / "README.md"], progress=False)
    assert [d.doc_id for d in named.added] == ["README.md"]
