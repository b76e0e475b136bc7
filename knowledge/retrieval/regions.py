"""Region preference in retrieval: the asker's local rules first, other places' rules last.

Place names themselves (spellings, parents, containment) come from the one gazetteer,
:mod:`vetbot.regions`; this module only decides how a passage's region moves its score.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from knowledge.types import NATIONAL
from vetbot import regions


def rule_applies(rule_region: str, asker: str | None) -> bool:
    """True when a local rule of ``rule_region`` (name or path) applies to an asker in ``asker``.

    It applies when its place is the asker's place or contains it: a 上海市 or 上海市/黄浦区 rule
    for an asker in 黄浦区, a 浙江省 rule for one in 金华市. A rule of a smaller place never
    applies to an asker known only by the larger one (a 金华市 rule for 浙江省).
    """
    if not asker or asker == NATIONAL:
        return False
    return regions.covers(rule_region, asker)


@dataclass(frozen=True)
class RegionPreference:
    """How a passage's region moves its score for a given asker.

    With a known asker region, the local rules of that region and of the places containing it
    (its city, its province) are multiplied by ``own_region_boost`` and other places' local
    rules drop to tier 1, below every national rule, so a 金华 rule never answers a 济南 asker.
    With no asker region, local rules are multiplied by ``unknown_region_local_factor`` so the
    national rule leads.
    """

    own_region_boost: float = 1.5
    unknown_region_local_factor: float = 0.8

    def adjust(self, score: float, meta: Mapping[str, Any], asker: str | None) -> tuple[float, int]:
        """``(adjusted score, tier)`` of a passage with chunk metadata ``meta``; tier 0 ranks first.

        The chunk's ``region_path`` (上海市/黄浦区) is used when present, else its ``region``.
        """
        chunk_region = str(meta.get("region") or NATIONAL)
        local = chunk_region != NATIONAL or meta.get("scope") == "local"
        if local and asker and asker != NATIONAL:
            if rule_applies(str(meta.get("region_path") or chunk_region), asker):
                return score * self.own_region_boost, 0
            return score, 1
        if local:
            return score * self.unknown_region_local_factor, 0
        return score, 0
