"""The gazetteer: canonical names, parent chains, detection in text."""

from __future__ import annotations

import pytest

from vetbot import regions


@pytest.mark.parametrize(("name", "canonical"), [
    ("济南", "济南市"), ("济南市", "济南市"), ("上海", "上海市"), ("内蒙古", "内蒙古自治区"),
    ("黄浦区", "黄浦区"), ("全国", "全国"), ("全市", None), ("本市", None), ("甲市", None), ("", None),
])
def test_canonical_name(name: str, canonical: str | None) -> None:
    assert regions.canonical_name(name) == canonical


def test_chains_and_provinces() -> None:
    assert regions.chain("黄浦区") == ["上海市", "黄浦区"]
    assert regions.chain("杭州") == ["浙江省", "杭州市"]
    assert regions.chain("义乌市") == ["浙江省", "金华市", "义乌市"]
    assert regions.chain("北京市") == ["北京市"]
    assert regions.province_of("济南市") == "山东省"
    assert regions.province_of("扬州市") == "江苏省"
    assert regions.province_of("甲市") is None


def test_same_named_counties_need_context() -> None:
    assert regions.lookup("朝阳区") is None  # 北京市 and 长春市 both have one
    beijing = regions.lookup("朝阳区", within="北京市")
    assert beijing is not None and regions.path_of(beijing) == "北京市/朝阳区"
    changchun = regions.most_specific("吉林省长春市朝阳区退役军人服务站")
    assert changchun is not None and regions.path_of(changchun) == "吉林省/长春市/朝阳区"


@pytest.mark.parametrize(("text", "expected"), [
    ("浙江省杭州市退役军人优待办法", "杭州市"), ("浙江省军人军属权益保障条例", "浙江省"),
    ("上海市黄浦区双拥工作要点", "黄浦区"), ("黄浦区召开双拥工作会议", "黄浦区"),
    ("中华人民共和国退役军人保障法", None), ("城市公共交通条例", None),
    ("在全市退役军人工作会议上的讲话", None), ("我区本市全县各市", None), ("长治久安，幸福安康", None),
])
def test_most_specific_place_in_text(text: str, expected: str | None) -> None:
    place = regions.most_specific(text)
    assert (place.name if place else None) == expected


def test_places_found_in_order_and_abbreviations() -> None:
    assert [p.name for p in regions.find_places("济南、青岛和扬州市")] == ["济南市", "青岛市", "扬州市"]
    assert regions.province_from_abbreviation("沪退役军人规〔2021〕1号") == "上海市"
    assert regions.province_from_abbreviation("鲁政办发〔2020〕5号") == "山东省"
    assert regions.is_place_word("济南") and not regions.is_place_word("全市")


def test_pickable_keeps_what_validate_region_accepts_in_order() -> None:
    names = ["全国", "扬州市", "青岚市", "济南市", "上海市/黄浦区", "", "浙江省"]
    assert regions.pickable(names) == ["全国", "扬州市", "济南市", "上海市/黄浦区", "浙江省"]
