"""Routing of complaints to handlers: who handles which theme in which region.

The table lives in a YAML file (``settings.routing_file``, sample in
``complaints/data/routing.yaml``) read at startup with ``RoutingTable.load(path)``; changing
who handles what needs no code change. Format::

    handlers:                      # people who act on cases (ids are used by --as and the web)
      - id: jn-yfk                 # unique id, also referenced by rules/defaults/fallback
        name: 王建国
        unit: 济南市退役军人事务局优抚科
        region: 济南市
        telegram_chat_id: 123456   # optional; where new-case notices go
        group: jn-center           # optional; adds the handler to that group
    groups:                        # optional; a group shares work among its members
      - id: jn-center
        name: 济南市退役军人服务中心
        unit: 济南市退役军人服务中心   # optional
        members: [jn-fw1, jn-fw2]  # optional; handlers naming the group are added
    rules:                         # theme × region -> handler or group (exactly one)
      - region: 济南市              # "济南" matches too, and so do its districts; "*" = any region
        theme: [card, medical]     # a code, a list of codes, or "*"
        handler: jn-yfk            # or  group: jn-center
    defaults:                      # per theme when no rule matches: handler or group id
      card: prov-yfc
    fallback: xfk                  # when nothing else matches (handler or group id)
    partners:                      # optional; other departments that fix what is theirs
      - id: jn-jtj                 # the unit's id; partner web accounts carry it
        unit: 济南市交通运输局
        region: 济南市             # "*" = any region
        theme: [transit]           # themes it is suggested for (a code, a list or "*")
        telegram_chat_id: 654321   # optional; where 协办 requests are announced

Precedence: the rule with the most specific region containing the complaint's place wins
(a case from 历下区 or 山东省济南市历下区 goes to a 济南市 rule, else a 山东省 rule, else
"*"; places come from the gazetteer :mod:`vetbot.regions`), then the rule with a specific
theme beats "*", then file order; then ``defaults[theme]``, then ``fallback``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from complaints.themes import THEMES
from vetbot import regions
from vetbot.errors import ConfigurationError, NotFoundError

logger = logging.getLogger(__name__)

WILDCARD = "*"
UNKNOWN_REGION = "未知地区"


@dataclass(frozen=True)
class Handler:
    """A person (or desk) who acts on complaint cases."""

    id: str
    name: str
    unit: str
    region: str
    telegram_chat_id: int | None = None
    group: str | None = None


@dataclass(frozen=True)
class Group:
    """A set of handlers sharing work; new cases go to the least-loaded member."""

    id: str
    name: str
    unit: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class Partner:
    """A partner unit (交通运输局, 教育局...): cases are transferred to it or sent for 协办."""

    id: str
    unit: str
    region: str
    themes: tuple[str, ...]
    telegram_chat_id: int | None = None


@dataclass(frozen=True)
class Rule:
    """theme × region -> handler or group id."""

    themes: tuple[str, ...]  # ("*",) = any theme
    region: str  # "*" = any region
    target: str


@dataclass(frozen=True)
class RouteTarget:
    """Where a case should go: one handler or a group to pick a member from."""

    kind: Literal["handler", "group"]
    id: str
    via: Literal["rule", "default", "fallback"]


class RoutingTable:
    """Handlers, groups and the rules that route a (theme, region) to them."""

    def __init__(
        self,
        handlers: Iterable[Handler],
        groups: Iterable[Group],
        rules: Iterable[Rule],
        defaults: Mapping[str, str],
        fallback: str,
        source: str = "<内存>",
        partners: Iterable[Partner] = (),
    ) -> None:
        self.source = source
        self.partners: dict[str, Partner] = {}
        for p in partners:
            if p.id in self.partners:
                self._fail(f"协办单位编号“{p.id}”重复")
            self.partners[p.id] = p
        self.handlers: dict[str, Handler] = {}
        for h in handlers:
            if h.id in self.handlers:
                self._fail(f"办理人编号“{h.id}”重复")
            self.handlers[h.id] = h
        self.groups: dict[str, Group] = {}
        for g in groups:
            if g.id in self.groups or g.id in self.handlers:
                self._fail(f"分组编号“{g.id}”重复或与办理人编号相同")
            self.groups[g.id] = g
        self.rules: tuple[Rule, ...] = tuple(rules)
        self.defaults: dict[str, str] = dict(defaults)
        self.fallback = fallback
        self._validate()

    # ---------------------------------------------------------------- loading
    @classmethod
    def load(cls, path: Path | str) -> RoutingTable:
        """Read and validate a routing YAML file; problems raise ``ConfigurationError``."""
        import yaml

        path = Path(path)
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise ConfigurationError(
                f"routing file not found: {path}", user_message=f"投诉分派表文件不存在：{path}"
            ) from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigurationError(
                f"cannot read routing file {path}: {exc}", user_message=f"无法读取投诉分派表文件：{path}"
            ) from exc
        try:
            data = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"第 {mark.line + 1} 行" if mark is not None else ""
            raise ConfigurationError(
                f"invalid YAML in {path}: {exc}",
                user_message=(
                    f"投诉分派表 {path} 不是有效的 YAML 格式"
                    f"{('（' + where + '）') if where else ''}，请检查缩进和冒号。"
                ),
            ) from exc
        table = cls.from_dict(data, source=str(path))
        logger.debug(
            "routing table %s: %d handlers, %d groups, %d rules",
            path,
            len(table.handlers),
            len(table.groups),
            len(table.rules),
        )
        return table

    @classmethod
    def from_dict(cls, data: Any, source: str = "<内存>") -> RoutingTable:
        """Build a table from the parsed YAML structure (see the module docstring)."""

        def fail(msg: str) -> ConfigurationError:
            return ConfigurationError(
                f"routing table {source}: {msg}", user_message=f"投诉分派表 {source} 有误：{msg}。"
            )

        if not isinstance(data, dict):
            raise fail("文件内容应为包含 handlers、rules、fallback 的映射")
        raw_handlers = data.get("handlers")
        if not isinstance(raw_handlers, list) or not raw_handlers:
            raise fail("缺少办理人列表 handlers")
        handlers: list[Handler] = []
        for i, item in enumerate(raw_handlers, 1):
            if not isinstance(item, dict):
                raise fail(f"办理人第 {i} 项格式错误")
            for key in ("id", "name", "unit"):
                if not _text(item.get(key)):
                    raise fail(f"办理人第 {i} 项缺少 {key}")
            chat = item.get("telegram_chat_id")
            if chat is not None and (isinstance(chat, bool) or not isinstance(chat, int)):
                raise fail(f"办理人“{item['id']}”的 telegram_chat_id 必须是整数")
            handlers.append(
                Handler(
                    id=_text(item["id"]),
                    name=_text(item["name"]),
                    unit=_text(item["unit"]),
                    region=_text(item.get("region")) or WILDCARD,
                    telegram_chat_id=chat,
                    group=_text(item.get("group")) or None,
                )
            )
        raw_groups = data.get("groups") or []
        if not isinstance(raw_groups, list):
            raise fail("groups 应为列表")
        groups: list[Group] = []
        for i, item in enumerate(raw_groups, 1):
            if not isinstance(item, dict) or not _text(item.get("id")):
                raise fail(f"分组第 {i} 项缺少 id")
            gid = _text(item["id"])
            members_raw = item.get("members") or []
            if not isinstance(members_raw, list):
                raise fail(f"分组“{gid}”的 members 应为列表")
            members = [_text(m) for m in members_raw]
            members += [h.id for h in handlers if h.group == gid and h.id not in members]
            groups.append(
                Group(
                    id=gid,
                    name=_text(item.get("name")) or gid,
                    unit=_text(item.get("unit")),
                    members=tuple(members),
                )
            )
        declared = {g.id for g in groups}
        for h in handlers:
            if h.group and h.group not in declared:
                raise fail(f"办理人“{h.id}”所属分组“{h.group}”未在 groups 中定义")
        raw_rules = data.get("rules") or []
        if not isinstance(raw_rules, list):
            raise fail("rules 应为列表")
        rules: list[Rule] = []
        for i, item in enumerate(raw_rules, 1):
            if not isinstance(item, dict):
                raise fail(f"规则第 {i} 条格式错误")
            has_handler, has_group = bool(_text(item.get("handler"))), bool(_text(item.get("group")))
            if has_handler == has_group:
                raise fail(f"规则第 {i} 条必须且只能指定 handler 或 group 之一")
            theme = item.get("theme", WILDCARD)
            themes = tuple(_text(t) for t in theme) if isinstance(theme, list) else (_text(theme),)
            if not themes or not all(themes):
                raise fail(f"规则第 {i} 条的 theme 为空")
            region = _text(item.get("region")) or WILDCARD
            target = _text(item.get("handler") or item.get("group"))
            rules.append(Rule(themes=themes, region=region, target=target))
        defaults = data.get("defaults") or {}
        if not isinstance(defaults, dict):
            raise fail("defaults 应为“主题代码: 办理人或分组编号”的映射")
        fallback = _text(data.get("fallback"))
        if not fallback:
            raise fail("缺少兜底办理人 fallback")
        raw_partners = data.get("partners") or []
        if not isinstance(raw_partners, list):
            raise fail("partners 应为列表")
        partners: list[Partner] = []
        for i, item in enumerate(raw_partners, 1):
            if not isinstance(item, dict) or not _text(item.get("id")) or not _text(item.get("unit")):
                raise fail(f"协办单位第 {i} 项缺少 id 或 unit")
            theme = item.get("theme", WILDCARD)
            chat = item.get("telegram_chat_id")
            if chat is not None and (isinstance(chat, bool) or not isinstance(chat, int)):
                raise fail(f"协办单位“{item['id']}”的 telegram_chat_id 必须是整数")
            partners.append(
                Partner(
                    id=_text(item["id"]),
                    unit=_text(item["unit"]),
                    region=_text(item.get("region")) or WILDCARD,
                    themes=tuple(_text(t) for t in theme) if isinstance(theme, list) else (_text(theme),),
                    telegram_chat_id=chat,
                )
            )
        return cls(
            handlers,
            groups,
            rules,
            {_text(k): _text(v) for k, v in defaults.items()},
            fallback,
            source=source,
            partners=partners,
        )

    def _fail(self, msg: str) -> None:
        raise ConfigurationError(
            f"routing table {self.source}: {msg}", user_message=f"投诉分派表 {self.source} 有误：{msg}。"
        )

    def _validate(self) -> None:
        for g in self.groups.values():
            if not g.members:
                self._fail(f"分组“{g.id}”没有成员")
            for m in g.members:
                if m not in self.handlers:
                    self._fail(f"分组“{g.id}”的成员“{m}”不是已定义的办理人")
        for i, rule in enumerate(self.rules, 1):
            for theme in rule.themes:
                if theme != WILDCARD and theme not in THEMES:
                    self._fail(f"规则第 {i} 条的主题代码“{theme}”未知（可用：{'、'.join(THEMES)}）")
            if rule.target not in self.handlers and rule.target not in self.groups:
                self._fail(f"规则第 {i} 条引用了不存在的办理人或分组“{rule.target}”")
        for theme, target in self.defaults.items():
            if theme != WILDCARD and theme not in THEMES:
                self._fail(f"defaults 中的主题代码“{theme}”未知（可用：{'、'.join(THEMES)}）")
            if target not in self.handlers and target not in self.groups:
                self._fail(f"defaults 中主题“{theme}”引用了不存在的办理人或分组“{target}”")
        if self.fallback not in self.handlers and self.fallback not in self.groups:
            self._fail(f"兜底 fallback 引用了不存在的办理人或分组“{self.fallback}”")
        for p in self.partners.values():
            if p.id in self.handlers or p.id in self.groups:
                self._fail(f"协办单位编号“{p.id}”与办理人或分组编号相同")
            for theme in p.themes:
                if theme != WILDCARD and theme not in THEMES:
                    self._fail(f"协办单位“{p.id}”的主题代码“{theme}”未知")

    # ---------------------------------------------------------------- queries
    def route(self, theme: str, region: str | None) -> RouteTarget:
        """The handler or group responsible for ``theme`` in ``region``."""
        best: tuple[tuple[int, int, int], Rule] | None = None
        for order, rule in enumerate(self.rules):
            match = _region_score(rule.region, region)
            if match is None:
                continue
            if WILDCARD in rule.themes:
                theme_score = 0
            elif theme in rule.themes:
                theme_score = 1
            else:
                continue
            key = (match, theme_score, -order)
            if best is None or key > best[0]:
                best = (key, rule)
        if best is not None:
            return self._target(best[1].target, "rule")
        if theme in self.defaults:
            return self._target(self.defaults[theme], "default")
        if WILDCARD in self.defaults:
            return self._target(self.defaults[WILDCARD], "default")
        return self._target(self.fallback, "fallback")

    def _target(self, target_id: str, via: Literal["rule", "default", "fallback"]) -> RouteTarget:
        kind: Literal["handler", "group"] = "handler" if target_id in self.handlers else "group"
        return RouteTarget(kind=kind, id=target_id, via=via)

    def members(self, target: RouteTarget) -> list[Handler]:
        """Handlers that may take a case routed to ``target`` (in file order)."""
        if target.kind == "handler":
            return [self.handlers[target.id]]
        return [self.handlers[m] for m in self.groups[target.id].members]

    def handler(self, handler_id: str) -> Handler:
        """The handler with this id; ``NotFoundError`` if the table has none."""
        try:
            return self.handlers[handler_id]
        except KeyError:
            raise NotFoundError(
                f"unknown handler {handler_id!r}",
                user_message=f"投诉分派表中没有编号为“{handler_id}”的办理人。",
            ) from None

    def partner(self, partner_id: str) -> Partner:
        """The partner unit with this id; ``NotFoundError`` if the table has none."""
        try:
            return self.partners[partner_id]
        except KeyError:
            raise NotFoundError(
                f"unknown partner {partner_id!r}",
                user_message=f"投诉分派表中没有编号为“{partner_id}”的协办单位。",
            ) from None

    def partner_by_unit(self, unit: str | None) -> Partner | None:
        """The partner unit named ``unit`` (a transfer target), or None."""
        return next((p for p in self.partners.values() if unit and p.unit == unit), None)

    def partners_for(self, theme: str, region: str | None) -> list[Partner]:
        """Partner units for ``theme`` in ``region``: matching ones first, then the others."""

        def fits(p: Partner) -> bool:
            theme_ok = WILDCARD in p.themes or theme in p.themes
            return theme_ok and _region_score(p.region, region) is not None

        ordered = sorted(self.partners.values(), key=lambda p: (not fits(p), p.id))
        return ordered

    def handler_for_chat(self, chat_id: int) -> Handler | None:
        """The handler whose Telegram chat id is ``chat_id`` (the bot maps staff this way)."""
        for h in self.handlers.values():
            if h.telegram_chat_id == chat_id:
                return h
        return None

    def regions(self) -> list[str]:
        """Region names the table knows (from rules and handlers), without the wildcard."""
        seen: dict[str, str] = {}
        for name in [r.region for r in self.rules] + [h.region for h in self.handlers.values()]:
            key = regions.canonical_name(name) or name
            if name != WILDCARD and key not in seen:
                seen[key] = name
        return list(seen.values())

    def canonical_region(self, region: str | None) -> str:
        """The table's spelling of the most specific table region containing ``region``, else as given.

        济南 -> 济南市; 历下区 and 山东省济南市历下区 -> 济南市 (when the table has 济南市);
        empty -> ``UNKNOWN_REGION``.
        """
        cleaned = "".join((region or "").split())
        if not cleaned:
            return UNKNOWN_REGION
        containing = [n for n in self.regions() if regions.covers(n, cleaned)]
        if containing:
            return max(containing, key=lambda n: len(regions.chain_of(n)))
        return cleaned


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _region_score(rule_region: str, region: str | None) -> int | None:
    """How specifically ``rule_region`` contains ``region``: its depth in the complaint place's
    chain (1 = province, 2 = city, 3 = county; the same place outside the gazetteer also
    counts 1), 0 = wildcard; None = no match."""
    if rule_region == WILDCARD:
        return 0
    if not region or not regions.covers(rule_region, region):
        return None
    return max(len(regions.chain_of(rule_region)), 1)
