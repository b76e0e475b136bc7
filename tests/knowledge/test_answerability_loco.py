"""The answerability model's leave-one-corpus-out evaluation, reproducible from the committed
feature rows (tests/eval/answerability-rows.jsonl, written by ``vetbot answerability fit --rows``
over the bundled summaries, ../shared/corpus, ../shared/corpus-2, the fixture laws and the
two-version fixture; the rows carry features and end-to-end labels, so no corpus is read here)."""

from __future__ import annotations

from pathlib import Path

from knowledge.answerability import AnswerabilityModel
from knowledge.answerability_eval import Row, choose_threshold, fit_all, load_rows, loco, save_rows

ROWS = Path(__file__).resolve().parent.parent / "eval" / "answerability-rows.jsonl"


def test_loco_runs_on_every_corpus_and_the_stored_model_is_the_fit_on_all_rows() -> None:
    rows = load_rows(ROWS)
    corpora = {r.corpus for r in rows}
    assert len(corpora) >= 3 and {"bundled", "corpus", "corpus2"} <= corpora
    folds = loco(rows, c=3.0)
    assert [f.corpus for f in folds] == sorted(corpora)
    n = sum(f.n for f in folds)
    wrong = sum(f.false_answers for f in folds)
    refused = sum(f.false_refusals for f in folds)
    assert n == len(rows)
    # Held-out corpora: most decisions right, and answers that should not be given are rarer
    # than refusals of answerable questions (a wrong answer costs more).
    assert (n - wrong - refused) / n >= 0.8 and wrong <= refused
    stored = AnswerabilityModel.load()
    refit = fit_all(rows, c=3.0)
    assert refit.threshold == stored.threshold
    for name, weight in refit.weights.items():
        assert abs(weight - stored.weights[name]) < 1e-3, name


def test_rows_round_trip_and_the_threshold_prefers_refusing(tmp_path: Path) -> None:
    rows = load_rows(ROWS)[:20]
    save_rows(rows, tmp_path / "rows.jsonl")
    assert load_rows(tmp_path / "rows.jsonl") == rows
    model = AnswerabilityModel(weights={"coverage": 1.0}, bias=0.0)
    # p(0.0) = 0.5: one answerable and two unanswerable rows at the same probability; answering
    # costs 2 * 2, refusing costs 1, so the threshold moves above 0.5.
    tie = [Row("x", "1", {"coverage": 0.0}, 1), Row("x", "2", {"coverage": 0.0}, 0),
           Row("x", "3", {"coverage": 0.0}, 0)]
    assert choose_threshold(model, tie) > 0.5
