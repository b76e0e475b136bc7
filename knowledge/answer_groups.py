"""Who an answer is for: the asker's group (knowledge.persons) in composing an answer.

The answer prefers the rule and the sentence that cover the asker's group, says so when the
rule it states is another group's (``GROUP_NOTE``), and states nothing when another group's
rule does not even give what was asked (:func:`answers_another_group`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from knowledge.persons import (
    AskedGroup,
    covers,
    describe_groups,
    groups_in,
    names_person,
    names_relatives,
    own_benefit_only,
)
from knowledge.question_checks import asks_entitlement
from knowledge.retrieval.query import focus_concepts
from knowledge.text import normalize
from knowledge.units import Fact, answer_units, sentence_score

if TYPE_CHECKING:
    from knowledge.retrieval import Hit, QueryAnalysis
    from knowledge.types import Passage

# Who is asked about when a question names nobody: the service's asker.
VETERAN = AskedGroup("veteran")
VETERAN_FAMILY = AskedGroup("veteran", "family")
VETERAN_CHILDREN = AskedGroup("veteran", "children")
_MY_SPOUSE = re.compile(r"我(?:的|家)?(?:老婆|媳妇|爱人|妻子|老公|丈夫)")
_MY_CHILD = re.compile(r"我(?:的|家)?(?:孩子|儿子|女儿|闺女|小孩)")
# A question about 军人 / 当兵的 / 部队里的 without 退役 speaks of someone serving (军人牺牲了能拿
# 多少保险金): it is no veteran's question, and a soldiers' rule needs no note that it is not one.
_SERVING = re.compile(
    r"(?<!退役)(?<!退伍)(?<!复员)(?<!转业)(?<!老)(?<!前)军人|当兵的|在部队|部队里|服役期间|现役"
    r"|义务兵|士官|军士|军官"
)
_LEFT = re.compile(r"退役(?!医疗)|退伍|复员|转业|老兵|退下来|部队回来|部队下来")


def implied_group(question: str) -> AskedGroup | None:
    """Whom a question naming no group is about when it asks whether a benefit applies
    (``asks_entitlement``: 坐地铁免费吗): a veteran, the service's asker; nobody in particular
    when it speaks of a serving member and of no one who has left, or asks anything else
    (谁负责组织全民国防教育, 抚恤金多少钱: no rule there is "another group's")."""
    text = normalize(question)
    if not asks_entitlement(text) or (_SERVING.search(text) and not _LEFT.search(text)):
        return None
    # 我老婆坐地铁免费吗: the veteran asks for a spouse or child, whom a veteran's own benefit
    # does not name.
    if _MY_SPOUSE.search(text):
        return VETERAN_FAMILY
    if _MY_CHILD.search(text):
        return VETERAN_CHILDREN
    return VETERAN


IMPLIED_SHARE = 0.85
OTHERS_NOTE = "注意：其中适用于{groups}的规定，不是专门针对{asked}的。"
GROUP_NOTE = "注意：以上规定适用于{groups}；知识库中没有找到专门针对{asked}的规定，是否适用可能由各地规定，请以当地规定为准。"  # noqa: E501


def asker_first(facts: list[Fact], asked: AskedGroup | None) -> list[Fact]:
    """The first stated sentence that names the asker's group leads when the lead names only
    other groups: 老兵坐高铁打折不 → 普通退役军人坐火车没有全国统一的半价优待, then the disabled
    soldiers' half fare, not the other way round (nor a refusal for another group's rule)."""
    if asked is None or len(facts) < 2 or covers(asked, facts[0].sentence) is not False:
        return facts
    for i, fact in enumerate(facts[1:], 1):
        if covers(asked, fact.sentence):
            return [fact, *facts[:i], *facts[i + 1:]]
    return facts


def _quoted_covers(asked: AskedGroup, source: Passage, analysis: QueryAnalysis | None) -> bool:
    """Whether the sentence an answer would quote from ``source`` (its best for ``analysis``)
    covers the asker; without an analysis, whether any of its text does. 条例第五十二条第二款
    names 普通退役军人 only to say they are not covered: its quoted sentence is for others."""
    if analysis is None:
        return covers(asked, source.text) is True
    units = answer_units(source.text) or [source.text]
    best = max(units, key=lambda u: sentence_score(u, analysis))
    return covers(asked, best) is True


def prefer_group(
    applicable: list[tuple[Hit, Passage]], asked: AskedGroup | None,
    pool: list[tuple[Hit, Passage]] | None = None, analysis: QueryAnalysis | None = None,
) -> list[tuple[Hit, Passage]]:
    """Move the first passage covering the asker's group to the front when it is about as
    relevant as the best one (0.75 of its score and of its coverage). It is looked for in
    ``applicable``, then in ``pool`` (the next candidates in rank order): 保障法第五十三条 on
    veterans' local transit ranks fourth under 坐地铁免费吗, behind the 现役军人/残疾军人 rules."""
    if asked is None or len(applicable) < 2 or _quoted_covers(asked, applicable[0][1], analysis):
        return applicable
    top_hit = applicable[0][0]
    seen = {h.chunk_id for h, _ in applicable}
    extra = [p for p in (pool or []) if p[0].chunk_id not in seen]
    # A question naming nobody (``pool`` given: the implied veteran) swaps only for a rule about
    # as relevant as the lead: 优待证申领要带什么材料 keeps 申领材料 (whose best sentence is the
    # 三属's papers) over a veterans' rule on fraud with 虚假材料 further down.
    share = IMPLIED_SHARE if pool is not None else 0.75
    for i, (hit, source) in enumerate([*applicable, *extra][1:], 1):
        close = hit.score >= share * top_hit.score and hit.coverage >= 0.75 * top_hit.coverage
        if close and _quoted_covers(asked, source, analysis):
            if i < len(applicable):
                return [applicable[i], *applicable[:i], *applicable[i + 1:]]
            return [(hit, source), *applicable[:-1]]
    return applicable


def answers_another_group(facts: list[Fact], asked: AskedGroup | None, analysis: QueryAnalysis) -> bool:
    """True when the lead sentence names only other groups than the asker's, and either the
    question asks for an amount/duration/rate (another group's figure is not the asker's) or
    none of its weightiest topic words (``focus_concepts``, words naming people aside) is in
    a cited passage.

    The group is read from the lead sentence's clause that matches the question best: a
    sentence of clauses can name the asked group in a clause about something else
    (退役军人子女…优先录取；烈士子女接受义务教育的，…免收…).
    """
    if asked is None or not facts:
        return False
    clauses = [c for c in facts[0].sentence.split("；") if c.strip()] or [facts[0].sentence]
    best = max(clauses, key=lambda c: sentence_score(c, analysis))
    if covers_fact(asked, best, facts[0]) is not False:
        return False
    if any(c.pattern is not None for c in analysis.concepts):
        return True
    topics = [c for c in analysis.concepts if c.pattern is None and not names_person(c.label)]
    if not topics:
        return False
    texts = [normalize(f.source.text).lower() for f in facts]
    return not any(c.coverage(t) > 0 for c in focus_concepts(topics) for t in texts)


def group_note(facts: list[Fact], asked: AskedGroup | None) -> str:
    """Say so when the stated rule names other groups than the one the question is about, and
    no stated sentence names the asker's: what the sentences say counts, not what their passage
    says elsewhere (a summary of 第五十二条 that mentions 退役军人 in another sentence still
    states a free ride for 现役军人和残疾军人 only)."""
    if asked is None or not facts:
        return ""
    lead = facts[0]
    # A veteran's own benefit quoted to the spouse says whose it is, though the rule "covers" them.
    own = any(own_benefit_only(asked, f.sentence) for f in facts) and not any(
        names_relatives(f.sentence) for f in facts
    )
    covered = covers_fact(asked, lead.sentence, lead) is not False or any(
        covers(asked, f.sentence) for f in facts
    )
    if covered and not own:
        return ""
    named = describe_groups(groups_in(lead.sentence) or groups_in(context_of(lead)))
    return GROUP_NOTE.format(groups=named, asked=asked.label)


def others_note(facts: list[Fact], asked: AskedGroup | None) -> str:
    """When the lead covers the asker but a later stated sentence is another group's rule
    (退役军人的孩子上小学: the veterans' children's line, then 现役军人子女…入学), say whose that
    one is, so it does not read as the asker's; "" otherwise (and whenever ``group_note`` speaks)."""
    if asked is None or len(facts) < 2 or covers_fact(asked, facts[0].sentence, facts[0]) is not True:
        return ""
    others = [f for f in facts[1:] if covers_fact(asked, f.sentence, f) is False]
    named = describe_groups(set().union(*(groups_in(f.sentence) or groups_in(context_of(f)) for f in others)))
    return OTHERS_NOTE.format(groups=named, asked=asked.label) if others and named else ""


def covers_fact(asked: AskedGroup, sentence: str, fact: Fact) -> bool | None:
    """Whether ``sentence`` (of ``fact``) covers the asker; one naming no group is read with the
    group named last before it in its passage (烈士褒扬条例's 报考研究生…优先录取 is for the
    烈士子女 its article opened with; 随迁子女…及时办理 for the 军官和军士退出现役 before it)."""
    named = covers(asked, sentence)
    return covers(asked, context_of(fact)) if named is None else named


def context_of(fact: Fact) -> str:
    """The last sentence before ``fact``'s in its passage that names a group ("" if none)."""
    context = ""
    for unit in answer_units(fact.source.text):
        if unit == fact.sentence or fact.sentence in unit:
            break
        if groups_in(unit):
            context = unit
    return context


def general_first(ranked: list[tuple[float, int, str]], implied: AskedGroup) -> list[tuple[float, int, str]]:
    """For a question naming nobody: when the best sentence is only other groups' (三属申领需带
    烈士证明书) and one nearly as good names none or the implied asker (the list of papers
    everyone brings), that one leads."""
    if len(ranked) < 2 or covers(implied, ranked[0][2]) is not False:
        return ranked
    top = ranked[0][0]
    for j, item in enumerate(ranked[1:3], 1):
        if item[0] >= 0.6 * top and covers(implied, item[2]) is not False:
            return [item, *ranked[:j], *ranked[j + 1:]]
    return ranked
