"""Which of the applicable passages leads the answer, when the ranking alone is not the answer.

Both rules reorder the applicable passages after the reranking (:mod:`knowledge.retrieval.reranker`):
a national rule that is much more about the question moves ahead of a local rule lifted by the
asker's region, and of two near ties the one that states the asked-for fact (an amount, the
conditions) moves ahead of one that does not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from knowledge.retrieval.answer_types import NAMED_TYPES, TYPE_OF_PATTERN
from knowledge.text import normalize
from knowledge.types import Passage

if TYPE_CHECKING:
    from knowledge.retrieval import Hit, QueryAnalysis

# A passage this close to the lead's score (reranked, 0..~1.2) is a tie.
TIE_SHARE = 0.95


def on_topic_first(applicable: list[tuple[Hit, Passage]]) -> list[tuple[Hit, Passage]]:
    """A local rule leads on its region's boost only while it is about as much about the
    question as the best national rule (0.8 of its coverage): 济南's free metro does not answer
    a 济南 asker's 那火车呢, the national rail rule does."""
    if not applicable or applicable[0][1].scope != "local":
        return applicable
    lead = applicable[0][0]
    for i, (hit, source) in enumerate(applicable[1:], 1):
        if source.scope == "national" and lead.coverage < 0.8 * hit.coverage:
            return [applicable[i], *applicable[:i], *applicable[i + 1:]]
    return applicable


def states_type_first(
    applicable: list[tuple[Hit, Passage]], analysis: QueryAnalysis
) -> list[tuple[Hit, Passage]]:
    """A near tie (``TIE_SHARE`` of the lead's score, as much coverage) that states the answer
    type the question asks for leads over a lead that states none: 浙江 第十八条 (退役士兵符合
    下列条件之一的…) over 第十九条 (…符合本条例第十八条规定条件的退役士兵) for 退伍士兵要满足
    什么条件政府才给安排工作. Returns ``applicable`` reordered (or unchanged)."""
    typed = [c.pattern for c in analysis.concepts if c.pattern is not None]
    if len(applicable) < 2 or not typed:
        return applicable

    content = [c for c in analysis.concepts if c.pattern is None]

    def states(source: Passage) -> bool:
        text = normalize(source.text)
        return any(p.search(text) for p in typed)

    def topic(source: Passage) -> float:
        # Topic words only: 20倍 of a lump sum for 遗属 does not make that rule the one on
        # 残疾军人的抚恤金.
        text = normalize(source.text).lower()
        return sum(c.weight * c.coverage(text) for c in content)

    lead_hit, lead = applicable[0]
    named = [NAMED_TYPES[t] for t in (TYPE_OF_PATTERN.get(p) for p in typed) if t in NAMED_TYPES]
    if states(lead) or any(p.search(lead.heading) for p in named):
        # A section headed by the asked quantity (有效期) is about it even when it states none.
        return applicable
    for i, (hit, source) in enumerate(applicable[1:], 1):
        if hit.score < TIE_SHARE * lead_hit.score:
            break
        if (hit.coverage >= lead_hit.coverage and source.scope == lead.scope and states(source)
                and topic(source) >= topic(lead)):
            return [applicable[i], *applicable[:i], *applicable[i + 1:]]
    return applicable
