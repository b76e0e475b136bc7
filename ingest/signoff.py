"""The signed parts around an official text's articles: the 落款 after them, the 公布令 before.

After the last article an official text often carries lines that belong to no article: the
attachment list (``附件：1.…``), the issuing body (``甲市退役军人事务局``, ``国务院``), the
signing date (``2025年4月1日``), a signer (``总理 李强``), ``（此件公开发布）``, the CC list
(``抄送：…``) and the printing line (``…办公室 2025年4月2日印发``) — page numbers among them
are gone already (:mod:`ingest.furniture`) — and after them the attachments themselves.
:func:`split_tail` finds that block so that the last article ends where its text ends;
attachments with content become passages of their own.

The cut is conservative: it happens only at a run of such lines (each a whole line, never a
sentence) that starts after an article and reaches the end of the text or an attachment
heading (``附件1``). A last article whose own sentence names a date (本条例自2024年9月21日起施行。)
is never cut.

Before the title, an order (公布令) ``中华人民共和国国务院令 / 第N号 / 《…》已经…通过，现予公布，
自…起施行。/ 总理 某某 / 2024年9月13日`` is head metadata: :func:`is_order_line`,
:func:`is_signer_line` and :func:`promulgation` read it for :mod:`ingest.metadata`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from ingest.chunking import parse_article_label

__all__ = [
    "BARE_DATE_RE", "Attachment", "Tail", "clean_issuer", "is_order_line", "is_signature_line",
    "is_signer_line", "issuers_of_line", "order_facts", "promulgation", "split_tail",
]

_DATE = r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日"
_CN_DIGITS = "〇零一二两三四五六七八九十百千"
_SESSION_RE = re.compile(rf"第[{_CN_DIGITS}\d]+届")
_MEETING_RE = re.compile(rf"第[{_CN_DIGITS}\d]+次.*$")
# A date alone on a line: the 成文日期 under a notice's 文号, or the signing date of a 落款.
BARE_DATE_RE = re.compile(rf"^[（(]?\s*{_DATE}\s*[）)]?$")
# A line that is only an issuing body's name (扬州市退役军人事务局 under the title or in the 落款).
_ISSUER_LINE_RE = re.compile(
    r"^[\u4e00-\u9fff、]{2,40}(?:局|厅|部|委员会|办公室|办公厅|人民政府|人民代表大会常务委员会)$")
# Bodies whose bare name signs a text but has none of the endings above.
_BARE_BODIES = frozenset({"国务院", "中央军委", "中共中央", "中央军事委员会", "中华人民共和国国务院",
                          "全国人民代表大会", "最高人民法院", "最高人民检察院"})
# 总理 李强, 中华人民共和国主席 习近平, 局长：某某: an office and a name of two to four characters.
_SIGNER_RE = re.compile(
    r"^[\u4e00-\u9fff]{0,16}(?:总理|主席|委员长|主任|省长|市长|区长|县长|州长|局长|厅长|部长|书记)"
    r"\s*[：:]?\s+[\u4e00-\u9fff·]{2,5}$")
# 中华人民共和国国务院令, 浙江省人民政府令; and the number line under it: 第783号, 第九百零一号.
# A title ending in 令 (关于给…记功的命令, 嘉奖令 of 某部) is no order's name line.
_ORDER_NAME_RE = re.compile(r"^(?![^令]*(?:关于|的))(?!.*(?:命令|嘉奖令|通令)$)[\u4e00-\u9fff、]{2,40}令$")
_ORDER_NUMBER_RE = re.compile(rf"^(?:[\u4e00-\u9fff、]{{2,40}}令\s*)?第\s*[\d{_CN_DIGITS}]+\s*号$")
_CC_RE = re.compile(r"^(?:抄送|抄报|分送|报送|主题词)\s*[：:]")
_PRINTED_RE = re.compile(rf"^[\u4e00-\u9fff（）()、 ]{{0,40}}{_DATE}\s*(?:印发|印制|翻印)$")
_NOTE_RE = re.compile(r"^[（(]\s*(?:此件|本件|信息公开|公开方式)[^（）()]{0,20}[）)]$")
# The attachment list above the 落款 (附件：1.项目表) and its further items (2.申请表).
_ATTACHMENT_LIST_RE = re.compile(r"^附\s*[件表]\s*[：:]\s*\S")
_LIST_ITEM_RE = re.compile(r"^\d{1,2}\s*[.．、]\s*[^。；;，,]{1,60}$")
# An attachment's own heading: 附件, 附件1, 附件2：, 附件一 优待项目表 (a number before any title).
# The title is set off by a space or colon: 附件1所列场馆… is a sentence.
_ATTACHMENT_HEAD_RE = re.compile(
    rf"^附\s*[件表]\s*(?:(?P<n>[\d{_CN_DIGITS}]+)\s*(?:[：:]\s*|\s+)?(?:(?<=[\s：:])[^。；;，,：:|]{{1,60}})?|[：:]?)$")
# 《…》已经2024年8月30日国务院第41次常务会议通过，现予公布，自2024年10月1日起施行。
_PROMULGATION_RE = re.compile(r"^《[^》]{2,60}》已(?:经|由)(?P<by>.{0,80}?)通过[，,]\s*现予公布")
_EFFECTIVE_IN_ORDER_RE = re.compile(rf"自\s*{_DATE}\s*起\s*施行")


def _plain(line: str) -> str:
    return re.sub(r"^#+\s*", "", line.replace("\u3000", " ").strip()).strip()


def _iso(m: re.Match[str]) -> str:
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
    except ValueError:
        return ""


def clean_issuer(text: str) -> str:
    """"第十三届全国人民代表大会常务委员会第二十三次会议" → "全国人民代表大会常务委员会"."""
    text = re.split(r"《|（|\(", text, maxsplit=1)[0]
    text = re.sub(r"令\s*第\s*[\d〇零一二三四五六七八九十百千]+\s*号.*$", "", text)
    text = _SESSION_RE.sub("", text)
    text = _MEETING_RE.sub("", text)
    text = re.sub(r"(?:会议|审议)$", "", text.strip())
    # The state's name in front of each body adds nothing: 中华人民共和国国务院 → 国务院.
    text = re.sub(r"中华人民共和国(?=国务院|中央军事委员会)", "", text)
    return text.strip(" ，,；;、　")


def issuers_of_line(line: str) -> str:
    """The issuing bodies a line names, joined with 、 (``金华市退役军人事务局  金华市交通运输局``
    → ``金华市退役军人事务局、金华市交通运输局``); "" when the line is not only issuers."""
    parts = line.replace("\u3000", " ").split()
    return "、".join(parts) if parts and all(
        _ISSUER_LINE_RE.match(p) or p in _BARE_BODIES for p in parts) else ""


def is_signer_line(line: str) -> bool:
    """True for a signer line: ``总理 李强``, ``中华人民共和国主席　习近平``."""
    return bool(_SIGNER_RE.match(line.replace("\u3000", " ").strip()))


def is_order_line(line: str) -> bool:
    """True for the head lines of an order: ``中华人民共和国国务院令``, ``第783号``."""
    plain = re.sub(r"\s+", "", line)
    return bool(_ORDER_NAME_RE.match(plain) or _ORDER_NUMBER_RE.match(plain))


def promulgation(line: str) -> dict[str, str]:
    """What an order's 公布 sentence says: ``date_adopted`` (``date_amended`` for a 修订/修正)
    and ``date_effective`` (ISO dates), and ``by``: the words naming who passed it (``国务院第41次
    常务会议``, dates left out); {} when ``line`` is no such sentence."""
    found = _PROMULGATION_RE.match(line.strip())
    if not found:
        return {}
    by = re.sub(rf"{_DATE}|于|修订|修正|修改", "", found.group("by"))
    out: dict[str, str] = {"by": by.strip(" ，,")}
    passed = re.search(rf"{_DATE}[^，,。]{{0,40}}?通过", line)
    if passed:
        key = "date_amended" if re.search(r"修订|修正|修改", passed.group(0)) else "date_adopted"
        out[key] = _iso(passed)
    effective = _EFFECTIVE_IN_ORDER_RE.search(line)
    if effective:
        out["date_effective"] = _iso(effective)
    return {k: v for k, v in out.items() if v}


def order_facts(lines: list[str]) -> dict[str, str]:
    """What the lines of an order (公布令) before a title say: ``doc_number`` (``中华人民共和国
    国务院令`` / ``第783号`` → ``国务院令第783号``, ``主席令第三十一号``), ``issuer`` (the body that
    passed the text, else the one whose order it is; never the 主席 who signs a law), and the
    dates of :func:`promulgation`. Keys are left out when unknown."""
    out: dict[str, str] = {}
    name = ""
    for line in lines:
        plain = re.sub(r"\s+", "", line)
        if plain.endswith("令") and is_order_line(plain):
            name = clean_issuer(plain).removeprefix("中华人民共和国")  # 主席令, as people cite it
            if not name.endswith("主席令"):
                out.setdefault("issuer", name.removesuffix("令"))
        elif is_order_line(plain):
            own, _, number = (plain if "令" in plain else name + plain).rpartition("令")
            if own:
                out.setdefault("doc_number", f"{clean_issuer(own + '令')}{number}")
        facts = promulgation(line)
        by = clean_issuer(facts.pop("by", ""))
        if by:
            out["issuer"] = by.removeprefix("中华人民共和国")
        for key, value in facts.items():
            out.setdefault(key, value)
    return out


def is_signature_line(line: str) -> bool:
    """True for a line of a 落款 block (see the module docstring): an issuer alone, a date
    alone, a signer, an order number, the attachment list, 此件… notes, CC and printing lines."""
    plain = _plain(line)
    return bool(plain) and bool(
        issuers_of_line(plain) or BARE_DATE_RE.match(plain) or is_signer_line(plain)
        or is_order_line(plain) or _CC_RE.match(plain) or _PRINTED_RE.match(plain)
        or _NOTE_RE.match(plain) or _ATTACHMENT_LIST_RE.match(plain))


def _attachment_heading(line: str) -> bool:
    return bool(_ATTACHMENT_HEAD_RE.match(_plain(line)))


@dataclass
class Attachment:
    """One attachment after the 落款: ``heading`` (``附件1 优待项目表``) and its content lines."""

    heading: str
    lines: list[str]


@dataclass
class Tail:
    """A text cut at its 落款: ``body`` ends with the last article; ``signature`` holds the
    落款 lines left out; ``issuer`` (joint issuers joined with 、) and ``date_signed`` (ISO)
    are what it names, "" when it names none."""

    body: str
    signature: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    issuer: str = ""
    date_signed: str = ""


def _is_article(line: str) -> bool:
    return parse_article_label(_plain(line), require_separator=False) is not None


def _run(lines: list[str], start: int) -> tuple[int, int, bool]:
    """(end, last attachment heading or -1, whether a 落款 line is among them) of the run from
    ``start`` of blank, 落款 and attachment-heading lines and attachment-list items (page numbers
    are gone already: :mod:`ingest.furniture`)."""
    j, listing, heading, signed = start, False, -1, False
    while j < len(lines):
        plain = _plain(lines[j])
        if not plain:
            j += 1
            continue
        if _attachment_heading(plain):
            heading, listing = j, False
        elif is_signature_line(plain):
            listing, signed = bool(_ATTACHMENT_LIST_RE.match(plain)), True
        elif not (listing and _LIST_ITEM_RE.match(plain)):
            break
        j += 1
    return j, heading, signed


def _cut(lines: list[str]) -> tuple[int, int] | None:
    """(start of the 落款, start of the attachments) for a run of 落款 lines after an article
    that reaches the end of the text or an attachment heading followed by its content."""
    seen_article = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if _is_article(line):
            seen_article = True
        elif seen_article and (is_signature_line(line) or _attachment_heading(line)):
            end, heading, signed = _run(lines, i)
            if end == len(lines):
                return i, end
            # A table caption (附表1) between articles is no attachment: without a 落款 before
            # it, an attachment heading ends the articles only when no article follows.
            if heading >= 0 and (signed or not any(_is_article(ln) for ln in lines[end:])):
                return i, heading
            i = end
            continue
        i += 1
    return None


def _attachments(lines: list[str]) -> list[Attachment]:
    blocks: list[list[str]] = []
    for line in lines:
        if _attachment_heading(line):
            blocks.append([_plain(line)])
        elif line.strip() and blocks:
            blocks[-1].append(line.strip())
    out = []
    for block in blocks:
        heading, content = block[0], block[1:]
        # 附件1 / 优待项目表: a short line without sentence marks under the number is its title.
        if content and len(content[0]) <= 40 and not re.search(r"[。；;，,|]", content[0]) \
                and not _is_article(content[0]) and not is_signature_line(content[0]):
            heading = f"{heading} {content.pop(0)}"
        # A CC or printing line after the last attachment still belongs to the 落款.
        while content and is_signature_line(content[-1]):
            content.pop()
        if content:
            out.append(Attachment(re.sub(r"\s+", " ", heading), content))
    return out


def split_tail(text: str) -> Tail:
    """Cut ``text`` at the 落款 block after its articles (see the module docstring).

    Returns the whole text as ``body`` when no such block is found (texts without articles,
    a last article that ends in a sentence).
    """
    lines = text.splitlines()
    found = _cut(lines)
    if found is None:
        return Tail(body=text)
    start, end = found
    signature = [_plain(ln) for ln in lines[start:end] if _plain(ln)]
    issuers = [issuers_of_line(ln) for ln in signature if issuers_of_line(ln)]
    dates = [m for ln in signature if (m := BARE_DATE_RE.match(ln))]
    return Tail(body="\n".join(lines[:start]).rstrip(), signature=signature,
                attachments=_attachments(lines[end:]), issuer="、".join(issuers),
                date_signed=_iso(dates[0]) if dates else "")
