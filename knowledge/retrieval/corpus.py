"""Corpus statistics over the live chunks: document frequencies, IDF and the coverage texts."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from knowledge.text import normalize
from knowledge.types import NATIONAL

if TYPE_CHECKING:
    from knowledge.store import ChunkRecord

# A sentence that only points elsewhere ("……见《退役军人保障法》第五十三条") is not evidence.
CROSS_REFERENCE = re.compile(r"见《|见本(法|条例|办法)?第|见第[一二三四五六七八九十百]+条|详见|参见")


class CorpusStats:
    """Document frequencies of tokens over the live chunks (IDF for coverage and sentences).

    ``texts`` / ``titles``: chunk id -> normalised, lower-cased heading+body / title;
    ``regions``: the regions present, ``全国`` first.
    """

    def __init__(self, chunks: Mapping[str, ChunkRecord], tokens_of: Callable[[str], Iterable[str]]) -> None:
        self.n = max(1, len(chunks))
        df: Counter[str] = Counter()
        # Coverage text: heading and body. The title is left out on purpose: every chunk of
        # 军人抚恤优待条例 would otherwise "cover" 抚恤 and 优待 (BM25 and dense still see it).
        self.texts: dict[str, str] = {}
        self.titles: dict[str, str] = {}
        for cid, chunk in chunks.items():
            meta = chunk.metadata
            body = "\n".join(
                s for s in re.split(r"(?<=[。！？；])|\n", chunk.text) if not CROSS_REFERENCE.search(s)
            )
            text = normalize(f"{meta.get('heading', '')} {body}").lower()
            self.texts[cid] = text
            self.titles[cid] = normalize(str(meta.get("title", ""))).lower()
            df.update(set(tokens_of(text)))
        self.df = df
        self.max_idf = self.idf("\x00unseen")
        found = {str(c.metadata.get("region") or NATIONAL) for c in chunks.values()}
        self.regions: tuple[str, ...] = tuple(sorted(found, key=lambda r: (r != NATIONAL, r)))

    def idf(self, token: str) -> float:
        """Smoothed IDF ``log(1 + (n - df + 0.5) / (df + 0.5))``, > 0; unseen tokens get the maximum."""
        return math.log(1.0 + (self.n - self.df.get(token, 0) + 0.5) / (self.df.get(token, 0) + 0.5))
