"""Extractive, cited answers (no language model involved), their fixed texts and refusal texts.

The answer text is made only of sentences copied from retrieved passages, each placed next to
its citation 《title》第N条(第M款), plus fixed connective templates (local-rule notes, the
different-group note, follow-up pointers). Nothing is paraphrased, so the bot cannot state an
entitlement that no cited passage states. Only the passages the sentences come from are cited
(``Composed.sources``); at most two others are listed as 相关条文.

The answer/refuse decision is :mod:`knowledge.evidence`, the checks on the question itself
(injection, domain vocabulary, a personal status question) :mod:`knowledge.question_checks`;
this module holds the refusal texts (``REFUSALS``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from knowledge.answer_groups import (
    VETERAN,
    answers_another_group,
    asker_first,
    general_first,
    group_note,
    implied_group,
    others_note,
    prefer_group,
)
from knowledge.answer_lead import on_topic_first, states_type_first
from knowledge.persons import (
    AskedGroup,
    asked_group,
    covers,
    groups_in,
    names_person,
    names_thing,
)
from knowledge.question_checks import REPLACEMENT_RULE, asks_replacement
from knowledge.retrieval.answer_types import TYPE_OF_PATTERN, asked_phrases, names_type
from knowledge.retrieval.corpus import CROSS_REFERENCE
from knowledge.retrieval.query import SYNONYM_CREDIT
from knowledge.retrieval.regions import rule_applies
from knowledge.text import normalize
from knowledge.types import NATIONAL, Passage
from knowledge.units import (
    BULLET,
    MAX_RELATED,
    SENTENCE_END,
    Fact,
    add_intent_sentences,
    answer_units,
    covered_concepts,
    label_line,
    paragraph_of,
    related_passages,
    sentence_score,
    strip_article_label,
)

if TYPE_CHECKING:
    from knowledge.retrieval import Hit, HybridRetriever, QueryAnalysis, RetrievalResult

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
    "personal_status": (
        "抱歉，我只能解答政策问题，查不到个人事项（如优待证、抚恤、安置申请）的办理进度。"
        "请联系受理您申请的退役军人服务站或县（市、区）退役军人事务局查询；"
        "如果您在这里提交过投诉或求助，可以查询工单进度（在机器人中发送 /status）。"
    ),
}
LOCAL_NOTE_UNKNOWN = (
    "注意：这项规定的具体办法由各地制定，各地不同（如{places}）。设置您所在的地区后，可查看当地规定。"
)
LOCAL_NOTE_UNKNOWN_NO_PLACES = "注意：这项规定的具体办法由各地制定，各地不同，请以当地规定为准。"
LOCAL_NOTE_KNOWN = "注意：这项规定的具体办法由各地制定。{region}的规定："
LOCAL_NOTE_MISSING = (
    "注意：这项规定的具体办法由各地制定，知识库暂未收录{region}的具体规定，请以当地规定为准。"
)
# The KB has rules of the asker's place, none of them on this question: it must not say it
# has none.
LOCAL_NOTE_NOT_FOUND = (
    "注意：这项规定的具体办法由各地制定，知识库收录的{region}规定中没有找到这方面的内容，请以当地规定为准。"
)
LOCAL_NOTE_LOCAL_SOURCE = "注意：以上为{regions}的地方规定，其他地区可能不同。"
TYPE_NOTE = "注意：以上条文没有写明具体的{what}，知识库中没有找到这方面的规定，请以当地退役军人事务部门的答复为准。"  # noqa: E501
_TYPE_WORDS = {
    "时限": "期限", "时刻": "时间", "比例": "比例或折扣", "金额": "金额或标准",
    "分值": "加分分值", "材料": "所需材料", "人数": "人数", "日期": "日期",
    "号码": "电话号码", "地址": "地址", "名单": "名单", "罚款": "罚款数额",
    "年龄": "年龄", "条件": "条件", "定义": "含义",
}

# ``Composed.not_stated`` entries for the asker's place's own rule, and for a rule covering
# the asker's group when the one found covers others (``group_note``), missing from the KB.
LOCAL_RULE = "地方规定"
OTHER_GROUP = "适用对象"

MAX_FACTS = 3
# How far down the ranking a local rule may be and still be the answer for an unknown place.
LOCAL_ANSWER_RANK = 3
MAX_CHARS = 350

# National rules that hand the details to provinces or local governments.
_DELEGATION = re.compile(
    r"具体(办法|标准|范围|措施|优待|政策|内容)?.{0,6}(由|按照?).{0,12}(省|自治区|直辖市|地方|当地|各地)"
    r"|(省级|省、自治区、直辖市|地方各级|县级以上地方)人民政府.{0,6}(制定|规定|确定)"
    r"|按照?当地|各地(规定|制定|不同|自行)|地方规定|由各地"
)


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


# ---------------------------------------------------------------------------- composition
@dataclass
class Composed:
    """The composed answer text, its sources (cited first) and whether a local rule is involved."""

    text: str
    sources: list[Passage]
    local_rule: bool
    facts: list[Fact]
    related: list[Passage] = field(default_factory=list)
    # Answer types asked (金额, 时限...) that no cited sentence states, and LOCAL_RULE when the
    # national rule defers to the asker's place and the KB has no rule of that place on it;
    # the text says so.
    not_stated: list[str] = field(default_factory=list)


def _ranked_sentences(source: Passage, analysis: QueryAnalysis) -> list[tuple[float, int, str]]:
    """The passage's sentences, best first (ties: earlier first)."""
    ranked = []
    for i, sent in enumerate(answer_units(source.text)):
        if label_line(sent, source):
            continue
        if len(sent) < 6:
            continue
        score = sentence_score(sent, analysis)
        if CROSS_REFERENCE.search(sent):
            score *= 0.5  # a pointer to another rule is a weak fact; keep it only as a fallback
        ranked.append((score, i, sent))
    ranked.sort(key=lambda x: (-x[0], x[1]))
    return ranked


# A sentence lifted out of its passage must not open with a link to the sentence before it.
_LEADING_CONNECTIVE = re.compile(r"^(?:因此|所以|因而|同时|另外|此外|而且|并且|但是|不过|但)[，,、]\s*")


def fact_citation(fact: Fact) -> str:
    """The fact's citation, down to the paragraph (款) when its article has several."""
    cite = fact.source.citation
    article = fact.source.article
    para = paragraph_of(fact.source.text, fact.sentence) if article and "款" not in article else 0
    return f"{cite}第{_CN_NUMBERS[para]}款" if 0 < para < len(_CN_NUMBERS) else cite


_CN_NUMBERS = ("", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十")


def _fact_line(fact: Fact, with_region: bool = True) -> str:
    prefix = f"{fact.source.region}：" if with_region and fact.source.region != NATIONAL else ""
    sentence = _LEADING_CONNECTIVE.sub("", strip_article_label(fact.sentence))
    return f"{prefix}{fact_citation(fact)}：{sentence}"


def _fact_lines(facts: list[Fact]) -> list[str]:
    """One line per citation: consecutive sentences of one article (款) follow its label once."""
    lines: list[str] = []
    last = ""
    for fact in facts:
        line = _fact_line(fact)
        head = line[: len(line) - len(_LEADING_CONNECTIVE.sub("", strip_article_label(fact.sentence)))]
        if lines and head == last:
            lines[-1] += line[len(head):]
        else:
            lines.append(line)
        last = head
    return lines


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
    stats = retriever.stats()
    # A superseded or repealed text is never the basis of an answer (knowledge.versions).
    hits = [h for h in result.hits if not h.superseded]
    facts: list[Fact] = []
    budget = MAX_CHARS

    candidates = [(h, retriever.to_passage(h)) for h in hits[:8]]
    asked = asked_group(analysis.searched)
    # A rule only for people outside the military (老年人, 儿童) is never the answer to a
    # question about a military group: 儿童免费乘车 does not say whether a 老兵 rides free.
    in_region = [
        (h, s) for h, s in candidates
        if _in_region(s, region) and not (asked is not None and groups_in(s.text) == {"civilian"})
    ]
    applicable = in_region[:3]
    applicable = _only_local_answer(candidates, applicable, region, asked)
    applicable = states_type_first(on_topic_first(applicable), analysis)
    implied = implied_group(analysis.query) if asked is None else None
    if asked is not None:
        applicable = prefer_group(applicable, asked)
    elif implied is not None:
        # A question naming nobody is a veteran's (the service's asker): a veterans' rule a
        # little further down leads over another group's, judged by the sentence it would quote.
        applicable = prefer_group(applicable, implied, in_region[3:5], analysis)
    top_score = applicable[0][0].score if applicable else 0.0
    top_coverage = max((h.coverage for h, _ in applicable), default=0.0)
    first_sentence_score = 0.0
    covered: set[str] = set()
    # 手续 of 要办什么手续 is the asked fact's name: a passage adding only it adds no topic.
    asked_words = asked_phrases(normalize(analysis.searched).lower())
    topic_labels = {
        c.label for c in analysis.concepts
        if c.pattern is None and not any(c.label in p for p in asked_words)
    }
    lead_topic: set[str] = set()
    for idx, (hit, source) in enumerate(applicable):
        if idx > 0 and (hit.score < 0.75 * top_score or hit.coverage < 0.8 * top_coverage):
            break
        ranked = _ranked_sentences(source, analysis)
        if idx == 0 and asked is None:
            ranked = general_first(ranked, implied or VETERAN)
        picks = ranked[:2] if idx == 0 else ranked[:1]
        for j, (score, _pos, sent) in enumerate(picks):
            concepts = covered_concepts(sent, analysis)
            if idx == 0 and j == 0:
                first_sentence_score = score
            elif score <= 0 or score < 0.6 * first_sentence_score or not concepts - covered:
                continue  # weaker than the lead fact, or says nothing the answer does not say yet
            elif (idx > 0 and not (concepts - covered) & topic_labels
                  and not lead_topic <= _firm(sent, analysis)):
                # It adds only an amount/duration, and about something else (a lump-sum death
                # benefit under a question on monthly disability pay): not an answer. In the lead
                # passage it is about the lead's matter (优待证's review steps, then 30个工作日内).
                continue
            if any(sent == f.sentence for f in facts):
                continue
            line_len = len(sent) + len(source.citation) + 8
            if facts and line_len > budget:
                continue
            facts.append(Fact(sent, source, score))
            firm = _firm(sent, analysis)
            if not facts[1:]:
                lead_topic = firm & topic_labels
            # A person is stated only when named (退役军人 does not state 残疾军人 through 军人):
            # the sentence on 残疾军人的子女 still adds to one on 普通退役军人的子女.
            covered |= {c for c in concepts if c in firm or not names_person(c)}
            # What the passage's section heading and title name is stated with its sentence (the
            # 办理 of 审核流程和办理时限): another passage's sentence does not add it.
            heading = stats.headings.get(source.chunk_id, "")
            covered |= _firm(f"{heading}\n{source.title}", analysis)
            # A section headed by the asked quantity (有效期) answers it, if only to say no rule
            # sets one: another passage's figure (临时挂失的有效期) is not added to it.
            covered |= {c.label for c in analysis.concepts if c.pattern and names_type(c.pattern, heading)}
            budget -= line_len
            if len(facts) >= MAX_FACTS:
                break
        if len(facts) >= MAX_FACTS:
            break

    budget -= add_intent_sentences(facts, analysis, budget, MAX_FACTS)
    facts = asker_first(facts, asked)
    if not _states_a_topic(facts, analysis, retriever.synonyms.fillers, stats.headings):
        # Only who asks matched (退伍费 → 退役 in a rule on something else): no answer.
        facts = []
    if answers_another_group(facts, asked, analysis):
        # The rule is another group's and does not state what was asked (an amount, or the
        # question's main topic): it is not an answer for this asker, so nothing is stated.
        facts = []

    # Local rules: say so, and give the asker's own place's rule when the KB has it.
    cited = [f.source for f in facts]
    local_sources = [s for s in cited if s.scope == "local"]
    delegating = any(is_delegating(s.text) for s in cited if s.scope == "national")
    local_rule = bool(local_sources) or delegating
    notes: list[str] = []
    unstated_local = False  # the asker's place's own rule, which the national one defers to
    own_fact: Fact | None = None
    known = bool(region) and region != NATIONAL
    if delegating and known and not local_sources:
        own_fact = _own_region_fact(result, retriever, region or "", {f.source.chunk_id for f in facts})
        if own_fact is not None:
            notes.append(LOCAL_NOTE_KNOWN.format(region=own_fact.source.region) + _fact_line(own_fact, False))
            facts.append(own_fact)
            local_sources.append(own_fact.source)
        elif any(rule_applies(r, region) for r in retriever.regions() if r != NATIONAL):
            notes.append(LOCAL_NOTE_NOT_FOUND.format(region=region))
            unstated_local = True
        else:
            notes.append(LOCAL_NOTE_MISSING.format(region=region))
            unstated_local = True
    elif delegating and not known:
        places = _local_places(result, retriever)
        note = LOCAL_NOTE_UNKNOWN.format(places="、".join(places[:4])) if places else None
        notes.append(note or LOCAL_NOTE_UNKNOWN_NO_PLACES)
    if local_sources and own_fact is None:
        regions = "、".join(dict.fromkeys(s.region for s in local_sources))
        notes.append(LOCAL_NOTE_LOCAL_SOURCE.format(regions=regions))
    # A question naming nobody is read as a veteran's, the service's asker: a free ride for
    # 现役军人和残疾军人 says so rather than reading as everyone's (成都坐地铁免费吗).
    note = group_note(facts, asked or implied_group(analysis.query))
    if note:
        notes.insert(0, note)
    elif others := others_note(facts, asked):
        notes.insert(0, others)
    not_stated = _missing_types(facts, analysis)
    if not_stated:
        notes.insert(0, TYPE_NOTE.format(what="、".join(_TYPE_WORDS.get(t, t) for t in not_stated)))
    if note:
        # The rule found is another group's: the asker's own is what the KB leaves out.
        not_stated.append(OTHER_GROUP)
    if unstated_local:
        not_stated.append(LOCAL_RULE)

    body_facts = [f for f in facts if f is not own_fact]
    text = "\n".join([*_fact_lines(body_facts), *notes, FOLLOW_UP])

    # Only the passages the answer's sentences come from are cited; at most a few others that
    # are about as relevant are listed apart as 相关条文.
    cited = list({f.source.chunk_id: f.source for f in facts}.values())
    related = related_passages(hits, retriever, cited, limit=min(MAX_RELATED, k))
    return Composed(text=text, sources=cited, local_rule=local_rule, facts=facts, related=related,
                    not_stated=not_stated)


def _only_local_answer(
    ranked: list[tuple[Hit, Passage]], applicable: list[tuple[Hit, Passage]], region: str | None,
    asked: AskedGroup | None = None,
) -> list[tuple[Hit, Passage]]:
    """When the asker's place is unknown and only some place's local rule is about the question
    (no national rule covers 0.8 of what it covers), that local rule is the answer: it is cited
    with its region and the "other places may differ" note, instead of an unrelated national rule.
    Such a local rule ranks among the first ``LOCAL_ANSWER_RANK`` passages (a rule further down
    that only shares the question's incidental words, 外地 and 城市, is no answer), and it is
    never another group's than the asker's (济南's free metro for veterans, for a 现役军人
    asking about the metro in another city)."""
    if region and region != NATIONAL:
        return applicable
    local = max(
        (p for p in ranked[:LOCAL_ANSWER_RANK]
         if p[1].scope == "local" and (asked is None or covers(asked, p[1].text) is not False)),
        key=lambda p: p[0].coverage, default=None,
    )
    best = max((h.coverage for h, _ in applicable), default=0.0)
    if local is None or local[0].coverage <= 0 or best >= 0.8 * local[0].coverage:
        return applicable
    return [local, *(p for p in applicable if p[0].coverage >= 0.8 * local[0].coverage)][:3]


def _firm(sentence: str, analysis: QueryAnalysis) -> set[str]:
    """Concepts a sentence has as the word itself or a synonym (a shared sub-word does not count)."""
    text = normalize(sentence).lower()
    return {c.label for c in analysis.concepts if c.coverage(text) >= 0.8}


def _missing_types(facts: list[Fact], analysis: QueryAnalysis) -> list[str]:
    """The answer types the question asks for (时限, 金额... labels of ``ANSWER_TYPES``) that
    no stated sentence gives; [] when nothing is stated at all."""
    if not facts:
        return []
    missing = [
        TYPE_OF_PATTERN.get(c.pattern, c.label) for c in analysis.concepts
        if c.pattern is not None and not any(c.pattern.search(normalize(f.sentence)) for f in facts)
    ]
    return list(dict.fromkeys(missing))


def _states_a_topic(
    facts: list[Fact], analysis: QueryAnalysis, fillers: frozenset[str],
    headings: Mapping[str, str] | None = None,
) -> bool:
    """True when the answer's sentences, each read with its document's title and its section's
    heading (``headings``: chunk id -> heading), state at least one of the question's topics (a
    concept other than its answer type, colloquial ``fillers`` and the words naming people), or
    the question has no such topic (军人家属具体指哪些人 asks about the people)."""
    topics = [
        c for c in analysis.concepts
        if c.pattern is None and not names_person(c.label) and c.label not in fillers
    ]
    if not topics or not facts:
        return True
    said = [
        normalize(f"{f.source.title}\n{(headings or {}).get(f.source.chunk_id, '')}\n{f.sentence}").lower()
        for f in facts
    ]
    # A card, paper or payment asked about (退伍证, 银行卡) must be what the cited rules are
    # about: 优待证's 挂失和补办 does not say how to replace a lost 退伍证. A rule on when it is
    # withheld (不认定为因公死亡) need not name the payment it withholds.
    # The lead's passage must be about it: a second passage that lists 退伍证 among the papers
    # to bring does not make 优待证's 挂失 rule an answer to 退伍证丢了怎么办.
    cited = [normalize(facts[0].source.text).lower()]
    # Only a thing the question is much about (weighing over 0.6 of its weightiest topic):
    # 优待证 in 持优待证的退役军人子女入学有哪些优待 is incidental, 公积金 in 用公积金贷款 is not.
    excluding = any(i.name in ("exclusion", "liability") for i in analysis.intents)
    top = max(c.weight for c in topics)
    things = [
        c for c in topics
        if len(c.label) >= 3 and names_thing(c.label) and c.weight > 0.6 * top and not excluding
    ]
    if any(not any(c.coverage(t) >= SYNONYM_CREDIT for t in cited) for c in things):
        return False
    if asks_replacement(analysis.searched) and not REPLACEMENT_RULE.search(cited[0]):
        return False  # 优待证丢了去哪补办: a rule that the card is issued is no answer
    return any(c.coverage(s) > 0 for c in topics for s in said)


def _own_region_fact(
    result: RetrievalResult, retriever: HybridRetriever, region: str, used: set[str]
) -> Fact | None:
    """The best sentence of the asker's own local rules among the relevant candidates."""
    top_cov = max((h.coverage for h in result.hits[:5]), default=0.0)
    for rank, hit in enumerate(result.hits[:20]):
        # Among the first three, the own place's rule counts on its rank alone: 扬州's 公园景区
        # 免费 ranks first for 扬州的景区门票能免吗 without the word 门票.
        if hit.superseded or hit.chunk_id in used or (hit.coverage < 0.5 * top_cov and rank >= 3):
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
