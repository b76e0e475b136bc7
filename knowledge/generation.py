"""The in-memory view of one published knowledge-base generation (``knowledge.store``), and
how a document filter applies to its searches (planned once per generation and filter).
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from knowledge import bm25index
from knowledge.catalog import Catalog
from knowledge.records import CorpusCounts, DocumentRecord, LiveChunks

# Share of the live chunks below which a document filter is handed to Chroma's ``where``.
FILTER_IN_CHROMA_BELOW = 0.25
FILTER_PLANS = 64  # document filters remembered per generation


@dataclass(frozen=True)
class GenerationState:
    """One published generation in memory: documents, live chunks, counts, BM25 and filter plans."""

    generation: int = 0
    documents: dict[str, DocumentRecord] = field(default_factory=dict)
    chunks: LiveChunks = field(default_factory=lambda: LiveChunks({}))
    counts: CorpusCounts = field(default_factory=CorpusCounts)
    bm25: bm25index.Scorer | None = None
    bm25_ids: list[str] = field(default_factory=list)
    doc_index: dict[str, int] = field(default_factory=dict)  # doc id -> ordinal
    row_doc: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))  # BM25 row -> ordinal
    owner: dict[str, str] = field(default_factory=dict)  # chunk id -> doc id
    # Per document filter of this generation: how searches apply it (see plan_filter).
    plans: dict[frozenset[str], FilterPlan] = field(default_factory=dict)


@dataclass(frozen=True)
class FilterPlan:
    """How a document filter is applied to one generation's searches."""

    allowed: frozenset[str]
    where: Any  # Chroma ``where`` for a selective filter, else None (over-fetch, filter here)
    mask: np.ndarray  # BM25 row weights: 1.0 for the allowed documents' rows, else 0.0


def assemble(catalog: Catalog, kb_dir: Path, generation: int, documents: dict[str, DocumentRecord],
             counts: CorpusCounts, bm25: tuple[Any, list[str]] | None, old: LiveChunks) -> GenerationState:
    """The in-memory state of a generation (BM25 from ``bm25``, the disk cache or the stored tokens);
    ``old``: the chunks served until now (those the generation dropped stay resolvable)."""
    chunks = {c.chunk_id: c for d in documents.values() for c in d.chunks}
    # Only what the new generation dropped is kept for requests in flight.
    live = LiveChunks(chunks, {k: v for k, v in old.items() if k not in chunks})
    if not chunks:
        return GenerationState(generation, documents, live, counts)
    target = kb_dir / f"bm25-g{generation}"
    loaded = bm25 or bm25index.load(target)
    if loaded is None or len(loaded[1]) != len(chunks) or not all(c in chunks for c in loaded[1]):
        # A generation another machine published (or a lost cache): build it once from the
        # stored tokens and keep it for the next start.
        ids, tokens = catalog.bm25_corpus(generation)
        counted = bm25index.count(ids, tokens)
        retriever = bm25index.to_bm25(counted)
        with contextlib.suppress(OSError):
            bm25index.save(retriever, counted, target)
        loaded = (retriever, ids)
    retriever, ids = loaded
    owner = {c.chunk_id: d.doc_id for d in documents.values() for c in d.chunks}
    doc_index = {d: i for i, d in enumerate(documents)}
    row_doc = np.fromiter((doc_index[owner[cid]] for cid in ids), dtype=np.int32, count=len(ids))
    scorer = bm25index.Scorer(retriever)
    return GenerationState(generation, documents, live, counts, scorer, ids, doc_index, row_doc, owner)


def plan_filter(state: GenerationState, doc_ids: Collection[str]) -> FilterPlan:
    """The filter plan of ``doc_ids`` in ``state``, computed once per generation and filter
    (each costs a pass over the allowed documents and every BM25 row: ms at 100k chunks)."""
    key = doc_ids if isinstance(doc_ids, frozenset) else frozenset(doc_ids)
    plan = state.plans.get(key)
    if plan is not None:
        return plan
    where: Any = None
    n_live = max(1, len(state.chunks))
    share = sum(len(state.documents[d].chunks) for d in key if d in state.documents) / n_live
    if share < FILTER_IN_CHROMA_BELOW:
        # A selective filter goes into Chroma; a broad one (a region keeps every
        # national rule) is cheaper as an over-fetch filtered here.
        ids = sorted(key)
        where = {"doc_id": ids[0]} if len(ids) == 1 else {"doc_id": {"$in": ids}}
    wanted = np.fromiter((state.doc_index[d] for d in key if d in state.doc_index), dtype=np.int32)
    mask = np.isin(state.row_doc, wanted).astype(np.float32)
    mask.setflags(write=False)  # shared by concurrent searches
    plan = FilterPlan(key, where, mask)
    if len(state.plans) >= FILTER_PLANS:
        state.plans.clear()
    state.plans[key] = plan
    return plan
