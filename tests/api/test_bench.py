"""The API benchmark: statistics (unit) and one short real run (slow)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from api.bench import BenchConfig, _row, percentile, run_bench, summarize
from tests.api.conftest import make_settings


def test_percentile_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(values, 100) == 100.0
    assert percentile([], 50) == 0.0
    assert percentile([7.0], 99) == 7.0


def test_summarize_counts_errors_and_throughput() -> None:
    result = summarize("search", [10.0, 20.0, 30.0, 40.0], {"200": 3, "503": 1}, elapsed=2.0)
    assert result.requests == 4 and result.errors == 1
    assert result.throughput_rps == 2.0 and result.p50_ms == 20.0 and result.max_ms == 40.0


def test_table_rows_align_cjk() -> None:
    assert _row(("接口", 1), (6, 3)) == "接口    1"


@pytest.mark.slow
def test_short_real_bench(tmp_path: Path, bundled_kb_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = make_settings(tmp_path, kb_dir=bundled_kb_dir)
    code = run_bench(settings, BenchConfig(concurrency=2, duration=1.0, max_requests=20), as_json=True)
    out = capsys.readouterr().out
    import json

    data: dict[str, Any] = json.loads(out)
    assert code == 0, out
    by_name = {r["endpoint"]: r for r in data["results"]}
    assert set(by_name) == {"search", "ask"}
    for r in by_name.values():
        assert 0 < r["requests"] <= 20 and r["errors"] == 0 and r["p95_ms"] >= r["p50_ms"] > 0
