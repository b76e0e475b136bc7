"""What corpus statistics count in a chunk: the coverage text and its title form.

Shared by the store (which counts document frequencies at commit, see ``knowledge.store``)
and the retriever's :class:`~knowledge.retrieval.corpus.CorpusStats` (which reads them per
query), so both see exactly the same text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from knowledge.text import normalize

# A sentence that only points elsewhere ("……见《退役军人保障法》第五十三条") is not evidence.
CROSS_REFERENCE = re.compile(r"见《|见本(法|条例|办法)?第|见第[一二三四五六七八九十百]+条|详见|参见")
_SENTENCE_END = re.compile(r"(?<=[。！？；])|\n")
# A heading that only places a law's article in its chapter/section (第三章 退役安置) is shared
# by many articles; a summary's or notice's own section heading (有效期) names its one topic.
_CHAPTER = re.compile(r"^第[一二三四五六七八九十百零〇0-9]+[编章节]")


def coverage_text(text: str, metadata: Mapping[str, Any]) -> str:
    """Normalised, lower-cased heading + body without cross-reference sentences.

    The title is left out on purpose: every chunk of 军人抚恤优待条例 would otherwise "cover"
    抚恤 and 优待 (BM25 and dense search still see it).
    """
    body = "\n".join(s for s in _SENTENCE_END.split(text) if not CROSS_REFERENCE.search(s))
    return normalize(f"{metadata.get('heading', '')} {body}").lower()


def section_heading(metadata: Mapping[str, Any]) -> str:
    """Normalised, lower-cased own section heading of a chunk ("有效期"); "" for none or for
    a law's chapter heading."""
    heading = normalize(str(metadata.get("heading", "") or "")).lower().strip()
    return "" if _CHAPTER.match(heading) else heading


def title_text(metadata: Mapping[str, Any]) -> str:
    """Normalised, lower-cased title of a chunk's document."""
    return normalize(str(metadata.get("title", ""))).lower()


def bm25_text(text: str, metadata: Mapping[str, Any]) -> str:
    """What BM25 indexes of a chunk: title and heading make "which law" questions match."""
    return f"{metadata.get('title', '')} {metadata.get('heading', '')} {text}"
