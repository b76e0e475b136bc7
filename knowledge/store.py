"""A knowledge base directory: manifest, Chroma vectors and a BM25 index.

Layout of ``kb_dir``::

    manifest.json     documents, their content hashes and chunks (the source of truth)
    chroma/           embedded Chroma data (absent when a Chroma server is used)
    bm25-<gen>/       bm25s index over the live chunks, generation named in the manifest
    .lock             held by a writer

Crash safety: a writer first adds new chunk vectors (new ids, since ids contain the content
hash), then atomically replaces ``manifest.json`` (which names the new BM25 generation), and
only then deletes vectors and BM25 generations the manifest no longer references. Readers only
trust ids listed in the manifest, so an interrupted run leaves the previous index usable and
its leftovers are swept by the next commit.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from knowledge.embeddings import embeddings_id
from knowledge.text import ChineseTokenizer, default_tokenizer
from vetbot.errors import KnowledgeBaseError

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

    from vetbot.settings import Settings

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
SCHEMA_VERSION = 1
# Up to this many live chunks, a dense search that HNSW cannot fill with live ids falls back
# to an exact ranking of the live vectors (one get + one matrix product).
EXACT_FALLBACK_MAX = 20_000


@dataclass
class ChunkRecord:
    """One chunk: its id, its text (what is embedded and shown) and its metadata."""

    chunk_id: str
    text: str
    metadata: dict[str, Any]

    def to_document(self) -> Document:
        """As a LangChain Document (id and metadata kept)."""
        return Document(page_content=self.text, metadata=dict(self.metadata), id=self.chunk_id)


@dataclass
class DocumentRecord:
    """One ingested source document with its chunks."""

    doc_id: str
    path: str
    sha256: str
    metadata: dict[str, Any]
    chunks: list[ChunkRecord] = field(default_factory=list)
    ingested_at: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DocumentRecord:
        """Rebuild a record from its manifest JSON."""
        chunks = [ChunkRecord(**c) for c in data.get("chunks", [])]
        return cls(**{**data, "chunks": chunks})


def content_hash(data: bytes) -> str:
    """SHA-256 of a document's raw bytes, the key of incremental ingest."""
    return hashlib.sha256(data).hexdigest()


def _atomic_write_json(path: Path, payload: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def make_chroma_client(kb_dir: Path, chroma_url: str | None) -> ClientAPI:
    """An embedded PersistentClient in ``kb_dir/chroma``, or an HttpClient for a server URL."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if chroma_url:
        from urllib.parse import urlparse

        url = urlparse(chroma_url)
        return chromadb.HttpClient(
            host=url.hostname or "127.0.0.1",
            port=url.port or 8000,
            ssl=url.scheme == "https",
            settings=chroma_settings,
        )
    (kb_dir / "chroma").mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(kb_dir / "chroma"), settings=chroma_settings)


def collection_name_for(base: str, kb_dir: Path, server: bool) -> str:
    """Collection name; on a shared server each KB directory gets its own collection."""
    if not server:
        return base
    digest = hashlib.sha1(str(kb_dir.resolve()).encode()).hexdigest()[:10]
    return f"{base}-{digest}"


class KnowledgeStore:
    """Reads and writes one knowledge base (see the module docstring for the layout)."""

    def __init__(
        self,
        kb_dir: Path,
        embeddings: Embeddings,
        client: ClientAPI,
        collection_name: str = "vetbot",
        tokenizer: ChineseTokenizer | None = None,
    ) -> None:
        from langchain_chroma import Chroma

        self.kb_dir = Path(kb_dir)
        self.kb_dir.mkdir(parents=True, exist_ok=True)
        self.embeddings = embeddings
        self.tokenizer = tokenizer or default_tokenizer()
        self.client = client
        self.vectorstore = Chroma(
            collection_name=collection_name,
            embedding_function=embeddings,
            client=client,
            collection_metadata={"hnsw:space": "cosine"},
        )
        self._documents: dict[str, DocumentRecord] = {}
        self._chunks: dict[str, ChunkRecord] = {}
        self._bm25: Any = None
        self._bm25_ids: list[str] = []
        self._generation = 0
        self._bm25_dir = ""
        self._embedding_id = embeddings_id(embeddings)
        self._pending: dict[str, DocumentRecord | None] = {}
        self.reload()

    @classmethod
    def open(
        cls, kb_dir: Path, settings: Settings, embeddings: Embeddings, client: ClientAPI | None = None
    ) -> KnowledgeStore:
        """Open ``kb_dir`` with the Chroma client the settings select."""
        client = client or make_chroma_client(kb_dir, settings.chroma_url)
        name = collection_name_for(settings.chroma_collection, kb_dir, bool(settings.chroma_url))
        store = cls(kb_dir, embeddings, client, collection_name=name)
        store.sweep_orphans()
        return store

    def sweep_orphans(self) -> bool:
        """Drop vectors an interrupted ingest left behind, unless a writer is busy (then False)."""
        lock_path = self.kb_dir / ".lock"
        if not self.kb_dir.is_dir():
            return False
        with open(lock_path, "a+") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            try:
                self.reload()
                self._sweep()
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        return True

    # ------------------------------------------------------------------ reading
    def reload(self) -> None:
        """(Re)read the manifest and the BM25 generation it names."""
        path = self.kb_dir / MANIFEST
        if not path.exists():
            self._documents, self._chunks, self._bm25, self._bm25_ids = {}, {}, None, []
            return
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise KnowledgeBaseError(f"cannot read {path}: {exc}") from exc
        stored = data.get("embedding_id")
        if data.get("documents") and stored and stored != self._embedding_id:
            raise KnowledgeBaseError(
                f"knowledge base {self.kb_dir} was built with {stored}, not {self._embedding_id}",
                user_message=(
                    f"知识库是用向量模型 {stored} 建立的，与当前配置不一致；"
                    "请改回原配置，或使用 vetbot ingest --rebuild 重建。"
                ),
            )
        self._documents = {d["doc_id"]: DocumentRecord.from_json(d) for d in data.get("documents", [])}
        self._chunks = {c.chunk_id: c for d in self._documents.values() for c in d.chunks}
        self._generation = int(data.get("generation", 0))
        self._bm25_dir = data.get("bm25_dir", "")
        self._load_bm25()

    def _load_bm25(self) -> None:
        import bm25s

        self._bm25, self._bm25_ids = None, []
        if not self._chunks:
            return
        bm_dir = self.kb_dir / self._bm25_dir if self._bm25_dir else None
        if bm_dir and (bm_dir / "ids.json").exists():
            try:
                self._bm25 = bm25s.BM25.load(str(bm_dir), show_progress=False)
                self._bm25_ids = json.loads((bm_dir / "ids.json").read_text(encoding="utf-8"))
                if set(self._bm25_ids) == set(self._chunks):
                    return
            except (OSError, ValueError) as exc:
                logger.warning("BM25 index unreadable, rebuilding in memory: %s", exc)
        # Missing or stale: rebuild in memory from the manifest (cheap for policy corpora).
        self._bm25, self._bm25_ids = self._build_bm25(self._chunks)

    def _build_bm25(self, chunks: dict[str, ChunkRecord]) -> tuple[Any, list[str]]:
        import bm25s

        ids = sorted(chunks)
        corpus = [self.tokenizer.tokens(self._bm25_text(chunks[i])) or ["_empty_"] for i in ids]
        retriever = bm25s.BM25()
        retriever.index(corpus, show_progress=False)
        return retriever, ids

    @staticmethod
    def _bm25_text(chunk: ChunkRecord) -> str:
        # Title and heading make "which law" questions match; the article label is in text.
        meta = chunk.metadata
        return f"{meta.get('title', '')} {meta.get('heading', '')} {chunk.text}"

    @property
    def documents(self) -> dict[str, DocumentRecord]:
        """Live documents by id."""
        return self._documents

    @property
    def chunks(self) -> dict[str, ChunkRecord]:
        """Live chunks by id."""
        return self._chunks

    def is_empty(self) -> bool:
        """True when nothing has been ingested."""
        return not self._chunks

    def is_unchanged(self, doc_id: str, sha256: str) -> bool:
        """True when ``doc_id`` is indexed with exactly this content hash."""
        doc = self._documents.get(doc_id)
        return doc is not None and doc.sha256 == sha256

    def dense_search(self, query: str, k: int) -> list[tuple[str, float]]:
        """Top-``k`` live ``(chunk_id, cosine similarity -1..1)`` pairs, best first."""
        if not self._chunks:
            return []
        vector = self.embeddings.embed_query(query)
        return self.dense_search_by_vector(vector, k)

    def dense_search_by_vector(self, vector: list[float], k: int) -> list[tuple[str, float]]:
        """Like :meth:`dense_search` for an already embedded query."""
        if not self._chunks:
            return []
        # Orphaned vectors of an interrupted ingest may fill the top slots: over-fetch, and
        # widen the query until k live ids are found or the whole collection was searched.
        collection = self.vectorstore._collection
        total = max(1, collection.count())
        n = min(k + 16, total)
        while True:
            res = collection.query(
                query_embeddings=[vector],  # type: ignore[arg-type]
                n_results=n,
                include=["distances"],
            )
            out = [
                (cid, 1.0 - float(dist))
                for cid, dist in zip(res["ids"][0], (res.get("distances") or [[]])[0], strict=False)
                if cid in self._chunks
            ]
            if len(out) >= k:
                return out[:k]
            if n >= total:
                # HNSW is approximate: with many orphans (worse, identical ones) near the
                # query, even a whole-collection query can miss live ids. Rank the live
                # vectors exactly then, where that is cheap; orphans are swept on the next open.
                if len(self._chunks) <= EXACT_FALLBACK_MAX:
                    return self._exact_live_search(vector, k)
                return out[:k]
            n = min(total, n * 4)

    def _exact_live_search(self, vector: list[float], k: int) -> list[tuple[str, float]]:
        """Top-``k`` live ``(chunk_id, cosine similarity)`` by brute force over the live vectors."""
        got = self.vectorstore._collection.get(ids=list(self._chunks), include=["embeddings"])
        embeddings = got.get("embeddings")
        if embeddings is None or len(got["ids"]) == 0:
            return []
        matrix = np.asarray(embeddings, dtype=np.float32)
        query = np.asarray(vector, dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1) * (np.linalg.norm(query) or 1.0)
        sims = matrix @ query / np.where(norms == 0, 1.0, norms)
        order = np.argsort(-sims)[:k]
        return [(got["ids"][i], float(sims[i])) for i in order]

    def bm25_search(self, tokens: list[str], k: int) -> list[tuple[str, float]]:
        """Top-``k`` live ``(chunk_id, BM25 score > 0)`` pairs over jieba tokens, best first."""
        if self._bm25 is None or not tokens:
            return []
        k = min(k, len(self._bm25_ids))
        docs, scores = self._bm25.retrieve([tokens], k=k, show_progress=False, n_threads=1)
        out = []
        for idx, score in zip(docs[0], scores[0], strict=False):
            if score > 0:
                out.append((self._bm25_ids[int(idx)], float(score)))
        return out

    # ------------------------------------------------------------------ writing
    @contextlib.contextmanager
    def writer(self) -> Iterator[KnowledgeStore]:
        """Exclusive write session: stage changes, then commit them on normal exit."""
        lock_path = self.kb_dir / ".lock"
        with open(lock_path, "a+") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise KnowledgeBaseError(
                    f"{self.kb_dir} is locked by another writer",
                    user_message="另一个导入任务正在写入该知识库，请稍后再试。",
                ) from exc
            try:
                self.reload()
                self._pending = {}
                yield self
                self.commit()
            finally:
                self._pending = {}
                fcntl.flock(lock, fcntl.LOCK_UN)

    def stage_document(self, record: DocumentRecord) -> None:
        """Embed and add ``record``'s chunks now; the manifest switches to them at commit."""
        record.ingested_at = record.ingested_at or datetime.now(UTC).isoformat(timespec="seconds")
        old = self._documents.get(record.doc_id)
        old_ids = {c.chunk_id for c in old.chunks} if old else set()
        new = [c for c in record.chunks if c.chunk_id not in old_ids]
        if new:
            self.vectorstore.add_documents([c.to_document() for c in new], ids=[c.chunk_id for c in new])
        self._pending[record.doc_id] = record

    def stage_removal(self, doc_id: str) -> None:
        """Remove ``doc_id`` at commit."""
        self._pending[doc_id] = None

    def commit(self) -> None:
        """Publish staged changes: new manifest and BM25 generation, then sweep leftovers."""
        documents = dict(self._documents)
        for doc_id, rec in self._pending.items():
            if rec is None:
                documents.pop(doc_id, None)
            else:
                documents[doc_id] = rec
        chunks = {c.chunk_id: c for d in documents.values() for c in d.chunks}
        generation = self._generation + 1
        bm25_dir = f"bm25-{generation}"
        if chunks:
            retriever, ids = self._build_bm25(chunks)
            target = self.kb_dir / bm25_dir
            shutil.rmtree(target, ignore_errors=True)
            retriever.save(str(target), show_progress=False)
            (target / "ids.json").write_text(json.dumps(ids), encoding="utf-8")
        else:
            bm25_dir = ""
        manifest = {
            "schema": SCHEMA_VERSION,
            "generation": generation,
            "embedding_id": self._embedding_id,
            "bm25_dir": bm25_dir,
            "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "documents": [asdict(d) for d in sorted(documents.values(), key=lambda d: d.doc_id)],
        }
        _atomic_write_json(self.kb_dir / MANIFEST, manifest)
        self._pending = {}
        self.reload()
        self._sweep()

    def _sweep(self) -> None:
        """Delete vectors and BM25 generations that the manifest no longer references."""
        try:
            stored = set(self.vectorstore._collection.get(include=[])["ids"])
            stale = sorted(stored - set(self._chunks))
            for start in range(0, len(stale), 500):
                self.vectorstore.delete(ids=stale[start : start + 500])
        except Exception:  # sweeping is best effort; the next commit retries
            logger.warning("could not sweep stale vectors", exc_info=True)
        for path in self.kb_dir.glob("bm25-*"):
            if path.name != self._bm25_dir:
                shutil.rmtree(path, ignore_errors=True)

    def reset(self) -> None:
        """Drop everything (``ingest --rebuild``): vectors, BM25 and manifest."""
        self.vectorstore.reset_collection()
        for path in self.kb_dir.glob("bm25-*"):
            shutil.rmtree(path, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            (self.kb_dir / MANIFEST).unlink()
        self.reload()
