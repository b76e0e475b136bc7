"""Corpus statistics over the live chunks: document frequencies, IDF and the coverage texts.

The knowledge store counts document frequencies when it publishes a generation
(``KnowledgeStore.corpus_counts``), so :meth:`CorpusStats.from_counts` costs nothing per
chunk; the coverage texts are computed per chunk on first use (only candidates are looked at).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

from knowledge.corpustext import CROSS_REFERENCE, coverage_text, section_heading, title_text
from knowledge.types import NATIONAL

if TYPE_CHECKING:
    from knowledge.records import ChunkRecord, CorpusCounts

__all__ = ["CROSS_REFERENCE", "CorpusStats"]


class _LazyTexts(Mapping[str, str]):
    """chunk id -> derived text, computed on first access and kept (bounded by the chunks seen)."""

    def __init__(self, chunks: Mapping[str, ChunkRecord], derive: Callable[[ChunkRecord], str]) -> None:
        self._chunks = chunks
        self._derive = derive
        self._cache: dict[str, str] = {}

    def __getitem__(self, cid: str) -> str:
        text = self._cache.get(cid)
        if text is None:
            chunk = self._chunks.get(cid)
            if chunk is None:
                raise KeyError(cid)
            text = self._cache[cid] = self._derive(chunk)
        return text

    def get(self, cid: str, default: str | None = None) -> str | None:  # type: ignore[override]
        # Mapping.get goes through __getitem__ and an exception; the reranker calls this for
        # every candidate twice per ask.
        text = self._cache.get(cid)
        if text is not None:
            return text
        try:
            return self[cid]
        except KeyError:
            return default

    def __iter__(self) -> Iterator[str]:
        return iter(self._chunks)

    def __len__(self) -> int:
        return len(self._chunks)


class CorpusStats:
    """Document frequencies of tokens over the live chunks (IDF for coverage and sentences).

    ``texts`` / ``titles`` / ``headings``: chunk id -> normalised, lower-cased heading+body /
    title / own section heading ("" for a law's chapter; computed on access); ``regions``: the
    regions present, ``全国`` first.
    """

    def __init__(self, chunks: Mapping[str, ChunkRecord], tokens_of: Callable[[str], Iterable[str]]) -> None:
        df: Counter[str] = Counter()
        found: set[str] = set()
        for chunk in chunks.values():
            df.update(set(tokens_of(coverage_text(chunk.text, chunk.metadata))))
            found.add(str(chunk.metadata.get("region") or NATIONAL))
        self._setup(chunks, len(chunks), df, found)

    @classmethod
    def from_counts(cls, counts: CorpusCounts, chunks: Mapping[str, ChunkRecord]) -> CorpusStats:
        """Statistics from the counts the store computed at commit (no per-chunk work)."""
        stats = cls.__new__(cls)
        stats._setup(chunks, counts.n, counts.df, [r for r, c in counts.regions.items() if c > 0])
        return stats

    def _setup(self, chunks: Mapping[str, ChunkRecord], n: int, df: Mapping[str, int],
               regions: Iterable[str]) -> None:
        self.n = max(1, n)
        self.df: Mapping[str, int] = df
        self.texts: Mapping[str, str] = _LazyTexts(chunks, lambda c: coverage_text(c.text, c.metadata))
        self.titles: Mapping[str, str] = _LazyTexts(chunks, lambda c: title_text(c.metadata))
        self.headings: Mapping[str, str] = _LazyTexts(chunks, lambda c: section_heading(c.metadata))
        self.max_idf = self.idf("\x00unseen")
        self.regions: tuple[str, ...] = tuple(sorted(set(regions), key=lambda r: (r != NATIONAL, r)))

    def idf(self, token: str) -> float:
        """Smoothed IDF ``log(1 + (n - df + 0.5) / (df + 0.5))``, > 0; unseen tokens get the maximum."""
        return self.idf_of_df(self.df.get(token, 0))

    def idf_of_df(self, df: int) -> float:
        """The smoothed IDF of a document frequency ``df`` (see :meth:`idf`)."""
        return math.log(1.0 + (self.n - df + 0.5) / (df + 0.5))



