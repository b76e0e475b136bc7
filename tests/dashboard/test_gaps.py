"""Knowledge gaps: refused, low-confidence and 👎 questions grouped with their sources."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from knowledge.gaps import gap_item, knowledge_gap_clusters, load_knowledge_gaps
from knowledge.questionlog import QuestionLog

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
SRC_52 = {"title": "中华人民共和国退役军人保障法", "article": "第五十二条", "chunk_id": "tyjrbzf:abc123:52",
          "doc_id": "tyjrbzf", "score": 0.41}


def _row(question: str, hours_ago: float, *, refused: bool = False, confidence: float = 0.9,
         rating: str | None = None, sources: list | None = None, intent: str = "question") -> QuestionLog:
    return QuestionLog(
        created_at=NOW - timedelta(hours=hours_ago), channel="telegram", user_ref=None, region=None,
        question=question, answer="……", refused=refused, refusal_reason="no_evidence" if refused else None,
        confidence=confidence, intent=intent, theme=None, sources=sources or [], rating=rating,
    )


def test_gaps_are_grouped_with_sources(session_factory, embeddings, tokenizer) -> None:
    with session_factory() as session:
        session.add_all([
            _row("高铁站有没有退役军人优先通道", 1, refused=True),
            _row("高铁进站有没有退役军人优先通道", 2, confidence=0.3, sources=[SRC_52]),
            _row("退役军人高铁优先进站通道在哪里", 3, rating="down", sources=[SRC_52]),
            _row("退役军人加油有没有优惠", 4, refused=True),
            _row("退役军人加油能不能打折优惠，我电话13912345678", 5, rating="down"),
            _row("光荣牌什么时候悬挂", 6, confidence=0.2),
            # Not gaps: confidently answered, rated 👍, or a complaint rather than a question.
            _row("优待证怎么申请", 7, confidence=0.92, rating="up", sources=[SRC_52]),
            _row("公交不认优待证", 8, refused=True, intent="complaint"),
            _row("高铁站优先通道在哪", 24 * 40, refused=True),  # older than `since`
        ])
        session.commit()
        items = load_knowledge_gaps(session, since=NOW - timedelta(days=30))
    assert len(items) == 6
    assert {i.reason for i in items} == {"refused", "low_confidence", "rated_down"}
    assert all("13912345678" not in i.question for i in items)
    clusters = knowledge_gap_clusters(items, embeddings, tokenizer=tokenizer)
    assert sum(c.size for c in clusters) == 6  # every gap appears exactly once
    rail = next(c for c in clusters if any("高铁" in k for k in c.keywords))
    assert rail.size == 3
    assert rail.reasons == {"refused": 1, "low_confidence": 1, "rated_down": 1}
    assert [i.created_at for i in rail.items] == sorted((i.created_at for i in rail.items), reverse=True)
    with_src = [i for i in rail.items if i.sources]
    assert len(with_src) == 2
    assert with_src[0].sources[0]["title"] == "中华人民共和国退役军人保障法"
    assert with_src[0].sources[0]["article"] == "第五十二条"
    assert with_src[0].sources[0]["chunk_id"] == "tyjrbzf:abc123:52"
    fuel = next(c for c in clusters if any("加油" in k for k in c.keywords))
    assert fuel.size == 2 and "13912345678" not in fuel.example
    assert {i.reason_label for i in fuel.items} == {"拒答", "用户点踩"}
    assert clusters[0].size >= clusters[-1].size
    assert knowledge_gap_clusters([], embeddings) == []


def test_markup_in_questions_neither_groups_them_nor_labels_a_group(embeddings, tokenizer) -> None:
    # fe27 §7: 「script、alert、几点下班…」 grouped a question wrapped in <script>…</script> with an
    # unrelated one; the tags' words were the group's label.
    items = [
        gap_item(_row(q, h, refused=True))
        for h, q in enumerate([
            "<script>alert(1)</script>优待证怎么办",
            "<script>alert(2)</script>退役军人事务局几点下班",
            '<b onclick="alert(3)">光荣牌</b>什么时候<i>悬挂</i>',
        ])
    ]
    clusters = knowledge_gap_clusters(items, embeddings, tokenizer=tokenizer)
    assert sorted(c.size for c in clusters) == [1, 1, 1], [(c.label, c.size) for c in clusters]
    words = [k for c in clusters for k in c.keywords]
    for markup in ("script", "alert", "onclick", "b", "i"):
        assert not any(markup in k for k in words), words
    assert any("优待证" in k for k in words) and any("光荣牌" in k for k in words), words
    # the question itself is shown as typed (the page escapes it)
    assert clusters[0].items[0].question.startswith("<")
