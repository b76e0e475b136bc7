"""``vetbot bench --scale 1k,10k,100k``: the knowledge base at scale, against a plain LangChain
Chroma search on the same vectors in the same run.

Per size: a synthetic corpus (``knowledge.scalecorpus``, model-free embeddings so that model
time is excluded) is ingested into a fresh store in a temporary directory; then, in rounds
that interleave the systems (so that machine noise hits all of them), ``KnowledgeService.ask``,
``KnowledgeService.search``, a region-filtered search and the peer's ``similarity_search`` are
timed; then one 5-chunk document is committed incrementally. Only the frozen store interface
is used (``KnowledgeStore.open``, ``writer``/``stage_document``), so the bench runs on any store
implementation. Figures are printed, never asserted. Times in milliseconds unless named
``_s``; RSS in MB (resident set of this process, which runs every size in turn).
"""

from __future__ import annotations

import gc
import json
import os
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from knowledge.scalecorpus import QUESTIONS, SyntheticEmbeddings, make_corpus, make_document
from knowledge.service import KnowledgeService
from knowledge.store import KnowledgeStore
from vetbot.settings import Settings

PEER_BATCH = 4000
FILTER_REGION = "济南市"


@dataclass
class ScaleResult:
    """Figures of one corpus size (see the module docstring for units)."""

    chunks: int
    ingest_s: float
    start_to_ready_s: float
    rss_mb: float
    ask_p50: float
    ask_p95: float
    search_p50: float
    search_p95: float
    filtered_p50: float
    filtered_p95: float
    peer_p50: float
    peer_p95: float
    peer_ingest_s: float
    commit_one_doc_s: float
    first_ask_after_commit_ms: float
    ask_over_peer: float
    search_over_peer: float
    filtered_over_search: float


def rss_mb() -> float:
    """Resident set size of this process in MB (peak RSS where /proc is missing)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 2) if values else 0.0


def _timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000.0


def _settings(base: Settings, workdir: Path) -> Settings:
    return base.model_copy(
        update={"data_dir": workdir, "kb_dir": workdir / "kb", "chroma_url": None, "embed_threads": 0}
    )


def _open(settings: Settings, embeddings: SyntheticEmbeddings) -> KnowledgeService:
    store = KnowledgeStore.open(settings.default_kb_dir, settings, embeddings)
    return KnowledgeService(store, settings, embeddings=embeddings)


def _peer(workdir: Path, embeddings: SyntheticEmbeddings, docs: list[Any]) -> tuple[Any, float]:
    """A plain LangChain Chroma over the same texts (hence the same vectors); (store, seconds)."""
    import chromadb
    from langchain_chroma import Chroma

    client = chromadb.PersistentClient(path=str(workdir / "peer"))
    peer = Chroma(client=client, collection_name="peer", embedding_function=embeddings,
                  collection_metadata={"hnsw:space": "cosine"})
    chunks = [c for d in docs for c in d.chunks]
    t0 = time.perf_counter()
    for start in range(0, len(chunks), PEER_BATCH):
        part = chunks[start : start + PEER_BATCH]
        peer.add_texts([c.text for c in part], metadatas=[dict(c.metadata) for c in part],
                       ids=[c.chunk_id for c in part])
    return peer, time.perf_counter() - t0


def bench_size(base: Settings, chunks: int, rounds: int = 5) -> ScaleResult:
    """Run every measurement for one corpus size in a temporary directory."""
    embeddings = SyntheticEmbeddings()
    docs = make_corpus(chunks)
    with tempfile.TemporaryDirectory(prefix="vetbot-scale-") as tmp:
        workdir = Path(tmp)
        settings = _settings(base, workdir)
        store = KnowledgeStore.open(settings.default_kb_dir, settings, embeddings)
        t0 = time.perf_counter()
        with store.writer() as w:
            for doc in docs:
                w.stage_document(doc)
        ingest_s = time.perf_counter() - t0
        del store
        gc.collect()

        t0 = time.perf_counter()
        service = _open(settings, embeddings)
        service.ask(QUESTIONS[0])
        start_to_ready_s = time.perf_counter() - t0
        rss = rss_mb()
        peer, peer_ingest_s = _peer(workdir, embeddings, docs)

        timings: dict[str, list[float]] = {"ask": [], "search": [], "filtered": [], "peer": []}
        runs: dict[str, Callable[[str], Any]] = {
            "ask": lambda q: service.ask(q),
            "search": lambda q: service.search(q, k=10),
            "filtered": lambda q: service.search(q, k=10, region=FILTER_REGION),
            "peer": lambda q: peer.similarity_search(q, k=10),
        }
        names = list(runs)
        for q in QUESTIONS:  # warm-up, not timed
            for name in names:
                runs[name](q)
        for r in range(rounds):
            for i, q in enumerate(QUESTIONS):
                shift = (r + i) % len(names)  # rotate the order: no system always goes first
                for name in names[shift:] + names[:shift]:
                    run = runs[name]
                    t_start = time.perf_counter()
                    run(q)
                    timings[name].append((time.perf_counter() - t_start) * 1000.0)

        extra = make_document(10_000_000 + chunks, seed=14)
        t0 = time.perf_counter()
        with service.store.writer() as w:
            w.stage_document(extra)
        commit_s = time.perf_counter() - t0
        first_after = _timed(lambda: service.ask(QUESTIONS[1]))

    p50 = {name: statistics.median(values) for name, values in timings.items()}
    return ScaleResult(
        chunks=len(docs) * len(docs[0].chunks) if docs else 0,
        ingest_s=round(ingest_s, 2),
        start_to_ready_s=round(start_to_ready_s, 2),
        rss_mb=round(rss, 1),
        ask_p50=_pct(timings["ask"], 50), ask_p95=_pct(timings["ask"], 95),
        search_p50=_pct(timings["search"], 50), search_p95=_pct(timings["search"], 95),
        filtered_p50=_pct(timings["filtered"], 50), filtered_p95=_pct(timings["filtered"], 95),
        peer_p50=_pct(timings["peer"], 50), peer_p95=_pct(timings["peer"], 95),
        peer_ingest_s=round(peer_ingest_s, 2),
        commit_one_doc_s=round(commit_s, 3),
        first_ask_after_commit_ms=round(first_after, 2),
        ask_over_peer=round(p50["ask"] / p50["peer"], 2) if p50["peer"] else 0.0,
        search_over_peer=round(p50["search"] / p50["peer"], 2) if p50["peer"] else 0.0,
        filtered_over_search=round(p50["filtered"] / p50["search"], 2) if p50["search"] else 0.0,
    )


def run_scale_bench(settings: Settings, sizes: list[int], *, rounds: int = 5, as_json: bool = False,
                    echo: Callable[[str], None] = print) -> list[ScaleResult]:
    """Bench every size in turn and print the figures (a table, or JSON); returns them."""
    results = []
    for size in sizes:
        result = bench_size(settings, size, rounds)
        results.append(result)
        if not as_json:
            echo(format_result(result))
    if as_json:
        echo(json.dumps([asdict(r) for r in results], ensure_ascii=False, indent=2))
    return results


def format_result(r: ScaleResult) -> str:
    """One size's figures as a few lines of Chinese text."""
    return (
        f"== {r.chunks} 个片段 ==\n"
        f"  导入 {r.ingest_s:.2f} s（对照 Chroma 写入 {r.peer_ingest_s:.2f} s）；打开→首个回答 "
        f"{r.start_to_ready_s:.2f} s；RSS {r.rss_mb:.0f} MB\n"
        f"  问答 p50/p95 {r.ask_p50:.1f}/{r.ask_p95:.1f} ms；检索 {r.search_p50:.1f}/{r.search_p95:.1f} ms；"
        f"按地区（{FILTER_REGION}）检索 {r.filtered_p50:.1f}/{r.filtered_p95:.1f} ms\n"
        f"  对照 LangChain Chroma similarity_search p50/p95 {r.peer_p50:.1f}/{r.peer_p95:.1f} ms\n"
        f"  比值：问答/对照 {r.ask_over_peer:.2f}，检索/对照 {r.search_over_peer:.2f}，"
        f"地区检索/检索 {r.filtered_over_search:.2f}\n"
        f"  增量提交一个文档（5 个片段）{r.commit_one_doc_s:.3f} s，"
        f"其后首个问答 {r.first_ask_after_commit_ms:.1f} ms"
    )
