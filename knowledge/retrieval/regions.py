"""Place names in retrieval: comparing region spellings and preferring the asker's local rules.

``CITY_PROVINCE`` is a small built-in gazetteer of the provinces whose local rules are bundled;
it is isolated here so that a maintained gazetteer (``vetbot.regions``) can replace it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from knowledge.text import normalize
from knowledge.types import NATIONAL

# Prefecture-level cities of the provinces whose local rules are bundled, so that a provincial
# regulation (浙江省) also counts as "local" for an asker in one of its cities (金华市).
CITY_PROVINCE: dict[str, str] = {
    **dict.fromkeys(
        "杭州 宁波 温州 嘉兴 湖州 绍兴 金华 衢州 舟山 台州 丽水".split(), "浙江省"
    ),
    **dict.fromkeys(
        "石家庄 唐山 秦皇岛 邯郸 邢台 保定 张家口 承德 沧州 廊坊 衡水".split(), "河北省"
    ),
    **dict.fromkeys(
        "济南 青岛 淄博 枣庄 东营 烟台 潍坊 济宁 泰安 威海 日照 临沂 德州 聊城 滨州 菏泽".split(),
        "山东省",
    ),
    **dict.fromkeys(
        "南京 无锡 徐州 常州 苏州 南通 连云港 淮安 盐城 扬州 镇江 泰州 宿迁".split(), "江苏省"
    ),
}

_REGION_SUFFIXES = ("特别行政区", "自治区", "省", "市")

# Place names are handled by region preference, not by term matching: a question that names
# a city the KB has no rule for is still answerable from national rules.
PLACE_NAMES: frozenset[str] = frozenset(
    """北京 天津 上海 重庆 河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 广东 海南
    四川 贵州 云南 陕西 甘肃 青海 台湾 内蒙古 广西 西藏 宁夏 新疆 香港 澳门 深圳 广州 武汉 成都 西安 沈阳
    长春 哈尔滨 郑州 长沙 合肥 福州 厦门 南昌 昆明 贵阳 南宁 兰州 西宁 银川 乌鲁木齐 拉萨 呼和浩特 太原
    海口 三亚 大连 珠海 东莞 佛山 老家 家乡""".split()
) | frozenset(CITY_PROVINCE)


def region_key(name: str | None) -> str:
    """Comparable form of a place name: 济南市 / 济南 -> 济南, 浙江省 -> 浙江."""
    text = normalize(name or "").replace(" ", "")
    for suffix in _REGION_SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix) + 1:
            return text[: -len(suffix)]
    return text


def canonical_region(name: str | None, known: Iterable[str] = ()) -> str | None:
    """The KB spelling of ``name`` (济南 -> 济南市 when the KB has 济南市); None when empty."""
    if not name or not str(name).strip():
        return None
    key = region_key(name)
    if key in ("全国", "国家", "中国"):
        return NATIONAL
    for region in known:
        if region_key(region) == key:
            return region
    return normalize(str(name)).replace(" ", "")


def province_of(region: str | None) -> str | None:
    """The province of a known city (金华市 -> 浙江省), else None."""
    return CITY_PROVINCE.get(region_key(region)) if region else None


@lru_cache(maxsize=256)
def asker_region_keys(region: str | None) -> frozenset[str]:
    """Region keys whose local rules apply to an asker in ``region``: the place and its province."""
    if not region:
        return frozenset()
    return frozenset({region_key(region), region_key(province_of(region))} - {""})


@dataclass(frozen=True)
class RegionPreference:
    """How a passage's region moves its score for a given asker.

    With a known asker region, that region's (and its province's) local rules are multiplied by
    ``own_region_boost`` and other places' local rules drop to tier 1, below every national
    rule, so a 金华 rule never answers a 济南 asker. With no asker region, local rules are
    multiplied by ``unknown_region_local_factor`` so the national rule leads.
    """

    own_region_boost: float = 1.5
    unknown_region_local_factor: float = 0.8

    def adjust(self, score: float, meta: Mapping[str, Any], asker: str | None) -> tuple[float, int]:
        """``(adjusted score, tier)`` of a passage with chunk metadata ``meta``; tier 0 ranks first."""
        chunk_region = str(meta.get("region") or NATIONAL)
        local = chunk_region != NATIONAL or meta.get("scope") == "local"
        if local and asker and asker != NATIONAL:
            if region_key(chunk_region) in asker_region_keys(asker):
                return score * self.own_region_boost, 0
            return score, 1
        if local:
            return score * self.unknown_region_local_factor, 0
        return score, 0
