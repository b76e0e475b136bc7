"""Access to the knowledge-base catalogue tables (``knowledge.kbmodels``) of one database.

The default knowledge base lives in the project database (``settings.sqlalchemy_url``, schema
by Alembic); an ad-hoc ``--kb DIR`` keeps its own SQLite file ``DIR/catalog.sqlite3`` (schema
created here). Same code, different URL.

Generations: readers load generation ``g`` as the document versions with
``gen_from <= g < gen_to`` (``gen_to`` NULL: still live). A writer holds a lease on the
catalogue row, adds vectors, then :meth:`Catalog.publish` writes the new versions, closes the
replaced ones and moves the catalogue's ``generation`` forward in one transaction, guarded by
the generation it started from. Rows that no generation after ``g - KEEP_GENERATIONS`` uses
are deleted after a publish, so a reader loading a generation that was just replaced still
finds its rows.
"""

from __future__ import annotations

import json
import logging
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import and_, delete, insert, inspect, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from knowledge.corpustext import bm25_text, coverage_text
from knowledge.kbmodels import KbCatalog, KbChunk, KbDocument, KbGeneration
from knowledge.records import ChunkRecord, CorpusCounts, DocumentRecord
from knowledge.types import NATIONAL
from vetbot.clock import utcnow
from vetbot.db import Base, create_db_engine, make_session_factory, upgrade
from vetbot.errors import KnowledgeBaseError

if TYPE_CHECKING:
    from vetbot.settings import Settings

logger = logging.getLogger(__name__)

CATALOG_FILE = "catalog.sqlite3"
KEEP_GENERATIONS = 2
MODELS = (KbCatalog, KbGeneration, KbDocument, KbChunk)


@dataclass(frozen=True)
class Head:
    """The catalogue row: published generation, Chroma collection, embedding model, dirty flag."""

    generation: int
    collection: str
    embedding_id: str
    dirty: bool


@dataclass
class StagedDocument:
    """A document version to publish, with its chunks' BM25 and coverage tokens (one list per chunk)."""

    record: DocumentRecord
    bm25_tokens: list[list[str]]
    stat_tokens: list[list[str]]

    @classmethod
    def of(cls, record: DocumentRecord, tokens: Callable[[str], list[str]]) -> StagedDocument:
        """Tokenise ``record``'s chunks with ``tokens`` (jieba search-mode tokens)."""
        return cls(
            record,
            [tokens(bm25_text(c.text, c.metadata)) for c in record.chunks],
            [sorted(set(tokens(coverage_text(c.text, c.metadata)))) for c in record.chunks],
        )


def next_counts(
    base: CorpusCounts, removed: Iterable[tuple[str, list[str]]], staged: Iterable[StagedDocument]
) -> CorpusCounts:
    """``base`` minus the removed ``(region, coverage tokens)`` chunks plus the staged documents."""
    df, regions, n = dict(base.df), dict(base.regions), base.n
    for region, toks in removed:
        n -= 1
        regions[region] = regions.get(region, 0) - 1
        for t in toks:
            df[t] = df.get(t, 0) - 1
    for doc in staged:
        for chunk, toks in zip(doc.record.chunks, doc.stat_tokens, strict=True):
            n += 1
            region = _region(chunk.metadata)
            regions[region] = regions.get(region, 0) + 1
            for t in toks:
                df[t] = df.get(t, 0) + 1
    live_df = {t: c for t, c in df.items() if c > 0}
    return CorpusCounts(n, live_df, {r: c for r, c in regions.items() if c > 0})


def pack_counts(counts: CorpusCounts) -> bytes:
    """The ``kb_generations.stats`` blob."""
    data = {"n": counts.n, "df": counts.df, "regions": counts.regions}
    return zlib.compress(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode(), 3)


def unpack_counts(blob: bytes) -> CorpusCounts:
    """Inverse of :func:`pack_counts`."""
    data = loads_json(zlib.decompress(blob))
    return CorpusCounts(n=int(data["n"]), df=data["df"], regions=data["regions"])


def loads_json(text: str | bytes) -> Any:
    """``json.loads`` through orjson (several times faster: a 100k-chunk generation is 140k
    metadata objects); what orjson refuses and ``json`` reads (NaN, integers over 64 bits,
    which ``json.dumps`` may have written) goes through ``json``."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _live(generation: int) -> object:
    return and_(
        KbDocument.gen_from <= generation,
        or_(KbDocument.gen_to.is_(None), KbDocument.gen_to > generation),
    )


class Catalog:
    """One knowledge base's rows (``name``) in one database (see the module docstring)."""

    def __init__(self, engine: Engine, name: str = "default") -> None:
        self.engine = engine
        self.name = name
        self._sessions: sessionmaker[Session] = make_session_factory(engine)

    @classmethod
    def for_directory(cls, kb_dir: Path) -> Catalog:
        """The private SQLite catalogue of an ad-hoc KB directory (created when missing)."""
        kb_dir.mkdir(parents=True, exist_ok=True)
        engine = create_db_engine(f"sqlite:///{(kb_dir / CATALOG_FILE).resolve()}")
        Base.metadata.create_all(engine, tables=[Base.metadata.tables[m.__tablename__] for m in MODELS])
        return cls(engine)

    @classmethod
    def for_database(cls, url: str, name: str = "default") -> Catalog:
        """The catalogue in the project database; applies the migrations when its tables are missing."""
        engine = create_db_engine(url)
        if not inspect(engine).has_table(KbCatalog.__tablename__):
            logger.warning("knowledge catalogue tables missing; applying database migrations")
            upgrade(url)
        return cls(engine, name)

    # ------------------------------------------------------------------ reading
    def head(self) -> Head | None:
        """The catalogue row (one small SELECT), or None for a KB never written."""
        with self._sessions() as s:
            row = s.execute(
                select(KbCatalog.generation, KbCatalog.collection, KbCatalog.embedding_id, KbCatalog.dirty)
                .where(KbCatalog.name == self.name)
            ).first()
        if row is None:
            return None
        return Head(int(row[0]), str(row[1]), str(row[2]), bool(row[3]))

    def generation(self) -> int:
        """The published generation number (0: nothing published)."""
        with self._sessions() as s:
            value = s.scalar(select(KbCatalog.generation).where(KbCatalog.name == self.name))
        return int(value or 0)

    def load(self, generation: int) -> tuple[dict[str, DocumentRecord], CorpusCounts]:
        """Documents (chunks in order) of ``generation`` and its corpus counts."""
        if generation <= 0:
            return {}, CorpusCounts()
        # Core statements on the session's connection: the ORM's row processing cost more
        # than the query itself at 100k chunks, and only plain columns are read.
        with self._sessions() as s:
            conn = s.connection()
            blob = conn.scalar(
                select(KbGeneration.stats)
                .where(KbGeneration.kb == self.name, KbGeneration.number == generation)
            )
            docs = conn.execute(
                select(KbDocument.id, KbDocument.doc_id, KbDocument.path, KbDocument.sha256,
                       KbDocument.meta, KbDocument.ingested_at, KbDocument.chunk_meta)
                .where(KbDocument.kb == self.name, _live(generation))  # type: ignore[arg-type]
                .order_by(KbDocument.doc_id)
            ).all()
            chunks = conn.execute(
                select(KbChunk.document_id, KbChunk.chunk_id, KbChunk.text, KbChunk.meta)
                .join(KbDocument, KbChunk.document_id == KbDocument.id)
                .where(KbDocument.kb == self.name, _live(generation))  # type: ignore[arg-type]
                .order_by(KbDocument.doc_id, KbChunk.position)
            ).all()
        if blob is None:
            raise KnowledgeBaseError(f"generation {generation} of knowledge base {self.name!r} is missing")
        by_row: dict[int, tuple[DocumentRecord, dict[str, Any]]] = {}
        documents: dict[str, DocumentRecord] = {}
        for row_id, doc_id, path, sha, meta, ingested_at, shared_json in docs:
            rec = DocumentRecord(doc_id, path, sha, loads_json(meta), [], ingested_at)
            documents[doc_id] = rec
            by_row[row_id] = (rec, loads_json(shared_json))
        loads = loads_json
        for row_id, chunk_id, text, meta in chunks:
            rec, shared = by_row[row_id]
            own = loads(meta) if meta != "{}" else None
            rec.chunks.append(ChunkRecord(chunk_id, text, {**shared, **own} if own else dict(shared)))
        return documents, unpack_counts(blob)

    def bm25_corpus(self, generation: int) -> tuple[list[str], list[str]]:
        """``(chunk ids, space-separated BM25 tokens)`` of ``generation``'s live chunks, in load order."""
        with self._sessions() as s:
            rows = s.execute(
                select(KbChunk.chunk_id, KbChunk.bm25_tokens)
                .join(KbDocument, KbChunk.document_id == KbDocument.id)
                .where(KbDocument.kb == self.name, _live(generation))  # type: ignore[arg-type]
                .order_by(KbDocument.doc_id, KbChunk.position)
            ).all()
        return [r[0] for r in rows], [r[1] for r in rows]

    def stat_tokens(self, generation: int, doc_ids: Iterable[str]) -> list[tuple[str, list[str]]]:
        """``(region, coverage tokens)`` per live chunk of the given documents (to subtract at commit)."""
        ids = list(doc_ids)
        out: list[tuple[str, list[str]]] = []
        with self._sessions() as s:
            for start in range(0, len(ids), 500):
                rows = s.execute(
                    select(KbChunk.meta, KbChunk.stat_tokens)
                    .join(KbDocument, KbChunk.document_id == KbDocument.id)
                    .where(KbDocument.kb == self.name, KbDocument.doc_id.in_(ids[start : start + 500]),
                           _live(generation))  # type: ignore[arg-type]
                ).all()
                out.extend((_region(loads_json(meta)), tokens.split()) for meta, tokens in rows)
        return out

    # ------------------------------------------------------------------ writing
    def ensure(self, collection: str, embedding_id: str) -> Head:
        """Create the catalogue row when missing; returns the row."""
        head = self.head()
        if head is not None:
            return head
        with self._sessions() as s:
            s.add(KbCatalog(name=self.name, collection=collection, embedding_id=embedding_id,
                            generation=0, dirty=0, updated_at=utcnow()))
            try:
                s.commit()
            except IntegrityError:  # another process created it first
                s.rollback()
        head = self.head()
        assert head is not None
        return head

    def acquire(self, token: str, ttl: float, *, dirty: bool) -> bool:
        """Take the writer lease (free or expired); ``dirty`` marks that vectors may be added."""
        now = time.time()
        values: dict[str, object] = {"writer": token, "writer_until": now + ttl}
        if dirty:
            values["dirty"] = 1
        with self._sessions() as s:
            res = s.execute(
                update(KbCatalog)
                .where(KbCatalog.name == self.name,
                       or_(KbCatalog.writer.is_(None), KbCatalog.writer == token,
                           KbCatalog.writer_until < now))
                .values(**values)
            )
            s.commit()
        return bool(res.rowcount)  # type: ignore[attr-defined]

    def renew(self, token: str, ttl: float) -> None:
        """Extend the lease; KnowledgeBaseError when it was lost (expired and taken)."""
        with self._sessions() as s:
            res = s.execute(
                update(KbCatalog).where(KbCatalog.name == self.name, KbCatalog.writer == token)
                .values(writer_until=time.time() + ttl)
            )
            s.commit()
        if not res.rowcount:  # type: ignore[attr-defined]
            raise KnowledgeBaseError(f"writer lease on knowledge base {self.name!r} was lost")

    def release(self, token: str, *, clean: bool = False) -> None:
        """Give the lease back; ``clean`` clears the dirty flag (nothing is left to sweep)."""
        values: dict[str, object] = {"writer": None, "writer_until": None}
        if clean:
            values["dirty"] = 0
        with self._sessions() as s:
            s.execute(update(KbCatalog).where(KbCatalog.name == self.name, KbCatalog.writer == token)
                      .values(**values))
            s.commit()

    def publish(
        self,
        token: str,
        base: int,
        staged: Sequence[StagedDocument],
        removed: Iterable[str],
        counts: CorpusCounts,
        embedding_id: str,
    ) -> int:
        """Publish generation ``base + 1`` in one transaction and return its number.

        ``staged`` replaces (or adds) documents, ``removed`` drops doc ids. KnowledgeBaseError
        when the lease was lost or another generation was published since ``base``.
        """
        new = base + 1
        replaced = [d.record.doc_id for d in staged] + list(removed)
        with self._sessions() as s, s.begin():
            res = s.execute(
                update(KbCatalog)
                .where(KbCatalog.name == self.name, KbCatalog.writer == token, KbCatalog.generation == base)
                .values(generation=new, embedding_id=embedding_id, updated_at=utcnow())
            )
            if not res.rowcount:  # type: ignore[attr-defined]
                raise KnowledgeBaseError(
                    f"knowledge base {self.name!r} changed under this writer "
                    "(lease lost or generation moved)",
                    user_message="知识库已被其他导入任务更新，请重试。",
                )
            for start in range(0, len(replaced), 500):
                s.execute(
                    update(KbDocument)
                    .where(KbDocument.kb == self.name, KbDocument.doc_id.in_(replaced[start : start + 500]),
                           KbDocument.gen_to.is_(None))
                    .values(gen_to=new)
                )
            self._insert_versions(s, new, staged)
            s.add(KbGeneration(kb=self.name, number=new, chunks=counts.n,
                               stats=pack_counts(counts), created_at=utcnow()))
        return new

    def _insert_versions(self, s: Session, generation: int, staged: Sequence[StagedDocument]) -> None:
        """Insert the staged document versions and their chunks as two bulk (executemany) inserts."""
        if not staged:
            return
        shared = [_shared_metadata(d.record.chunks) for d in staged]
        s.execute(insert(KbDocument), [
            {"kb": self.name, "doc_id": d.record.doc_id, "path": d.record.path, "sha256": d.record.sha256,
             "meta": json.dumps(d.record.metadata, ensure_ascii=False),
             "chunk_meta": json.dumps(sh, ensure_ascii=False),
             "ingested_at": d.record.ingested_at, "gen_from": generation, "gen_to": None}
            for d, sh in zip(staged, shared, strict=True)
        ])
        # The rows just inserted are the only ones of this kb that start at ``generation``.
        row_ids = dict(s.execute(
            select(KbDocument.doc_id, KbDocument.id)
            .where(KbDocument.kb == self.name, KbDocument.gen_from == generation)
        ).tuples().all())
        rows = [
            {"document_id": row_ids[d.record.doc_id], "position": i, "chunk_id": c.chunk_id, "text": c.text,
             "meta": json.dumps({k: v for k, v in c.metadata.items() if k not in sh}, ensure_ascii=False),
             "bm25_tokens": " ".join(bt), "stat_tokens": " ".join(st)}
            for d, sh in zip(staged, shared, strict=True)
            for i, (c, bt, st) in enumerate(zip(d.record.chunks, d.bm25_tokens, d.stat_tokens, strict=True))
        ]
        for start in range(0, len(rows), 5000):
            s.execute(insert(KbChunk), rows[start : start + 5000])

    def prune(self, generation: int) -> None:
        """Delete versions and generation rows no generation from ``generation - KEEP + 1`` on uses."""
        floor = generation - KEEP_GENERATIONS + 1
        with self._sessions() as s, s.begin():
            old = select(KbDocument.id).where(KbDocument.kb == self.name, KbDocument.gen_to <= floor)
            s.execute(delete(KbChunk).where(KbChunk.document_id.in_(old)))
            s.execute(delete(KbDocument).where(KbDocument.kb == self.name, KbDocument.gen_to <= floor))
            s.execute(delete(KbGeneration).where(KbGeneration.kb == self.name, KbGeneration.number < floor))


def _shared_metadata(chunks: Sequence[ChunkRecord]) -> dict[str, Any]:
    """Metadata items every chunk has with the same value (stored once per document)."""
    if not chunks:
        return {}
    first = chunks[0].metadata
    return {k: v for k, v in first.items() if all(k in c.metadata and c.metadata[k] == v for c in chunks[1:])}


def _region(meta: Mapping[str, object]) -> str:
    return str(meta.get("region") or NATIONAL)


def open_catalog(kb_dir: Path, settings: Settings | None) -> Catalog:
    """The catalogue of ``kb_dir``: its own SQLite file if it has one, the project database for
    the default KB, else a new file in ``kb_dir``."""
    kb_dir = Path(kb_dir)
    is_default = settings is not None and kb_dir.resolve() == Path(settings.default_kb_dir).resolve()
    if settings is not None and is_default and not (kb_dir / CATALOG_FILE).exists():
        return Catalog.for_database(settings.kb_database_url or settings.sqlalchemy_url)
    if not (kb_dir / CATALOG_FILE).exists() and _has_index(kb_dir):
        # Index files without a catalogue of their own: a KB catalogued in some project database
        # (a data directory's kb/ opened by path). A new empty catalogue would answer from nothing.
        raise KnowledgeBaseError(
            f"{kb_dir} holds an index catalogued in a database, not in {CATALOG_FILE}",
            user_message=f"知识库目录 {kb_dir} 的目录信息保存在数据库中：请设置 VETBOT_DATA_DIR"
            "（或 VETBOT_KB_DATABASE_URL）指向它所属的数据目录后再打开，不要直接用 --kb 指定。",
        )
    return Catalog.for_directory(kb_dir)


def _has_index(kb_dir: Path) -> bool:
    """Whether ``kb_dir`` has vectors or a BM25 index of some generation, and no pre-catalogue
    ``manifest.json`` (such a KB is migrated into a new catalogue on open)."""
    if (kb_dir / "manifest.json").exists():
        return False
    return (kb_dir / "chroma").is_dir() or any(kb_dir.glob("bm25-g*"))
