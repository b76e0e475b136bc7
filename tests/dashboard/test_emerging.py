"""Emerging themes: clustering, c-TF-IDF labels, growth flags (HashingEmbeddings + real jieba)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest

from complaints.emerging import binomial_tail, emerging_themes
from complaints.records import CaseRecord
from knowledge.clustering import CachedEmbeddings, _overlap_merge, c_tf_idf_keywords, cluster_texts
from vetbot.errors import InvalidInputError

from . import complaint_texts as texts
from .conftest import CST

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=CST)
# The analytics corpus cycles through eleven hometowns and has two more noise cases.
HOMETOWNS = texts.HOMETOWNS[:11]
PLANTED, BUS, CARD = texts.SCENIC, texts.BUS, texts.CARD
NOISE = [
    *texts.NOISE,
    "光荣牌一直没有悬挂，街道说要统一安排。",
    "伤残军人抚恤金调整后没有按新标准补发。",
]


def _corpus() -> tuple[list[CaseRecord], set[str], set[str]]:
    recs: list[CaseRecord] = []
    planted: set[str] = set()
    bus: set[str] = set()

    def add(text: str, days_ago: float, theme: str, region: str = "金华市") -> str:
        ticket = f"T{len(recs):03d}"
        recs.append(CaseRecord(ticket=ticket, theme=theme, region=region, text=text, status="待受理",
                               created_at=NOW - timedelta(days=days_ago)))
        return ticket

    # Planted: 11 recent, 1 in the previous window.
    for i in range(12):
        days = 20.0 if i == 0 else 0.5 + i * 1.1
        text = PLANTED[i % 3].format(h=HOMETOWNS[i % len(HOMETOWNS)])
        if i == 4:
            text += "我的电话13812345678，身份证330702198805061234。"
        planted.add(add(text, days, "culture_tourism"))
    # Stable background: the bus problem, 6 cases in each window.
    regions = ["济南", "扬州", "深圳"]
    for i in range(12):
        days = 1.0 + (i % 6) * 2.1 + (14 if i >= 6 else 0)
        bus.add(add(BUS[i % 2].format(r=regions[i % 3], n=10 + i * 7), days, "transit", "济南市"))
    # A second stable theme, slightly shrinking (5 then 4).
    for i in range(9):
        days = 2.0 + i * 3.0
        add(CARD[i % 2].format(r=regions[i % 3], n=2 + i % 3), days, "card", "扬州市")
    for i, text in enumerate(NOISE):
        add(text, 1.5 + i * 3.2, "other", "深圳市")
    # Old cases outside both windows must not count.
    add(PLANTED[0].format(h="山东"), 40, "culture_tourism")
    return recs, planted, bus


def test_planted_cluster_is_found_labelled_and_flagged(embeddings, tokenizer) -> None:
    recs, planted, bus = _corpus()
    result = emerging_themes(recs, embeddings, NOW, window_days=14, tokenizer=tokenizer)
    growing = [c for c in result if c.growing]
    assert len(growing) == 1, [(c.label, c.recent, c.previous, c.p_value) for c in result]
    top = growing[0]
    assert result[0] is top  # growing clusters are listed first
    assert set(top.tickets) == planted  # every planted case, nothing else, not the 40-day-old one
    assert (top.recent, top.previous, top.delta) == (11, 1, 10)
    assert top.growth_ratio == 6.0
    assert top.p_value < 0.01
    assert any("青岚山" in k for k in top.keywords), top.keywords
    assert any("外地" in k for k in top.keywords), top.keywords
    assert top.regions == {"金华市": 12} and top.themes == {"culture_tourism": 12}
    assert "青岚山" in top.example
    assert top.tickets[0] == "T001" and top.tickets[-1] == "T000"  # newest first
    # The stable background cluster is found but not flagged.
    bus_cluster = next(c for c in result if set(c.tickets) & bus)
    assert set(bus_cluster.tickets) == bus
    assert not bus_cluster.growing
    assert (bus_cluster.recent, bus_cluster.previous) == (6, 6)
    assert any("公交" in k or "司机" in k for k in bus_cluster.keywords), bus_cluster.keywords
    # Personal numbers never appear in examples or labels.
    for c in result:
        assert "13812345678" not in c.example and "330702198805061234" not in c.example
        assert not any(ch.isdigit() and len(k) > 6 for k in c.keywords for ch in k)


def test_growth_needs_enough_cases(embeddings, tokenizer) -> None:
    recs, planted, _ = _corpus()
    # With a minimum size above the planted count nothing is flagged.
    result = emerging_themes(recs, embeddings, NOW, window_days=14, tokenizer=tokenizer, min_size=12)
    assert not any(c.growing for c in result)
    # Only three planted cases: a ratio of 4 but too few to be more than chance.
    few = [r for r in recs if r.ticket not in planted or r.ticket in {"T001", "T002", "T003"}]
    result = emerging_themes(few, embeddings, NOW, window_days=14, tokenizer=tokenizer)
    assert not any(c.growing for c in result)
    with pytest.raises(InvalidInputError):
        emerging_themes(recs, embeddings, NOW, window_days=0)
    assert emerging_themes([], embeddings, NOW) == []


def test_cluster_texts_groups_paraphrases_and_drops_singletons(embeddings, tokenizer) -> None:
    texts = [
        "高铁站没有退役军人优先通道",
        "高铁进站没有退役军人优先通道吗",
        "退役军人高铁优先进站通道在哪里",
        "加油站有没有退役军人加油优惠",
        "退役军人加油能不能打折优惠",
        "光荣牌什么时候悬挂",
    ]
    clusters = cluster_texts(texts, embeddings, tokenizer=tokenizer, min_size=2)
    groups = sorted(sorted(c.members) for c in clusters)
    assert groups == [[0, 1, 2], [3, 4]]
    by_first = {min(c.members): c for c in clusters}
    assert "高铁" in "".join(by_first[0].keywords)
    assert "加油" in "".join(by_first[3].keywords)
    assert by_first[0].representative in (0, 1, 2)
    assert 0 < by_first[0].cohesion <= 1
    # min_size=1 keeps the singleton as its own group.
    assert len(cluster_texts(texts, embeddings, tokenizer=tokenizer, min_size=1)) == 3
    assert cluster_texts([], embeddings) == []


def test_c_tf_idf_prefers_words_specific_to_a_class() -> None:
    classes = [
        ["优待证", "景区", "外地", "外地", "免票"],
        ["优待证", "公交", "司机", "司机"],
        ["优待证", "制卡", "服务站"],
    ]
    kws = c_tf_idf_keywords(classes, top_n=2)
    assert kws[0] == ["外地", "免票"] or kws[0][0] == "外地"
    assert kws[1][0] == "司机"
    assert "优待证" not in kws[0][:1] and "优待证" not in kws[1][:1]
    assert c_tf_idf_keywords([[], ["a"]]) == [[], ["a"]]
    # Overlapping labels are merged when the merged phrase occurs in the text.
    merged = c_tf_idf_keywords([["岚山景区", "青岚山", "外地"], ["公交"]], top_n=3,
                               class_texts=["青岚山景区不认外地证", "公交"])
    assert sorted(merged[0]) == sorted(["青岚山景区", "外地"])
    assert _overlap_merge("青岚山", "岚山景区") == "青岚山景区"
    assert _overlap_merge("公交", "司机") is None


def test_binomial_tail_matches_exact_sums() -> None:
    def exact(k: int, n: int, p: float) -> float:
        return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))

    for k, n, p in [(6, 7, 0.5), (11, 12, 0.55), (0, 5, 0.3), (3, 3, 0.9), (40, 200, 0.1)]:
        assert binomial_tail(k, n, p) == pytest.approx(exact(k, n, p), rel=1e-9)
    assert binomial_tail(5, 4, 0.5) == 0.0
    assert binomial_tail(2000, 3000, 0.5) < 1e-30  # no overflow on big clusters


def test_cached_embeddings_embed_each_text_once(embeddings) -> None:
    calls: list[list[str]] = []

    class Counting(type(embeddings)):  # type: ignore[misc]
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            calls.append(list(texts))
            return super().embed_documents(texts)

    cached = CachedEmbeddings(Counting(dim=64), max_items=3)
    first = cached.embed_documents(["甲乙", "丙丁", "甲乙"])
    assert calls == [["甲乙", "丙丁"]]
    assert first[0] == first[2] == Counting(dim=64).embed_documents(["甲乙"])[0]
    cached.embed_documents(["丙丁", "戊己"])
    assert calls[-1] == ["戊己"]
    cached.embed_documents(["庚辛", "壬癸"])  # evicts the oldest beyond 3 entries
    cached.embed_documents(["甲乙"])
    assert calls[-1] == ["甲乙"]
