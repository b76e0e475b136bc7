"""Index generations of the database catalogue (issue 13): publish, swap, stats, filters, migration."""

from __future__ import annotations

import json
from pathlib import Path

import bm25s
import numpy as np
import pytest

from knowledge import bm25index
from knowledge.catalog import CATALOG_FILE, open_catalog
from knowledge.retrieval import CorpusStats, HybridRetriever
from knowledge.store import ChunkRecord, DocumentRecord, KnowledgeStore, make_chroma_client
from tests.fakes import HashingEmbeddings
from tests.knowledge.conftest import build_tiny_kb, tiny_records
from vetbot.cli import main
from vetbot.errors import KnowledgeBaseError

from .conftest import TINY_SYNONYMS


def _reader(kb: Path, store: KnowledgeStore) -> KnowledgeStore:
    """A second process's view of the same KB (its own catalogue engine, same vectors)."""
    return KnowledgeStore(kb, store.embeddings, store.client, refresh_seconds=0.0)


def _doc(doc_id: str, texts: list[str], region: str = "全国") -> DocumentRecord:
    chunks = [
        ChunkRecord(f"{doc_id}:h:{i}", t,
                    {"doc_id": doc_id, "title": doc_id, "region": region, "topics": "|card|"})
        for i, t in enumerate(texts)
    ]
    return DocumentRecord(doc_id, f"{doc_id}.md", "h", {"title": doc_id}, chunks)


def test_a_reader_swaps_in_a_new_generation_without_dropping_in_flight_chunks(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    writer = build_tiny_kb(kb)
    reader = _reader(kb, writer)
    assert reader.generation == writer.generation == 1
    held = reader.chunks  # what a request in flight ranked against
    old_id = next(iter(writer.documents["card"].chunks)).chunk_id

    with writer.writer() as w:
        w.stage_removal("card")
        w.stage_document(_doc("new", ["烈士纪念设施对退役军人免费开放"]))
    assert writer.generation == 2
    assert reader.refresh_if_stale() is True
    assert reader.generation == 2 and "new:h:0" in reader.chunks and "card" not in reader.documents
    # The request that started before the swap can still show the chunk it ranked.
    assert old_id in held and old_id not in reader.chunks
    assert reader.chunks[old_id].chunk_id == old_id
    assert reader.bm25_search(reader.tokenizer.tokens("烈士纪念设施"), 3)[0][0] == "new:h:0"
    assert reader.refresh_if_stale() is False  # nothing newer


def test_refresh_is_rate_limited(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    writer = build_tiny_kb(kb)
    reader = KnowledgeStore(kb, writer.embeddings, writer.client, refresh_seconds=3600.0)
    with writer.writer() as w:
        w.stage_document(_doc("new", ["内容"]))
    assert reader.refresh_if_stale() is False and reader.generation == 1
    reader.reload()
    assert reader.generation == 2


def test_a_failed_publish_leaves_the_previous_generation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb = tmp_path / "kb"
    store = build_tiny_kb(kb)
    before = set(store.chunks)

    def boom(*args: object, **kwargs: object) -> int:
        raise RuntimeError("database went away")

    monkeypatch.setattr(store.catalog, "publish", boom)
    with pytest.raises(RuntimeError), store.writer() as w:
        w.stage_document(_doc("new", ["新增的内容"]))
    monkeypatch.undo()

    fresh = _reader(kb, store)
    assert fresh.generation == 1 and set(fresh.chunks) == before
    assert fresh.catalog.head().dirty  # type: ignore[union-attr]
    assert all(cid in before for cid, _ in fresh.dense_search("新增的内容", 5))
    # The next open sweeps the orphaned vector.
    reopened = KnowledgeStore.open(kb, _settings(tmp_path), store.embeddings, client=store.client)
    assert reopened.vectorstore._collection.count() == len(before)
    assert not reopened.catalog.head().dirty  # type: ignore[union-attr]


def _settings(tmp_path: Path) -> object:
    from vetbot.settings import Settings

    return Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]


def test_corpus_counts_are_stored_at_commit_and_kept_incrementally(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb = tmp_path / "kb"
    store = build_tiny_kb(kb)
    with store.writer() as w:
        w.stage_removal("card")
        w.stage_document(_doc("yz", ["扬州市退役军人凭优待证免费乘坐公交"], region="扬州市"))
    full = CorpusStats(store.chunks, store.tokenizer.tokens)
    counts = store.corpus_counts
    assert counts.n == len(store.chunks) and dict(full.df) == counts.df
    assert set(full.regions) == set(counts.regions) and counts.regions["扬州市"] == 1

    # A new process reads them from the generation row: no tokenising on the first query.
    reader = _reader(kb, store)
    monkeypatch.setattr(reader.tokenizer, "tokens", lambda text: pytest.fail("tokenised the corpus"))
    retriever = HybridRetriever(reader)
    stats = retriever.stats()
    assert stats.n == full.n and stats.idf("优待证") == pytest.approx(full.idf("优待证"))
    assert stats.regions == full.regions


def test_filtered_search_is_pushed_down_and_matches_filtering_afterwards(tmp_path: Path) -> None:
    from knowledge.synonyms import SynonymTable

    store = build_tiny_kb(tmp_path / "kb")
    retriever = HybridRetriever(store, SynonymTable(TINY_SYNONYMS))
    query = "退役军人坐公交免费吗"
    national = {d for d, doc in store.documents.items() if doc.chunks[0].metadata["region"] == "全国"}
    allowed = [d for d, doc in store.documents.items()
               if d in national or "济南" in doc.chunks[0].metadata["region"]]
    dense = store.dense_search(query, 50, doc_ids=allowed)
    assert dense and {store.chunks[c].metadata["doc_id"] for c, _ in dense} <= set(allowed)
    unfiltered = [(c, s) for c, s in store.dense_search(query, 50)
                  if store.chunks[c].metadata["doc_id"] in allowed]
    assert [c for c, _ in dense] == [c for c, _ in unfiltered]
    tokens = store.tokenizer.tokens(query)
    sparse = store.bm25_search(tokens, 50, doc_ids=allowed)
    expected = [(c, s) for c, s in store.bm25_search(tokens, 50)
                if store.chunks[c].metadata["doc_id"] in allowed]
    assert [c for c, _ in sparse] == [c for c, _ in expected]
    assert np.allclose([s for _, s in sparse], [s for _, s in expected])

    # One document: a selective filter, handed to Chroma's where.
    for doc_id, doc in store.documents.items():
        only = [c for c, _ in store.dense_search(query, 50, doc_ids={doc_id})]
        assert only == [c for c, _ in store.dense_search(query, 50) if c.startswith(f"{doc_id}:")]
        assert len(only) == len(doc.chunks)

    hits = retriever.search(query, 10, region="济南")
    assert hits and all(h.region in {"全国", "济南市"} for h in hits)
    assert store.dense_search(query, 5, doc_ids=[]) == [] and store.bm25_search(tokens, 5, doc_ids=[]) == []


def test_vectorised_bm25_scores_equal_bm25s(tmp_path: Path) -> None:
    texts = ["a b c a", "b c", "", "c c c d", "e"]
    ours = bm25index.to_bm25(bm25index.count([str(i) for i in range(5)], texts))
    ref = bm25s.BM25()
    ref.index([t.split() or [bm25index.EMPTY] for t in texts], show_progress=False)
    for query in (["a"], ["c", "d"], ["b", "b", "e"]):
        assert np.allclose(ours.get_scores(query), ref.get_scores(query), atol=1e-6)
    # An update equals a count from scratch.
    updated = bm25index.update(bm25index.count(["0", "1", "2"], texts[:3]), {"1"}, ["3", "4"], texts[3:])
    scratch = bm25index.count(["0", "2", "3", "4"], [texts[0], texts[2], *texts[3:]])
    assert updated.ids == scratch.ids
    assert np.allclose(bm25index.to_bm25(updated).get_scores(["c"]),
                       bm25index.to_bm25(scratch).get_scores(["c"]))


def _ranked(scores: np.ndarray, k: int) -> tuple[list[int], np.ndarray]:
    """The reference order: rows scoring above 0, by score descending, then row ascending."""
    rows = sorted((r for r in range(scores.size) if scores[r] > 0), key=lambda r: (-scores[r], r))[:k]
    return rows, scores[rows].astype(np.float32)


def test_scorer_scores_like_bm25s_and_orders_ties_by_row() -> None:
    rng = np.random.default_rng(13)
    words = [f"w{i}" for i in range(30)]
    # Duplicated texts give equal scores: the lower row comes first.
    texts = [" ".join(rng.choice(words, size=int(rng.integers(0, 9)))) for _ in range(150)] * 2
    retriever = bm25index.to_bm25(bm25index.count([str(i) for i in range(len(texts))], texts))
    scorer = bm25index.Scorer(retriever)
    mask = (np.arange(len(texts)) % 3 == 0).astype(np.float32)
    for query in (["w1"], ["w2", "w3", "w2", "unknown"], [*words[:6], *words[:6], "w7"]):
        for weights in (None, mask):
            docs, scores = retriever.retrieve([query], k=len(texts), show_progress=False, n_threads=0,
                                              weight_mask=weights)
            full = np.zeros(len(texts), dtype=np.float32)
            full[docs[0]] = scores[0]
            rows, ours = scorer.top_k(query, 40, weights)
            want_rows, want = _ranked(full, 40)
            assert rows.tolist() == want_rows
            assert np.array_equal(ours, want)
            # Only matching rows are candidates: a masked-out or non-matching row never is.
            assert (ours > 0).all()
    assert scorer.top_k(["unknown"], 5)[0].size == 0


def _exhaustive_scores(retriever: object, tokens: list[str], mask: np.ndarray | None) -> np.ndarray:
    """The reference: the query's columns of the whole score matrix summed by one sparse product."""
    from scipy.sparse import csc_matrix

    s = retriever.scores  # type: ignore[attr-defined]
    matrix = csc_matrix((s["data"], s["indices"], s["indptr"]), shape=(s["num_docs"], len(s["indptr"]) - 1))
    ids = [retriever.vocab_dict[t] for t in tokens if t in retriever.vocab_dict]  # type: ignore[attr-defined]
    scores = np.asarray(matrix[:, ids] @ np.ones(len(ids), dtype=np.float32), dtype=np.float32)
    return scores * mask if mask is not None else scores


@pytest.mark.parametrize("dense_share", [1, 4, 16, 10**9])
def test_scorer_equals_exhaustive_scoring_on_random_corpora(dense_share: int) -> None:
    # Common columns added densely, rare ones at their rows, or all of one kind: always the
    # float32 sums of the whole matrix's product, and its top k by score, then row.
    rng = np.random.default_rng(dense_share)
    for trial in range(6):
        words = [f"w{i}" for i in range(int(rng.integers(3, 40)))]
        zipf = 1.0 / np.arange(1, len(words) + 1)
        texts = [" ".join(rng.choice(words, size=int(rng.integers(0, 12)), p=zipf / zipf.sum()))
                 for _ in range(int(rng.integers(20, 400)))]
        texts += texts[: len(texts) // 2]  # duplicates: ties
        retriever = bm25index.to_bm25(bm25index.count([str(i) for i in range(len(texts))], texts))
        scorer = bm25index.Scorer(retriever)
        scorer._dense_from = max(1, scorer.num_docs // dense_share)
        mask = (rng.random(len(texts)) < 0.5).astype(np.float32)
        for _ in range(8):
            query = list(rng.choice([*words, "unknown"], size=int(rng.integers(1, 10))))
            query = [*query, *query[: len(query) // 2]]  # repeated tokens count again
            for k in (1, 10, 40, 10**6):
                for weights in (None, mask):
                    rows, got = scorer.top_k(query, k, weights)
                    if not any(t in retriever.vocab_dict for t in query):
                        assert rows.size == 0
                        continue
                    want_rows, want = _ranked(_exhaustive_scores(retriever, query, weights), k)
                    assert rows.tolist() == want_rows, (trial, query, k)
                    assert got.dtype == np.float32 and np.array_equal(got, want)


def test_scorer_score_floor_keeps_the_exact_top_k_of_a_large_corpus() -> None:
    # Enough rows per wanted row that only the rows above a score floor are ranked (common
    # words score nearly every row, duplicated texts tie): still exactly the top k by score,
    # then row, with and without a mask.
    rng = np.random.default_rng(21)
    words = [f"w{i}" for i in range(12)]
    zipf = 1.0 / np.arange(1, len(words) + 1)
    texts = [" ".join(rng.choice(words, size=int(rng.integers(1, 8)), p=zipf / zipf.sum()))
             for _ in range(3000)]
    texts += texts[:1500]
    retriever = bm25index.to_bm25(bm25index.count([str(i) for i in range(len(texts))], texts))
    scorer = bm25index.Scorer(retriever)
    mask = (rng.random(len(texts)) < 0.3).astype(np.float32)
    for query in (["w0"], ["w0", "w1", "w0"], ["w5", "w11"], words):
        for k in (1, 10, 40):
            assert len(texts) >= bm25index.FLOOR_MIN_ROWS_PER_K * k
            for weights in (None, mask):
                rows, got = scorer.top_k(query, k, weights)
                want_rows, want = _ranked(_exhaustive_scores(retriever, query, weights), k)
                assert rows.tolist() == want_rows, (query, k)
                assert np.array_equal(got, want)


def _pairs_by_word(counts: bm25index.TermCounts) -> list[tuple[str, int, int]]:
    word = {v: k for k, v in counts.vocab.items()}
    return sorted(zip([word[t] for t in counts.tok], counts.doc.tolist(), counts.tf.tolist(), strict=True))


def test_an_update_keeps_the_pairs_in_the_order_of_a_full_count() -> None:
    rng = np.random.default_rng(14)
    words = [f"w{i}" for i in range(40)]
    texts = [" ".join(rng.choice(words, size=int(rng.integers(0, 8)))) for _ in range(120)]
    ids = [f"c{i}" for i in range(120)]
    new_ids, new_texts = ["n0", "n1", "n2"], ["w1 w39 brand-new", "", "w5 w5"]
    for removed in (set(), {"c3", "c50", "c119"}):
        updated = bm25index.update(bm25index.count(ids, texts), removed, new_ids, new_texts)
        kept = [(i, t) for i, t in zip(ids, texts, strict=True) if i not in removed]
        scratch = bm25index.count([i for i, _ in kept] + new_ids, [t for _, t in kept] + new_texts)
        assert updated.ids == scratch.ids
        assert np.array_equal(updated.lengths, scratch.lengths)
        # Sorted by term id, then row (the CSC layout bm25s expects).
        assert np.all(np.diff(updated.tok * (len(updated.ids) + 1) + updated.doc) > 0)
        assert _pairs_by_word(updated) == _pairs_by_word(scratch)


class _CountingEmbeddings(HashingEmbeddings):
    def __init__(self) -> None:
        super().__init__()
        self.embedded = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.embedded += len(texts)
        return super().embed_documents(texts)


def _old_layout_kb(kb: Path, embeddings: HashingEmbeddings) -> set[str]:
    """A KB directory as before issue 13: manifest.json plus vectors in the embedded Chroma."""
    from langchain_chroma import Chroma

    records = tiny_records()
    chroma = Chroma(collection_name="vetbot", embedding_function=embeddings,
                    client=make_chroma_client(kb, None), collection_metadata={"hnsw:space": "cosine"})
    chunks = [c for r in records for c in r.chunks]
    chroma.add_documents([c.to_document() for c in chunks], ids=[c.chunk_id for c in chunks])
    manifest = {
        "schema": 1, "generation": 3, "embedding_id": embeddings.model_id, "bm25_dir": "bm25-3",
        "documents": [
            {"doc_id": r.doc_id, "path": r.path, "sha256": r.sha256, "metadata": r.metadata,
             "ingested_at": "",
             "chunks": [{"chunk_id": c.chunk_id, "text": c.text, "metadata": c.metadata} for c in r.chunks]}
            for r in records
        ],
    }
    (kb / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    return {c.chunk_id for c in chunks}


def test_an_old_manifest_kb_is_migrated_on_open_without_re_embedding(tmp_path: Path) -> None:
    kb = tmp_path / "old-kb"
    embeddings = _CountingEmbeddings()
    ids = _old_layout_kb(kb, embeddings)
    embeddings.embedded = 0
    store = KnowledgeStore(kb, embeddings, make_chroma_client(kb, None))
    assert set(store.chunks) == ids and store.generation == 1 and embeddings.embedded == 0
    assert (kb / CATALOG_FILE).exists() and not (kb / "manifest.json").exists()
    assert (kb / "manifest.json.migrated").exists()
    assert store.bm25_search(store.tokenizer.tokens("退役军人服务站申请办理优待证"), 3)
    assert store.corpus_counts.n == len(ids)


def test_ingest_migrate_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VETBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("VETBOT_CHROMA_URL", raising=False)
    monkeypatch.delenv("VETBOT_KB_DIR", raising=False)
    kb = tmp_path / "data" / "kb"  # the default KB: its catalogue goes to the project database
    ids = _old_layout_kb(kb, HashingEmbeddings())
    assert main(["ingest", "--migrate"]) == 0
    assert "已迁移知识库" in capsys.readouterr().out
    assert not (kb / CATALOG_FILE).exists() and (tmp_path / "data" / "vetbot.db").exists()
    store = KnowledgeStore.open(kb, _settings(tmp_path), HashingEmbeddings())  # type: ignore[arg-type]
    assert set(store.chunks) == ids
    assert main(["ingest", "--migrate"]) == 0
    assert "无需迁移" in capsys.readouterr().out


def test_a_data_dir_kb_opened_by_path_without_its_database_is_refused(tmp_path: Path) -> None:
    # A data directory's kb/ is catalogued in the project database: opened by path it has index
    # files but no catalogue of its own, and a new empty one would answer from nothing.
    kb = tmp_path / "data" / "kb"
    (kb / "chroma").mkdir(parents=True)
    (kb / "bm25-g3").mkdir()
    with pytest.raises(KnowledgeBaseError) as err:
        open_catalog(kb, None)
    assert "VETBOT_DATA_DIR" in err.value.user_message
    assert not (kb / "catalog.sqlite3").exists()
    # A new directory, or one with its own catalogue, opens as before.
    fresh = tmp_path / "adhoc"
    assert open_catalog(fresh, None).head() is None
    assert open_catalog(fresh, None).head() is None
