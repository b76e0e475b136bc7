"""BM25 over pre-tokenised chunks, built with numpy and cached on local disk per generation.

The index is a ``bm25s.BM25`` (Lucene variant, ``k1=1.5``, ``b=0.75``: bm25s's defaults) whose
score matrix is computed here from term counts (:class:`TermCounts`) in a few vectorised passes;
searching, saving and loading are bm25s's own. A new generation's counts are the previous
generation's minus the removed chunks plus the new ones (:func:`update`), so only new chunks'
tokens are looked at; without the previous counts they are rebuilt from every chunk's stored
tokens (:func:`count`, seconds at 100k chunks). A cache directory holds the bm25s files,
``ids.json`` (the chunk id of every row) and ``counts.npz``.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

K1 = 1.5
B = 0.75
EMPTY = "_empty_"  # stands in for a chunk without tokens, so every chunk has a row
# A search over at least this many rows per wanted row first finds a score floor (Scorer._floor);
# below it, selecting among the matching rows directly is as cheap.
FLOOR_MIN_ROWS_PER_K = 64


@dataclass
class TermCounts:
    """Sparse term counts: row ``doc[i]`` has term ``tok[i]`` ``tf[i]`` times; ``lengths`` per row.

    Pairs are sorted by term, then row (the column order of bm25s's CSC score matrix).
    """

    ids: list[str]
    vocab: dict[str, int]
    doc: np.ndarray
    tok: np.ndarray
    tf: np.ndarray
    lengths: np.ndarray


def _pairs(token_strings: list[str], vocab: dict[str, int], first_row: int
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(rows, terms, tf, lengths)`` of new rows, pairs sorted by term then row."""
    flat: list[int] = []
    lengths = np.empty(len(token_strings), dtype=np.int64)
    for i, text in enumerate(token_strings):
        words = text.split() or [EMPTY]
        lengths[i] = len(words)
        flat.extend([vocab.setdefault(w, len(vocab)) for w in words])
    height = first_row + len(token_strings) + 1
    rows = np.repeat(np.arange(first_row, height - 1, dtype=np.int64), lengths)
    keys, tf = np.unique(np.asarray(flat, dtype=np.int64) * height + rows, return_counts=True)
    return keys % height, keys // height, tf, lengths


def count(ids: list[str], token_strings: list[str]) -> TermCounts:
    """Term counts of every chunk (row i = ``ids[i]``, tokens space-separated)."""
    vocab: dict[str, int] = {"": 0}  # "" (no entries) lets bm25s answer a query with no known token
    doc, tok, tf, lengths = _pairs(token_strings, vocab, 0)
    return TermCounts(list(ids), vocab, doc, tok, tf, lengths)


def update(
    prev: TermCounts, removed: Collection[str], ids: list[str], token_strings: list[str]
) -> TermCounts:
    """``prev`` without the ``removed`` chunk ids, plus new rows ``ids`` (tokens space-separated)."""
    keep = np.fromiter((cid not in removed for cid in prev.ids), dtype=bool, count=len(prev.ids))
    vocab = dict(prev.vocab)
    n_kept = int(keep.sum())
    doc, tok, tf, lengths = _pairs(token_strings, vocab, n_kept)
    if n_kept == len(prev.ids):  # nothing removed: no renumbering (saves copies of every pair)
        old_doc, old_tok, old_tf = prev.doc, prev.tok, prev.tf
    else:
        kept = keep[prev.doc]
        old_doc, old_tok, old_tf = (np.cumsum(keep) - 1)[prev.doc[kept]], prev.tok[kept], prev.tf[kept]
    # Two runs each sorted by term (a row renumbering keeps the order; new rows come after the
    # kept ones): each new pair goes after the kept pairs of its term, as a stable sort would
    # put it, by one insertion instead of sorting millions of pairs again.
    at = np.searchsorted(old_tok, tok, side="right")
    return TermCounts(
        [cid for cid, k in zip(prev.ids, keep, strict=True) if k] + list(ids),
        vocab,
        np.insert(old_doc, at, doc),
        np.insert(old_tok, at, tok),
        np.insert(old_tf, at, tf),
        np.concatenate([prev.lengths[keep], lengths]),
    )


def to_bm25(counts: TermCounts) -> Any:
    """The ``bm25s.BM25`` of these counts (same scores as ``bm25s.BM25().index`` on the tokens)."""
    import bm25s

    n_docs, n_vocab = len(counts.ids), len(counts.vocab)
    per_term = np.bincount(counts.tok, minlength=n_vocab)
    idf = np.log(1.0 + (n_docs - per_term + 0.5) / (per_term + 0.5))
    avg = float(counts.lengths.mean()) if n_docs else 1.0
    tf = counts.tf.astype(np.float64)
    tfc = tf / (tf + K1 * (1.0 - B + B * counts.lengths[counts.doc] / avg))
    indptr = np.zeros(n_vocab + 1, dtype=np.int64)
    np.cumsum(per_term, out=indptr[1:])
    retriever = bm25s.BM25(k1=K1, b=B)
    retriever.scores = {
        "data": (idf[counts.tok] * tfc).astype(np.float32),
        "indices": counts.doc.astype(np.int32),
        "indptr": indptr,
        "num_docs": n_docs,
    }
    retriever.vocab_dict = counts.vocab
    retriever.unique_token_ids_set = set(counts.vocab.values())
    retriever.nonoccurrence_array = None
    return retriever


class Scorer:
    """Top-k search over a ``bm25s.BM25``'s score matrix without bm25s's per-query machinery
    (progress bars, a per-token ``np.add.at`` over a copied sub-matrix). Same scores as
    ``BM25.retrieve``, bit for bit; a deterministic order among equal scores (:meth:`top_k`).

    A query's score vector is accumulated column by column in query order, each row's float32
    sum in bm25s's own order: a common term's column (in at least 1/``DENSE_SHARE`` of the
    rows) is added as a dense vector, built on first use and kept for this generation (at most
    ``DENSE_CACHE`` of them: 4 bytes per row each); a rarer one is added at its rows. Every
    row is scored; the top k are ordered by score, then row (see :meth:`top_k`).
    """

    DENSE_SHARE = 16
    DENSE_CACHE = 64

    def __init__(self, retriever: Any) -> None:
        scores = retriever.scores
        self.vocab: dict[str, int] = retriever.vocab_dict
        self.num_docs = int(scores["num_docs"])
        self._indptr = np.asarray(scores["indptr"])
        self._rows = np.asarray(scores["indices"])
        self._data = np.asarray(scores["data"], dtype=np.float32)
        self._dense_from = max(1, self.num_docs // self.DENSE_SHARE)
        # Immutable per-generation data (a column of the matrix), never a query's result.
        self._dense_column = functools.lru_cache(maxsize=self.DENSE_CACHE)(self._densify)

    def _densify(self, term: int) -> np.ndarray:
        start, end = self._indptr[term], self._indptr[term + 1]
        column = np.zeros(self.num_docs, dtype=np.float32)
        column[self._rows[start:end]] = self._data[start:end]
        column.flags.writeable = False
        return column

    def scores(self, tokens: list[str]) -> np.ndarray:
        """Float32 BM25 score of every row for ``tokens`` (a repeated token counts again,
        unknown tokens are ignored); all zeros when no token is known."""
        out = np.zeros(self.num_docs, dtype=np.float32)
        for term in (self.vocab[t] for t in tokens if t in self.vocab):
            start, end = int(self._indptr[term]), int(self._indptr[term + 1])
            if end - start >= self._dense_from:
                # Adding 0.0 leaves a row's sum as it is: the same float32 sums as below.
                np.add(out, self._dense_column(term), out=out)
            elif end > start:
                # A term has one entry per row, so its rows are distinct and a fancy-indexed
                # add gives each row one float32 addition, as np.add.at would (many times slower).
                rows = self._rows[start:end]
                out[rows] += self._data[start:end]
        return out

    def top_k(self, tokens: list[str], k: int, mask: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
        """``(rows, scores)`` of the at most ``k`` best rows with a score above 0, by score
        (descending), then row (ascending); a repeated token counts again, unknown tokens are
        ignored; ``mask`` (one weight per row) multiplies the scores.

        The order among equal scores is the row order, whatever numpy's selection algorithm
        (it differs between CPUs and versions), and a row that matches no token (score 0, or
        masked out) is no candidate: only the matching rows are ranked, so a filter that keeps
        few rows costs less, not more.
        """
        empty = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if k <= 0 or not any(t in self.vocab for t in tokens):
            return empty
        scores = self.scores(tokens)
        if mask is not None:
            scores = scores * mask
        rows = np.flatnonzero(scores > self._floor(scores, k))  # ascending
        if rows.size == 0:
            return empty
        values = scores[rows]
        if rows.size > k:
            kth = values[np.argpartition(-values, k - 1)[k - 1]]
            above = rows[values > kth]
            # The k-th score may be shared: the lowest rows among those with it complete the k.
            rows = np.concatenate([above, rows[values == kth][: k - above.size]])
            values = scores[rows]
        order = np.lexsort((rows, -values))
        return rows[order], values[order]

    @staticmethod
    def _floor(scores: np.ndarray, k: int) -> float:
        """A score every row of the top ``k`` beats or ties (0.0 when none is known), so that
        only the rows above it are ranked: a common term scores nearly every row, and selecting
        among all of them costs most of a search.

        The rows are cut into ``k`` blocks; each block's best row is at least the smallest of
        the ``k`` block maxima, so the ``k``-th best score is too. The value returned is just
        below that smallest maximum (the next float32 down), so ``scores > floor`` keeps every
        row tied with it.
        """
        n = scores.size
        if n < FLOOR_MIN_ROWS_PER_K * k:
            return 0.0
        per_block = n // k
        lowest = float(scores[: per_block * k].reshape(k, per_block).max(axis=1).min())
        if lowest <= 0.0:
            return 0.0
        return float(np.nextafter(np.float32(lowest), np.float32(0.0)))


def save(retriever: Any, counts: TermCounts, target: Path) -> None:
    """Write the index, its row ids and counts to ``target`` atomically (temp dir renamed into place)."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    retriever.save(str(tmp), show_progress=False)
    (tmp / "ids.json").write_text(json.dumps(counts.ids, ensure_ascii=False), encoding="utf-8")
    np.savez(tmp / "counts.npz", doc=counts.doc, tok=counts.tok, tf=counts.tf, lengths=counts.lengths)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)


def load(source: Path) -> tuple[Any, list[str]] | None:
    """``(retriever, row ids)`` from a cache directory, or None when it is missing or unreadable."""
    import bm25s

    if not (source / "ids.json").is_file():
        return None
    try:
        retriever = bm25s.BM25.load(str(source), mmap=True)
        ids = json.loads((source / "ids.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError):
        return None
    return retriever, ids


def load_counts(source: Path) -> TermCounts | None:
    """The term counts saved with an index (for :func:`update`), or None."""
    loaded = load(source)
    if loaded is None or not (source / "counts.npz").is_file():
        return None
    retriever, ids = loaded
    try:
        with np.load(source / "counts.npz") as data:
            return TermCounts(ids, dict(retriever.vocab_dict), data["doc"], data["tok"], data["tf"],
                              data["lengths"])
    except (OSError, ValueError, KeyError):
        return None
