"""Topics of a text that carries none (an uploaded notice without front matter).

Staff search filters by topic (:data:`knowledge.types.TOPICS`); a document with no topics never
passes a topic filter, so a bureau's uploaded notice on free buses was missing from 交通出行.
:func:`detect_topics` reads them from the words a text uses most: a topic is kept when its
words occur at least :data:`MIN_HITS` times in the title and text together.

A passage of a law that covers ten topics speaks of one or two of them; :func:`passage_topics`
reads those from the passage's own words, so that the topic filter of staff search narrows to
the passages on the topic rather than to every article of a many-topic law.
"""

from __future__ import annotations

import re

# Chunk metadata key of a passage's own topics ("|a|b|", "" when it names none; see knowledge.types).
PASSAGE_TOPICS = "passage_topics"
MIN_HITS = 2
MAX_TOPICS = 3

# Words that say what a rule is about, per topic code of TOPICS ("general" is never detected).
_TOPIC_WORDS: dict[str, re.Pattern[str]] = {
    "card": re.compile(r"优待证"),
    "transit": re.compile(r"公交|地铁|轨道交通|火车|铁路|乘车|乘坐|长途汽车|民航|轮船|交通"),
    "culture_tourism": re.compile(r"景区|景点|公园|博物馆|纪念馆|门票|游览|参观|旅游"),
    "education": re.compile(r"入学|学校|上学|转学|教育优待|中考|高考|录取|幼儿园"),
    "medical": re.compile(r"医疗|就医|医院|就诊|医保|看病"),
    "employment": re.compile(r"就业|创业|招聘|招录|岗位|职业技能|培训|安置工作"),
    "tax": re.compile(r"税"),
    "pension_subsidy": re.compile(r"抚恤|补助|补贴|优待金|生活费"),
    "housing": re.compile(r"住房|住宅|租房|公租房|危房"),
    "honours": re.compile(r"烈士|褒扬|光荣牌|英雄|纪念设施|荣誉|功臣|立功|等功|表彰|功勋"),
    "complaints": re.compile(r"信访|投诉|举报|申诉|控告|检举|诉求|维权"),
}

# A passage also speaks of a topic used at least this share as often as its most used one
# (烈士遗属乘车和游览: transit 9, scenic areas 6 are both; a lone 烈士 in an article on school
# places is not).
PASSAGE_SHARE = 0.5


def _counts(text: str) -> dict[str, int]:
    return {code: len(pattern.findall(text)) for code, pattern in _TOPIC_WORDS.items()}


def detect_topics(title: str, text: str) -> list[str]:
    """Topic codes (at most :data:`MAX_TOPICS`, most used first) whose words occur at least
    :data:`MIN_HITS` times in ``title`` and ``text``; [] when none does."""
    counts = _counts(f"{title}\n{text}")
    ranked = sorted((c for c in counts if counts[c] >= MIN_HITS), key=lambda c: -counts[c])
    return ranked[:MAX_TOPICS]


def passage_topics(text: str) -> list[str]:
    """Topic codes one passage speaks of (at most :data:`MAX_TOPICS`, most used first): its most
    used topic, even if named once, and those used at least :data:`PASSAGE_SHARE` times as often;
    [] when no topic word occurs (the caller then keeps the document's topics)."""
    counts = _counts(text)
    top = max(counts.values(), default=0)
    if top == 0:
        return []
    kept = [c for c in counts if counts[c] >= max(1.0, PASSAGE_SHARE * top)]
    return sorted(kept, key=lambda c: -counts[c])[:MAX_TOPICS]
