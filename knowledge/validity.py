"""Validity questions: 信访条例还有效吗, XX办法废止了吗, 现在用的是哪个版本, XX条例是不是新的.

Such a question is about a document, not about a rule in it: it is answered from the knowledge
base's version metadata (:mod:`knowledge.versions`), naming the document, its status
(现行有效 / 已被《…》取代（date）/ 已废止 / 尚未施行（date）) and, when it was replaced, the
text in force; the documents themselves are cited (《title》, no article).

The document is recognised by its title or a common short name: 中华人民共和国 and bracketed
versions dropped (:func:`knowledge.versions.normalise_title`), then the end of a title
(抚恤优待条例 → 军人抚恤优待条例), then a near spelling of a long title (rapidfuzz ``ratio`` ≥
``FUZZY_CUTOFF``, 0..100). A short name is never matched to a longer title in its middle:
信访条例 (2005) is not 信访工作条例 (2022). A validity question naming a document the knowledge
base lacks gets the usual refusal (``ValidityReply.refuse``): any rule text would be an unrelated
answer. A question when a text took effect (什么时候施行) is answered here only when the text is
not in force; otherwise the text's own article saying so is the better answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from knowledge.curated import is_curated
from knowledge.pending import chinese_date
from knowledge.records import DocumentRecord
from knowledge.retrieval.retriever import passage_from_chunk
from knowledge.text import normalize
from knowledge.types import Passage
from knowledge.versions import VersionIndex, normalise_title

FUZZY_CUTOFF = 90
# Titles shorter than this are matched exactly only (信访条例 vs 信访工作条例).
FUZZY_MIN_CHARS = 6
# A name shorter than this is never looked up (兵役法 and 国防法 are three characters long).
MIN_NAME_CHARS = 3
# A name matched as the end of a longer title: 抚恤优待条例 → 军人抚恤优待条例.
MIN_ENDING_CHARS = 4
MAX_DOCUMENTS = 3

# Asking whether a text is (still) valid, repealed or the current version.
_STATUS_CUE = re.compile(
    r"(还|是否|是不是|仍然?|现在|目前|如今)(还)?(有效|管用|适用|作数|算数|能用)"
    r"|(有效|管用|作数|算数)(吗|么|嘛|没有?|不)"
    r"|(废止|作废|失效|废除|停止执行|被取代|被替代)了?(吗|么|嘛|没有?|没)"
    r"|是不是(已经|被)?(废止|作废|失效|废除|取代|新的|最新)"
    r"|(哪个|哪一个|哪一|什么)版本?|最新(版本?|的)?(吗|么|是)|是新的(吗|么)|新版(吗|么)"
)
_DATE_CUE = re.compile(r"(什么时候|何时|哪天|哪一天|哪年|几号)(开始)?(施行|实施|生效|执行)")
_DOC_TYPE = re.compile(r"条例|办法|规定|通知|意见|细则|决定|规则|章程|规程|标准|纲要|方案|法")
_QUOTED = re.compile(r"《([^》]{2,60})》")
# Between the name and the cue only these may stand (信访条例现在还有效吗, …是不是已经废止了).
_BETWEEN = re.compile(r"(现在|目前|如今|已经|到底|究竟|是否|是不是|还|被|的|呢|吗|用|使用|执行|是|能)*$")
# A version named by its year: 国防教育法2018年版, 2017年的文职人员条例.
_YEAR_TAG = re.compile(r"([12][0-9]{3})年?(?:版|的|修订版?|修正版?)?$")
_YEAR_HEAD = re.compile(r"^([12][0-9]{3})年?的?")
# A name never spans a clause: 老兵…犯了法，他的待遇… names no document.
_CLAUSE = re.compile(r"[，。？！、；,.?!;：:\s]")


@dataclass(frozen=True)
class ValidityReply:
    """The answer to a validity question (``text``, ``sources``: the documents, in force first),
    or ``refuse`` when the document named is not in the knowledge base."""

    text: str = ""
    sources: list[Passage] = field(default_factory=list)
    refuse: bool = False


def validity_reply(
    question: str, documents: Mapping[str, DocumentRecord], versions: VersionIndex, follow_up: str
) -> ValidityReply | None:
    """The reply to ``question`` when it asks about a document's validity, else None.

    ``follow_up`` ends the text (the answers' usual pointer). Raises nothing.
    """
    text = normalize(question)
    status_cue = _STATUS_CUE.search(text)
    date_cue = _DATE_CUE.search(text)
    cue = status_cue or date_cue
    if cue is None:
        return None
    names, year = _names(text, cue.start())
    if not names:
        return None  # no document named: 优待证还有效吗 asks about a card
    docs = {d: r for d, r in documents.items() if r.chunks and not is_curated(r.metadata)}
    found = _match(names, docs)
    if not found:
        return ValidityReply(refuse=True)
    if year and (of_year := [d for d in found if _date(docs[d]).startswith(year)]):
        # The asked version first; the others (the one in force) follow.
        found = of_year + [d for d in found if d not in of_year]
    if status_cue is None and any(versions.status(d).in_force for d in found):
        return None  # when a text in force took effect: its own article says so
    if not year:
        found.sort(key=lambda d: (not versions.status(d).in_force, -_ordinal(docs[d]), d))
    lines = [_line(docs[d], versions) for d in found[:MAX_DOCUMENTS]]
    cited = list(found[:MAX_DOCUMENTS])
    for doc_id in found[:MAX_DOCUMENTS]:
        successor = versions.in_force_successor(doc_id)
        if successor and successor not in cited and successor in docs:
            lines.append(f"现行有效的是{_describe(docs[successor])}。")
            cited.append(successor)
    text = "\n".join([*dict.fromkeys(lines), follow_up])
    return ValidityReply(text, [_cite(docs[d], versions) for d in cited])


def _names(text: str, cue_at: int) -> tuple[list[str], str]:
    """Candidate document names before the cue, longest first: 《…》, else every stretch ending
    with a document type word (条例, 办法, 法…); and the year of the version asked about
    ("" when none: 国防教育法2018年版 → 2018)."""
    head = text[:cue_at]
    quoted = _QUOTED.findall(head) or _QUOTED.findall(text)
    if quoted:
        return [quoted[-1]], ""
    head = _CLAUSE.split(head)[-1]
    head = _BETWEEN.sub("", head, count=1)
    year = ""
    if tag := _YEAR_TAG.search(head):
        year, head = tag.group(1), _BETWEEN.sub("", head[: tag.start()], count=1)
    elif lead := _YEAR_HEAD.match(head):
        year, head = lead.group(1), head[lead.end():]
    match = _DOC_TYPE.search(head, max(0, len(head) - 2))
    if match is None or match.end() != len(head):
        return [], ""  # the cue does not follow a document's name
    return [head[start:] for start in range(0, len(head) - MIN_NAME_CHARS + 1)], year


def _match(names: list[str], docs: Mapping[str, DocumentRecord]) -> list[str]:
    """Doc ids whose title the first matching name names (exactly, as a title's end, or nearly)."""
    by_key: dict[str, list[str]] = {}
    for doc_id, doc in docs.items():
        key = normalise_title(str(doc.metadata.get("title", "")))
        if key:
            by_key.setdefault(key, []).append(doc_id)
    for name in names:
        key = normalise_title(name)
        if len(key) < MIN_NAME_CHARS:
            continue
        if key in by_key:
            return list(by_key[key])
        ending = [k for k in by_key if k.endswith(key)] if len(key) >= MIN_ENDING_CHARS else []
        if len(ending) == 1:
            return list(by_key[ending[0]])
        if len(key) >= FUZZY_MIN_CHARS:
            near = process.extractOne(key, list(by_key), scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
            if near is not None:
                return list(by_key[near[0]])
    return []


def _date(doc: DocumentRecord) -> str:
    meta = doc.metadata
    return str(meta.get("date_version") or meta.get("date_amended") or meta.get("date_issued") or "")


def _ordinal(doc: DocumentRecord) -> int:
    """The version date as a number, newest largest (0 when undated)."""
    digits = _date(doc).replace("-", "")
    return int(digits) if digits.isdigit() else 0


def _describe(doc: DocumentRecord) -> str:
    """《title》（文号，2022年2月25日公布（or 修改），2022年5月1日起施行）."""
    meta = doc.metadata
    parts = [str(meta.get("doc_number") or "")]
    if _date(doc):
        parts.append(chinese_date(_date(doc)) + ("修改" if meta.get("date_amended") else "公布"))
    if meta.get("date_effective"):
        parts.append(f"{chinese_date(str(meta['date_effective']))}起施行")
    details = "，".join(p for p in parts if p)
    return f"《{str(meta.get('title', '')).strip()}》" + (f"（{details}）" if details else "")


def _line(doc: DocumentRecord, versions: VersionIndex) -> str:
    st = versions.status(doc.doc_id)
    if st.in_force:
        line = f"{_describe(doc)}：现行有效。"
        upcoming = versions.upcoming(doc.doc_id)
        if upcoming is not None:
            will = upcoming[1]
            verb = "废止" if will.status == "已废止" else "取代"
            when = chinese_date(will.status_date)
            line += f"另：将于{when}被《{will.superseded_by}》{verb}（该文件尚未施行）。"
        return line
    if st.status == "尚未施行":
        return f"{_describe(doc)}：尚未施行，将于{chinese_date(st.status_date)}起施行，目前不能作为依据。"
    when = f"（{chinese_date(st.status_date)}起）" if st.status_date else ""
    if st.status == "已废止":
        return f"{_describe(doc)}：已废止，被《{st.superseded_by}》废止{when}。"
    return f"{_describe(doc)}：已被《{st.superseded_by}》取代{when}。"


def _cite(doc: DocumentRecord, versions: VersionIndex) -> Passage:
    """The document itself as a cited passage: 《title》, labelled with its status."""
    passage = passage_from_chunk(doc.chunks[0], 1.0, versions.status(doc.doc_id))
    return passage.model_copy(update={"article": "", "heading": ""})
