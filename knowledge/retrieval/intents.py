"""What kind of rule a question asks for: who is excluded, what the penalty is, how it is done.

Three questions share their topic words with many articles but are answered by one kind:

* ``exclusion`` — "什么情况下军人死了不给保险金": the article that states exclusions
  (不享受…, 不予…, 取消…, 除外), not the one that grants the benefit;
* ``liability`` — "在网上骂英雄烈士要负什么责任", "冒领抚恤会受什么处罚": the article that
  states the consequence (法律责任, 处罚, 追究刑事责任, 责令改正…);
* ``procedure`` — "部队招文职人员是怎么招的": the article that states a method or a
  procedure (方式, 程序, 途径, …相结合), and the action asked about (招) is a concept of its own;
* ``commencement`` — "新修订的国防教育法是从哪天开始施行的": the article that states when the
  text takes effect (本法自…起施行), not the first one that names its topic.

An appeal rule (``APPEAL_RULE``: 对…不服的) answers only a question that disagrees or asks where
else to turn (:func:`asks_appeal`); the reranker lowers it for any other question.

:func:`detect_intents` reads them from a question; the coverage reranker
(:mod:`knowledge.retrieval.reranker`) raises on-topic passages whose text states the kind of
rule asked for. Words that only frame such a question (情况 in 什么情况下) are not topics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

from knowledge.text import normalize


@dataclass(frozen=True)
class Intent:
    """One kind of rule a question asks for; ``cue`` finds it in a passage (heading + body)."""

    name: str
    ask: re.Pattern[str]
    cue: re.Pattern[str]
    frame_words: frozenset[str] = frozenset()  # words of the asking frame, not topics
    action: str = ""  # procedure: the action asked about (怎么招 → 招), which the passage must name

    def stated_in(self, text: str) -> bool:
        """True when ``text`` (normalised) states this kind of rule (about ``action``, if set)."""
        return bool(self.cue.search(text)) and self.action in text


_CLAUSE = r"[^，,。；;？?！!]"

INTENTS: tuple[Intent, ...] = (
    Intent(
        "exclusion",
        re.compile(
            rf"(?:什么|哪些|哪种|哪几种|啥)(?:情况|情形|时候|条件|人){_CLAUSE}{{0,12}}(?:不|没有|取消|停)"
            r"|(?<!能)不(?:能|可以)?(?:享受|领取|发放)|(?:会|要)?被?取消|停发|除外"
        ),
        re.compile(
            r"不享受|不予|不得(?:享受|申请|领取)|取消|停发|停止(?:发放|享受)|中止|不再(?:享受|发放)"
            r"|除外|不适用|不属于|不计入|不视为"
        ),
        frozenset({"情况", "情形", "时候", "条件"}),
    ),
    Intent(
        "liability",
        re.compile(
            rf"(?:负|承担|担){_CLAUSE}{{0,6}}责任|处罚|惩罚|处分|罚款|追究|后果|违法吗|犯法|坐牢|判刑|拘留"
            r"|能罚|罚[它他她]|罚多少|被罚|会罚"
            r"|(?:会|要)被?(?:怎么|如何|怎样)?处理|被(?:怎么|如何|怎样)?处理"
        ),
        re.compile(
            r"法律责任|处罚|处分|追究|刑事责任|民事责任|责令改正|罚款|拘留|没收|批评教育|依法(?:予以)?处理|予以处理"
        ),
        frozenset({"后果"}),
    ),
    Intent(
        "procedure",
        re.compile(
            r"(?:怎么|如何|怎样|咋)(?:样)?(?:才能|去)?[\u4e00-\u9fff]"
            r"|什么(?:程序|流程|手续|方式|途径|办法)|哪(?:几|些)种?(?:方式|途径|渠道)|程序|流程|手续"
        ),
        # 手续费 is a fee, not a procedure.
        re.compile(r"程序|方式|途径|流程|手续(?!费)|步骤|相结合|办理|先[^。；;]{1,40}再"),
        frozenset({"程序", "流程", "方式", "途径", "渠道"}),
    ),
    Intent(
        "commencement",
        re.compile(
            rf"(?:什么时候|啥时候|哪天|哪一天|何时|哪年|几号|几月){_CLAUSE}{{0,6}}(?:施行|实施|生效|执行)"
            r"|(?:施行|实施|生效)(?:日期|时间)"
        ),
        re.compile(r"自[^。；;]{0,30}起(?:施行|实施|执行)|施行之日|起施行"),
        frozenset({"开始", "时间", "时候"}),
    ),
)

# An appeal: a rule for someone who disagrees with a decision (信访人对处理意见不服的，…复查) answers
# only a question that disagrees or asks where else to turn; "信访多久给答复" asks how long the
# matter itself takes (60日内办结), not how long an appeal may be lodged.
APPEAL_RULE = re.compile(r"不服")
_APPEAL_ASK = re.compile(
    r"不服|不满意|不认可|不同意|不接受|不认|有异议|异议|复查|复核|复议|申诉|上一级|上级|推翻|重新(?:处理|评|审)"
    r"|被?拒绝|驳回|不予受理|不受理|不给办|还能(?:去|找|向)|再(?:去|找|向)|哪里(?:还能|再)|告到|起诉|打官司"
)


def asks_appeal(question: str) -> bool:
    """Whether ``question`` disagrees with a decision or asks where else to turn (see ``APPEAL_RULE``)."""
    return bool(_APPEAL_ASK.search(normalize(question)))


# "怎么办" / "怎么样" are not procedures; "怎么处理" is liability or handling, not a method.
_NOT_PROCEDURE = re.compile(r"(?:怎么|如何|怎样|咋)(?:办|样|回事|说|看|算|处理|处罚|弄|整|搞)")


def detect_intents(question: str) -> tuple[Intent, ...]:
    """The kinds of rule ``question`` asks for (possibly none), in ``INTENTS`` order."""
    text = normalize(question)
    found = []
    for intent in INTENTS:
        m = intent.ask.search(text)
        if m is None:
            continue
        if intent.name == "procedure" and _NOT_PROCEDURE.match(text, m.start()):
            # Only other procedure asks count: "怎么办" does not ask for a method.
            rest = [x for x in intent.ask.finditer(text) if not _NOT_PROCEDURE.match(text, x.start())]
            if not rest:
                continue
        found.append(intent)
    return tuple(found)


_ASKED_ACTION = re.compile(r"(?:怎么|如何|怎样|咋)(?:样)?(?:才能|去)?$")


def asked_action(words: list[str]) -> str | None:
    """The one-character action a procedure question asks about ("怎么招的" → 招), or None.

    ``words`` are the question's words in order (precise-mode tokenizer); only a single-character
    word right after 怎么/如何/怎样 counts: a two-character one (申请) is a concept already.
    """
    for prev, word in pairwise(words):
        single = len(word) == 1 and "\u4e00" <= word <= "\u9fff"
        if single and _ASKED_ACTION.search(prev) and not _NOT_PROCEDURE.match(prev + word):
            return word
    return None
