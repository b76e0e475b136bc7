# ruff: noqa: E501  (fixture texts read better unwrapped)
"""Passage-level topics (fresh-eyes report: the 主题 filter of staff search barely filtered, since
a national law lists ten topics; 公交 under 子女教育 listed the law's free-bus article first, and
an empty query with a topic showed nothing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from knowledge.overlay import DocumentOverlay, PassageEdit, apply_overlay, topics_value
from knowledge.retrieval import HybridRetriever
from knowledge.service import KnowledgeService
from knowledge.store import ChunkRecord, DocumentRecord, KnowledgeStore, make_chroma_client
from knowledge.synonyms import SynonymTable
from knowledge.topic_detection import PASSAGE_TOPICS, passage_topics
from tests.fakes import HashingEmbeddings
from tests.knowledge.conftest import coverage_only_policy
from vetbot.errors import InvalidInputError
from vetbot.settings import Settings

ALL_TOPICS = ["card", "transit", "culture_tourism", "education", "medical", "honours", "complaints"]

# (doc_id, title, region, document topics, [(article, text)]) in document order.
DOCS: list[tuple[str, str, str, list[str], list[tuple[str, str]]]] = [
    ("law", "示例优抚保障法", "全国", ALL_TOPICS, [
        ("第二条", "第二条 本法所称退役军人，是指依法退出现役的军官、军士和义务兵。"),
        ("第二十九条", "第二十九条 随迁子女入学\n退役军人随迁子女入学、转学，当地教育部门应当安排到公办学校就读。"),
        ("第五十二条", "第五十二条 免费乘坐公交\n现役军人凭有效证件免费乘坐市内公交、地铁；残疾军人乘坐火车、轮船优先购票。"),
        ("第六十三条", "第六十三条 功臣事迹载入地方志\n地方志工作机构应当把荣获二等功以上奖励和获得省部级以上表彰的退役军人事迹编入地方志。"),
    ]),
    ("old", "示例军属教育优待办法（旧）", "全国", ["education"], [
        ("第三条", "第三条 军人子女入学\n军人子女转学、入学的，学校应当优先接收。"),
    ]),
    ("new", "示例军属教育优待办法", "全国", ["education"], [
        ("第三条", "第三条 军人子女入学\n军人子女入学、转学的，教育部门和学校应当优先安排。"),
    ]),
    ("city", "甲市军人子女入学办法", "济南市", ["education"], [
        ("第一条", "第一条 甲市军人子女入学\n在济南，军人子女上幼儿园和入学由教育部门统筹安排。"),
    ]),
]


def _records() -> list[DocumentRecord]:
    """The documents with chunk metadata as the ingest pipeline writes it (INGEST_VERSION 6)."""
    records = []
    for doc_id, title, region, topics, articles in DOCS:
        chunks = []
        for i, (article, text) in enumerate(articles):
            meta: dict[str, Any] = {
                "doc_id": doc_id, "chunk_id": f"{doc_id}:{i:012d}:{i}", "title": title, "article": article,
                "article_no": 0, "heading": "", "path": f"laws/{doc_id}.md", "region": region,
                "scope": "national" if region == "全国" else "local", "topics": topics_value(topics),
                PASSAGE_TOPICS: topics_value(passage_topics(text)),
            }
            if doc_id == "old":  # marked superseded by staff (knowledge.versions)
                meta["superseded_by"] = "new"
            chunks.append(ChunkRecord(meta["chunk_id"], text, meta))
        records.append(DocumentRecord(doc_id, f"laws/{doc_id}.md", f"sha-{doc_id}", {"title": title}, chunks))
    return records


@pytest.fixture
def store(tmp_path: Path) -> KnowledgeStore:
    kb = tmp_path / "kb"
    store = KnowledgeStore(kb, HashingEmbeddings(), make_chroma_client(kb, None))
    with store.writer() as w:
        for record in _records():
            w.stage_document(record)
    return store


@pytest.fixture
def service(store: KnowledgeStore, tmp_path: Path) -> KnowledgeService:
    settings = Settings(data_dir=tmp_path / "data", kb_dir=tmp_path / "kb")
    return KnowledgeService(store, settings, synonyms=SynonymTable([]), policy=coverage_only_policy())


def _articles(passages: list[Any]) -> list[tuple[str, str]]:
    return [(p.doc_id, p.article) for p in passages]


def test_a_passage_speaks_of_its_own_topics() -> None:
    assert passage_topics(DOCS[0][4][2][1]) == ["transit"]
    assert passage_topics(DOCS[0][4][1][1]) == ["education"]
    assert passage_topics(DOCS[0][4][3][1]) == ["honours"]  # 功臣, 二等功, 表彰
    assert passage_topics(DOCS[0][4][0][1]) == []  # a definition names no topic
    # A topic named once beside a much used one is not the passage's (烈士 in a school article).
    assert passage_topics("烈士子女入学，学校优先录取，入学时免收学费。") == ["education"]
    # Two topics used about as often are both kept, most used first.
    assert passage_topics("乘坐公交、地铁免费；游览公园、景区免门票，参观博物馆免费。") == ["culture_tourism", "transit"]


def test_topic_filter_of_staff_search_narrows_to_passages(service: KnowledgeService) -> None:
    transit = _articles(service.search("公交", topic="transit"))
    assert ("law", "第五十二条") in transit
    education = _articles(service.search("公交", topic="education"))
    assert ("law", "第五十二条") not in education
    assert _articles(service.search("地方志", topic="honours"))[0] == ("law", "第六十三条")
    assert ("law", "第六十三条") not in _articles(service.search("地方志", topic="transit"))
    # A passage that names no topic keeps its document's: nothing drops out of a filter.
    assert ("law", "第二条") in _articles(service.search("退役军人 军官", topic="education"))
    # Hits carry the passage's topics, not the law's ten.
    hit = service.search("公交", topic="transit")[0]
    assert hit.article == "第五十二条" and hit.topics == ["transit"]


def test_ask_still_filters_by_document(service: KnowledgeService) -> None:
    retriever: HybridRetriever = service.retriever
    # The bot's path (retrieve without by_passage) keeps the document-level filter.
    by_document = [h.chunk_id for h in retriever.retrieve("公交", 10, topic="education").hits]
    assert "law:000000000002:2" in by_document
    answer = service.ask("现役军人乘坐公交免费吗？")
    assert not answer.refused
    assert answer.sources[0].doc_id == "law" and answer.sources[0].article == "第五十二条"


def test_an_empty_query_with_a_topic_browses_it(service: KnowledgeService) -> None:
    listed = service.search("", topic="education")
    # In force first, national before local, by document then article; the superseded text last.
    assert _articles(listed) == [
        ("law", "第二条"), ("law", "第二十九条"), ("new", "第三条"), ("city", "第一条"), ("old", "第三条"),
    ]
    assert all(p.score == 0.0 for p in listed)
    assert listed[-1].status == "已被取代"
    assert _articles(service.search("  ", topic="education", k=2)) == [("law", "第二条"), ("law", "第二十九条")]
    # A region alone browses too, its own rules with the national ones.
    assert {p.region for p in service.search("", region="济南市", k=50)} == {"全国", "济南市"}
    assert service.search("", topic="education", region="上海市", k=50)[-1].doc_id == "old"
    with pytest.raises(InvalidInputError):
        service.search("")
    with pytest.raises(InvalidInputError):
        service.search("", topic="weather")


def test_an_edited_passage_gets_the_topics_of_its_new_text() -> None:
    record = _records()[0]
    chunk = record.chunks[2]
    overlay = DocumentOverlay("law", passages=(
        PassageEdit("第五十二条", record.sha256, chunk.text, text="第五十二条 就医优待\n退役军人到公立医院就医优先挂号。"),
    ))
    edited = apply_overlay(record, overlay).record
    assert edited is not None
    assert edited.chunks[2].metadata[PASSAGE_TOPICS] == "|medical|"
    assert edited.chunks[1].metadata[PASSAGE_TOPICS] == "|education|"
