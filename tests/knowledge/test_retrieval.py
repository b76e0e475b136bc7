"""Fusion, query expansion, filters and region preference of the hybrid retriever."""

from __future__ import annotations

import pytest
from langchain_core.documents import Document

from knowledge.retrieval import (
    HybridRetriever,
    RegionPreference,
    rrf_fuse,
    rule_applies,
    weighted_fuse,
)
from knowledge.retrieval.filters import filter_doc_ids
from knowledge.store import ChunkRecord, DocumentRecord, KnowledgeStore
from knowledge.synonyms import SynonymTable
from vetbot import regions
from vetbot.errors import InvalidInputError

# ------------------------------------------------------------------------------- fusion maths


def test_rrf_prefers_a_document_strong_in_both_lists() -> None:
    dense = [("a", 0.95), ("both", 0.94), ("c", 0.90)]
    sparse = [("b", 12.0), ("both", 11.0), ("d", 3.0)]
    fused = rrf_fuse([dense, sparse], k0=60)
    ranking = sorted(fused, key=lambda c: -fused[c])
    assert ranking[0] == "both"
    assert fused["both"] == pytest.approx(2 / 62)
    assert fused["a"] == pytest.approx(1 / 61)


def test_weighted_sum_prefers_a_document_strong_in_both_lists() -> None:
    dense = [("a", 0.95), ("both", 0.94), ("c", 0.80)]
    sparse = [("b", 12.0), ("both", 11.0), ("d", 3.0)]
    fused = weighted_fuse(dense, sparse, alpha=0.5)
    assert max(fused, key=lambda c: fused[c]) == "both"
    # Dense is min-max normalised over the candidates, BM25 divided by its maximum.
    assert fused["a"] == pytest.approx(0.5)
    assert fused["b"] == pytest.approx(0.5)
    assert fused["c"] == pytest.approx(0.0)


@pytest.mark.parametrize("method", ["rrf", "weighted"])
def test_orphan_ids_are_ignored_and_do_not_hold_ranks(method: str) -> None:
    dense = [("orphan", 0.99), ("a", 0.9), ("b", 0.8)]
    sparse = [("orphan", 20.0), ("b", 5.0)]
    valid = {"a", "b"}
    if method == "rrf":
        fused = rrf_fuse([dense, sparse], valid_ids=valid, k0=60)
        # "a" takes rank 1 of the dense list once the orphan is dropped.
        assert fused["a"] == pytest.approx(1 / 61)
    else:
        fused = weighted_fuse(dense, sparse, valid_ids=valid)
    assert "orphan" not in fused
    assert set(fused) == valid


# ------------------------------------------------------------------------------- expansion


def test_expansion_adds_group_members_for_tokens_and_raw_substrings() -> None:
    table = SynonymTable(
        [["退役军人", "老兵", "退伍军人"], ["要钱吗", "免费", "收费"], ["优待证", "退役军人优待证"]]
    )
    added = table.expansions(["老兵", "坐", "地铁"], "老兵坐地铁要钱吗？")
    assert "退役军人" in added and "退伍军人" in added
    assert "免费" in added  # matched through the raw question (要钱吗 is not a token)
    assert "老兵" not in added
    # A member that contains a word the user typed adds nothing new.
    assert table.expansions(["优待证"], "优待证") == []
    assert table.expand(["老兵"])[:1] == ["老兵"]


def test_expanded_terms_weigh_less_than_the_users_own_words(retriever: HybridRetriever) -> None:
    analysis = retriever.analyze("老兵坐地铁要钱吗")
    assert "退役军人" in analysis.expansion_tokens
    assert "老兵" in analysis.tokens and "老兵" not in analysis.expansion_tokens
    # The synonym finds the national rule that never says 老兵.
    top = retriever.search("老兵坐地铁要钱吗", 3)
    assert any(s.article == "第五十三条" for s in top)


def test_bundled_synonym_file_loads() -> None:
    table = SynonymTable.load()
    assert len(table) > 0
    assert all(len(g) >= 2 for g in table.groups)


# ------------------------------------------------------------------------------- ranking


@pytest.mark.parametrize("fusion", ["rrf", "weighted"])
def test_both_fusions_rank_the_relevant_passage_first(tiny_store: KnowledgeStore, synonyms: SynonymTable,
                                                      fusion: str) -> None:
    retriever = HybridRetriever(tiny_store, synonyms, fusion=fusion)
    assert retriever.search("优待证丢了怎么补办", 1)[0].heading == "挂失和补办"
    assert retriever.search("信访事项多少天办结", 1)[0].article == "第三十四条"


def test_unknown_fusion_is_rejected(tiny_store: KnowledgeStore) -> None:
    with pytest.raises(InvalidInputError):
        HybridRetriever(tiny_store, fusion="max")


def test_sources_carry_citation_fields(retriever: HybridRetriever) -> None:
    src = retriever.search("信访事项多久办结", 1)[0]
    assert src.title == "信访工作条例（要点）"
    assert src.article == "第三十四条"
    assert src.path == "policies/xf.md"
    assert src.region == "全国" and src.scope == "national"
    assert src.score > 0
    assert "60日" in src.text


def test_langchain_interface_returns_documents_with_scores(retriever: HybridRetriever) -> None:
    docs = retriever.invoke("优待证丢了")
    assert docs and all(isinstance(d, Document) for d in docs)
    assert all("score" in d.metadata for d in docs)
    scores = [d.metadata["score"] for d in docs]
    assert scores == sorted(scores, reverse=True)


# ------------------------------------------------------------------------------- regions


def test_region_names_normalise() -> None:
    # Spellings come from the one gazetteer, vetbot.regions (formerly region_key/canonical_region).
    assert regions.same_place("济南市", "济南")
    assert regions.canonical_name("济南") == "济南市"
    assert regions.canonical_name("全国") == "全国"
    assert regions.canonical_name("  ") is None


@pytest.mark.parametrize(
    ("rule_region", "asker", "applies"),
    [
        ("济南市", "历下区", True),  # district -> its city
        ("山东省", "历下区", True),  # district -> its province
        ("山东省/济南市", "济南", True),  # a chunk's region_path, a short asker name
        ("上海市", "黄浦区", True),  # a municipality's district
        ("上海市/黄浦区", "黄浦区", True),
        ("浙江省", "金华市", True),
        ("浙江省/金华市", "历下区", False),  # another place's rule
        ("上海市/黄浦区", "上海市", False),  # a smaller place's rule for an asker known by the larger
        ("济南市", None, False),
        ("济南市", "全国", False),
    ],
)
def test_local_rules_apply_to_askers_inside_their_place(
    rule_region: str, asker: str | None, applies: bool
) -> None:
    assert rule_applies(rule_region, asker) is applies


def test_region_preference_uses_the_chunks_region_path() -> None:
    pref = RegionPreference()
    huangpu = {"region": "黄浦区", "region_path": "上海市/黄浦区", "scope": "local"}
    shanghai = {"region": "上海市", "region_path": "上海市", "scope": "local"}
    assert pref.adjust(1.0, shanghai, "黄浦区") == (1.5, 0)
    assert pref.adjust(1.0, huangpu, "黄浦区") == (1.5, 0)
    assert pref.adjust(1.0, huangpu, "济南市") == (1.0, 1)
    assert pref.adjust(1.0, {"region": "全国", "scope": "national"}, "黄浦区") == (1.0, 0)


def test_region_filter_keeps_national_documents_unless_strict(retriever: HybridRetriever) -> None:
    hits = retriever.search("退役军人坐公交免费吗", 10, region="济南")
    regions = {s.region for s in hits}
    assert "济南市" in regions and "全国" in regions
    assert "金华市" not in regions
    strict = retriever.search("退役军人坐公交免费吗", 10, region="济南市", strict=True)
    assert strict and {s.region for s in strict} == {"济南市"}


@pytest.mark.parametrize("query", ["公交", "地铁", "退役军人坐公交免费吗"])
def test_staff_search_with_a_region_lists_that_regions_rule_first(
    retriever: HybridRetriever, query: str
) -> None:
    # Staff who pick 济南 serve 济南's veterans: its local rule is the operative one (the
    # national rules leave ordinary veterans' transit to local government), so it leads.
    hits = retriever.search(query, 10, region="济南")
    assert hits[0].region == "济南市" and hits[0].scope == "local"
    assert any(s.region == "全国" for s in hits[1:])
    # Without a region nothing changes: the national rule leads, local ones after it.
    assert retriever.search(query, 10)[0].region == "全国"


def test_region_filter_keeps_the_rules_of_places_containing_the_region() -> None:
    def doc(doc_id: str, region: str) -> DocumentRecord:
        meta = {"doc_id": doc_id, "region": region, "topics": "|transit|", "title": doc_id}
        return DocumentRecord(doc_id, f"{doc_id}.md", "sha", meta, [ChunkRecord(f"{doc_id}:h:0", "x", meta)])

    docs = {d.doc_id: d for d in (doc("nat", "全国"), doc("zj", "浙江省"), doc("jh", "金华市"),
                                  doc("jn", "济南市"), doc("sd", "山东省"))}
    # A 浙江省 rule applies in 金华: staff who pick 金华市 must see it too.
    assert filter_doc_ids(docs, region="金华市") == {"nat", "zj", "jh"}
    assert filter_doc_ids(docs, region="金华市", strict=True) == {"jh"}
    assert filter_doc_ids(docs, region="浙江省") == {"nat", "zj"}  # not a 金华 rule for all of 浙江


def test_asker_region_boosts_own_rules_and_demotes_other_places(retriever: HybridRetriever) -> None:
    query = "退伍军人坐公交免费吗"
    jinan = retriever.search(query, 10, prefer_region="济南")
    assert jinan[0].region == "济南市"
    national = [i for i, s in enumerate(jinan) if s.region == "全国"]
    jinhua = [i for i, s in enumerate(jinan) if s.region == "金华市"]
    # A 金华 rule never outranks a national one for a 济南 asker.
    assert jinhua and national and min(jinhua) > max(national)

    # An asker in a district of 济南 gets the 济南市 rule first, as one in 济南 does.
    lixia = retriever.search(query, 10, prefer_region="历下区")
    assert [s.chunk_id for s in lixia] == [s.chunk_id for s in jinan]

    jinhua_asker = retriever.search(query, 10, prefer_region="金华市")
    assert jinhua_asker[0].region == "金华市"
    assert [s.region for s in jinhua_asker][-1] == "济南市"


# ------------------------------------------------------------------------------- filters


def test_topic_filter(retriever: HybridRetriever) -> None:
    hits = retriever.search("退役军人", 10, topic="complaints")
    assert hits and all("complaints" in s.topics for s in hits)


def test_unknown_topic_is_an_input_error(retriever: HybridRetriever) -> None:
    with pytest.raises(InvalidInputError) as err:
        retriever.search("优待证", 5, topic="weather")
    assert "未知的主题" in err.value.user_message


def test_document_filter_by_id_or_title(retriever: HybridRetriever) -> None:
    by_id = retriever.search("免费乘坐", 10, document="reg")
    assert by_id and {s.doc_id for s in by_id} == {"reg"}
    by_title = retriever.search("办结", 10, document="信访工作条例")
    assert by_title and {s.doc_id for s in by_title} == {"xf"}
    assert retriever.search("办结", 10, document="没有这个文件") == []


def test_a_reloaded_store_is_seen_without_rebuilding_the_retriever(
    tiny_store: KnowledgeStore, retriever: HybridRetriever
) -> None:
    assert "扬州市" not in retriever.regions()
    meta = {
        "doc_id": "yz", "chunk_id": "yz:0:0", "title": "扬州市退役军人乘车优待", "article": "",
        "heading": "免费乘车", "path": "yz.md", "region": "扬州市", "scope": "local", "topics": "|transit|",
    }
    with tiny_store.writer() as w:
        chunk = ChunkRecord("yz:0:0", "在扬州持证免费坐公交。", meta)
        w.stage_document(DocumentRecord("yz", "yz.md", "sha-yz", {}, [chunk]))
    assert "扬州市" in retriever.regions()
    assert retriever.search("扬州持证坐公交", 1, prefer_region="扬州")[0].region == "扬州市"
