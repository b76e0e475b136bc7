"""The answer/refuse decision: evidence features of a retrieval result, and one decision on them.

:func:`assess_evidence` turns a :class:`~knowledge.retrieval.RetrievalResult` into features that
mean the same on any corpus (shares, ranks and margins, not raw scores; see
:mod:`knowledge.answerability`); :func:`refusal_reason` decides with the answerability model
alone: answer when its probability reaches the model's threshold (its complaint threshold for
a complaint, which deserves the nearest rule), else refuse. There is no second, corpus-tuned
threshold beside it.

Refusal reasons: ``injection`` (attempts to override instructions or get unrelated content
written), ``empty`` (nothing searchable), ``off_topic`` (refused, and no domain vocabulary),
``no_evidence`` (refused, in-domain).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from knowledge.answerability import AnswerabilityModel
from knowledge.persons import names_person
from knowledge.question_checks import ENTITLEMENT, has_domain_vocabulary, is_injection
from knowledge.retrieval.answer_types import ANSWER_TYPES, NAMED_TYPES
from knowledge.retrieval.query import SYNONYM_CREDIT, focus_concepts
from knowledge.text import normalize
from knowledge.units import answer_units, covered_concepts

if TYPE_CHECKING:
    from knowledge.retrieval import Concept, HybridRetriever, QueryAnalysis, RetrievalResult

_CLAUSE = re.compile(r"[，,。；;！!？?、]")
_SENTENCE = re.compile(r"[^。！!？?]+[。！!？?]?")
MATCHED_FULL = 5  # this many of the question's concepts stated by the lead passage is full marks
MARGIN_SCALE = 0.04  # a dense margin (e5 cosine over the median candidate) of this size is full marks
TOP_PASSAGES = 3
# Share of a question's topic weight (answer types aside) that makes a passage the rule asked
# about: when it states no amount, the answer says so rather than refusing.
ON_TOPIC_FULL = 0.8
# A rule that lines must be published (公布…咨询投诉电话) does not answer 投诉电话是多少.
_NAMED_BY_PATTERN = {
    answer: NAMED_TYPES[label] for _ask, label, answer in ANSWER_TYPES if label in NAMED_TYPES
}


@dataclass
class Evidence:
    """Signals behind the refusal decision; ``confidence`` is the model's P(answerable), 0..1."""

    coverage: float  # IDF-weighted share of question words (or synonyms) in the top passages
    dense_top: float
    dense_margin: float  # best dense cosine minus the background (median of the candidates)
    bm25_top: float
    confidence: float
    domain: bool
    matched_terms: list[str] = field(default_factory=list)
    answer_type_missing: bool = False
    features: dict[str, float] = field(default_factory=dict)  # knowledge.answerability.FEATURES


@dataclass
class RefusalPolicy:
    """The decision's parameters: the answerability model (loaded from
    ``knowledge/data/answerability.json`` unless given) and how many top passages it reads."""

    model: AnswerabilityModel = field(default_factory=AnswerabilityModel.load)
    top_passages: int = TOP_PASSAGES


def _typed_missing(result: RetrievalResult, texts: list[str]) -> bool:
    """True when the question asks for an amount/duration/rate that no passage about the
    question's topic states (an amount in an unrelated passage does not count), unless the
    lead passage is the rule that governs it without stating it.

    Such a lead states at least ``ON_TOPIC_FULL`` of the question's topic weight and names the
    asked-for quantity (军人保险法 第七条 on "军人牺牲了家里能拿多少保险金": 给付…相应的
    保险金标准): the answer quotes it with a note that the figure is not stated. A lead that
    only shares some words with the question (军人保险金 for "…多久能到账"), or names no such
    quantity (免费乘车 for "坐公交每次要多少钱"), is no such rule, and the missing figure counts.
    """
    analysis = result.analysis
    typed = [c for c in analysis.concepts if c.pattern is not None]
    content = [c for c in analysis.concepts if c.pattern is None]
    total = sum(c.weight for c in content) or 1.0
    on_topic = [sum(c.weight * c.coverage(t) for c in content) / total for t in texts]
    best = max(on_topic, default=0.0)
    missing = [
        c for c in typed
        if not any(c.coverage(t) > 0 and cov >= 0.6 * best for t, cov in zip(texts, on_topic, strict=True))
    ]
    if not missing:
        return False
    # The lead must state the topic itself: a concept counts when the lead has the word, a
    # synonym or its full form (a shared sub-word is not enough).
    firm = sum(c.weight for c in content if texts and c.coverage(texts[0]) >= SYNONYM_CREDIT) / total
    if not content or firm < ON_TOPIC_FULL:
        return True
    return not all(_names_quantity(c, texts[0]) for c in missing)


def _names_quantity(concept: Concept, text: str) -> bool:
    """Whether ``text`` speaks of the kind of quantity an answer-type concept asks for."""
    named = _NAMED_BY_PATTERN.get(concept.pattern) if concept.pattern is not None else None
    return bool(named and named.search(text))


def _object_missing(analysis: QueryAnalysis, texts: list[str]) -> float:
    """For a question whether a benefit applies to something (``ENTITLEMENT``), the share of
    the weight of what it asks about that no passage in ``texts`` mentions; 0 for other
    questions. It is given the passage most on topic alone: the rule that grants the benefit
    must name what it is granted for (加分 for 高等学校 does not answer 考公务员有加分吗
    because another rule names 公务员).

    What it asks about is the concept right before the benefit word in its clause and the one
    right after it (坐地铁也免费, 免费带宠物), words naming the asker aside: the rest of the
    question says who asks and where (去外地出差). "老兵装宽带有优惠吗" over rules on 优待 that
    never name 宽带 → 1: the rules found grant other things, and answering with them would
    grant a benefit no rule grants.
    """
    text = normalize(analysis.searched).lower()
    # Only the sentences that ask: 他也想免费坐车。 after 优待证能不能借给我爸用？ is the story.
    sentences = _SENTENCE.findall(text)
    asking = "".join(s for s in sentences if s[-1:] in "？?") or text
    objects: dict[str, Concept] = {}
    for clause in _CLAUSE.split(asking):
        benefit = ENTITLEMENT.search(clause)
        if benefit is None:
            continue
        # By position only: two concepts can start at the same place (优待证 and 优待证件).
        placed = sorted(
            ((clause.find(c.label), c) for c in analysis.concepts
             if c.pattern is None and c.label in clause and not ENTITLEMENT.search(c.label)
             and not names_person(c.label)),
            key=lambda pc: pc[0],
        )
        before = [c for pos, c in placed if pos < benefit.start()]
        after = [c for pos, c in placed if pos >= benefit.end()]
        for c in (before[-1:] + after[:1]):
            objects[c.label] = c
    total = sum(c.weight for c in objects.values())
    if not total:
        return 0.0
    return sum(c.weight for c in objects.values() if not any(c.coverage(t) > 0 for t in texts)) / total


def _focus_missing(content: list[Concept], texts: list[str]) -> float:
    """1.0 when the question's most specific words (its rarest content concepts,
    ``focus_concepts``) are in none of the top passages: 评残 of 我想申请评残…要准备什么材料 is what
    it is about, and a passage on 申请材料 for something else shares only the frame."""
    focus = focus_concepts(content)
    return float(bool(focus) and all(not any(c.coverage(t) > 0 for t in texts) for c in focus))


def assess_evidence(
    result: RetrievalResult,
    retriever: HybridRetriever,
    policy: RefusalPolicy,
    vocabulary: Iterable[str],
) -> Evidence:
    """Score how well the passages in force support an answer; features in 0..1."""
    analysis = result.analysis
    stats = retriever.stats()
    domain = has_domain_vocabulary(analysis.query, vocabulary)
    # Only passages in force can be the basis of an answer, so only they are evidence.
    hits = [h for h in result.hits if not h.superseded]
    if not hits:
        features = {"domain": float(domain)}
        return Evidence(0.0, 0.0, 0.0, 0.0, policy.model.probability(features), domain, features=features)
    top = hits[: policy.top_passages]
    texts = [stats.texts.get(h.chunk_id, "") for h in top]
    # One passage should answer the question; concepts spread over several passages count less.
    best_single = max(h.coverage for h in top)
    coverage = 0.5 * (best_single + analysis.coverage("\n".join(texts)))
    covered = [c.label for c in analysis.concepts if any(c.coverage(t) > 0 for t in texts)]
    # A passage is about its document's title too (本法自…起施行 is about 国防教育法).
    titled = [f"{t}\n{stats.titles.get(h.chunk_id, '')}" for t, h in zip(texts, top, strict=True)]
    content = [c for c in analysis.concepts if c.pattern is None]
    focus_missing = _focus_missing(content, titled)
    missing_type = _typed_missing(result, titled)
    dense_scores = [s for _, s in result.dense]
    dense_top = dense_scores[0] if dense_scores else 0.0
    margin = dense_top - sorted(dense_scores)[len(dense_scores) // 2] if len(dense_scores) >= 3 else 0.0
    # With fewer than three candidates there is no background to stand out from: the margin is
    # unknown, not zero, so it takes the middle of its scale (a tiny KB is not evidence against).
    margin_feature = max(0.0, min(1.0, margin / MARGIN_SCALE)) if len(dense_scores) >= 3 else 0.5
    bm25_top = result.sparse[0][1] if result.sparse else 0.0
    lead = top[0]
    labels = len(analysis.concepts) or 1
    units = answer_units(texts[0]) if texts[0] else []
    # Each sentence is read in its document: 申领材料's list of papers is about the 优待证 of the
    # title without naming it.
    title = stats.titles.get(lead.chunk_id, "")
    sentence = max((len(covered_concepts(f"{u}\n{title}", analysis)) / labels for u in units), default=0.0)
    # Share of the question's concept weight that no top passage covers at all: a question
    # about flights over a KB without flights keeps its 飞机 uncovered however well the rest matches.
    total = sum(c.weight for c in analysis.concepts) or 1.0
    uncovered = sum(c.weight for c in analysis.concepts if c.label not in covered) / total
    # The rule most on the question's topic (not a local rule lifted by the asker's region).
    on_topic = max(range(len(top)), key=lambda i: top[i].coverage)
    matched = sum(1 for c in content if c.coverage(titled[0]) >= SYNONYM_CREDIT)
    features = {
        "coverage": coverage,
        "lead_coverage": lead.coverage,
        "margin": margin_feature,
        "agree": float((lead.dense_rank or 99) <= 3 and (lead.bm25_rank or 99) <= 3),
        "domain": float(domain),
        "type_missing": float(missing_type),
        "sentence": sentence,
        "uncovered": uncovered,
        "object_missing": _object_missing(analysis, [texts[on_topic]]),
        "matched": min(matched, MATCHED_FULL) / MATCHED_FULL,
        "focus_missing": focus_missing,
    }
    return Evidence(
        coverage=coverage,
        dense_top=dense_top,
        dense_margin=margin,
        bm25_top=bm25_top,
        confidence=policy.model.probability(features),
        domain=domain,
        matched_terms=covered,
        answer_type_missing=missing_type,
        features=features,
    )


def refusal_reason(
    question: str, evidence: Evidence | None, policy: RefusalPolicy, *, complaint: bool = False
) -> str | None:
    """The reason to refuse, or None to answer. ``evidence`` None means nothing was searched.

    One decision: the model's probability against its threshold (its complaint threshold for a
    complaint); the reason only names why (off-topic when the question has no domain word).
    """
    if is_injection(question):
        return "injection"
    if evidence is None:
        return "empty"
    bar = policy.model.complaint_threshold if complaint else policy.model.threshold
    if evidence.confidence >= bar:
        return None
    return "no_evidence" if evidence.domain else "off_topic"
