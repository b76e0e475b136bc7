"""Data types shared by ingest, retrieval, answers and every interface (CLI, bot, API).

Chunk metadata keys (stored in Chroma and in the catalogue; scalar values only):

``doc_id``      stable id of the source document (slug of its path relative to the ingest root)
``chunk_id``    ``{doc_id}:{content_hash[:12]}:{index}``
``title``       document title, e.g. 中华人民共和国退役军人保障法
``article``     article label in citation form, Chinese numerals: 第五十三条, 第十条之一 (第51条 and
                第５１条 are stored as 第五十一条; "" when the chunk is not an article)
``article_no``  article number as int (0 when none)
``heading``     heading path, e.g. 第五章 优待 > 第一节 ... (" > " separated)
``path``        source file path as given to ingest
``region``      "全国" for national documents, else the most specific division's official name
                (浙江省, 济南市, 黄浦区; see vetbot.regions) or, for a place not in the gazetteer,
                the name at the start of the title (甲市)
``region_path`` the division's chain from the province, "/"-joined: "上海市/黄浦区",
                "浙江省/杭州市", "山东省" ("" for 全国 and unknown places)
``region_code`` six-digit administrative division code (adcode), e.g. "310101" ("" when none)
``scope``       "national" or "local"
``topics``      "|"-joined topic codes of the document, e.g. "|card|transit|"
``passage_topics`` the topic codes the passage's own text speaks of, same form
                (knowledge.topic_detection.passage_topics); "" when it names none, and absent in
                chunks ingested before INGEST_VERSION 6: the document's ``topics`` count then
``issuer``      issuing body, e.g. 全国人民代表大会常务委员会, 国务院、中央军事委员会
``doc_number``  发文字号 or order number, e.g. 戊退役军人发〔2025〕7号, 国务院令第431号
``date_issued`` date the text was published (else adopted, else approved), ISO YYYY-MM-DD
``date_adopted``  date first adopted (通过) or, for orders, first published (公布)
``date_amended``  date of the latest 修正/修订 ("" when never amended)
``date_version``  the date of this version: date_amended, else date_issued
``date_effective`` in-force date (head line "… 施行" or the last "本法自…起施行")
``repeals``     "|"-joined titles this text repeals (《…》同时废止), e.g. "信访条例"
``source_url``  where the text was taken from
All dates are ISO strings, "" when the document does not state them.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field

NATIONAL = "全国"

# "（要点）"-style title suffixes of the bundled summaries; a citation names the document itself.
_TITLE_SUFFIX = re.compile(r"[（(][^（）()]{0,8}(要点|摘要|节选|摘编|解读)[)）]$")

# Topic codes used in front matter, filters and facets; labels are for display.
TOPICS: dict[str, str] = {
    "card": "优待证",
    "transit": "交通出行",
    "culture_tourism": "文化旅游",
    "education": "子女教育",
    "medical": "医疗优待",
    "employment": "就业创业",
    "tax": "税收优惠",
    "pension_subsidy": "抚恤补助",
    "housing": "住房优待",
    "honours": "褒扬荣誉",
    "complaints": "投诉信访",
    "general": "综合",
}


class Passage(BaseModel):
    """One retrieved passage, as cited by an answer or listed by search."""

    title: str
    article: str = ""
    text: str
    score: float
    path: str = ""
    region: str = NATIONAL
    doc_id: str = ""
    chunk_id: str = ""
    heading: str = ""
    scope: Literal["national", "local"] = "national"
    # The passage's own topic codes (chunk ``passage_topics``), else its document's ``topics``.
    topics: list[str] = Field(default_factory=list)
    date_version: str = ""  # ISO date of this version of the document ("" when unknown)
    # Version status (knowledge.versions): 现行有效, 已被取代 (a newer version of the same title)
    # or 已废止 (repealed by name), or 尚未施行 (takes effect on status_date, later than today);
    # superseded_by is the newer text's title, status_date the date it took effect.
    status: Literal["现行有效", "已被取代", "已废止", "尚未施行"] = "现行有效"
    superseded_by: str = ""
    status_date: str = ""

    @property
    def in_force(self) -> bool:
        """True unless the document is superseded or repealed."""
        return self.status == "现行有效"

    @property
    def status_note(self) -> str:
        """Chinese label of a superseded passage (已被《…》取代（date起施行））; "" when in force."""
        return status_note(self.status, self.superseded_by, self.status_date)

    @property
    def citation(self) -> str:
        """How answers, the bot, the web pages and the CLI cite this passage; see :func:`citation`."""
        return citation(self)


class Answer(BaseModel):
    """The JSON contract of ``vetbot ask --json``, ``POST /v1/ask`` and the bot."""

    question: str
    answer: str
    refused: bool
    # smalltalk: greetings, thanks, who-are-you, goodbye (knowledge.smalltalk); never refused.
    intent: Literal["question", "complaint", "smalltalk"] = "question"
    theme: str | None = None
    # Only the passages the answer's sentences come from, in citation order (for a refusal:
    # what was found, for staff); ``related``: at most two other relevant passages (相关条文),
    # the ones worth showing after the cited ones.
    sources: list[Passage] = Field(default_factory=list)
    related: list[Passage] = Field(default_factory=list)
    latency_ms: float = 0.0
    confidence: float = 0.0
    refusal_reason: str | None = None
    local_rule: bool = False
    # What the question asks for that the cited rules do not state, and the answer says so:
    # answer types (金额, 时限, 比例, 分值, 材料, 时刻, 人数, 日期, 号码, 地址, 名单: labels of
    # knowledge.retrieval.answer_types; "以上条文没有写明具体的金额或标准"), 地方规定 (the
    # national rule leaves it to the asker's place, whose rule the KB lacks: "知识库暂未收录…")
    # and 适用对象 (the rule found covers other groups than the asker's: "…没有找到专门针对…的规定").
    not_stated: list[str] = Field(default_factory=list)
    # A curated answer (官方口径, knowledge.curated) written by staff; ``sources`` are its citations.
    official: bool = False
    offer_complaint: bool = False
    # The question as understood in its conversation (a follow-up rewritten from context, typos
    # corrected); None when the message was used as typed (knowledge.conversation).
    understood_as: str | None = None


def status_note(status: str, superseded_by: str, status_date: str) -> str:
    """The one label of a superseded text; "" in force.

    ``已被《…》取代（2024-09-21起施行）``, ``已废止：被《…》废止（…起施行）`` or
    ``尚未施行（2027-01-01起施行）``.
    """
    if status == "尚未施行":
        return f"尚未施行（{status_date}起施行）"
    if status not in ("已被取代", "已废止"):
        return ""
    when = f"（{status_date}起施行）" if status_date else ""
    if status == "已废止":
        return f"已废止：被《{superseded_by}》废止{when}"
    return f"已被《{superseded_by}》取代{when}"


def citation(passage: Passage) -> str:
    """The one citation format: 《title》第N条, or 《title》“heading” for sections that are not articles.

    A summary suffix such as （要点） is dropped from the title; a heading that repeats the
    title gives just 《title》.
    """
    title = _TITLE_SUFFIX.sub("", passage.title.strip())
    if passage.article:
        return f"《{title}》{passage.article}"
    heading = passage.heading.split(" > ")[-1].strip() if passage.heading else ""
    if heading and heading != passage.title and heading not in title:
        return f"《{title}》“{heading}”"
    return f"《{title}》"
