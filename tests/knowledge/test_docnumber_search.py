"""Staff search by 发文字号: the document a query's number names is listed first."""

from __future__ import annotations

from typing import Any

import pytest

from knowledge.retrieval import HybridRetriever
from knowledge.retrieval.docnumbers import named_documents, named_first
from knowledge.store import ChunkRecord, DocumentRecord, KnowledgeStore


def _notice(doc_id: str, number: str, texts: list[str], topics: str = "|transit|") -> DocumentRecord:
    chunks = []
    for i, text in enumerate(texts):
        meta: dict[str, Any] = {
            "doc_id": doc_id, "chunk_id": f"{doc_id}:0:{i}", "title": f"{doc_id} 通知",
            "article": f"第{'一二三'[i]}条", "heading": "", "path": f"{doc_id}.txt", "region": "金华市",
            "scope": "local", "topics": topics, "doc_number": number,
        }
        chunks.append(ChunkRecord(meta["chunk_id"], text, meta))
    return DocumentRecord(doc_id, f"{doc_id}.txt", f"sha-{doc_id}", {"doc_number": number}, chunks)


@pytest.fixture
def numbered(tiny_store: KnowledgeStore) -> KnowledgeStore:
    with tiny_store.writer() as w:
        w.stage_document(_notice("jh2025", "金退役军人发〔2025〕12号", [
            "第一条 在金华市常住的退役军人凭优待证免费乘坐城市公交。",
            "第二条 乘车时须主动出示优待证。",
        ]))
        # Same year and number, another issuer's code: not the document asked for.
        w.stage_document(_notice("zj2025", "浙退役军人发〔2025〕12号",
                                 ["第一条 2025年12号线路的退役军人发车优待。"]))
        # An unrelated passage full of the query's digits and words.
        w.stage_document(_notice("other", "", ["第一条 2025年12月起，退役军人发放优待证的号段调整。"]))
    return tiny_store


@pytest.mark.parametrize("query", [
    "金退役军人发〔2025〕12号",
    "金退役军人发[2025]12号",
    "查一下金退役军人发（2025）第12号的内容",
])
def test_a_query_naming_a_doc_number_lists_that_document_first(numbered: KnowledgeStore, query: str) -> None:
    retriever = HybridRetriever(numbered)
    passages = retriever.search(query, 5)
    assert [p.doc_id for p in passages[:2]] == ["jh2025", "jh2025"]
    assert all(p.doc_id != "jh2025" for p in passages[2:])


def test_the_doc_number_respects_the_filters(numbered: KnowledgeStore) -> None:
    retriever = HybridRetriever(numbered)
    passages = retriever.search("金退役军人发〔2025〕12号", 5, topic="complaints")
    assert all(p.doc_id != "jh2025" for p in passages)
    assert retriever.search("金退役军人发〔2025〕12号", 5, region="金华市")[0].doc_id == "jh2025"


def test_only_a_number_with_its_issuer_code_names_a_document(numbered: KnowledgeStore) -> None:
    assert named_documents("金华坐公交免费吗", numbered.documents) == []
    assert named_documents("发〔2025〕12号", numbered.documents) == []  # no issuer code: names no one
    assert named_documents("浙退役军人发〔2025〕12号", numbered.documents) == ["zj2025"]


class _H:
    def __init__(self, chunk_id: str) -> None:
        self.chunk_id = chunk_id


def test_named_first_keeps_ranked_order_then_document_order() -> None:
    listed = [_H("x"), _H("d:2"), _H("y")]
    ranked = [*listed, _H("d:0")]
    out = named_first(listed, ranked, {"d": ["d:0", "d:1", "d:2"]}, make_hit=_H)
    assert [h.chunk_id for h in out] == ["d:2", "d:0", "d:1", "x", "y"]
