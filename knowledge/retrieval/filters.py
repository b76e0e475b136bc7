"""Candidate filters of staff search: topic, region and document.

A topic filters documents (:func:`filter_doc_ids`, the document's ``topics``) or, in staff
search, passages (:func:`topic_passage_ids`, each passage's own ``passage_topics``): a law lists
ten topics, while its article on free buses speaks of transit only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from knowledge.text import normalize
from knowledge.topic_detection import PASSAGE_TOPICS
from knowledge.types import NATIONAL, TOPICS
from vetbot import regions
from vetbot.errors import InvalidInputError

if TYPE_CHECKING:
    from knowledge.records import DocumentRecord


def filter_doc_ids(
    documents: Mapping[str, DocumentRecord],
    *,
    topic: str | None = None,
    region: str | None = None,
    document: str | None = None,
    strict: bool = False,
) -> set[str] | None:
    """Ids of the documents that pass every given filter; None when no filter is given.

    Topic, region and title are document-level (every chunk of a document carries the same),
    so filtering looks at each document once, never at every chunk; the store then pushes the
    ids into Chroma's ``where`` and a BM25 row mask. ``region`` keeps that region's documents
    and, unless ``strict``, the national ones and those of the places containing it (its
    province); ``document`` matches a doc id exactly or a title
    substring. Raises InvalidInputError for an unknown topic.
    """
    if topic is None and region is None and document is None:
        return None
    if topic is not None:
        check_topic(topic)
    doc_query = normalize(document).lower() if document else None
    keep: set[str] = set()
    region_ok: dict[str, bool] = {}  # a KB has few distinct regions: match each once
    for doc_id, doc in documents.items():
        meta = doc.chunks[0].metadata if doc.chunks else doc.metadata
        if topic is not None and f"|{topic}|" not in str(meta.get("topics", "")):
            continue
        if region is not None:
            doc_region = str(meta.get("region") or NATIONAL)
            ok = region_ok.get(doc_region)
            if ok is None:
                national = doc_region == NATIONAL
                # Unless strict, a rule of a place containing the region applies there too
                # (a 浙江省 rule in 金华市), as it does for an asker (regions.rule_applies).
                ok = region_ok[doc_region] = regions.same_place(doc_region, region) or (
                    not strict and (national or regions.covers(doc_region, region)))
            if not ok:
                continue
        if doc_query is not None:
            title = normalize(str(meta.get("title", ""))).lower()
            if doc_query != doc_id.lower() and doc_query not in title:
                continue
        keep.add(doc_id)
    return keep


def check_topic(topic: str) -> None:
    """Raise InvalidInputError unless ``topic`` is a code of :data:`knowledge.types.TOPICS`."""
    if topic not in TOPICS:
        raise InvalidInputError(
            f"unknown topic {topic!r}",
            user_message=f"未知的主题：{topic}（可选：{'、'.join(TOPICS)}）",
        )


def passage_topics_field(metadata: Mapping[str, object]) -> str:
    """The topics of one passage in the chunk form ``|a|b|``: its own ``passage_topics``, else
    (it names no topic, or was ingested before passages had topics) its document's ``topics``."""
    return str(metadata.get(PASSAGE_TOPICS) or metadata.get("topics") or "")


def topic_passage_ids(documents: Mapping[str, DocumentRecord], topic: str) -> dict[str, list[str]]:
    """Doc id → ids of its chunks whose passage topics (:func:`passage_topics_field`) include
    ``topic``, in document order; documents with none are left out.

    One pass over every chunk (tens of ms at 100k chunks: callers cache it per generation).
    Raises InvalidInputError for an unknown topic.
    """
    check_topic(topic)
    marker = f"|{topic}|"
    found: dict[str, list[str]] = {}
    for doc_id, doc in documents.items():
        ids = [c.chunk_id for c in doc.chunks if marker in passage_topics_field(c.metadata)]
        if ids:
            found[doc_id] = ids
    return found
