"""Staff search by 发文字号: a query naming a document's number lists that document first.

Staff who type ``金退役军人发〔2025〕12号`` want that notice. Its number is metadata (the head
line is not a passage), so neither BM25 nor dense search ranks its passages by it, and an
unrelated passage sharing ``2025`` or ``12`` could come first. :func:`named_documents` finds
the documents whose number the query names (:mod:`vetbot.docnumbers`, the one pattern that
ingest reads too); :func:`named_first` puts their passages at the top of the ranking.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol, TypeVar

from vetbot.docnumbers import find_doc_numbers, same_doc_number

if TYPE_CHECKING:
    from knowledge.records import DocumentRecord


class RankedHit(Protocol):
    """What the ordering reads of a hit (``knowledge.retrieval.retriever.Hit``)."""

    chunk_id: str


H = TypeVar("H", bound=RankedHit)


def named_documents(query: str, documents: Mapping[str, DocumentRecord],
                    allowed: Collection[str] | None = None) -> list[str]:
    """Ids of the documents (among ``allowed`` when given) whose 发文字号 or order number
    ``query`` names, in the store's order; [] when the query names none. Raises nothing."""
    found = find_doc_numbers(query)
    if not found:
        return []
    out = []
    for doc_id, doc in documents.items():
        if allowed is not None and doc_id not in allowed:
            continue
        # Staff edits of the number are in the chunks' metadata (knowledge.overlay).
        meta = doc.chunks[0].metadata if doc.chunks else doc.metadata
        number = str(meta.get("doc_number") or "")
        if number and any(same_doc_number(key, number) for key in found):
            out.append(doc_id)
    return out


def named_first(listed: Sequence[H], ranked: Sequence[H], named_chunks: Mapping[str, Sequence[str]],
                make_hit: Callable[[str], H]) -> list[H]:
    """``listed`` with the passages of the named documents first.

    ``ranked``: every hit of the query, best first (a named document's passages need not
    contain a query word, so they may be missing from ``listed``); ``named_chunks``: doc id →
    its chunk ids in document order. Named passages come in ``ranked`` order, then those that
    were not ranked at all in document order (built by ``make_hit``); the rest of ``listed``
    follows in its order. Pure; raises nothing.
    """
    wanted = {cid for chunk_ids in named_chunks.values() for cid in chunk_ids}
    if not wanted:
        return list(listed)
    first = [h for h in ranked if h.chunk_id in wanted]
    seen = {h.chunk_id for h in first}
    for chunk_ids in named_chunks.values():
        first.extend(make_hit(cid) for cid in chunk_ids if cid not in seen)
    return first + [h for h in listed if h.chunk_id not in wanted]
