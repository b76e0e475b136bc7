"""Fusion of the dense and the BM25 ranking into one score per chunk.

* ``rrf`` — reciprocal rank fusion, ``sum_i w_i / (k0 + rank_i)``;
* ``weighted`` — ``alpha * dense_norm + (1 - alpha) * bm25_norm`` with dense cosine min-max
  normalised over the candidate list and BM25 divided by its best score.

Both were measured with ``vetbot eval`` on the dev, bundled and a private tuning set; RRF is
the default (``Settings.fusion``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

Fusion = Literal["rrf", "weighted"]
FUSION_METHODS: tuple[str, ...] = ("rrf", "weighted")


def rrf_fuse(
    rankings: Sequence[Sequence[tuple[str, float]]],
    *,
    weights: Sequence[float] | None = None,
    k0: float = 60.0,
    valid_ids: Iterable[str] | None = None,
) -> dict[str, float]:
    """Reciprocal rank fusion of ranked ``(id, score)`` lists; ids not in ``valid_ids`` dropped.

    Returns ``id -> sum_i weights[i] / (k0 + rank_i)`` (ranks from 1; at most ``sum(weights) / (k0 + 1)``).
    """
    valid = set(valid_ids) if valid_ids is not None else None
    weights = list(weights) if weights is not None else [1.0] * len(rankings)
    fused: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        rank = 0
        for cid, _score in ranking:
            if valid is not None and cid not in valid:
                continue  # orphaned vector or chunk outside the live generation: not a rank holder
            rank += 1
            fused[cid] = fused.get(cid, 0.0) + weight / (k0 + rank)
    return fused


def weighted_fuse(
    dense: Sequence[tuple[str, float]],
    sparse: Sequence[tuple[str, float]],
    *,
    alpha: float = 0.5,
    valid_ids: Iterable[str] | None = None,
) -> dict[str, float]:
    """``alpha * dense_norm + (1 - alpha) * bm25_norm`` over the union of both candidate lists.

    Dense cosines are min-max normalised over the candidates (e5 similarities are compressed
    into a narrow band, so raw values would barely move the sum); BM25 is divided by its max.
    An id missing from one list scores 0 there. Scores are in 0..1.
    """
    valid = set(valid_ids) if valid_ids is not None else None
    dense = [(c, s) for c, s in dense if valid is None or c in valid]
    sparse = [(c, s) for c, s in sparse if valid is None or c in valid]
    fused: dict[str, float] = {}
    if dense:
        hi = max(s for _, s in dense)
        lo = min(s for _, s in dense)
        span = hi - lo
        for cid, s in dense:
            norm = (s - lo) / span if span > 1e-9 else 1.0
            fused[cid] = fused.get(cid, 0.0) + alpha * norm
    if sparse:
        top = max(s for _, s in sparse)
        for cid, s in sparse:
            norm = s / top if top > 0 else 0.0
            fused[cid] = fused.get(cid, 0.0) + (1.0 - alpha) * norm
    return fused
