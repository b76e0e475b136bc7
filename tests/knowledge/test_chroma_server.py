"""The knowledge store works against a real Chroma server (``VETBOT_CHROMA_URL``)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from knowledge.store import ChunkRecord, DocumentRecord, KnowledgeStore, collection_name_for
from tests.fakes import HashingEmbeddings
from vetbot.settings import Settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start ``chroma run`` from the installed chromadb package on 127.0.0.1."""
    port = _free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    chroma = Path(sys.executable).with_name("chroma")
    proc = subprocess.Popen(
        [str(chroma), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            pytest.fail("Chroma server did not start within 60 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _doc(doc_id: str, texts: list[str]) -> DocumentRecord:
    chunks = [
        ChunkRecord(f"{doc_id}:h:{i}", t, {"title": doc_id, "article": f"第{i + 1}条", "region": "全国"})
        for i, t in enumerate(texts)
    ]
    return DocumentRecord(doc_id, f"{doc_id}.md", "h", {"title": doc_id}, chunks)


def test_store_round_trip_through_a_chroma_server(chroma_url: str, tmp_path: Path) -> None:
    settings = Settings(chroma_url=chroma_url, data_dir=tmp_path)
    kb_a, kb_b = tmp_path / "kb-a", tmp_path / "kb-b"
    store = KnowledgeStore.open(kb_a, settings, HashingEmbeddings())
    assert not (kb_a / "chroma").exists()  # vectors live on the server, not in the KB folder
    with store.writer() as w:
        w.stage_document(_doc("law", ["退役军人凭优待证乘坐公共交通", "烈士纪念设施免费开放"]))
    hits = store.dense_search("优待证乘坐公交", 2)
    assert hits[0][0] == "law:h:0"

    # A second KB directory on the same server gets its own collection.
    other = KnowledgeStore.open(kb_b, settings, HashingEmbeddings())
    assert other.dense_search("优待证乘坐公交", 2) == []
    assert collection_name_for("vetbot", kb_a, True) != collection_name_for("vetbot", kb_b, True)

    # Reopening (a new process would do the same) sees the persisted vectors.
    reopened = KnowledgeStore.open(kb_a, settings, HashingEmbeddings())
    assert [cid for cid, _ in reopened.dense_search("烈士纪念设施", 1)] == ["law:h:1"]

    with reopened.writer() as w:
        w.stage_removal("law")
    assert reopened.vectorstore._collection.count() == 0
