"""What a question is about: person category, benefit, region and article (the context slots).

:func:`extract` finds them in a cleaned message; ``knowledge.conversation`` keeps the last
question's slots per chat and uses them to rewrite elliptical follow-ups (那火车呢, 那我老婆呢).
Each slot keeps the exact words found (``*_text``) so that a rewrite can replace them in the
previous question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# (subject, words) — longest words are tried first, so 残疾军人子女 wins over 残疾军人.
PERSONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("烈士子女", ("烈士子女", "烈士的子女", "烈士的孩子", "我爸是烈士", "我妈是烈士", "父亲是烈士",
                  "母亲是烈士")),
    ("烈士遗属", ("烈士遗属", "烈属", "烈士家属", "烈士家人", "烈士的家属", "我老公是烈士", "丈夫是烈士")),
    ("因公牺牲军人遗属", ("因公牺牲军人遗属", "因公牺牲军人家属")),
    ("病故军人遗属", ("病故军人遗属", "病故军人家属")),
    ("残疾军人子女", ("残疾军人子女", "残疾军人的子女", "残疾军人的孩子")),
    ("残疾军人", ("残疾退役军人", "伤残退役军人", "残疾军人", "伤残军人", "伤残老兵", "残疾老兵")),
    ("现役军人子女", ("现役军人子女", "军人子女", "现役军人的孩子")),
    ("现役军人", ("现役军人", "当兵的", "在部队")),
    ("退役军人子女", ("退役军人子女", "退役军人的子女", "退役军人的孩子", "老兵子女", "退伍军人子女")),
    ("退役军人", ("退役军人", "退伍军人", "退伍老兵", "退伍兵", "老兵", "转业军人", "复员军人", "退役士兵",
                  "退役军官", "转业干部")),
    ("军人家属", ("军人家属", "随军家属", "军属")),
)

# Family relations, said of the previous question's person (那我老婆呢 → 残疾军人的配偶).
RELATIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("配偶", ("老婆", "老公", "爱人", "妻子", "丈夫", "媳妇", "配偶")),
    ("子女", ("孩子", "儿子", "女儿", "子女", "小孩")),
    ("父母", ("爸爸", "妈妈", "父母", "父亲", "母亲", "老爸", "老妈", "爸", "妈")),
    ("家属", ("家属", "家人", "家里人", "亲属")),
)
# Words by which a passage counts as covering a relation's people.
RELATION_COVERAGE: dict[str, tuple[str, ...]] = {
    "配偶": ("配偶", "家属", "随同", "军属", "遗属"),
    "子女": ("子女", "家属", "随同", "军属", "遗属"),
    "父母": ("父母", "家属", "随同", "军属", "遗属", "扶养人"),
    "家属": ("家属", "随同", "军属", "遗属", "配偶"),
}

# (benefit, words, phrase for "按…理解")
BENEFITS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("公交", ("公交车", "公交", "公共汽车", "巴士", "公车"), "乘公交"),
    ("地铁", ("地铁", "轨道交通", "轻轨"), "乘地铁"),
    ("火车", ("火车", "高铁", "动车", "铁路"), "乘火车"),
    ("飞机", ("飞机", "民航", "航班"), "乘飞机"),
    ("长途汽车", ("长途汽车", "长途客车", "长途车", "大巴"), "乘长途汽车"),
    ("轮船", ("轮船", "轮渡", "坐船"), "乘船"),
    ("景区", ("景区", "景点", "公园", "名胜古迹", "旅游"), "游览景区"),
    ("博物馆", ("博物馆", "纪念馆", "展览馆", "科技馆", "美术馆"), "参观博物馆"),
    ("就医", ("看病", "就医", "医疗", "住院", "医院"), "就医"),
    ("中考", ("中考", "考高中", "上高中"), "中考"),
    ("高考", ("高考", "考大学", "上大学"), "高考"),
    ("入学", ("上学", "入学", "入园", "转学", "幼儿园"), "入学"),
    ("优待证", ("优待证", "优待卡"), "办理优待证"),
    ("抚恤金", ("抚恤金", "抚恤"), "领取抚恤金"),
    ("就业", ("就业", "找工作", "招聘", "创业", "考公务员"), "就业创业"),
    ("税收", ("个税", "减税", "税收", "纳税"), "税收优惠"),
    ("住房", ("住房", "买房", "公租房", "廉租房"), "住房"),
    ("补贴", ("补贴", "补助", "生活费"), "补贴"),
)

_ARTICLE = re.compile(r"第[〇零一二两三四五六七八九十百千0-9]+条")


@dataclass
class Slots:
    """The subject of one message; ``*_text`` are the words as they appear in it."""

    person: str | None = None
    person_text: str | None = None
    relation: str | None = None
    relation_text: str | None = None
    benefit: str | None = None
    benefit_text: str | None = None
    region: str | None = None
    region_text: str | None = None
    article: str | None = None

    @property
    def empty(self) -> bool:
        """True when nothing was found."""
        return not (self.person or self.relation or self.benefit or self.region or self.article)


def _first(text: str, table: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[str, str] | None:
    """The (name, word) whose word occurs first in ``text`` (longest word at a position)."""
    best: tuple[int, int, str, str] | None = None
    for name, words in table:
        for word in words:
            pos = text.find(word)
            if pos >= 0 and (best is None or (pos, -len(word)) < (best[0], best[1])):
                best = (pos, -len(word), name, word)
    return (best[2], best[3]) if best else None


def benefit_phrase(benefit: str) -> str:
    """The phrase of a benefit for the "按…理解" line (火车 → 乘火车)."""
    return next((phrase for name, _, phrase in BENEFITS if name == benefit), benefit)


def extract(text: str, regions: dict[str, str] | None = None) -> Slots:
    """The slots of ``text``; ``regions`` maps a place key found in text (济南) to its KB name (济南市)."""
    slots = Slots()
    person = _first(text, PERSONS)
    if person:
        slots.person, slots.person_text = person
    rest = text.replace(slots.person_text, " ") if slots.person_text else text
    relation = _first(rest, RELATIONS)
    if relation:
        slots.relation, slots.relation_text = relation
    benefit = _first(text, tuple((name, words) for name, words, _ in BENEFITS))
    if benefit:
        slots.benefit, slots.benefit_text = benefit
    for key in sorted(regions or {}, key=len, reverse=True):
        if key and key in text:
            slots.region, slots.region_text = (regions or {})[key], key
            break
    m = _ARTICLE.search(text)
    if m:
        slots.article = m.group(0)
    return slots
