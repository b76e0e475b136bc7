"""The coverage reranker: fused retrieval scores blended with concept coverage.

A passage that speaks to every part of the question (who, what, and the answer type it asks
for: a duration, an amount) beats one that shares only the question's most salient word.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from knowledge.retrieval.answer_types import NAMED_TYPES, TYPE_OF_PATTERN
from knowledge.retrieval.corpus import CorpusStats
from knowledge.retrieval.intents import APPEAL_RULE, asks_appeal
from knowledge.retrieval.query import SYNONYM_CREDIT, Concept, QueryAnalysis, focus_concepts


@dataclass(frozen=True)
class Reranked:
    """Reranker output, keyed by chunk id: the blended ``scores`` and the ``coverage`` (0..1) behind them."""

    scores: dict[str, float]
    coverage: dict[str, float]


@dataclass(frozen=True)
class CoverageReranker:
    """``(1 - weight) * fused / max(fused) + weight * coverage``, per candidate.

    Fused scores are divided by the best one, so the blended score is in 0..1 like coverage.
    A question with no concepts (all stop words) keeps the fused order (weight 0).

    A question asking for a kind of rule (``analysis.intents``: exclusion, liability,
    procedure) adds ``intent_weight`` to each on-topic candidate (coverage at least
    ``intent_gate`` of the best candidate's) whose text states that kind, and the sum is
    divided by ``1 + intent_weight`` to stay in 0..1.

    An appeal rule (``intents.APPEAL_RULE``: 信访人对处理意见不服的…) is divided by ``1 +
    appeal_weight`` unless the question disagrees or asks where else to turn (``asks_appeal``):
    信访多久给答复 asks how long the matter takes, not the deadline for a 复查.

    A passage whose own section heading is the question's focus word (``focus_concepts``: 有效期
    of 优待证有效期多久 and a summary's "## 有效期") or its synonym adds ``heading_weight`` the
    same way: it is the section about that, where another only mentions it (临时挂失的有效期);
    a heading that merely contains the word (普通退役军人子女没有全国统一的加分政策) does not. So does a
    heading naming the asked-for quantity with a word of the question (审核流程和办理时限 for
    优待证办理要多少天: ``NAMED_TYPES``). A law's chapter
    heading is no such heading (``CorpusStats.headings``), and a word of the document's title
    (优待证 in the 优待证管理办法) names every section of it, not one.
    """

    weight: float = 0.3
    intent_weight: float = 0.5
    intent_gate: float = 0.5
    heading_weight: float = 0.15
    appeal_weight: float = 0.1

    def rerank(self, fused: Mapping[str, float], analysis: QueryAnalysis, stats: CorpusStats) -> Reranked:
        """Blend every fused candidate with its coverage of ``analysis``'s concepts."""
        top_fused = max(fused.values(), default=0.0) or 1.0
        coverage = {
            cid: analysis.coverage(stats.texts.get(cid, ""), stats.titles.get(cid, "")) for cid in fused
        }
        gamma = self.weight if analysis.concepts else 0.0
        scores = {
            cid: (1.0 - gamma) * score / top_fused + gamma * coverage[cid] for cid, score in fused.items()
        }
        if analysis.intents and scores:
            gate = self.intent_gate * max(coverage.values())
            for cid in scores:
                text = stats.texts.get(cid, "")
                stated = coverage[cid] > 0 and coverage[cid] >= gate and any(
                    i.stated_in(text) for i in analysis.intents
                )
                scores[cid] = (scores[cid] + self.intent_weight * stated) / (1.0 + self.intent_weight)
        if scores and not asks_appeal(analysis.query):
            for cid in scores:
                if APPEAL_RULE.search(stats.texts.get(cid, "")):
                    scores[cid] /= 1.0 + self.appeal_weight
        content = [c for c in analysis.concepts if c.pattern is None]
        labels = [TYPE_OF_PATTERN.get(c.pattern) for c in analysis.concepts if c.pattern is not None]
        typed = [NAMED_TYPES[t] for t in labels if t in NAMED_TYPES]
        focus = focus_concepts(content)
        if focus and scores:
            for cid in scores:
                heading, title = stats.headings.get(cid, ""), stats.titles.get(cid, "")
                named = bool(heading) and (
                    any(heading in c.alternates and not c.coverage(title) for c in focus)
                    or _names_asked_quantity(heading, title, typed, content)
                )
                scores[cid] = (scores[cid] + self.heading_weight * named) / (1.0 + self.heading_weight)
        return Reranked(scores=scores, coverage=coverage)


def _names_asked_quantity(
    heading: str, title: str, typed: list[re.Pattern[str]], content: list[Concept]
) -> bool:
    """Whether a section ``heading`` names the quantity the question asks for together with one
    of its own words: 审核流程和办理时限 for 优待证办理要多少天, where 挂失和补办 only mentions a
    办理 and a validity period of 5至15天. A word of the document's ``title`` names every section."""
    return any(p.search(heading) for p in typed) and any(
        c.coverage(heading) >= SYNONYM_CREDIT and not c.coverage(title) for c in content
    )
