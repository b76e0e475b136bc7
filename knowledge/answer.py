"""Extractive, cited answers and the refusal decision (no language model involved).

The answer text is made only of sentences copied from retrieved passages, each placed next to
its citation 《title》第N条, plus fixed connective templates (local-rule notes, follow-up
pointers). Nothing is paraphrased, so the bot cannot state an entitlement that no cited
passage states.

Refusal (``refusal_reason``):

* ``injection`` — attempts to override instructions, reveal prompts, role-play, or to get
  poems/code/stories written;
* ``empty`` — nothing searchable in the question;
* ``off_topic`` — no domain vocabulary and weak evidence;
* ``no_evidence`` — in-domain but the best evidence is below the calibrated threshold.

Evidence is scored by :func:`assess_evidence`: the IDF-weighted share of the question's words
(or their synonyms) found in the top passages, combined with how far the best dense similarity
stands out from the rest of the corpus (e5 cosines sit in a narrow 0.8–0.9 band, so the raw
value says little; the margin over the background does).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from knowledge.persons import AskedGroup, asked_group, covers, describe_groups, groups_in
from knowledge.retrieval.corpus import CROSS_REFERENCE
from knowledge.retrieval.regions import rule_applies
from knowledge.text import USER_DICT, normalize
from knowledge.types import NATIONAL, Passage
from knowledge.units import BULLET, MAX_RELATED, SENTENCE_END, answer_units, related_passages

if TYPE_CHECKING:
    from knowledge.answerability import AnswerabilityModel
    from knowledge.retrieval import Hit, HybridRetriever, QueryAnalysis, RetrievalResult
    from knowledge.synonyms import SynonymTable

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------------------- fixed texts
FOLLOW_UP = "如需进一步了解，可咨询当地退役军人服务站，或拨打 12345 政务服务热线。"
REFUSALS: dict[str, str] = {
    "off_topic": (
        "抱歉，这个问题超出了我的服务范围。我只解答退役军人服务、优待抚恤等政策问题。"
        "其他事项可拨打 12345 政务服务热线咨询。"
    ),
    "injection": (
        "抱歉，我只能依据政策文件解答退役军人服务与优待方面的问题，无法执行这类请求。"
        "如需帮助，可咨询当地退役军人服务站，或拨打 12345 政务服务热线。"
    ),
    "no_evidence": (
        "抱歉，知识库中没有找到能回答这个问题的政策依据，我不能给出确定答复。"
        "建议咨询当地退役军人服务站、县（市、区）退役军人事务局，或拨打 12345 政务服务热线。"
    ),
    "empty": "请用一句话描述您想了解的退役军人服务或优待政策问题，例如：“优待证去哪儿办？”",
}
LOCAL_NOTE_UNKNOWN = (
    "注意：这项规定的具体办法由各地制定，各地不同（如{places}）。设置您所在的地区后，可查看当地规定。"
)
LOCAL_NOTE_UNKNOWN_NO_PLACES = "注意：这项规定的具体办法由各地制定，各地不同，请以当地规定为准。"
LOCAL_NOTE_KNOWN = "注意：这项规定的具体办法由各地制定。{region}的规定："
LOCAL_NOTE_MISSING = (
    "注意：这项规定的具体办法由各地制定，知识库暂未收录{region}的具体规定，请以当地规定为准。"
)
LOCAL_NOTE_LOCAL_SOURCE = "注意：以上为{regions}的地方规定，其他地区可能不同。"
GROUP_NOTE = "注意：以上规定适用于{groups}；知识库中没有找到专门针对{asked}的规定，是否适用可能由各地规定，请以当地规定为准。"  # noqa: E501

MAX_FACTS = 3
MAX_CHARS = 350

# Words that by themselves place a question in the veterans' services domain.
DOMAIN_TERMS: frozenset[str] = frozenset(
    """军人 退役 退伍 复员 转业 老兵 军队 部队 当兵 服役 入伍 参军 现役 军官 士兵 军士 义务兵 武警
    军属 军嫂 烈士 烈属 遗属 三属 英烈 牺牲 因公 病故 伤残 残疾军人 伤残军人 优待 优待证 优抚 抚恤
    褒扬 光荣牌 光荣之家 立功 双拥 拥军 安置 退役金 退役费 服务站 服务中心 事务局 退役军人事务 信访
    投诉 举报 军龄 参战 立功受奖 上访 国防 国防教育 文职人员 军人保险 伤亡保险 英雄 烈士纪念""".split()
)

# Requests to override the assistant's role or to produce unrelated content.
_INJECTION = re.compile(
    r"(忽略|无视|忘记|忘掉|跳过|不要遵守|不用遵守|绕过).{0,12}(指令|指示|提示|规则|设定|限制|要求|命令|上文|前文|之前|以上)"
    r"|(系统|初始|隐藏|原始)(提示词|提示语|指令|prompt|设定)|提示词|system\s*prompt|jailbreak|越狱"
    r"|ignore\s+(all\s+|any\s+)?(previous|prior|above|the)?\s*(instructions|rules|prompts?)"
    r"|disregard\s+.{0,20}instructions|developer\s+mode|开发者模式|\bDAN\b"
    r"|(扮演|假装|角色扮演|cosplay)|你(现在|从现在起|从今以后)(是|就是|扮演|变成)"
    r"|(写|作|创作|编|来|给我)(一|几)?(首|篇|段|个|则)?.{0,8}(诗|词|歌|歌词|小说|故事|笑话|作文|散文|对联)"
    r"|(写|编写|生成|给我).{0,10}(代码|程序|脚本|函数|sql|python|java)|\bcode\b|\bpoem\b",
    re.IGNORECASE,
)

# National rules that hand the details to provinces or local governments.
_DELEGATION = re.compile(
    r"具体(办法|标准|范围|措施|优待|政策|内容)?.{0,6}(由|按照?).{0,12}(省|自治区|直辖市|地方|当地|各地)"
    r"|(省级|省、自治区、直辖市|地方各级|县级以上地方)人民政府.{0,6}(制定|规定|确定)"
    r"|按照?当地|各地(规定|制定|不同|自行)|地方规定|由各地"
)



def is_injection(question: str) -> bool:
    """True for attempts to change the assistant's role or get unrelated content written."""
    return bool(_INJECTION.search(normalize(question)))


def load_userdict_words(path: Path | None = USER_DICT) -> frozenset[str]:
    """Words of a jieba user dictionary (first column), empty when the file is missing."""
    if path is None or not path.exists():
        return frozenset()
    words = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.strip().split()
        if parts and not parts[0].startswith("#"):
            words.add(parts[0].lower())
    return frozenset(words)


def domain_vocabulary(synonyms: SynonymTable | None = None, extra: Iterable[str] = ()) -> frozenset[str]:
    """The domain words: built-in terms, every synonym term and the user dictionary."""
    vocab = set(DOMAIN_TERMS)
    if synonyms is not None:
        vocab |= synonyms.terms
    vocab |= {w for w in extra if len(w) >= 2}
    return frozenset(vocab)


def has_domain_vocabulary(question: str, vocabulary: Iterable[str]) -> bool:
    """True when any domain word occurs in the question."""
    text = normalize(question).lower()
    return any(term and term in text for term in vocabulary)


def is_delegating(text: str) -> bool:
    """True when a passage hands the details of a rule to provinces or local governments."""
    return bool(_DELEGATION.search(text))


def split_sentences(text: str) -> list[str]:
    """Split a passage into sentences (kept verbatim apart from list markers and spaces)."""
    out = []
    for raw in SENTENCE_END.split(text):
        sent = BULLET.sub("", raw).strip()
        if sent.startswith("#"):
            continue  # a markdown heading that leaked into the chunk text
        if sent:
            out.append(sent)
    return out


# ---------------------------------------------------------------------------- evidence
@dataclass
class Evidence:
    """Signals behind the refusal decision."""

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
    """Thresholds of the refusal decision; calibrated with ``vetbot eval`` (see the report)."""

    # Calibrated on the dev, bundled and a private tuning set (125 in-domain items): every
    # answerable item scored >= 0.47, clear misses <= 0.42; see the lead's report.
    min_confidence: float = 0.45  # in-domain questions
    min_confidence_off_domain: float = 0.6  # questions with no domain word need stronger evidence
    # A complaint's narrative (保安, 态度, 司机) dilutes term coverage; it still deserves the
    # related rule when there is one, so the bar is lower.
    min_confidence_complaint: float = 0.3
    coverage_weight: float = 0.6
    margin_scale: float = 0.04  # a dense margin (e5 cosine over the median) of this size is full marks
    top_passages: int = 3
    # When set, the answer/refuse decision is the learned model's (knowledge.answerability) and
    # the confidence its probability; the thresholds above then apply to complaints only.
    model: AnswerabilityModel | None = None

    def confidence(self, coverage: float, margin: float) -> float:
        """Blend of term coverage and dense margin, in [0, 1]."""
        m = max(0.0, min(1.0, margin / self.margin_scale)) if self.margin_scale > 0 else 0.0
        return self.coverage_weight * coverage + (1.0 - self.coverage_weight) * m


def assess_evidence(
    result: RetrievalResult,
    retriever: HybridRetriever,
    policy: RefusalPolicy,
    vocabulary: Iterable[str],
) -> Evidence:
    """Score how well the retrieved passages support an answer to the question."""
    analysis = result.analysis
    stats = retriever.stats()
    domain = has_domain_vocabulary(analysis.query, vocabulary)
    if not result.hits:
        return Evidence(0.0, 0.0, 0.0, 0.0, 0.0, domain)
    top = result.hits[: policy.top_passages]
    texts = [stats.texts.get(h.chunk_id, "") for h in top]
    # One passage should answer the question; concepts spread over several passages count less.
    best_single = max(h.coverage for h in top)
    union = analysis.coverage("\n".join(texts))
    coverage = 0.5 * (best_single + union)
    covered = [c.label for c in analysis.concepts if any(c.coverage(t) > 0 for t in texts)]
    # A question asking for a duration or an amount is unanswered unless a passage states one.
    # The amount must sit in a passage about the question's topic, not in any passage at all.
    typed = [c for c in analysis.concepts if c.pattern is not None]
    content = [c for c in analysis.concepts if c.pattern is None]
    content_total = sum(c.weight for c in content) or 1.0
    on_topic = [sum(c.weight * c.coverage(t) for c in content) / content_total for t in texts]
    best_topic = max(on_topic, default=0.0)
    missing_type = any(
        not any(c.coverage(t) > 0 and cov >= 0.6 * best_topic for t, cov in zip(texts, on_topic, strict=True))
        for c in typed
    )
    dense_scores = [s for _, s in result.dense]
    dense_top = dense_scores[0] if dense_scores else 0.0
    if len(dense_scores) >= 3:
        background = sorted(dense_scores)[len(dense_scores) // 2]
        margin = dense_top - background
    else:
        margin = 0.0
    bm25_top = result.sparse[0][1] if result.sparse else 0.0
    lead = top[0]
    lead_sentences = [s for s, _, _ in _ranked_units(texts[0], analysis)] if texts[0] else []
    labels = len(analysis.concepts) or 1
    sentence = max((len(_covered_concepts(s, analysis)) / labels for s in lead_sentences), default=0.0)
    features = {
        "coverage": coverage,
        "lead_coverage": lead.coverage,
        "margin": max(0.0, min(1.0, margin / 0.04)),
        "agree": float((lead.dense_rank or 99) <= 3 and (lead.bm25_rank or 99) <= 3),
        "domain": float(domain),
        "type_missing": float(missing_type),
        "sentence": sentence,
    }
    conf = policy.model.probability(features) if policy.model else policy.confidence(coverage, margin)
    return Evidence(
        coverage=coverage,
        dense_top=dense_top,
        dense_margin=margin,
        bm25_top=bm25_top,
        confidence=conf,
        domain=domain,
        matched_terms=covered,
        answer_type_missing=missing_type,
        features=features,
    )


def refusal_reason(
    question: str, evidence: Evidence | None, policy: RefusalPolicy, *, complaint: bool = False
) -> str | None:
    """The reason to refuse, or None to answer. ``evidence`` None means nothing was searched."""
    if is_injection(question):
        return "injection"
    if evidence is None:
        return "empty"
    if not evidence.domain and evidence.confidence < policy.min_confidence_off_domain:
        return "off_topic"
    if policy.model is not None and not complaint:
        # The model decides; the legacy blend, calibrated on the bundled summaries, may still
        # accept there (it never refuses what the model accepts).
        legacy = policy.confidence(evidence.coverage, evidence.dense_margin)
        if evidence.confidence >= policy.model.threshold:
            return None
        if legacy >= policy.min_confidence and not evidence.answer_type_missing:
            return None
        return "no_evidence"
    bar = policy.min_confidence_complaint if complaint else policy.min_confidence
    if evidence.confidence < bar or evidence.answer_type_missing:
        return "no_evidence"
    return None


# ---------------------------------------------------------------------------- composition
@dataclass
class Fact:
    """One sentence taken verbatim from a passage, with the passage it came from."""

    sentence: str
    source: Passage
    score: float


@dataclass
class Composed:
    """The composed answer text, its sources (cited first) and whether a local rule is involved."""

    text: str
    sources: list[Passage]
    local_rule: bool
    facts: list[Fact]
    related: list[Passage] = field(default_factory=list)


def _sentence_score(sentence: str, analysis: QueryAnalysis) -> float:
    """IDF-weighted concept coverage of one sentence (answer types included)."""
    text = normalize(sentence).lower()
    return sum(c.weight * c.coverage(text) for c in analysis.concepts)


def _covered_concepts(sentence: str, analysis: QueryAnalysis) -> set[str]:
    """Labels of the question's concepts that a sentence covers."""
    text = normalize(sentence).lower()
    return {c.label for c in analysis.concepts if c.coverage(text) > 0}


def _ranked_units(text: str, analysis: QueryAnalysis) -> list[tuple[str, float, int]]:
    """(unit, score, position) of a passage text's answer units (for the evidence features)."""
    return [(u, _sentence_score(u, analysis), i) for i, u in enumerate(answer_units(text))]


def _ranked_sentences(source: Passage, analysis: QueryAnalysis) -> list[tuple[float, int, str]]:
    """The passage's sentences, best first (ties: earlier first)."""
    ranked = []
    label = source.article
    for i, sent in enumerate(answer_units(source.text)):
        if label and sent.startswith(label) and len(sent) <= len(label) + 24 and sent[-1] not in "。；;！？":
            continue  # the article label line ("第五十三条 公共交通优待"), not a fact
        if len(sent) < 6:
            continue
        score = _sentence_score(sent, analysis)
        if CROSS_REFERENCE.search(sent):
            score *= 0.5  # a pointer to another rule is a weak fact; keep it only as a fallback
        ranked.append((score, i, sent))
    ranked.sort(key=lambda x: (-x[0], x[1]))
    return ranked


# A sentence lifted out of its passage must not open with a link to the sentence before it.
_LEADING_CONNECTIVE = re.compile(r"^(?:因此|所以|因而|同时|另外|此外|而且|并且|但是|不过|但)[，,、]\s*")


def _fact_line(fact: Fact, with_region: bool = True) -> str:
    prefix = f"{fact.source.region}：" if with_region and fact.source.region != NATIONAL else ""
    return f"{prefix}{fact.source.citation}：{_LEADING_CONNECTIVE.sub('', fact.sentence)}"


def _in_region(source: Passage, region: str | None) -> bool:
    """True when ``source`` is national or a local rule of ``region`` (or its province)."""
    if source.scope != "local":
        return True
    return rule_applies(source.region, region)


def compose_answer(
    result: RetrievalResult,
    retriever: HybridRetriever,
    *,
    k: int = 5,
    region: str | None = None,
) -> Composed:
    """Compose the cited extractive answer from ``result`` (which must have hits).

    Facts come from the best 1-3 passages that apply to the asker: national rules, and local
    rules only of the asker's own place (another place's local rule is never stated as an
    answer; it is only named in the "rules differ by place" note).
    """
    analysis = result.analysis
    # A superseded or repealed text is never the basis of an answer (knowledge.versions).
    hits = [h for h in result.hits if not h.superseded]
    facts: list[Fact] = []
    budget = MAX_CHARS

    applicable = [(h, retriever.to_passage(h)) for h in hits[:8]]
    applicable = [(h, s) for h, s in applicable if _in_region(s, region)][:3]
    asked = asked_group(analysis.query)
    applicable = _prefer_group(applicable, asked)
    top_score = applicable[0][0].score if applicable else 0.0
    top_coverage = max((h.coverage for h, _ in applicable), default=0.0)
    first_sentence_score = 0.0
    covered: set[str] = set()
    for idx, (hit, source) in enumerate(applicable):
        if idx > 0 and (hit.score < 0.75 * top_score or hit.coverage < 0.8 * top_coverage):
            break
        ranked = _ranked_sentences(source, analysis)
        picks = ranked[:2] if idx == 0 else ranked[:1]
        for j, (score, _pos, sent) in enumerate(picks):
            concepts = _covered_concepts(sent, analysis)
            if idx == 0 and j == 0:
                first_sentence_score = score
            elif score <= 0 or score < 0.6 * first_sentence_score or not concepts - covered:
                continue  # weaker than the lead fact, or says nothing the answer does not say yet
            if any(sent == f.sentence for f in facts):
                continue
            line_len = len(sent) + len(source.citation) + 8
            if facts and line_len > budget:
                continue
            facts.append(Fact(sent, source, score))
            covered |= concepts
            budget -= line_len
            if len(facts) >= MAX_FACTS:
                break
        if len(facts) >= MAX_FACTS:
            break

    # Local rules: say so, and give the asker's own place's rule when the KB has it.
    cited = [f.source for f in facts]
    local_sources = [s for s in cited if s.scope == "local"]
    delegating = any(is_delegating(s.text) for s in cited if s.scope == "national")
    local_rule = bool(local_sources) or delegating
    notes: list[str] = []
    own_fact: Fact | None = None
    known = bool(region) and region != NATIONAL
    if delegating and known and not local_sources:
        own_fact = _own_region_fact(result, retriever, region or "", {f.source.chunk_id for f in facts})
        if own_fact is not None:
            notes.append(LOCAL_NOTE_KNOWN.format(region=own_fact.source.region) + _fact_line(own_fact, False))
            facts.append(own_fact)
            local_sources.append(own_fact.source)
        else:
            notes.append(LOCAL_NOTE_MISSING.format(region=region))
    elif delegating and not known:
        places = _local_places(result, retriever)
        note = LOCAL_NOTE_UNKNOWN.format(places="、".join(places[:4])) if places else None
        notes.append(note or LOCAL_NOTE_UNKNOWN_NO_PLACES)
    if local_sources and own_fact is None:
        regions = "、".join(dict.fromkeys(s.region for s in local_sources))
        notes.append(LOCAL_NOTE_LOCAL_SOURCE.format(regions=regions))
    group_note = _group_note(facts, asked)
    if group_note:
        notes.insert(0, group_note)

    body_facts = [f for f in facts if f is not own_fact]
    text = "\n".join([*(_fact_line(f) for f in body_facts), *notes, FOLLOW_UP])

    cited = list({f.source.chunk_id: f.source for f in facts}.values())
    related = related_passages(hits, retriever, {s.chunk_id for s in cited}, limit=min(MAX_RELATED, k))
    # Cited passages first, then the rest of the ranking in force (the JSON contract).
    rest = [retriever.to_passage(h) for h in hits[: max(k, 3)] if h.chunk_id not in {c.chunk_id for c in cited}]  # noqa: E501
    sources = [*cited, *rest][: max(k, len(cited))]
    return Composed(text=text, sources=sources, local_rule=local_rule, facts=facts, related=related)


def _prefer_group(
    applicable: list[tuple[Hit, Passage]], asked: AskedGroup | None
) -> list[tuple[Hit, Passage]]:
    """Move the first passage covering the asker's group to the front when it is about as
    relevant as the best one (0.75 of its score, 0.8 of its coverage)."""
    if asked is None or len(applicable) < 2 or covers(asked, applicable[0][1].text):
        return applicable
    top_hit = applicable[0][0]
    for i, (hit, source) in enumerate(applicable[1:], 1):
        close = hit.score >= 0.75 * top_hit.score and hit.coverage >= 0.8 * top_hit.coverage
        if close and covers(asked, source.text):
            return [applicable[i], *applicable[:i], *applicable[i + 1:]]
    return applicable


def _group_note(facts: list[Fact], asked: AskedGroup | None) -> str:
    """Say so when the stated rule names other groups than the one the question is about."""
    if asked is None or not facts:
        return ""
    lead = facts[0]
    if covers(asked, lead.sentence) is not False or covers(asked, lead.source.text):
        return ""
    named = describe_groups(groups_in(lead.sentence))
    return GROUP_NOTE.format(groups=named, asked=asked.label)


def _own_region_fact(
    result: RetrievalResult, retriever: HybridRetriever, region: str, used: set[str]
) -> Fact | None:
    """The best sentence of the asker's own local rules among the relevant candidates."""
    top_cov = max((h.coverage for h in result.hits[:5]), default=0.0)
    for hit in result.hits[:20]:
        if hit.superseded or hit.chunk_id in used or hit.coverage < 0.5 * top_cov:
            continue
        source = retriever.to_passage(hit)
        if source.scope != "local" or not _in_region(source, region):
            continue
        ranked = _ranked_sentences(source, result.analysis)
        if ranked and ranked[0][0] > 0:
            # Hits are ranked; the first relevant local passage is the one to cite.
            return Fact(ranked[0][2], source, ranked[0][0])
    return None


def _local_places(result: RetrievalResult, retriever: HybridRetriever) -> list[str]:
    """Places whose local rules on the question were retrieved."""
    top_cov = max((h.coverage for h in result.hits[:5]), default=0.0)
    places = [
        str(retriever.store.chunks[h.chunk_id].metadata.get("region") or NATIONAL)
        for h in result.hits[:10]
        if h.coverage >= 0.8 * top_cov
    ]
    # Only places whose rule on this very question was retrieved; otherwise name none.
    return [p for p in dict.fromkeys(places) if p != NATIONAL]
