"""Document metadata read from the document itself: title, issuer, 发文字号, dates, region.

Markdown YAML front matter (docs/ARCHITECTURE.md) wins where present; everything else comes
from the document's head (the lines before its first 章/条) and its last article:

- title: the first ``#`` heading, else the first head line that is not furniture (reading-time
  badges, "下面是小编为大家整理的…", share bars, 红头 "…文件" lines, 发文字号, date lines);
- date lines such as ``2020年11月11日 第十三届全国人民代表大会常务委员会第二十三次会议通过`` or
  ``（2015年3月27日…通过　根据2020年9月24日…修正）`` give ``date_adopted``, ``date_issued``
  (publication beats adoption beats approval), ``date_amended`` (the latest 修正/修订, which
  dates the version), ``issuer`` and ``doc_number`` (令第N号);
- ``issuer`` also from the line(s) under the title naming only issuing bodies (joint issuers,
  spaced apart on one line or one per line, joined with 、);
- ``date_effective`` from a ``… 施行`` head line, else the last ``本条例/本通知/本办法…自…起施行``
  in any article or closing line (``自印发之日起施行`` → the version date), else the first
  sentence opening ``自<date>起`` (a notice's measure); ``repeals``: titles the text repeals (《…》同时废止);
- region (:mod:`vetbot.regions`): the most specific division named in the title, else the
  issuer, else the 发文字号 (full name or one-character province abbreviation), else — for a
  text that speaks of 本市/全区/我区 — the place its body names most; never the phrases
  themselves. ``region`` is the division's name, ``region_path`` its chain (``上海市/黄浦区``),
  ``region_code`` its six-digit adcode; national documents have region 全国 and empty path.

All values are strings (dates ISO ``YYYY-MM-DD``); empty values are left out of the result of
:func:`finalize_metadata` except for the keys in :data:`METADATA_KEYS`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from typing import Any

from ingest.furniture import is_furniture_line
from ingest.signoff import (
    BARE_DATE_RE,
    clean_issuer,
    is_order_line,
    is_signer_line,
    issuers_of_line,
    order_facts,
    promulgation,
    split_tail,
)
from knowledge.topic_detection import detect_topics
from knowledge.types import NATIONAL, TOPICS
from vetbot import regions
from vetbot.docnumbers import DOC_NUMBER_LINE_RE
from vetbot.errors import IngestError
from vetbot.textnorm import fold, normalize

# Keys always present in a loaded document's metadata ("" when unknown).
METADATA_KEYS = (
    "title",
    "issuer",
    "doc_number",
    "date_issued",
    "date_effective",
    "region",
    "scope",
    "topics",
    "source_url",
)
# Keys present only when the document states them.
EXTRA_KEYS = (
    "date_adopted",
    "date_amended",
    "date_version",
    "region_path",
    "region_code",
    "repeals",
)

_DATE = r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日"
_DATE_RE = re.compile(_DATE)
_EVENT_VERBS = "通过|公布|发布|印发|批准|修正|修订|施行"
_DATE_LINE_RE = re.compile(rf"^[（(]?\s*{_DATE}")
_EVENT_END_RE = re.compile(rf"(?:{_EVENT_VERBS})\s*[）)]?[\s　]*$")
# "本条例自2024年1月1日起施行" (试行 for trial rules), "本通知从…起正式实施"; 本 + a short
# document word (条例, 通知, 办法, 意见, 规定, 实施细则 ...), in any article or a closing line.
_IN_FORCE = r"(?:正式|开始)?(?:施行|试行|执行|实施|生效)"
_EFFECTIVE_RE = re.compile(rf"本[\u4e00-\u9fff]{{1,6}}?(?:自|从|于)\s*{_DATE}\s*起?\s*{_IN_FORCE}")
_EFFECTIVE_ON_ISSUE_RE = re.compile(
    rf"本[\u4e00-\u9fff]{{1,6}}?(?:自|从)(?:公布|发布|印发|颁布|下发|签发)之日起{_IN_FORCE}")
# A notice that only says when its measure starts: "第一条 自2025年4月1日起，在金华市常住的…".
_STARTS_ON_RE = re.compile(
    rf"(?:^|[。；;！!])[ \t　]*(?:第[〇零一二两三四五六七八九十百千0-9]+条[ \t　]*)?自\s*{_DATE}\s*起", re.M)
# 《甲》（金退役军人发〔2025〕12号）同时废止; 《甲》和《乙》同时废止: every title of the run before 废止.
_REPEALS_RE = re.compile(
    r"((?:《[^》]{2,60}》\s*(?:[（(][^）)《》。；]{1,40}[）)])?\s*[、，,和及与]?\s*)+)(?:同时|即行|予以|一并)?废止"
)
_TITLE_RE = re.compile(r"《([^》]{2,60})》")
_ORDER_RE = re.compile(r"([\u4e00-\u9fff、]{2,40}?令)\s*(第\s*[\d〇零一二三四五六七八九十百千]+\s*号)")
_HEAD_STOP_RE = re.compile(r"^(?:#+\s*)?第[〇零一二两三四五六七八九十百千0-9０-９]+[编章节条編節條]")
_RED_HEAD_RE = re.compile(r"^([\u4e00-\u9fff、]{2,40}?)(?:文件|公报)$")
# The details table of a government web page: 发文机关：… 发文字号：… 成文日期：…
_LABELS = {"发文机关": "issuer", "发布机关": "issuer", "发文单位": "issuer", "发文字号": "doc_number",
           "文号": "doc_number", "成文日期": "date_issued", "发布日期": "date_issued",
           "印发日期": "date_issued"}
_LABEL_RE = re.compile(rf"({'|'.join(_LABELS)})\s*[：:]\s*([^\s　]+)")
_ISO_DATE_RE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
# The 主送机关 line of a notice (各县（市、区）退役军人事务局、交通运输局：): whom it is sent to.
_ADDRESSEE_RE = re.compile(
    r"^[\u4e00-\u9fff、，,（）()]{2,80}(?:局|厅|部|委|办|政府|单位|部门|机关|委员会|办公室)[：:]$")
_FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\r?\n(.*?\r?\n)---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
# Words of a text that speaks of its own place without naming it (在全市, 我区 ...).
_SELF_PLACE_RE = re.compile(r"(?:本|全|我)(?:省|市|区|县|州|盟)")
_NATIONAL_ISSUER_RE = re.compile(
    r"^(?:中共中央|中央|国务院|全国人民代表大会|最高人民|中国人民解放军|中华人民共和国)")
# Unknown (or made-up) place at the very start of a title or issuer: 甲市…, 某某县….
_UNKNOWN_PLACE_RE = re.compile(r"^([\u4e00-\u9fff]{1,4}?(?:省|市|自治州|地区|盟|区|县))")
_NOT_PLACE_PREFIX = ("城市", "都市", "本市", "全市", "各市", "我市", "本区", "全区", "我区", "各区",
                     "地区", "社区", "园区", "景区", "小区", "市区", "城区", "郊区", "军区", "全县", "本县")


def _iso(year: str, month: str, day: str) -> str:
    try:
        return dt.date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return ""


def scope_of(region: str) -> str:
    """"national" for 全国, else "local"."""
    return "national" if region in ("", NATIONAL) else "local"


def region_from_title(title: str) -> str:
    """The place a document's title names (浙江省, 杭州市, 黄浦区 ...), or 全国."""
    place = regions.most_specific(title)
    if place is not None:
        return place.name
    unknown = _unknown_place(title)
    return unknown or NATIONAL


def _unknown_place(text: str) -> str:
    if text.startswith(("中华", "中国", "中央", "中共")) or text.startswith(_NOT_PLACE_PREFIX):
        return ""
    m = _UNKNOWN_PLACE_RE.match(text)
    if not m:
        return ""
    name = m.group(1)
    # 在全市 / 关于本区 / 对各县 are phrases, not places.
    if (name[0] in "在于对为从关据按" or _SELF_PLACE_RE.search(name)
            or re.search(r"[各该此城都社园景小郊军辖]\w$", name)):
        return ""
    return name


def _events(line: str) -> list[tuple[str, str, str]]:
    """(verb, ISO date, text between date and verb) for each dated event of a head line."""
    line = line.strip().strip("（()）").strip()
    out = []
    starts = [m for m in _DATE_RE.finditer(line)]
    for i, m in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(line)
        rest = line[m.end():end]
        rest = re.sub(r"[\s　]*(?:根据|；|;)?[\s　]*$", "", rest)
        verbs = re.findall(_EVENT_VERBS, rest)
        if not verbs:
            continue
        verb = verbs[-1]
        body = rest[: rest.rfind(verb)]
        out.append((verb, _iso(*m.group(1, 2, 3)), body.strip()))
    return out


def is_date_line(line: str) -> bool:
    """True for an official head line such as ``2021年8月1日 施行`` or ``（…通过）``."""
    stripped = line.strip()
    return (bool(_DATE_LINE_RE.match(stripped)) and bool(_EVENT_END_RE.search(stripped))
            and len(stripped) <= 240)


def _head_lines(text: str) -> list[str]:
    lines = [ln.strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("<!--")]
    head: list[str] = []
    for line in lines[:30]:
        if _HEAD_STOP_RE.match(line):
            break
        head.append(line)
    return head


def _labelled(line: str) -> dict[str, str]:
    """The details a 发文机关：… / 发文字号：… / 成文日期：… line gives (ISO dates)."""
    out: dict[str, str] = {}
    for m in _LABEL_RE.finditer(line):
        key, value = _LABELS[m.group(1)], m.group(2)
        if key == "date_issued":
            date = _DATE_RE.search(value) or _ISO_DATE_RE.match(value)
            value = _iso(*date.group(1, 2, 3)) if date else ""
        if value:
            out.setdefault(key, value)
    return out


def _title_candidate(line: str) -> bool:
    return not (is_furniture_line(line) or is_date_line(line) or DOC_NUMBER_LINE_RE.match(line)
                or _LABEL_RE.match(line) or BARE_DATE_RE.match(line) or is_order_line(line)
                or is_signer_line(line)
                or _RED_HEAD_RE.match(line) or len(line) > 60 or line[-1] in "。，；,;：:")


def metadata_from_head(text: str) -> dict[str, str]:
    """Derive title, issuer, 发文字号 and dates from a document's head and last article."""
    meta: dict[str, str] = {}
    head = _head_lines(text)
    for line in head:
        m = re.match(r"^#\s+(.+)$", line)
        if m:
            meta["title"] = m.group(1).strip()
            break
    if "title" not in meta:
        bare = [re.sub(r"^#+\s*", "", ln).strip() for ln in head]
        candidates = [ln for ln in bare if ln and _title_candidate(ln)]
        if candidates:
            meta["title"] = candidates[0]
        elif bare:
            meta["title"] = bare[0][:80]
    issued_rank = -1
    amended = ""
    previous_issuer = False
    order_lines: list[str] = []
    for line in head:
        plain = re.sub(r"^#+\s*", "", line)
        labelled = _labelled(plain)
        if labelled:
            for key, value in labelled.items():
                meta.setdefault(key, value)
            continue
        if is_order_line(plain) or is_signer_line(plain) or promulgation(plain):
            order_lines.append(plain)
            continue
        issuers = issuers_of_line(plain)
        # Joint issuers: one line spaced apart, or one line each.
        if issuers and plain != meta.get("title") and (not meta.get("issuer_head") or previous_issuer):
            meta["issuer_head"] = "、".join(filter(None, (meta.get("issuer_head"), issuers)))
            previous_issuer = True
            continue
        previous_issuer = False
        if DOC_NUMBER_LINE_RE.match(plain):
            meta.setdefault("doc_number", re.sub(r"\s+", "", plain))
            continue
        red = _RED_HEAD_RE.match(plain)
        if red and not meta.get("issuer") and len(plain) <= 30:
            meta["issuer_head"] = red.group(1)
            continue
        bare_date = BARE_DATE_RE.match(plain)
        if bare_date:
            if issued_rank < 0:  # any dated event (公布, 通过…) says more than a bare date
                issued_rank = 0
                meta["date_issued"] = _iso(*bare_date.group(1, 2, 3))
            continue
        if not is_date_line(plain):
            continue
        for verb, date, body in _events(plain):
            if not date:
                continue
            order = _ORDER_RE.search(body)
            if order:
                meta["doc_number"] = clean_issuer(order.group(1)) + order.group(2).replace(" ", "")
            if verb == "施行":
                meta.setdefault("date_effective", date)
                continue
            if verb in ("修正", "修订"):
                amended = max(amended, date)
                continue
            if verb == "通过" or (verb in ("公布", "发布", "印发") and "date_adopted" not in meta):
                meta.setdefault("date_adopted", date)
            # Publication beats adoption, which beats approval: the date people cite.
            rank = 3 if verb in ("公布", "发布", "印发") else 2 if verb == "通过" else 1
            if rank > issued_rank:
                issued_rank = rank
                meta["date_issued"] = date
                issuer = clean_issuer(body)
                if issuer:
                    meta["issuer"] = issuer
    ordered = order_facts(order_lines)
    for key in ("doc_number", "date_adopted", "date_effective"):
        if ordered.get(key):
            meta.setdefault(key, ordered[key])
    amended = max(amended, ordered.get("date_amended", ""))
    head_issuer = meta.pop("issuer_head", "") or ordered.get("issuer", "")
    # The 落款 after the last article signs a text whose head names neither issuer nor date.
    tail = split_tail(text)
    if not meta.get("issuer"):
        meta["issuer"] = head_issuer or tail.issuer
    if not meta.get("date_issued") and tail.date_signed:
        meta["date_issued"] = tail.date_signed
    if amended:
        meta["date_amended"] = amended
    version = amended or meta.get("date_issued", "")
    if version:
        meta["date_version"] = version
    if "date_effective" not in meta:
        meta["date_effective"] = _effective_in_body(normalize(text), version)
    # Attachments after the 落款 may push the last article's 《…》同时废止 out of the text's end.
    ending = tail.body[-3000:] + "\n" + text[-3000:]
    repealed = [t for m in _REPEALS_RE.finditer(ending) for t in _TITLE_RE.findall(m.group(1))]
    if repealed:
        meta["repeals"] = "|".join(dict.fromkeys(repealed))
    return {k: v for k, v in meta.items() if v}


def _effective_in_body(text: str, version: str) -> str:
    """The in-force date a (normalised) body states: the last ``本…自<date>起施行``, else
    ``本…自印发之日起施行`` → ``version``, else the first sentence opening ``自<date>起``; or ""."""
    found = list(_EFFECTIVE_RE.finditer(text))
    if found:
        return _iso(*found[-1].group(1, 2, 3))
    if version and _EFFECTIVE_ON_ISSUE_RE.search(text):
        return version
    starts = _STARTS_ON_RE.search(text)
    return _iso(*starts.group(1, 2, 3)) if starts else ""


def is_head_metadata_line(line: str, title: str = "") -> bool:
    """True for a head line that :func:`metadata_from_head` reads as metadata: the title, the
    issuing body (or joint issuers), a 红头 (…文件), a 发文字号, a labelled detail (发文机关：…), a
    date line (题注 ``（…公布）``, ``2021年8月1日 施行``), a bare date, or the 主送机关 line, which
    says to whom the notice is sent, not what it rules."""
    plain = line.strip().replace("\u3000", " ").strip()
    if not plain:
        return False
    return bool(
        plain == title or _LABEL_RE.match(plain) or issuers_of_line(plain)
        or DOC_NUMBER_LINE_RE.match(plain) or (_RED_HEAD_RE.match(plain) and len(plain) <= 30)
        or BARE_DATE_RE.match(plain) or is_date_line(plain) or _ADDRESSEE_RE.match(plain)
        or is_order_line(plain) or is_signer_line(plain) or promulgation(plain)
    )


def head_metadata_lines(text: str, title: str = "") -> set[str]:
    """The lines of ``text``'s head (before its first 章/条) that are metadata
    (:func:`is_head_metadata_line`), as written and with ideographic spaces made plain: the
    chunker leaves them out while they precede the body, so they never become a passage."""
    out: set[str] = set()
    for line in _head_lines(text):
        if is_head_metadata_line(line, title):
            out.update({line, line.replace("\u3000", " ").strip()})
    return out


def region_metadata(title: str, issuer: str, doc_number: str,
                    text: str) -> tuple[dict[str, str], list[str]]:
    """(``region``/``region_path``/``region_code``, warnings) from title, issuer, 发文字号, body."""
    warnings: list[str] = []
    # The gazetteer is in simplified characters: 長沙市 is 长沙市.
    title, issuer, doc_number = fold(title), fold(issuer), fold(doc_number)
    place = regions.most_specific(title)
    if place is None and issuer and not _NATIONAL_ISSUER_RE.match(issuer):
        place = regions.most_specific(issuer)
    if place is None and doc_number:
        place = regions.most_specific(doc_number)
        if place is None:
            province = regions.province_from_abbreviation(doc_number)
            place = regions.lookup(province) if province and not _NATIONAL_ISSUER_RE.match(issuer) else None
    if place is None:
        unknown = _unknown_place(title) or _unknown_place(issuer)
        if unknown:
            warnings.append(f"地区“{unknown}”不在行政区划表中，已按标题记录")
            return {"region": unknown}, warnings
    if place is None and not _NATIONAL_ISSUER_RE.match(issuer) and _SELF_PLACE_RE.search(text[:5000]):
        place = _dominant_place(fold(text[:5000]))
        if place is not None:
            warnings.append(f"标题和发文机关未写地区，按正文判断为“{place.name}”，请核对")
    if place is None:
        return {"region": NATIONAL}, warnings
    return {"region": place.name, "region_path": regions.path_of(place), "region_code": place.code}, warnings


def _dominant_place(text: str) -> regions.Place | None:
    found = regions.find_places(text)
    if not found:
        return None
    counts = Counter(p.code for p in found)
    code, _ = counts.most_common(1)[0]
    best = next(p for p in found if p.code == code)
    # Prefer a more specific place inside the most named one (上海市 … 黄浦区 → 黄浦区).
    inner = [p for p in found if best.code in p.parent_codes]
    if inner:
        code = Counter(p.code for p in inner).most_common(1)[0][0]
        best = next(p for p in inner if p.code == code)
    return best


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()[:10]
    return str(value).strip()


MAX_META_CHARS = 500  # one metadata value (a title, a document number)


def parse_front_matter(text: str, name: str = "") -> tuple[dict[str, Any], str, list[str]]:
    """Split YAML front matter off a Markdown text: (metadata, body, warnings).

    Raises IngestError (Chinese ``user_message``) for malformed front matter.
    """
    m = _FRONT_MATTER_RE.match(text)
    if not m:
        return {}, text, []
    import yaml

    try:
        # Aliases are refused before anything is built: nested aliases ("billion laughs")
        # expand a few hundred bytes into gigabytes.
        if any(isinstance(e, yaml.AliasEvent) for e in yaml.parse(m.group(1), Loader=yaml.SafeLoader)):
            raise IngestError(f"YAML alias in front matter of {name}",
                              user_message="文件开头的 YAML 元数据（front matter）不能使用引用（别名）")
        data = yaml.safe_load(m.group(1)) or {}
    except yaml.YAMLError as exc:
        raise IngestError(f"bad front matter in {name}: {exc}",
                          user_message="文件开头的 YAML 元数据（front matter）格式错误") from exc
    if not isinstance(data, dict):
        raise IngestError(f"front matter of {name} is not a mapping",
                          user_message="文件开头的 YAML 元数据（front matter）不是键值格式")
    warnings: list[str] = []
    meta: dict[str, Any] = {}
    for key in METADATA_KEYS + EXTRA_KEYS:
        if key in data:
            value = data[key]
            if key != "topics" and (isinstance(value, (dict, list, set)) or len(str(value)) > MAX_META_CHARS):
                raise IngestError(f"front matter {key} of {name} is not a short scalar",
                                  user_message=f"元数据 {key} 必须是不超过 {MAX_META_CHARS} 字的单个值")
            meta[key] = value
    topics = data.get("topics") or []
    if isinstance(topics, str):
        topics = [t for t in re.split(r"[\s,，|]+", topics) if t]
    if not isinstance(topics, list):
        topics = []
    known = [str(t) for t in topics if str(t) in TOPICS]
    unknown = [str(t) for t in topics if str(t) not in TOPICS]
    if unknown:
        warnings.append(f"未知的主题代码已忽略：{', '.join(unknown)}")
    meta["topics"] = known
    return meta, text[m.end():], warnings


def finalize_metadata(front: dict[str, Any], text: str, fallback_title: str,
                      warnings: list[str] | None = None) -> dict[str, str]:
    """Merge front matter with what the text says; fill region, scope, topics and extras.

    Keys of :data:`METADATA_KEYS` are always present; :data:`EXTRA_KEYS` only when known.
    Region warnings are appended to ``warnings`` when given.
    """
    derived = metadata_from_head(text)
    meta: dict[str, str] = {}
    for key in METADATA_KEYS + EXTRA_KEYS:
        if key in ("topics", "scope"):
            continue
        value = _scalar(front.get(key)) or derived.get(key, "")
        if value or key in METADATA_KEYS:
            meta[key] = value
    meta["title"] = meta["title"] or fallback_title
    if not meta["region"]:
        found, region_warnings = region_metadata(meta["title"], meta["issuer"], meta["doc_number"], text)
        meta.update({k: v for k, v in found.items() if k not in meta or not meta[k]})
        if warnings is not None:
            warnings.extend(region_warnings)
    elif meta["region"] != NATIONAL and "region_path" not in meta:
        place = regions.lookup(meta["region"])
        if place is not None:
            meta["region_path"] = regions.path_of(place)
            meta["region_code"] = place.code
    meta["scope"] = _scalar(front.get("scope")) or scope_of(meta["region"])
    if meta["scope"] not in ("national", "local"):
        meta["scope"] = scope_of(meta["region"])
    # A text with no topics of its own (an uploaded notice) gets those its words say, so that it
    # passes the staff search's topic filter.
    topics = front.get("topics") or detect_topics(meta["title"], text)
    meta["topics"] = f"|{'|'.join(topics)}|" if topics else ""
    return meta
