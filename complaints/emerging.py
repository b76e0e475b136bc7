"""Emerging themes: clusters of recent complaints that grow faster than chance explains.

Recent complaint texts are embedded (an injected LangChain ``Embeddings``) and clustered by
``knowledge.clustering.cluster_texts``; a cluster is flagged when it grows fast from the
previous window to the recent one and a binomial test says the growth is not luck.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from langchain_core.embeddings import Embeddings
from scipy.stats import binom

from complaints.records import CaseRecord
from knowledge.clustering import (
    DEFAULT_DISTANCE_THRESHOLD,
    DEFAULT_LEXICAL_WEIGHT,
    MAX_CLUSTER_ITEMS,
    cluster_texts,
)
from knowledge.text import ChineseTokenizer
from vetbot.clock import as_utc
from vetbot.errors import InvalidInputError
from vetbot.privacy import mask_text

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmergingCluster:
    """A cluster of recent complaints and how fast it grows."""

    id: int
    keywords: list[str]
    example: str  # masked text of the case closest to the centroid
    example_ticket: str
    tickets: list[str]  # newest first
    recent: int  # cases in the last ``window_days``
    previous: int  # cases in the ``window_days`` before that
    delta: int  # recent - previous
    growth_ratio: float  # (recent + 1) / (previous + 1), smoothed so that 0 → n stays finite
    p_value: float  # chance of >= recent cases if the cluster grew like all other complaints
    growing: bool
    themes: dict[str, int]
    regions: dict[str, int]
    cohesion: float

    @property
    def size(self) -> int:
        """Cases in both windows."""
        return self.recent + self.previous

    @property
    def label(self) -> str:
        """Keywords joined for display."""
        return "、".join(self.keywords)


def binomial_tail(k: int, n: int, p: float) -> float:
    """``P(X >= k)`` for ``X ~ Binomial(n, p)`` (scipy's survival function; safe for large ``n``)."""
    return float(binom.sf(k - 1, n, p))


def emerging_themes(
    records: Iterable[CaseRecord],
    embeddings: Embeddings,
    now: datetime,
    *,
    window_days: int = 14,
    min_size: int = 4,
    min_growth: float = 2.0,
    min_delta: int = 3,
    max_p_value: float = 0.05,
    distance_threshold: float = DEFAULT_DISTANCE_THRESHOLD,
    lexical_weight: float = DEFAULT_LEXICAL_WEIGHT,
    tokenizer: ChineseTokenizer | None = None,
    top_keywords: int = 5,
) -> list[EmergingCluster]:
    """Cluster complaints of the last ``2 × window_days`` and flag the fast-growing clusters.

    A cluster is ``growing`` when its count in the recent window is at least ``min_size``,
    at least ``min_delta`` more than in the previous window, the smoothed ratio
    ``(recent + 1) / (previous + 1)`` is at least ``min_growth``, and the growth is not
    chance: under the null hypothesis that the cluster's cases fall into the recent window
    with the same probability as all other complaints (``p0``, which absorbs an overall rise
    in volume), ``P(X >= recent)`` for ``X ~ Binomial(recent + previous, p0)`` is at most
    ``max_p_value``. Small counts (6 vs 1) thus do not fire by luck. Growing clusters come
    first, then the rest by recent count.
    """
    if window_days <= 0:
        raise InvalidInputError("window_days must be positive", user_message="统计窗口天数必须大于 0。")
    now = as_utc(now)
    split = now - timedelta(days=window_days)
    begin = split - timedelta(days=window_days)
    items = sorted(
        (r for r in records if begin <= as_utc(r.created_at) < now), key=lambda r: as_utc(r.created_at)
    )
    if len(items) > MAX_CLUSTER_ITEMS:
        logger.warning("emerging themes: %d cases, clustering the newest %d", len(items), MAX_CLUSTER_ITEMS)
        items = items[-MAX_CLUSTER_ITEMS:]
    clusters = cluster_texts(
        [r.text for r in items], embeddings, tokenizer=tokenizer, distance_threshold=distance_threshold,
        lexical_weight=lexical_weight, min_size=2, top_keywords=top_keywords,
    )
    total_recent = sum(1 for r in items if as_utc(r.created_at) >= split)
    out = []
    for c in clusters:
        members = [items[i] for i in c.members]
        recent = sum(1 for r in members if as_utc(r.created_at) >= split)
        previous = len(members) - recent
        ratio = round((recent + 1) / (previous + 1), 2)
        others = len(items) - len(members)
        # Laplace-smoothed share of the other complaints that fall in the recent window.
        p0 = (total_recent - recent + 1) / (others + 2)
        p_value = binomial_tail(recent, len(members), p0)
        growing = (
            recent >= min_size and recent - previous >= min_delta and ratio >= min_growth
            and p_value <= max_p_value
        )
        rep = items[c.representative]
        out.append(
            EmergingCluster(
                id=c.id,
                keywords=c.keywords,
                example=mask_text(rep.text),
                example_ticket=rep.ticket,
                tickets=[r.ticket for r in sorted(members, key=lambda r: as_utc(r.created_at), reverse=True)],
                recent=recent,
                previous=previous,
                delta=recent - previous,
                growth_ratio=ratio,
                p_value=round(p_value, 6),
                growing=growing,
                themes=dict(Counter(r.theme for r in members).most_common()),
                regions=dict(Counter(r.region for r in members).most_common()),
                cohesion=c.cohesion,
            )
        )
    out.sort(key=lambda e: (not e.growing, -e.recent, -e.growth_ratio, e.id))
    return out


__all__ = ["EmergingCluster", "binomial_tail", "emerging_themes"]
