"""Answer units and related passages: how answers cut passages into facts and pick 相关条文."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from knowledge.text import normalize
from knowledge.types import Passage, citation

if TYPE_CHECKING:
    from knowledge.retrieval import Hit, HybridRetriever, QueryAnalysis

SENTENCE_END = re.compile(r"(?<=[。！？；!?;])|\n+")
BULLET = re.compile(r"^\s*(?:[-*•·]\s*|\d+[.、)）]\s*)")
MAX_RELATED = 2  # 相关条文 listed after the cited passages


@dataclass
class Fact:
    """One sentence taken verbatim from a passage, with the passage it came from."""

    sentence: str
    source: Passage
    score: float

# List items of a lead-in ("对下列退役军人，优先安置：" then "（一）…；（二）…").
_LIST_ITEM = re.compile(
    r"^(?:[（(][一二三四五六七八九十]{1,3}[)）]|[一二三四五六七八九十]{1,3}、|\d{1,2}[.、．])"
)
_LEAD_IN_END = ("：", ":")
MAX_LIST_CHARS = 420
_CLAUSE_END = ("；", ";")
MAX_SENTENCE_CHARS = 240  # a sentence of clauses joined back longer than this is cut at its clauses
_PARAGRAPH = re.compile(r"(第[零一二三四五六七八九十百千0-9]+条(?:之[一二三四五六七八九十]+)?).*$")


def answer_units(text: str) -> list[str]:
    """The passage's sentences (as :func:`split_sentences`), with a lead-in ending in "：" joined
    to the list items that follow it.

    A lead-in alone says nothing ("对下列退役军人，优先安置："); lifted out with its items it
    answers "who". A lead-in without items stays a sentence of its own.
    """
    raw = _whole_sentences([r.strip() for r in SENTENCE_END.split(text)])
    out: list[str] = []
    i = 0
    while i < len(raw):
        sent = BULLET.sub("", raw[i]).strip()
        if sent.endswith(_LEAD_IN_END):
            items = []
            j = i + 1
            while j < len(raw) and (_LIST_ITEM.match(raw[j]) or BULLET.match(raw[j])):
                items.append(raw[j] if _LIST_ITEM.match(raw[j]) else BULLET.sub("", raw[j]).strip())
                j += 1
            if items:
                joined = sent + "".join(items)
                if len(joined) > MAX_LIST_CHARS:
                    joined = joined[:MAX_LIST_CHARS].rstrip("；;，,") + "……"
                out.append(joined)
                i = j
                continue
        if sent:
            out.append(sent)
        i += 1
    return out


def _whole_sentences(raw: list[str]) -> list[str]:
    """Clauses ending in "；" joined back into their sentence, unless they are list items.

    Outside a list, "；" separates clauses of one sentence: the rule and its exception (60日内办结；
    情况复杂的…延长…), or a chain of consequences (民事责任；治安管理处罚；刑事责任). A clause alone
    reads as a fragment, and an answer quoting it misses the rest of the rule.
    """
    raw = [r for r in raw if r and not r.startswith("#")]
    out: list[str] = []
    for part in raw:
        prev = out[-1] if out else ""
        if (
            prev.endswith(_CLAUSE_END)
            and not _LIST_ITEM.match(prev)
            and not _LIST_ITEM.match(part)
            and not BULLET.match(part)
            and len(prev) + len(part) <= MAX_SENTENCE_CHARS
        ):
            out[-1] = prev + part
        else:
            out.append(part)
    return out



def sentence_score(sentence: str, analysis: QueryAnalysis) -> float:
    """IDF-weighted concept coverage of one sentence (answer types included); 0..sum of weights."""
    text = normalize(sentence).lower()
    return sum(c.weight * c.coverage(text) for c in analysis.concepts)


def covered_concepts(sentence: str, analysis: QueryAnalysis) -> set[str]:
    """Labels of the question's concepts that a sentence covers."""
    text = normalize(sentence).lower()
    return {c.label for c in analysis.concepts if c.coverage(text) > 0}


# "第二十一条 " / "第五条之一　" at the head of an article's first paragraph.
_ARTICLE_HEAD = re.compile(r"^第[一二三四五六七八九十百零〇0-9]+条(?:之[一二三四五六七八九十]+)?[\s　]*")


def label_line(sent: str, source: Passage) -> bool:
    """Whether ``sent`` is the passage's article label line (第五十三条 公共交通优待), not a fact."""
    label = source.article
    short = len(sent) <= len(label) + 24
    return bool(label) and sent.startswith(label) and short and sent[-1] not in "。；;！？"


def add_intent_sentences(facts: list[Fact], analysis: QueryAnalysis, budget: int, max_facts: int) -> int:
    """When the question asks for consequences or exclusions and the lead sentence states one,
    add the lead passage's other sentences that state one too (民事责任; 治安管理处罚; 刑事责任:
    each is part of the answer), in passage order, within ``max_facts`` and ``budget`` (characters).
    Returns the characters used."""
    kinds = [i for i in analysis.intents if i.name in ("liability", "exclusion")]
    if not facts or not kinds or not any(i.stated_in(normalize(facts[0].sentence)) for i in kinds):
        return 0
    lead = facts[0].source
    used = 0
    for sent in answer_units(lead.text):
        if len(facts) >= max_facts:
            break
        stated = any(sent == f.sentence or sent in f.sentence for f in facts)
        if stated or len(sent) < 6 or label_line(sent, lead):
            continue
        line_len = len(sent) + len(lead.citation) + 8
        if line_len > budget - used or not any(i.stated_in(normalize(sent)) for i in kinds):
            continue
        facts.append(Fact(sent, lead, 0.0))
        used += line_len
    # The lead's sentences read in the passage's order (责令改正, then 拒不改正的…罚款).
    own = sorted((f for f in facts if f.source is lead), key=lambda f: lead.text.find(f.sentence))
    facts[:] = own + [f for f in facts if f.source is not lead]
    return used


def strip_article_label(sentence: str) -> str:
    """The sentence without a leading article label ("第二十一条 国家…" → "国家…"), so that an
    answer line does not say the label twice after its citation."""
    rest = _ARTICLE_HEAD.sub("", sentence, count=1)
    return rest or sentence


def paragraph_of(text: str, sentence: str) -> int:
    """The 1-based paragraph (款) of an article ``text`` that holds ``sentence``; 0 when the
    article has a single paragraph or the sentence is not found.

    Paragraphs are the non-empty lines that are not list items (项 such as "（一）…" stay in
    their paragraph) and not markdown headings. Only an article in the official layout counts
    (its first line is the label followed by the first paragraph's text, ending in punctuation);
    a summary ("第五十三条 凭优待证乘车" then own-words lines) has no 款 to cite.
    """
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    if not lines or not _ARTICLE_HEAD.match(lines[0]) or lines[0][-1] not in "。；;：:":
        return 0
    paragraphs: list[str] = []
    for line in lines:
        if paragraphs and (_LIST_ITEM.match(line) or BULLET.match(line)):
            paragraphs[-1] += line
        else:
            paragraphs.append(line)
    if len(paragraphs) < 2:
        return 0
    probe = strip_article_label(sentence)[:40]
    head = probe.split("：")[0] if "：" in probe else probe
    for i, para in enumerate(paragraphs, 1):
        if probe in para or (head and head in para):
            return i
    return 0


def related_passages(
    hits: list[Hit], retriever: HybridRetriever, cited: Sequence[Passage], *, limit: int
) -> list[Passage]:
    """Up to ``limit`` passages in force, not cited, about as relevant as the best hit (相关条文).

    Relevant means: among the top five, at least 0.6 of the best hit's concept coverage and
    0.75 of its score; a passage that merely shares a word is not listed. An article is listed
    once, and never when the answer cites it already (another 款 of it, or the same article of
    a summary and of the full text: one citation, 《title》第N条).
    """
    top = [h for h in hits[:5] if not h.superseded]
    if not top or limit <= 0:
        return []
    best_cov = max(h.coverage for h in top)
    best_score = top[0].score
    seen = {_article_key(p) for p in cited}
    cited_ids = {p.chunk_id for p in cited}
    out = []
    for h in top:
        if h.chunk_id in cited_ids or h.coverage < 0.6 * best_cov or h.score < 0.75 * best_score:
            continue
        passage = retriever.to_passage(h)
        key = _article_key(passage)
        if key in seen:
            continue
        seen.add(key)
        out.append(passage)
        if len(out) >= limit:
            break
    return out


def _article_key(passage: Passage) -> str:
    """The article a passage belongs to, as cited (《title》第N条 without its 款)."""
    return _PARAGRAPH.sub(r"\1", citation(passage))
