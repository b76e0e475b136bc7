"""Candidate filters of staff search: topic, region and document."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from knowledge.text import normalize
from knowledge.types import NATIONAL, TOPICS
from vetbot import regions
from vetbot.errors import InvalidInputError

if TYPE_CHECKING:
    from knowledge.store import ChunkRecord


def filter_chunk_ids(
    chunks: Mapping[str, ChunkRecord],
    *,
    topic: str | None = None,
    region: str | None = None,
    document: str | None = None,
    strict: bool = False,
) -> set[str] | None:
    """Ids of the chunks that pass every given filter; None when no filter is given.

    ``region`` keeps that region's chunks and, unless ``strict``, the national ones; ``document``
    matches a doc id exactly or a title substring. Raises InvalidInputError for an unknown topic.
    """
    if topic is None and region is None and document is None:
        return None
    if topic is not None and topic not in TOPICS:
        raise InvalidInputError(
            f"unknown topic {topic!r}",
            user_message=f"未知的主题：{topic}（可选：{'、'.join(TOPICS)}）",
        )
    doc_query = normalize(document).lower() if document else None
    keep: set[str] = set()
    for cid, chunk in chunks.items():
        meta = chunk.metadata
        if topic is not None and f"|{topic}|" not in str(meta.get("topics", "")):
            continue
        if region is not None:
            chunk_region = str(meta.get("region") or NATIONAL)
            national = chunk_region == NATIONAL
            if not regions.same_place(chunk_region, region) and (strict or not national):
                continue
        if doc_query is not None:
            doc_id = str(meta.get("doc_id", "")).lower()
            title = normalize(str(meta.get("title", ""))).lower()
            if doc_query != doc_id and doc_query not in title:
                continue
        keep.add(cid)
    return keep
