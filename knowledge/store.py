"""A knowledge base: catalogue in a database, vectors in Chroma, BM25 cached per generation.

Where things live:

* the catalogue (``knowledge.catalog``, tables of ``knowledge.kbmodels``): documents, chunks
  with their pre-tokenised BM25 and coverage tokens, and index generations with the corpus
  counts computed at commit. The default KB (``settings.default_kb_dir``) uses the project
  database (``settings.sqlalchemy_url``: SQLite by default, PostgreSQL in production), so every
  replica sharing that database and a Chroma server (``VETBOT_CHROMA_URL``) serves the same KB;
  any other directory keeps a private SQLite file ``<kb_dir>/catalog.sqlite3``;
* vectors: Chroma (embedded in ``<kb_dir>/chroma``, or a server), collection named in the catalogue;
* ``<kb_dir>/bm25-g<N>/``: the bm25s index of generation N on this machine's disk, written by
  the committing writer, or built once from the stored tokens by a reader that lacks it.

Crash safety: a writer takes the catalogue's lease, marks it dirty and adds new chunk vectors
(new ids, since ids contain the content hash); :meth:`KnowledgeStore.commit` builds the next
generation's BM25 from the previous one's term counts plus the new chunks' tokens, publishes
the new document versions and the generation row in one transaction, then deletes the vectors
of replaced chunks. Readers only trust ids of the generation they loaded, so an interrupted run
leaves the previous generation usable; its leftovers are swept by the next open (dirty flag).

Replicas: :meth:`KnowledgeStore.refresh_if_stale` (called per request by ``KnowledgeService``)
reads the published generation number (one small SELECT, at most every
``settings.kb_refresh_seconds``) and swaps a new generation in by building the new state aside
and replacing one reference; lookups of chunks dropped by the swap still resolve for requests
in flight (:class:`LiveChunks`).
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import threading
import time
import uuid
from collections.abc import Collection, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from langchain_core.embeddings import Embeddings

from knowledge import bm25index
from knowledge.catalog import Catalog, StagedDocument, next_counts, open_catalog
from knowledge.chroma import collection_name_for, make_chroma_client
from knowledge.embeddings import embeddings_id
from knowledge.generation import FILTER_IN_CHROMA_BELOW, GenerationState, assemble, plan_filter
from knowledge.kbmigrate import MANIFEST, migrate_manifest
from knowledge.records import ChunkRecord, CorpusCounts, DocumentRecord, LiveChunks, content_hash
from knowledge.text import ChineseTokenizer, default_tokenizer
from vetbot.errors import KnowledgeBaseError
from vetbot.gcpause import paused_gc

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

    from vetbot.settings import Settings

__all__ = [
    "MANIFEST", "ChunkRecord", "CorpusCounts", "DocumentRecord", "KnowledgeStore", "LiveChunks",
    "collection_name_for", "content_hash", "make_chroma_client", "open_catalog",
]

logger = logging.getLogger(__name__)

# Up to this many live chunks, a dense search that HNSW cannot fill with live ids falls back
# to an exact ranking of the live vectors (one get + one matrix product).
EXACT_FALLBACK_MAX = 20_000
# Vectors added to Chroma per call: each add costs ~75 ms whatever its size (the embedded Chroma
# persists every call), so the vectors of staged documents are buffered across documents.
ADD_BATCH = 1024
LEASE_SECONDS = 300.0
# Staging renews the writer lease at most this often (each renewal is a database commit).
RENEW_EVERY_SECONDS = LEASE_SECONDS / 10


def _ids(doc: DocumentRecord | None) -> list[str]:
    return [c.chunk_id for c in doc.chunks] if doc else []


class KnowledgeStore:
    """Reads and writes one knowledge base (see the module docstring for the layout)."""

    def __init__(
        self,
        kb_dir: Path,
        embeddings: Embeddings,
        client: ClientAPI,
        collection_name: str = "vetbot",
        tokenizer: ChineseTokenizer | None = None,
        *,
        catalog: Catalog | None = None,
        refresh_seconds: float = 1.0,
        check_model: bool = True,
    ) -> None:
        from langchain_chroma import Chroma

        self.kb_dir = Path(kb_dir)
        self.kb_dir.mkdir(parents=True, exist_ok=True)
        self.embeddings = embeddings
        self.tokenizer = tokenizer or default_tokenizer()
        self.client = client
        self.catalog = catalog or Catalog.for_directory(self.kb_dir)
        self._embedding_id = embeddings_id(embeddings)
        if (self.kb_dir / MANIFEST).exists() and self.catalog.head() is None:
            migrate_manifest(self.kb_dir, self.catalog, collection_name, self.tokenizer)
        head = self.catalog.ensure(collection_name, self._embedding_id)
        self.vectorstore = Chroma(
            collection_name=head.collection,
            embedding_function=embeddings,
            client=client,
            collection_metadata={"hnsw:space": "cosine"},
        )
        self._check_model = check_model
        self._refresh_seconds = refresh_seconds
        self._checked_at = 0.0
        self._swap_lock = threading.Lock()
        self._state = GenerationState()
        self._token: str | None = None
        self._pending: dict[str, DocumentRecord | None] = {}
        self._staged: dict[str, StagedDocument] = {}
        # Staged chunks embedded but not yet added to Chroma, with their vectors.
        self._unsent: dict[str, tuple[ChunkRecord, list[float]]] = {}
        self._renewed_at = 0.0
        self._was_reset = self._was_dirty = self._committed = self._added = False
        self._state_partial = False  # True while self._state is not a published generation (reset)
        self._reset_docs: dict[str, DocumentRecord] = {}
        self.reload()

    @classmethod
    def open(
        cls, kb_dir: Path, settings: Settings, embeddings: Embeddings, client: ClientAPI | None = None,
        *, check_model: bool = True,
    ) -> KnowledgeStore:
        """Open ``kb_dir`` with the catalogue and Chroma client the settings select.

        ``check_model=False`` opens a KB built with another embedding model (for ``--rebuild``).
        """
        catalog = open_catalog(kb_dir, settings)
        client = client or make_chroma_client(kb_dir, settings.chroma_url)
        name = collection_name_for(settings.chroma_collection, kb_dir, bool(settings.chroma_url))
        store = cls(kb_dir, embeddings, client, collection_name=name, catalog=catalog,
                    refresh_seconds=settings.kb_refresh_seconds, check_model=check_model)
        store.sweep_orphans()
        return store

    # ------------------------------------------------------------------ generations
    @property
    def generation(self) -> int:
        """The generation this store serves (0: empty, never published)."""
        return self._state.generation

    def refresh_if_stale(self) -> bool:
        """Swap in a newer published generation; True when one was swapped in.

        Checks at most every ``refresh_seconds`` (one small SELECT); while another thread loads
        a generation, returns at once and the caller keeps serving the current one.
        """
        now = time.monotonic()
        if now - self._checked_at < self._refresh_seconds or self._token is not None:
            return False  # checked a moment ago, or this store is writing (its base must hold)
        if not self._swap_lock.acquire(blocking=False):
            return False
        try:
            self._checked_at = time.monotonic()
            head = self.catalog.head()
            published = head.generation if head else 0
            if published == self._state.generation and not self._state_partial:
                return False
            if head and self._check_model and published and head.embedding_id != self._embedding_id:
                logger.error("knowledge base %s: generation %d uses %s, not %s; keeping generation %d",
                             self.kb_dir, published, head.embedding_id, self._embedding_id,
                             self._state.generation)
                return False
            self._state = self._load(published)
            self._state_partial = False
            logger.info("knowledge base %s: generation %d swapped in", self.kb_dir, published)
            return True
        finally:
            self._swap_lock.release()

    def reload(self) -> None:
        """Load the published generation now."""
        with self._swap_lock:
            head = self.catalog.head()
            generation = head.generation if head else 0
            if head and generation and self._check_model and head.embedding_id != self._embedding_id:
                raise KnowledgeBaseError(
                    f"knowledge base {self.kb_dir} was built with {head.embedding_id}, "
                    f"not {self._embedding_id}",
                    user_message=(
                        f"知识库是用向量模型 {head.embedding_id} 建立的，与当前配置不一致；"
                        "请改回原配置，或使用 vetbot ingest --rebuild 重建。"
                    ),
                )
            self._state = self._load(generation)
            self._state_partial = False
            self._checked_at = time.monotonic()

    def _load(self, generation: int) -> GenerationState:
        with paused_gc():  # millions of acyclic records: full collections would find nothing
            documents, counts = self.catalog.load(generation)
            old = self._state.chunks
            return assemble(self.catalog, self.kb_dir, generation, documents, counts, None, old)

    def sweep_orphans(self) -> bool:
        """Drop vectors an interrupted ingest left behind, unless a writer is busy (then False)."""
        head = self.catalog.head()
        if head is None or head.generation == 0:
            # A catalogue that never published may share its collection with an existing KB
            # (a fresh database pointed at old vectors): nothing here says what is an orphan.
            return True
        # One count, not a listing of every id, unless something is there that no generation lists.
        if not head.dirty and self.vectorstore._collection.count() <= len(self._state.chunks):
            return True
        token = uuid.uuid4().hex
        if not self.catalog.acquire(token, LEASE_SECONDS, dirty=False):
            return False
        try:
            self.reload()
            live = self._state.chunks
            stored = self.vectorstore._collection.get(include=[])["ids"]
            self._delete_vectors([cid for cid in stored if cid not in live])
            self.catalog.release(token, clean=True)
        finally:
            self.catalog.release(token)
        return True

    # ------------------------------------------------------------------ reading
    @property
    def documents(self) -> dict[str, DocumentRecord]:
        """Live documents by id."""
        return self._state.documents

    @property
    def chunks(self) -> LiveChunks:
        """Live chunks by id (see :class:`LiveChunks`)."""
        return self._state.chunks

    @property
    def corpus_counts(self) -> CorpusCounts:
        """Corpus counts of the served generation (computed at its commit)."""
        return self._state.counts

    def is_empty(self) -> bool:
        """True when nothing has been ingested."""
        return not self._state.chunks

    def is_unchanged(self, doc_id: str, sha256: str) -> bool:
        """True when ``doc_id`` is indexed with exactly this content hash."""
        doc = self._state.documents.get(doc_id)
        return doc is not None and doc.sha256 == sha256

    def dense_search(
        self, query: str, k: int, *, doc_ids: Collection[str] | None = None
    ) -> list[tuple[str, float]]:
        """Top-``k`` live ``(chunk_id, cosine similarity -1..1)`` pairs, best first.

        ``doc_ids`` restricts the search to those documents' chunks (Chroma ``where`` on the
        chunk metadata's ``doc_id``).
        """
        if not self._state.chunks or (doc_ids is not None and not doc_ids):
            return []
        return self.dense_search_by_vector(self.embeddings.embed_query(query), k, doc_ids=doc_ids)

    def dense_search_by_vector(
        self, vector: list[float], k: int, *, doc_ids: Collection[str] | None = None
    ) -> list[tuple[str, float]]:
        """Like :meth:`dense_search` for an already embedded query."""
        state = self._state
        live = state.chunks
        if not live or (doc_ids is not None and not doc_ids):
            return []
        where: Any = None
        allowed: Collection[str] | None = None
        if doc_ids is not None:
            plan = plan_filter(state, doc_ids)
            allowed, where = plan.allowed, plan.where
        # Orphaned vectors of an interrupted ingest may fill the top slots: over-fetch, and
        # widen the query until k live ids are found or the collection is exhausted.
        collection = self.vectorstore._collection
        n = k + 16 if allowed is None or where is not None else int(k / FILTER_IN_CHROMA_BELOW) + 16
        while True:
            res = collection.query(
                query_embeddings=[vector],  # type: ignore[arg-type]
                n_results=n,
                where=where,
                include=["distances"],
            )
            got = res["ids"][0]
            out = [
                (cid, 1.0 - float(dist))
                for cid, dist in zip(got, (res.get("distances") or [[]])[0], strict=False)
                if cid in live and (allowed is None or state.owner.get(cid) in allowed)
            ]
            if len(out) >= k:
                return out[:k]
            if len(got) < n:
                # HNSW is approximate: with many orphans (worse, identical ones) near the
                # query, even a whole-collection query can miss live ids. Rank the live
                # vectors exactly then, where that is cheap; orphans are swept on the next open.
                if allowed is None and len(out) < min(k, len(live)) and len(live) <= EXACT_FALLBACK_MAX:
                    return self._exact_live_search(vector, k)
                return out[:k]
            n *= 4

    def _exact_live_search(self, vector: list[float], k: int) -> list[tuple[str, float]]:
        """Top-``k`` live ``(chunk_id, cosine similarity)`` by brute force over the live vectors."""
        got = self.vectorstore._collection.get(ids=list(self._state.chunks), include=["embeddings"])
        embeddings = got.get("embeddings")
        if embeddings is None or len(got["ids"]) == 0:
            return []
        matrix = np.asarray(embeddings, dtype=np.float32)
        query = np.asarray(vector, dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1) * (np.linalg.norm(query) or 1.0)
        sims = matrix @ query / np.where(norms == 0, 1.0, norms)
        order = np.argsort(-sims)[:k]
        return [(got["ids"][i], float(sims[i])) for i in order]

    def bm25_search(
        self, tokens: list[str], k: int, *, doc_ids: Collection[str] | None = None
    ) -> list[tuple[str, float]]:
        """Top-``k`` live ``(chunk_id, BM25 score > 0)`` pairs over jieba tokens, best first.

        ``doc_ids`` restricts the search to those documents' chunks (a row mask, no scan).
        """
        state = self._state
        if state.bm25 is None or not tokens:
            return []
        mask = None if doc_ids is None else plan_filter(state, doc_ids).mask
        rows, scores = state.bm25.top_k(tokens, k, mask)
        return [(state.bm25_ids[int(i)], float(s)) for i, s in zip(rows, scores, strict=True) if s > 0]

    # ------------------------------------------------------------------ writing
    @contextlib.contextmanager
    def writer(self) -> Iterator[KnowledgeStore]:
        """Exclusive write session (a lease in the catalogue): stage changes, commit on normal exit."""
        token = uuid.uuid4().hex
        head = self.catalog.head()
        self._was_dirty = bool(head and head.dirty)
        if not self.catalog.acquire(token, LEASE_SECONDS, dirty=True):
            raise KnowledgeBaseError(
                f"{self.kb_dir} is locked by another writer",
                user_message="另一个导入任务正在写入该知识库，请稍后再试。",
            )
        self._committed = False
        try:
            self._token = token
            self._renewed_at = time.monotonic()
            # The writer's base must be the published generation; reloading one already in
            # memory would read every chunk row again (seconds at 100k chunks).
            current = self.catalog.head()
            if self._state_partial or current is None or current.generation != self._state.generation:
                self.reload()
            self._pending, self._staged, self._was_reset, self._added = {}, {}, False, False
            self._unsent = {}
            try:
                yield self
            except BaseException:
                # As if every staged vector had been added at once: what was embedded is in Chroma
                # and the dirty flag has the next writer sweep what no generation lists.
                with contextlib.suppress(Exception):
                    self._send_vectors()
                raise
            self.commit()
        finally:
            self._pending, self._staged, self._unsent, self._token = {}, {}, {}, None
            # Clean once a commit swept, or when nothing was staged over a clean catalogue.
            self.catalog.release(token, clean=self._committed or not (self._was_dirty or self._added))

    def stage_document(self, record: DocumentRecord) -> None:
        """Embed ``record``'s new chunks now; their vectors are added to Chroma in batches of
        ``ADD_BATCH`` (across documents, the rest at commit) and go live at commit."""
        if self._token is None:
            raise KnowledgeBaseError("stage_document outside writer()")
        if time.monotonic() - self._renewed_at >= RENEW_EVERY_SECONDS:
            self.catalog.renew(self._token, LEASE_SECONDS)
            self._renewed_at = time.monotonic()
        record.ingested_at = record.ingested_at or datetime.now(UTC).isoformat(timespec="seconds")
        old = None if self._was_reset else self._state.documents.get(record.doc_id)
        old_ids = {c.chunk_id for c in old.chunks} if old else set()
        new = [c for c in record.chunks if c.chunk_id not in old_ids]
        self._added = self._added or bool(new)
        for start in range(0, len(new), ADD_BATCH):
            batch = new[start : start + ADD_BATCH]
            vectors = self.embeddings.embed_documents([c.text for c in batch])
            self._unsent.update((c.chunk_id, (c, v)) for c, v in zip(batch, vectors, strict=True))
        if len(self._unsent) >= ADD_BATCH:
            self._send_vectors()
        self._staged[record.doc_id] = StagedDocument.of(record, self.tokenizer.tokens)
        self._pending[record.doc_id] = record

    def _send_vectors(self) -> None:
        """Add the buffered vectors (ids are unique: a chunk staged twice is sent once)."""
        items = list(self._unsent.values())
        self._unsent = {}
        collection = self.vectorstore._collection
        for start in range(0, len(items), ADD_BATCH):
            batch = items[start : start + ADD_BATCH]
            # What LangChain's add_documents stores (every chunk has metadata), without re-embedding.
            collection.upsert(
                ids=[c.chunk_id for c, _ in batch],
                embeddings=[v for _, v in batch],  # type: ignore[arg-type]
                documents=[c.text for c, _ in batch],
                metadatas=[dict(c.metadata) for c, _ in batch],
            )

    def stage_removal(self, doc_id: str) -> None:
        """Remove ``doc_id`` at commit."""
        self._pending[doc_id] = None

    def commit(self) -> None:
        """Publish staged changes as the next generation, then delete replaced vectors."""
        if self._token is None:
            raise KnowledgeBaseError("commit outside writer()")
        if not self._pending and not self._was_reset:
            return
        # Vectors first: a generation must never list a chunk Chroma does not hold.
        self._send_vectors()
        self.catalog.renew(self._token, LEASE_SECONDS)
        state, reset = self._state, self._was_reset
        base_docs = {} if reset else state.documents
        staged = [self._staged[d] for d, r in self._pending.items() if r is not None]
        removed = set(self._reset_docs) if reset else {d for d in self._pending if d in base_docs}
        old_rows = {c.chunk_id for d in removed if d in base_docs for c in base_docs[d].chunks}
        new_chunks = [c for s in staged for c in s.record.chunks]
        removed_tokens = [] if reset else self.catalog.stat_tokens(state.generation, removed)
        counts = next_counts(CorpusCounts() if reset else state.counts, removed_tokens, staged)
        generation = state.generation + 1
        bm25 = self._save_bm25(state, reset, old_rows, new_chunks, staged, generation) if counts.n else None
        dropped = removed - {s.record.doc_id for s in staged}
        self.catalog.publish(self._token, state.generation, staged, dropped, counts, self._embedding_id)
        self._pending, self._staged = {}, {}
        # The new state from memory: what was published is what this writer holds.
        documents = {d: rec for d, rec in base_docs.items() if d not in removed}
        documents.update((s.record.doc_id, s.record) for s in staged)
        self._state = assemble(self.catalog, self.kb_dir, generation, documents, counts, bm25, state.chunks)
        self._state_partial = False
        live = self._state.chunks
        if self._was_dirty:  # an interrupted writer left vectors no generation lists
            stale = [c for c in self.vectorstore._collection.get(include=[])["ids"] if c not in live]
        else:  # only the replaced chunks (a reset already emptied the collection)
            stale = [c for d in removed for c in _ids(state.documents.get(d)) if c not in live]
        self._delete_vectors(sorted(stale))
        self._committed = True
        self.catalog.prune(generation)
        for path in self.kb_dir.glob("bm25-*"):
            if path.name != f"bm25-g{generation}":  # readers keep theirs mapped
                shutil.rmtree(path, ignore_errors=True)

    def _save_bm25(self, state: GenerationState, reset: bool, old_rows: set[str],
                   new_chunks: list[ChunkRecord], staged: list[StagedDocument], generation: int
                   ) -> tuple[Any, list[str]]:
        """Write generation ``generation``'s BM25: the previous term counts updated, or a full count."""
        new_ids = [c.chunk_id for c in new_chunks]
        new_tokens = [" ".join(t) for s in staged for t in s.bm25_tokens]
        prev = None if reset else bm25index.load_counts(self.kb_dir / f"bm25-g{state.generation}")
        if reset:
            counted = bm25index.count(new_ids, new_tokens)
        elif prev is not None and len(prev.ids) == len(state.chunks):
            counted = bm25index.update(prev, old_rows, new_ids, new_tokens)
        else:
            ids, tokens = self.catalog.bm25_corpus(state.generation)
            keep = [(i, t) for i, t in zip(ids, tokens, strict=True) if i not in old_rows]
            counted = bm25index.count([i for i, _ in keep] + new_ids, [t for _, t in keep] + new_tokens)
        retriever = bm25index.to_bm25(counted)
        bm25index.save(retriever, counted, self.kb_dir / f"bm25-g{generation}")
        return retriever, counted.ids

    def _delete_vectors(self, ids: list[str]) -> None:
        try:
            for start in range(0, len(ids), 500):
                self.vectorstore.delete(ids=ids[start : start + 500])
        except Exception:  # sweeping is best effort; the next open retries (dirty flag)
            logger.warning("could not delete stale vectors", exc_info=True)

    def reset(self) -> None:
        """Drop everything (``ingest --rebuild``): vectors now, catalogue rows at commit.

        Outside a writer it opens one and publishes an empty generation.
        """
        if self._token is None:
            with self.writer() as w:
                w.reset()
            return
        self.vectorstore.reset_collection()
        self._unsent = {}  # staged before the reset: dropped with everything else
        if not self._was_reset:
            self._reset_docs = self._state.documents
        self._was_reset = self._added = True
        # The writer sees an empty KB from now on; the catalogue changes at commit.
        self._state = GenerationState(self._state.generation, chunks=LiveChunks({}, self._state.chunks))
        self._state_partial = True
        self._pending = {}
        self._staged = {}
