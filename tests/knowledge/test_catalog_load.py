"""Loading a generation from the catalogue: metadata survives the round trip exactly (orjson
reads it, ``json`` what orjson refuses), and the collector is back on after a load."""

from __future__ import annotations

import gc
import json
import math
from pathlib import Path

from knowledge.catalog import Catalog, loads_json
from knowledge.store import ChunkRecord, DocumentRecord, KnowledgeStore, make_chroma_client
from tests.fakes import HashingEmbeddings


def _doc() -> DocumentRecord:
    shared = {"doc_id": "a", "title": "退役军人优待办法", "region": "济南市", "topics": "|card|"}
    chunks = [
        ChunkRecord("a:h:0", "退役军人凭优待证免费乘坐公交",
                    {**shared, "article": "第一条", "article_no": 1}),
        ChunkRecord("a:h:1", "烈士纪念设施免费开放", {**shared, "article": "第二条", "article_no": 2,
                                                 "weight": 0.25}),
        ChunkRecord("a:h:2", "优待证由县级退役军人事务局办理", dict(shared)),  # nothing of its own
    ]
    return DocumentRecord("a", "a.md", "h", {"title": "退役军人优待办法", "date_issued": "2024-01-01",
                                            "big": 2**70, "nested": {"k": [1, "二"]}}, chunks)


def test_loaded_generation_has_the_staged_metadata(tmp_path: Path) -> None:
    emb = HashingEmbeddings()
    client = make_chroma_client(tmp_path / "vectors", None)
    store = KnowledgeStore(tmp_path / "kb", emb, client)
    staged = _doc()
    with store.writer() as w:
        w.stage_document(staged)
    assert gc.isenabled()

    documents, counts = Catalog.for_directory(tmp_path / "kb").load(1)
    loaded = documents["a"]
    assert loaded.metadata == staged.metadata
    assert [(c.chunk_id, c.text, c.metadata) for c in loaded.chunks] == [
        (c.chunk_id, c.text, c.metadata) for c in staged.chunks
    ]
    assert counts.n == 3 and counts.regions == {"济南市": 3}

    reopened = KnowledgeStore(tmp_path / "kb", emb, client)
    assert reopened.documents["a"].metadata["big"] == 2**70
    assert gc.isenabled()


def test_loads_json_reads_what_json_dumps_writes() -> None:
    value = {"n": 1, "f": 0.1, "s": "第五十一条", "l": [True, None], "big": 2**70}
    assert loads_json(json.dumps(value, ensure_ascii=False)) == value
    assert loads_json(json.dumps(value).encode()) == value
    assert math.isnan(loads_json(json.dumps({"x": float("nan")}))["x"])
