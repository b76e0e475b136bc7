"""Staff search order of versions: the text in force before the superseded text of the same article.

Staff search lists superseded passages too (marked 已被取代 / 已废止), each by its own score. An
older text is often shorter and matches a query a little better than the revised one, so it
could rank first; staff must read the rule in force first. Each superseded passage is therefore
moved right after its *counterpart*: the passage of the document in force that replaced it
(:meth:`knowledge.versions.VersionIndex.in_force_successor`) whose text is most like it.
Articles are renumbered by revisions (2018 第六条 is 2024 第七条), so the counterpart is found
by text similarity (rapidfuzz ``ratio``, 0..100), not by article label. A superseded passage
like none of the replacing document's hits goes right after that document's best hit; one whose
replacing document has no hit at all keeps its place, still marked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from rapidfuzz import fuzz, process

# Same article across versions measured 58-94 on the fixtures' revisions; different articles of
# one text 15-43.
COUNTERPART_MIN_RATIO = 50.0


class VersionedHit(Protocol):
    """What the ordering reads of a hit (``knowledge.retrieval.retriever.Hit``)."""

    chunk_id: str
    superseded: bool


H = TypeVar("H", bound=VersionedHit)


def current_first(
    hits: Sequence[H],
    doc_of: Callable[[str], str],
    text_of: Callable[[str], str],
    successor_of: Callable[[str], str],
) -> list[H]:
    """``hits`` (best first) with each superseded hit moved right after its counterpart in force.

    ``doc_of`` / ``text_of`` map a chunk id to its doc id / text; ``successor_of`` maps a doc id
    to the id of the document in force that replaced it ("" for none). Hits already below their
    counterpart, and hits in force, keep their relative order. Pure; raises nothing.
    """
    position = {h.chunk_id: i for i, h in enumerate(hits)}
    in_force_by_doc: dict[str, list[H]] = {}
    for h in hits:
        if not h.superseded:
            in_force_by_doc.setdefault(doc_of(h.chunk_id), []).append(h)
    after: dict[str, list[H]] = {}
    for h in hits:
        if not h.superseded:
            continue
        candidates = in_force_by_doc.get(successor_of(doc_of(h.chunk_id)), [])
        if not candidates:
            continue
        match = process.extractOne(
            text_of(h.chunk_id),
            {c.chunk_id: text_of(c.chunk_id) for c in candidates},
            scorer=fuzz.ratio,
            score_cutoff=COUNTERPART_MIN_RATIO,
        )
        # No passage like it: the replacing document's best hit still comes first (金华's new
        # notice on free buses reads nothing like the rule it replaced).
        target = match[2] if match is not None else candidates[0].chunk_id
        if position[target] > position[h.chunk_id]:
            after.setdefault(target, []).append(h)
    if not after:
        return list(hits)
    moved = {h.chunk_id for group in after.values() for h in group}
    ordered: list[H] = []
    for h in hits:
        if h.chunk_id not in moved:
            ordered.append(h)
            ordered.extend(after.get(h.chunk_id, ()))
    return ordered
