"""Synthetic corpora for ``vetbot bench --scale``: Chinese policy-like documents and a model-free
embedder, so that a benchmark measures the store and retrieval, never the embedding model.

Everything is deterministic (seeded by the corpus size): the same size gives the same
documents, chunk texts and vectors in every run and on every machine.
"""

from __future__ import annotations

import itertools
import random
import zlib

import numpy as np
from langchain_core.embeddings import Embeddings

from knowledge.store import ChunkRecord, DocumentRecord
from knowledge.types import NATIONAL

CHUNKS_PER_DOC = 5
DIM = 384
REGIONS = (NATIONAL, NATIONAL, "济南市", "扬州市", "金华市", "河北省", "浙江省", "青岛市")
TOPICS = ("card", "transit", "culture_tourism", "education", "medical", "employment", "housing")
_SUBJECTS = ("退役军人", "烈士遗属", "因公牺牲军人遗属", "残疾军人", "现役军人家属", "军队离休退休干部")
_DOCS = ("优待证", "残疾军人证", "烈士证明书", "退役证", "身份证")
_BENEFITS = (
    "免费乘坐市内公共汽车和地铁", "免费游览政府投资主办的公园和景区", "优先办理挂号、取药和住院",
    "子女入学享受同等条件优先", "享受职业技能培训补贴", "申请公租房时优先配租", "乘坐火车优先购票",
    "参加自主就业创业享受税收减免", "每年领取定期抚恤补助", "优先享受法律援助服务",
)
_OFFICES = ("县级退役军人事务局", "乡镇退役军人服务站", "市退役军人事务局", "街道退役军人服务站")
_EXTRAS = (
    "具体办法由省级人民政府制定。", "经费列入同级财政预算。", "各地不得擅自降低标准。",
    "办理时限不超过十个工作日。", "有关部门应当公开办事指南。", "本条自发布之日起施行。",
)
QUESTIONS = (
    "退役军人坐公交免费吗？", "优待证去哪里办理？", "残疾军人看病有优先吗？",
    "烈士遗属子女上学有什么照顾？", "退役军人创业有税收优惠吗？", "退役军人申请公租房优先吗？",
    "退役军人去景区门票免费吗？", "定期抚恤补助怎么领取？", "退役军人坐火车有优待吗？",
    "军人家属能享受法律援助吗？",
)


def parse_scale(text: str) -> list[int]:
    """``"1k,10k,100k"`` → ``[1000, 10000, 100000]``; ValueError on a bad or non-positive size."""
    sizes = []
    for part in (p.strip().lower() for p in text.split(",") if p.strip()):
        factor = 1000 if part.endswith("k") else 1
        value = int(float(part.rstrip("k")) * factor)
        if value < CHUNKS_PER_DOC:
            raise ValueError(f"scale {part!r} is under {CHUNKS_PER_DOC} chunks")
        sizes.append(value)
    if not sizes:
        raise ValueError("no scale given")
    return sizes


def make_document(n: int, seed: int) -> DocumentRecord:
    """Synthetic document number ``n`` (``CHUNKS_PER_DOC`` article chunks), from ``seed``."""
    rng = random.Random(seed * 1_000_003 + n)
    region = rng.choice(REGIONS)
    topics = sorted(set(rng.sample(TOPICS, 2)))
    doc_id = f"syn{seed}-{n:06d}"
    place = "" if region == NATIONAL else region
    title = f"{place}关于{_SUBJECTS[n % len(_SUBJECTS)]}优待的若干规定（第{n}号）"
    chunks = []
    for i in range(CHUNKS_PER_DOC):
        article = f"第{i + 1}条"
        text = (
            f"{article} {rng.choice(_SUBJECTS)}凭{rng.choice(_DOCS)}{rng.choice(_BENEFITS)}，"
            f"由{place}{rng.choice(_OFFICES)}负责办理。{rng.choice(_EXTRAS)}{rng.choice(_EXTRAS)}"
        )
        chunk_id = f"{doc_id}:{n:012x}:{i}"
        meta = {
            "doc_id": doc_id, "chunk_id": chunk_id, "title": title, "article": article,
            "article_no": i + 1, "heading": "", "path": f"synthetic/{doc_id}.md", "region": region,
            "scope": "national" if region == NATIONAL else "local", "topics": "|" + "|".join(topics) + "|",
        }
        chunks.append(ChunkRecord(chunk_id, text, meta))
    return DocumentRecord(doc_id, f"synthetic/{doc_id}.md", f"sha-{doc_id}", {"title": title}, chunks)


def make_corpus(chunks: int, seed: int = 13) -> list[DocumentRecord]:
    """About ``chunks`` chunks as ``chunks // CHUNKS_PER_DOC`` documents."""
    return [make_document(n, seed) for n in range(chunks // CHUNKS_PER_DOC)]


class SyntheticEmbeddings(Embeddings):
    """Character bigrams hashed (CRC-32) into ``DIM`` buckets, L2-normalised: deterministic,
    model-free and fast, with texts sharing words near each other. Benchmarks only."""

    model_id = "synthetic:bigram-crc32-384"

    def _embed(self, text: str) -> list[float]:
        vec = np.zeros(DIM, dtype=np.float32)
        chars = [c for c in text if not c.isspace()]
        grams = [a + b for a, b in itertools.pairwise(chars)] or chars
        for g in grams:
            vec[zlib.crc32(g.encode()) % DIM] += 1.0
        norm = float(np.linalg.norm(vec)) or 1.0
        return (vec / norm).tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """One vector per text."""
        return [self._embed(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        """A query is embedded like a passage."""
        return self._embed(text)
