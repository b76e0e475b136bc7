"""Hit testing (命中测试): why a question gets its passages, and what the bot would answer.

For one question (and the asker's region) :func:`hit_test` returns the ranking with every
score (dense cosine, BM25, fused, reranked; see :class:`knowledge.retrieval.Hit`), the
answerability signals the refusal decision reads (:class:`knowledge.answer.Evidence`), the
answer :meth:`KnowledgeService.ask` gives, and in Chinese why it would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from knowledge.curated import is_curated
from knowledge.evidence import Evidence
from knowledge.service import KnowledgeService
from knowledge.types import Answer, Passage

MAX_HITS = 10

REFUSAL_EXPLANATIONS: dict[str, str] = {
    "no_evidence": "检索到的条文证据不足：置信度低于拒答阈值，或条文没有覆盖问题的关键概念。",
    "off_topic": "问题不含退役军人服务领域的词语，且证据不足以作答，按超出服务范围拒答。",
    "injection": "问题像是要求系统改变行为的指令（指令注入），一律拒答。",
    "empty": "问题分词后没有可检索的词语。",
    "personal_status": "问题询问本人申请或案件的办理进度，政策条文无法回答，引导到受理机构或工单查询。",
}


@dataclass
class HitRow:
    """One ranked passage with its scores (None: not among that retriever's candidates)."""

    rank: int
    passage: Passage
    score: float
    fused: float
    dense: float | None
    bm25: float | None
    dense_rank: int | None
    bm25_rank: int | None
    coverage: float
    superseded: bool
    curated: bool


@dataclass
class HitReport:
    """Everything the hit-testing page shows."""

    question: str
    region: str
    hits: list[HitRow]
    evidence: Evidence
    answer: Answer
    threshold: float
    explanation: str = ""
    signals: list[tuple[str, str]] = field(default_factory=list)  # (label, value)


# The answer/refuse model's features (knowledge.evidence), named for an editor.
FEATURE_LABELS = {
    "coverage": "关键词覆盖率",
    "lead_coverage": "第一条的关键词覆盖率",
    "margin": "向量领先程度",
    "agree": "向量与 BM25 都排前三",
    "domain": "含领域词语",
    "type_missing": "缺少所问的答案类型",
    "sentence": "单句覆盖率",
    "uncovered": "未被覆盖的词语占比",
    "object_missing": "所问事项（如 坐地铁、宽带）未被条文提及的占比",
    "matched": "第一条说到的问题词语数（5 个及以上为 1）",
    "focus_missing": "问题的核心词语不在任何条文中",
}


def _signals(evidence: Evidence) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = [
        ("置信度", f"{evidence.confidence:.3f}"),
        ("关键词覆盖率", f"{evidence.coverage:.3f}"),
        ("最高向量相似度", f"{evidence.dense_top:.3f}"),
        ("向量相似度领先幅度", f"{evidence.dense_margin:.4f}"),
        ("最高 BM25 得分", f"{evidence.bm25_top:.2f}"),
        ("含领域词语", "是" if evidence.domain else "否"),
        ("缺少所问的答案类型", "是" if evidence.answer_type_missing else "否"),
        ("命中的词语", "、".join(evidence.matched_terms) or "无"),
    ]
    rows.extend(
        (f"模型特征：{FEATURE_LABELS.get(name, name)}", f"{value:.3f}")
        for name, value in sorted(evidence.features.items())
    )
    return rows


def hit_test(knowledge: KnowledgeService, question: str, region: str | None = None) -> HitReport:
    """Rank, assess and answer ``question``; raises InvalidInputError as ``KnowledgeService.ask``."""
    result, evidence = knowledge.explain(question, region or None)
    chunks = knowledge.store.chunks
    hits: list[HitRow] = []
    for i, hit in enumerate(result.hits[:MAX_HITS], start=1):
        chunk: Any = chunks.get(hit.chunk_id)
        if chunk is None:
            continue
        hits.append(
            HitRow(
                rank=i,
                passage=knowledge.retriever.to_passage(hit),
                score=hit.score,
                fused=hit.fused,
                dense=hit.dense,
                bm25=hit.bm25,
                dense_rank=hit.dense_rank,
                bm25_rank=hit.bm25_rank,
                coverage=hit.coverage,
                superseded=hit.superseded,
                curated=is_curated(chunk.metadata),
            )
        )
    answer = knowledge.ask(question, region or None)
    explanation = ""
    if answer.refused and answer.refusal_reason:
        explanation = REFUSAL_EXPLANATIONS.get(answer.refusal_reason, answer.refusal_reason)
    elif answer.official:
        explanation = "排名第一的是有效的官方口径，直接以口径作答。"
    return HitReport(
        question=question,
        region=region or "",
        hits=hits,
        evidence=evidence,
        answer=answer,
        threshold=knowledge.policy.model.threshold,
        explanation=explanation,
        signals=_signals(evidence),
    )
