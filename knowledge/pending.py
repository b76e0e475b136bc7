"""Texts not yet in force (尚未施行) are mentioned, never used.

A text whose in-force date is after today is never the basis of an answer
(:mod:`knowledge.versions`), but a staff member would still say that the rule is about to
change. :func:`pending_mention` finds the one 尚未施行 text worth a word, in this order:

* **It will replace what the answer cites.** A cited passage's document will be replaced or
  repealed by a 尚未施行 text of the knowledge base (``VersionIndex.upcoming``).
* **The question asks about the future** (明年, 以后, 新规定, 什么时候施行, a later year) and a
  尚未施行 passage is about as much about the question (``RELEVANT_SHARE`` of the concept
  coverage) as the best passage in force.
* **The question was refused**, and a 尚未施行 passage covers the question at least as well as
  every passage in force (it was the only match).

The mention is one line (``PendingMention.line``) quoting the pending text's most relevant
sentence briefly, and its passage, labelled 尚未施行, listed as 相关条文 only.
:func:`with_pending` adds both to an :class:`~knowledge.types.Answer`.

Staff search lists a 尚未施行 passage after the rule in force it will replace or repeal
(:func:`pending_after_current`), so whoever skims the first card reads what applies today.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from knowledge.retrieval.regions import rule_applies
from knowledge.retrieval.retriever import passage_from_chunk
from knowledge.text import normalize
from knowledge.types import NATIONAL, Answer, Passage
from knowledge.units import answer_units, sentence_score, strip_article_label
from knowledge.versions import NOT_YET, REPEALED, VersionIndex
from vetbot.clock import china_today

if TYPE_CHECKING:
    from knowledge.retrieval import Hit, HybridRetriever, QueryAnalysis, RetrievalResult

# A pending passage must cover this share of what the best passage in force covers.
RELEVANT_SHARE = 0.8
# Least concept coverage (0..1) of a pending passage mentioned on its own.
MIN_COVERAGE = 0.5
# How many passages in force, best first, a pending one is compared with.
IN_FORCE_HITS = 10
QUOTE_CHARS = 60

_FUTURE = re.compile(
    r"明年|后年|下一?年|以后|今后|将来|未来|往后|到时候|新规定?|新政策?|新办法|新标准|新通知|要调整|会调整|会变|要变|"
    r"(什么时候|何时|哪天|几号|哪一天).{0,4}(施行|实施|执行|生效|开始)"
)
_YEAR = re.compile(r"(20\d\d)年")
# An opening that only ties the rule to its in-force day: the line says the day already.
_OPENING = re.compile(
    r"^(自本(通知|办法|规定|条例|决定|意见)(施行|实施)之日起|自\d{4}年\d{1,2}月\d{1,2}日起)[，,]?"
)
_IN_FORCE_DAY = re.compile(r"自.{0,16}起(施行|实施|执行|生效)")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def pending_after_current(passages: list[Passage], versions: VersionIndex) -> list[Passage]:
    """``passages`` (best first) with each 尚未施行 passage that is ranked above a listed text in
    force it will replace or repeal (``VersionIndex.upcoming``) moved to just after that text's
    first passage; every other passage keeps its order. Scores are left as they were."""
    ends: dict[str, str] = {}  # pending doc id -> the first listed doc id in force it will end
    for p in passages:
        found = versions.upcoming(p.doc_id) if p.in_force else None
        if found is not None:
            ends.setdefault(found[0], p.doc_id)
    first: dict[str, int] = {}
    for i, p in enumerate(passages):
        first.setdefault(p.doc_id, i)
    early = {
        id(p) for i, p in enumerate(passages)
        if p.status == NOT_YET and p.doc_id in ends and i < first[ends[p.doc_id]]
    }
    if not early:
        return passages
    out: list[Passage] = []
    for i, p in enumerate(passages):
        if id(p) in early:
            continue
        out.append(p)
        if i == first[p.doc_id]:
            out.extend(q for q in passages if id(q) in early and ends[q.doc_id] == p.doc_id)
    return out


@dataclass(frozen=True)
class PendingMention:
    """One 尚未施行 text worth a word: the answer's extra line and its passage (相关条文)."""

    line: str
    passage: Passage


def asks_about_future(question: str, today: str | None = None) -> bool:
    """True when the question asks what will be (明年, 以后, 新规定, 什么时候施行, a year after
    ``today``'s, ISO date, default China's today)."""
    text = normalize(question)
    if _FUTURE.search(text):
        return True
    year = int((today or china_today())[:4])
    return any(int(y) > year for y in _YEAR.findall(text))


def chinese_date(iso: str) -> str:
    """``2027-01-01`` → ``2027年1月1日`` (other strings unchanged)."""
    m = _ISO.match(iso)
    return f"{m.group(1)}年{int(m.group(2))}月{int(m.group(3))}日" if m else iso


def pending_mention(
    result: RetrievalResult,
    retriever: HybridRetriever,
    cited: list[Passage],
    question: str,
    *,
    region: str | None = None,
    refused: bool = False,
) -> PendingMention | None:
    """The 尚未施行 text to mention with an answer citing ``cited`` (or a refusal), or None.

    ``region`` is the asker's (None: unknown); a pending local rule of another place is never
    mentioned, nor one of some place added to an answer for an asker whose place is unknown.
    Pure over the retrieval result and the store; raises nothing of its own.
    """
    versions = retriever.versions()
    for source in cited:
        found = versions.upcoming(source.doc_id)
        if found is not None:
            pending_id, will_be = found
            passage = _best_passage(result, retriever, pending_id)
            if passage is not None:
                verb = "废止" if will_be.status == REPEALED else "取代"
                change = f"届时《{_short(source.title)}》{verb}"
                return PendingMention(_line(passage, retriever, result.analysis, change, refused), passage)
    if not (refused or asks_about_future(question)):
        return None
    chunks = retriever.store.chunks
    pending: list[Hit] = []
    in_force: list[Hit] = []
    for hit in result.hits:  # texts not in force are ranked last: look at every hit
        chunk = chunks.get(hit.chunk_id)
        doc_id = str(chunk.metadata.get("doc_id", "")) if chunk is not None else ""
        if versions.status(doc_id).status == NOT_YET:
            pending.append(hit)
        elif not hit.superseded:
            in_force.append(hit)
    best_in_force = max((h.coverage for h in in_force[:IN_FORCE_HITS]), default=0.0)
    share = RELEVANT_SHARE if asks_about_future(question) else 1.0
    for hit in sorted(pending, key=lambda h: -h.coverage):
        if hit.coverage < MIN_COVERAGE or hit.coverage < share * best_in_force:
            break
        passage = retriever.to_passage(hit)
        if passage.region != NATIONAL and region and not rule_applies(passage.region, region):
            continue  # another place's rule
        if passage.region != NATIONAL and not region and not refused:
            continue  # some place's coming rule does not add to an answer for an asker anywhere
        return PendingMention(_line(passage, retriever, result.analysis, "", refused), passage)
    return None


def with_pending(answer: Answer, mention: PendingMention | None, follow_up: str) -> Answer:
    """``answer`` with the mention's line (before ``follow_up`` when the text ends with it) and its
    passage as the last 相关条文; ``answer`` itself when ``mention`` is None."""
    if mention is None or any(p.chunk_id == mention.passage.chunk_id for p in answer.related):
        return answer
    text = answer.answer
    if text.endswith(follow_up):
        text = f"{text[: -len(follow_up)].rstrip()}\n{mention.line}\n{follow_up}"
    else:
        text = f"{text.rstrip()}\n{mention.line}"
    return answer.model_copy(update={"answer": text, "related": [*answer.related, mention.passage]})


def _best_passage(result: RetrievalResult, retriever: HybridRetriever, doc_id: str) -> Passage | None:
    """The pending document's passage most about the question: its best ranked hit, else its
    chunk with the best sentence."""
    chunks = retriever.store.chunks
    for hit in result.hits:
        chunk = chunks.get(hit.chunk_id)
        if chunk is not None and str(chunk.metadata.get("doc_id", "")) == doc_id:
            return retriever.to_passage(hit)
    doc = retriever.store.documents.get(doc_id)
    if doc is None or not doc.chunks:
        return None
    best = max(doc.chunks, key=lambda c: max(
        (sentence_score(s, result.analysis) for s in answer_units(c.text)), default=0.0))
    return passage_from_chunk(best, 0.0, retriever.versions().status(doc_id))


def _quote(passage: Passage, retriever: HybridRetriever, analysis: QueryAnalysis) -> str:
    """The pending text's most relevant sentence (the passage's own first on a tie), shortened to
    ``QUOTE_CHARS``; a sentence giving only the in-force day is not quoted (the line says it)."""
    doc = retriever.store.documents.get(passage.doc_id)
    texts = [passage.text, *(c.text for c in (doc.chunks if doc is not None else []))]
    units = [strip_article_label(u) for t in texts for u in answer_units(t)]
    units = [u for u in units if len(u) >= 6 and not _IN_FORCE_DAY.search(u)]
    if not units:
        return ""
    best = max(units, key=lambda u: (sentence_score(u, analysis), -units.index(u)))
    best = _OPENING.sub("", best).strip()
    return best if len(best) <= QUOTE_CHARS else best[: QUOTE_CHARS - 1] + "…"


def _line(
    passage: Passage, retriever: HybridRetriever, analysis: QueryAnalysis, change: str, refused: bool
) -> str:
    """``另：《…》（文号）将于2027年1月1日起施行，届时《…》废止；其中规定：“…”（尚未施行，…）``."""
    chunk = retriever.store.chunks.get(passage.chunk_id)
    number = str(chunk.metadata.get("doc_number", "") or "") if chunk is not None else ""
    if not number:
        doc = retriever.store.documents.get(passage.doc_id)
        number = str(doc.metadata.get("doc_number", "") or "") if doc is not None else ""
    place = f"{passage.region}" if passage.region != NATIONAL else ""
    head = f"另：{place}《{_short(passage.title)}》" + (f"（{number}）" if number else "")
    head += f"将于{chinese_date(passage.status_date)}起施行"
    if change:
        head += f"，{change}"
    quote = _quote(passage, retriever, analysis)
    said = f"；其中规定：“{quote}”" if quote else ""
    tail = "（尚未施行，目前不能作为答复依据）" if refused else "（尚未施行，以上答复按现行规定）"
    return f"{head}{said}{tail}"


def _short(title: str) -> str:
    return title.strip().strip("《》")
