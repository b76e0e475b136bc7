"""Topics read from a text that carries none (fresh-eyes report: an uploaded notice on free
buses was missing from the 交通出行 filter of staff search)."""

from __future__ import annotations

from knowledge.topic_detection import _TOPIC_WORDS, detect_topics
from knowledge.types import TOPICS


def test_a_bus_notice_is_about_transit() -> None:
    text = "第一条 持退役军人优待证的退役军人免费乘坐城市公交。\n第二条 定制公交除外。"
    assert detect_topics("金华市关于扩大免费乘坐公交范围的通知", text)[0] == "transit"


def test_a_word_used_once_is_not_a_topic_and_codes_are_known() -> None:
    assert detect_topics("某通知", "本通知自发布之日起施行，解释权归市局。") == []
    assert detect_topics("某通知", "退役军人可以去医院。") == []
    assert set(_TOPIC_WORDS) < set(TOPICS)
