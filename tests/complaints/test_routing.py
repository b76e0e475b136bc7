"""Routing table: loading, validation errors and theme × region routing."""

from __future__ import annotations

from pathlib import Path

import pytest

from complaints.routing import RoutingTable
from vetbot import regions
from vetbot.errors import ConfigurationError, NotFoundError
from vetbot.settings import PROJECT_ROOT

from .conftest import ROUTING_FILE

SAMPLE = PROJECT_ROOT / "complaints" / "data" / "routing.yaml"


def test_region_names_tolerate_suffixes() -> None:
    # Routing compares places through the one gazetteer (formerly normalize_region/regions_match).
    assert regions.spellings("济南市") == ["济南市", "济南"]
    assert regions.spellings(" 浙江省 ") == ["浙江省", "浙江"]
    assert regions.canonical_name("广西") == "广西壮族自治区"
    assert regions.same_place("济南", "济南市")
    assert regions.same_place("深圳市", "深圳")
    assert not regions.same_place("济南", "扬州市")
    assert not regions.same_place("", "")


def test_a_district_routes_to_its_city_then_province_then_default(tmp_path: Path) -> None:
    handlers = """
handlers:
  - {id: city, name: 市, unit: 济南市退役军人事务局, region: 济南市}
  - {id: prov, name: 省, unit: 山东省退役军人事务厅, region: 山东省}
  - {id: dflt, name: 默认, unit: 省厅优抚处}
  - {id: fb, name: 兜底, unit: 信访科}
defaults: {card: dflt}
fallback: fb
"""
    city_rule = "  - {region: 济南市, theme: card, handler: city}\n"
    province_rule = "  - {region: 山东省, theme: card, handler: prov}\n"
    both = RoutingTable.load(_write(tmp_path, handlers + "rules:\n" + province_rule + city_rule))
    for place in ("历下区", "山东省济南市历下区", "济南"):
        assert both.route("card", place).id == "city", place
    assert both.route("card", "青岛市市南区").id == "prov"
    assert both.canonical_region("历下区") == "济南市"
    assert both.canonical_region("市南区") == "山东省"
    province_only = RoutingTable.load(_write(tmp_path, handlers + "rules:\n" + province_rule))
    assert province_only.route("card", "历下区").id == "prov"
    neither = RoutingTable.load(_write(tmp_path, handlers))
    assert (neither.route("card", "历下区").id, neither.route("card", "历下区").via) == ("dflt", "default")
    assert both.route("card", "杭州市").via == "default"


def test_test_table_routes_rules_groups_defaults_and_fallback(routing: RoutingTable) -> None:
    assert routing.route("card", "济南").id == "jn-a"
    assert routing.route("card", "济南市").via == "rule"
    group = routing.route("transit", "济南市")
    assert (group.kind, group.id) == ("group", "g-jn")
    assert [h.id for h in routing.members(group)] == ["jn-b", "jn-c"]
    assert routing.route("other", "扬州").id == "yz-a"
    default = routing.route("card", "杭州市")
    assert (default.id, default.via) == ("prov", "default")
    fallback = routing.route("housing", "杭州市")
    assert (fallback.id, fallback.via) == ("xfk", "fallback")
    assert routing.route("housing", None).id == "xfk"


def test_canonical_region_uses_the_tables_spelling(routing: RoutingTable) -> None:
    assert routing.canonical_region("济南") == "济南市"
    assert routing.canonical_region("山东省济南市历下区") == "济南市"
    assert routing.canonical_region("杭州") == "杭州"
    assert routing.canonical_region("  ") == "未知地区"


def test_shipped_sample_table_is_valid_and_realistic() -> None:
    table = RoutingTable.load(SAMPLE)
    regions = set(table.regions())
    assert {"济南市", "扬州市", "金华市", "深圳市"} <= regions
    assert table.route("card", "济南").id == "jn-yfk"
    assert table.route("employment", "深圳").id == "sz-jyc"
    assert table.route("card", "浙江省金华市婺城区").id == "jh-yfk"
    other_jn = table.route("other", "济南市")
    assert other_jn.kind == "group" and len(table.members(other_jn)) == 2
    # no local unit: theme default at province level, else the 信访科 fallback
    assert table.handlers[table.route("card", "石家庄市").id].unit == "省退役军人事务厅优抚处"
    fb = table.route("other", "石家庄市")
    assert fb.via == "fallback" and table.handlers[fb.id].unit == "市退役军人事务局信访科"


def test_changing_the_file_changes_routing_without_code(tmp_path: Path) -> None:
    text = ROUTING_FILE.read_text(encoding="utf-8").replace("handler: yz-a", "handler: xfk")
    path = tmp_path / "routing.yaml"
    path.write_text(text, encoding="utf-8")
    assert RoutingTable.load(path).route("other", "扬州市").id == "xfk"


def test_handler_lookup(routing: RoutingTable) -> None:
    assert routing.handler("jn-a").unit == "济南市退役军人事务局优抚科"
    assert routing.handler_for_chat(2001) is not None and routing.handler_for_chat(2001).id == "yz-a"
    assert routing.handler_for_chat(5) is None
    with pytest.raises(NotFoundError) as err:
        routing.handler("nobody")
    assert "nobody" in err.value.user_message


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "routing.yaml"
    path.write_text(text, encoding="utf-8")
    return path


BASE = """
handlers:
  - {id: a, name: 甲, unit: 甲单位, region: 济南市}
  - {id: fb, name: 兜底, unit: 市退役军人事务局信访科}
"""


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (BASE + "rules:\n  - {region: 济南市, theme: card, handler: ghost}\nfallback: fb\n", "ghost"),
        (BASE + "rules:\n  - {region: 济南市, theme: cards, handler: a}\nfallback: fb\n", "cards"),
        (BASE + "defaults: {card: ghost2}\nfallback: fb\n", "ghost2"),
        (BASE + "fallback: nobody\n", "nobody"),
        (BASE, "fallback"),
        (BASE + "groups:\n  - {id: g, members: [a, zz]}\nfallback: fb\n", "zz"),
        (BASE + "rules:\n  - {region: 济南市, handler: a, group: g}\nfallback: fb\n", "handler 或 group"),
        ("handlers:\n  - {id: a, name: 甲}\nfallback: a\n", "unit"),
        ("handlers:\n  - {id: a, name: 甲, unit: u}\n  - {id: a, name: 乙, unit: u}\nfallback: a\n", "重复"),
        ("- just\n- a list\n", "映射"),
    ],
)
def test_invalid_tables_raise_configuration_error_in_chinese(
    tmp_path: Path, body: str, expected: str
) -> None:
    with pytest.raises(ConfigurationError) as err:
        RoutingTable.load(_write(tmp_path, body))
    assert expected in err.value.user_message
    assert "投诉分派表" in err.value.user_message


def test_broken_yaml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as err:
        RoutingTable.load(_write(tmp_path, "handlers:\n  - id: a\n   name: [unclosed\n"))
    assert "YAML" in err.value.user_message and "行" in err.value.user_message
    with pytest.raises(ConfigurationError) as err:
        RoutingTable.load(tmp_path / "missing.yaml")
    assert "不存在" in err.value.user_message
