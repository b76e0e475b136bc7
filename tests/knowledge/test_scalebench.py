"""``vetbot bench --scale``: runs at a tiny size and prints every figure (no timing asserted)."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from knowledge.scalebench import ScaleResult, run_scale_bench
from knowledge.scalecorpus import SyntheticEmbeddings, make_corpus, parse_scale
from vetbot.cli import main
from vetbot.settings import Settings


def test_parse_scale() -> None:
    assert parse_scale("1k, 10k,100k") == [1000, 10000, 100000]
    assert parse_scale("25") == [25]
    for bad in ("", "0", "x"):
        with pytest.raises(ValueError):
            parse_scale(bad)


def test_corpus_and_embeddings_are_deterministic() -> None:
    first, second = make_corpus(20), make_corpus(20)
    assert [c.text for d in first for c in d.chunks] == [c.text for d in second for c in d.chunks]
    assert sum(len(d.chunks) for d in first) == 20
    emb = SyntheticEmbeddings()
    assert emb.embed_query("退役军人坐公交") == emb.embed_documents(["退役军人坐公交"])[0]


def test_tiny_scale_bench_reports_every_figure(tmp_path: Path) -> None:
    lines: list[str] = []
    [result] = run_scale_bench(Settings(data_dir=tmp_path), [25], rounds=1, echo=lines.append)
    assert isinstance(result, ScaleResult)
    assert result.chunks == 25
    for f in fields(ScaleResult):
        value = getattr(result, f.name)
        assert isinstance(value, int | float) and value >= 0, f.name
    assert result.ask_p50 > 0 and result.peer_p50 > 0 and result.ask_over_peer > 0
    text = "\n".join(lines)
    labels = ("导入", "打开→首个回答", "RSS", "问答 p50/p95", "按地区", "LangChain Chroma", "比值")
    for label in (*labels, "增量提交"):
        assert label in text


def test_bench_command_takes_a_scale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VETBOT_DATA_DIR", str(tmp_path / "data"))
    assert main(["bench", "--scale", "10", "--rounds", "1", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"chunks": 10' in out and '"ask_over_peer"' in out
