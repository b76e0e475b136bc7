# ruff: noqa: E501  (fixture texts read better unwrapped)
"""A tiny knowledge base staged directly into a store with the deterministic fake embedding.

The texts are short own-words examples written for these tests (national rules, a card
procedure, two cities' local rules and a complaints rule), enough to exercise fusion, region
preference, refusal and answer composition without a model.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from knowledge.answerability import AnswerabilityModel
from knowledge.evidence import RefusalPolicy
from knowledge.retrieval import HybridRetriever
from knowledge.service import KnowledgeService
from knowledge.store import ChunkRecord, DocumentRecord, KnowledgeStore, make_chroma_client
from knowledge.synonyms import SynonymTable
from tests.fakes import HashingEmbeddings
from vetbot.settings import Settings

# (doc_id, title, region, topics, [(article, heading, text), ...])
TINY_DOCS: list[tuple[str, str, str, list[str], list[tuple[str, str, str]]]] = [
    (
        "vpl",
        "中华人民共和国退役军人保障法（要点）",
        "全国",
        ["transit", "culture_tourism", "card"],
        [
            ("第十五条", "", "第十五条 发放优待证\n退役军人被安置地接收时，由退役军人事务部门发放退役军人优待证。"),
            (
                "第五十三条",
                "",
                "第五十三条 凭优待证享受交通文旅优待\n退役军人凭退役军人优待证，享受公共交通、文化和旅游等优待。\n"
                "具体办法由省级人民政府制定，普通退役军人能否免费乘坐公交和地铁属于地方政策。",
            ),
        ],
    ),
    (
        "reg",
        "军人抚恤优待条例（要点）",
        "全国",
        ["transit"],
        [
            (
                "第五十二条第二款",
                "",
                "第五十二条第二款 现役军人和残疾军人免费乘车\n现役军人和残疾军人凭有效证件，免费乘坐市内公共汽车、电车和轨道交通。",
            ),
        ],
    ),
    (
        "card",
        "优待证管理办法（要点）",
        "全国",
        ["card"],
        [
            ("", "申领地点", "优待证到户籍所在地的退役军人服务站申请办理。\n人在外地的，可以在常住地申请。"),
            ("", "挂失和补办", "优待证丢了，先到发卡银行办理挂失。\n补办可以到银行网点或原服务站办理。"),
        ],
    ),
    (
        "xf",
        "信访工作条例（要点）",
        "全国",
        ["complaints"],
        [("第三十四条", "", "第三十四条 办结时限\n信访事项自受理之日起60日内办结，情况复杂的可以延长，但不超过30日。")],
    ),
    (
        "jinan",
        "济南市退役军人乘车优待（地方规定要点）",
        "济南市",
        ["transit"],
        [("", "免费乘坐公交和地铁", "在济南，持退役军人优待证的退役军人可以免费乘坐城市公交和地铁。")],
    ),
    (
        "jinhua",
        "金华市退役军人乘车优待（地方规定要点）",
        "金华市",
        ["transit"],
        [("", "金华户籍持证退役军人免费乘坐公交", "金华市户籍的持证退役军人免费乘坐金华城市公交，外地户籍的不在此列。")],
    ),
]

TINY_SYNONYMS = [
    ["退役军人", "老兵", "退伍军人", "退伍兵"],
    ["地铁", "轨道交通"],
    ["公交", "公交车", "公共汽车"],
    ["要钱吗", "免费", "收费"],
    ["丢了", "挂失", "遗失"],
    ["去哪办", "哪里办", "申领地点"],
]


def tiny_records() -> list[DocumentRecord]:
    """The tiny corpus as store records (chunk metadata as the ingest pipeline writes it)."""
    records = []
    for doc_id, title, region, topics, sections in TINY_DOCS:
        chunks = []
        for i, (article, heading, text) in enumerate(sections):
            meta: dict[str, Any] = {
                "doc_id": doc_id,
                "chunk_id": f"{doc_id}:{i:012d}:{i}",
                "title": title,
                "article": article,
                "article_no": 0,
                "heading": heading,
                "path": f"policies/{doc_id}.md",
                "region": region,
                "scope": "national" if region == "全国" else "local",
                "topics": "|" + "|".join(topics) + "|",
            }
            chunks.append(ChunkRecord(meta["chunk_id"], text, meta))
        records.append(DocumentRecord(doc_id, f"policies/{doc_id}.md", f"sha-{doc_id}", {"title": title}, chunks))
    return records


def article_store(kb_dir: Path, articles: Sequence[tuple[str, ...]]) -> KnowledgeStore:
    """A fresh store of own-words articles: ``(doc_id, title, article, text[, region])``; the
    region (default 全国) makes a local rule. Chunk text is ``article text``, as for a law."""
    store = KnowledgeStore(kb_dir, HashingEmbeddings(), make_chroma_client(kb_dir, None))
    docs: dict[str, DocumentRecord] = {}
    for i, (doc_id, title, article, text, *rest) in enumerate(articles):
        region = rest[0] if rest else "全国"
        meta: dict[str, Any] = {
            "doc_id": doc_id, "chunk_id": f"{doc_id}:{i:012d}:{i}", "title": title, "article": article,
            "article_no": 0, "heading": "", "path": f"laws/{doc_id}.md", "region": region,
            "scope": "national" if region == "全国" else "local", "topics": "||",
        }
        doc = docs.setdefault(
            doc_id, DocumentRecord(doc_id, f"laws/{doc_id}.md", f"sha-{doc_id}", {"title": title}, [])
        )
        doc.chunks.append(ChunkRecord(meta["chunk_id"], f"{article} {text}", meta))
    with store.writer() as w:
        for record in docs.values():
            w.stage_document(record)
    return store


def build_tiny_kb(kb_dir: Path, embeddings: Any | None = None) -> KnowledgeStore:
    """Stage the tiny corpus into a fresh store at ``kb_dir``."""
    store = KnowledgeStore(kb_dir, embeddings or HashingEmbeddings(), make_chroma_client(kb_dir, None))
    with store.writer() as w:
        for record in tiny_records():
            w.stage_document(record)
    return store


@pytest.fixture
def tiny_store(tmp_path: Path) -> KnowledgeStore:
    """The tiny KB in a fresh directory."""
    return build_tiny_kb(tmp_path / "kb")


@pytest.fixture
def synonyms() -> SynonymTable:
    """A small synonym table independent of the bundled data file."""
    return SynonymTable(TINY_SYNONYMS)


@pytest.fixture
def retriever(tiny_store: KnowledgeStore, synonyms: SynonymTable) -> HybridRetriever:
    """An RRF retriever over the tiny KB."""
    return HybridRetriever(tiny_store, synonyms, fusion="rrf")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings isolated in the test's temp dir."""
    return Settings(data_dir=tmp_path / "data", kb_dir=tmp_path / "kb")


def coverage_only_policy() -> RefusalPolicy:
    """Refusal on term coverage alone: the fake embedding's dense margins are not calibrated.

    A steep logistic model: answer in-domain at coverage >= 0.45, off-domain at >= 0.6, a
    complaint at >= 0.3 (p = sigmoid(-6) ~ 0.0025), never when an asked-for amount/duration is missing.
    """
    model = AnswerabilityModel(
        weights={"coverage": 40.0, "domain": 6.0, "type_missing": -100.0}, bias=-24.0,
        complaint_threshold=0.002,
    )
    return RefusalPolicy(model=model)


@pytest.fixture
def service(tiny_store: KnowledgeStore, synonyms: SynonymTable, settings: Settings) -> KnowledgeService:
    """A service over the tiny KB without a classifier."""
    return KnowledgeService(tiny_store, settings, synonyms=synonyms, policy=coverage_only_policy())
