"""Fitting and leave-one-corpus-out evaluation of the answerability model (offline, by command).

``collect(corpus, assess, items)`` turns labelled eval items into feature rows with end-to-end
labels: 1 when the item is an ``answer`` item and the answer the service would compose passes
it (``knowledge.evaluation.score_item``), else 0: a ``refuse`` item, or an answerable question
whose composed answer would be wrong, which is better refused. Complaint items are skipped.
:func:`loco` fits on every corpus but one and
scores the decision on the one left out. Used by ``vetbot answerability fit|loco``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from knowledge.answerability import AnswerabilityModel, fit
from knowledge.evaluation import EvalItem, score_item
from knowledge.types import Answer


@dataclass
class Row:
    """One labelled question: its corpus, features and label (1 = answerable)."""

    corpus: str
    item_id: str
    features: dict[str, float]
    label: int


Assess = Callable[[str, str | None], tuple[Mapping[str, float], Answer | None]]


def collect(corpus: str, assess: Assess, items: Sequence[EvalItem]) -> list[Row]:
    """Feature rows of the ``answer`` and ``refuse`` items of one corpus.

    ``assess(question, region)`` returns the evidence features and the answer the service
    would compose (None when nothing in force was retrieved).
    """
    rows = []
    for item in items:
        if item.kind not in ("answer", "refuse"):
            continue
        features, draft = assess(item.q, item.region)
        label = int(item.kind == "answer" and draft is not None and score_item(item, draft).passed)
        rows.append(Row(corpus, item.id, dict(features), label))
    return rows


def save_rows(rows: Sequence[Row], path: Path) -> None:
    """Write feature rows as JSONL (one :class:`Row` per line), to refit without asking again."""
    lines = [json.dumps(asdict(r), ensure_ascii=False) for r in rows]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def load_rows(path: Path) -> list[Row]:
    """Read rows written by :func:`save_rows`."""
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            out.append(Row(str(d["corpus"]), str(d["item_id"]), dict(d["features"]), int(d["label"])))
    return out


@dataclass
class FoldResult:
    """Decision quality on one held-out corpus: counts of each outcome."""

    corpus: str
    n: int
    false_refusals: int  # answerable, refused
    false_answers: int  # unanswerable, answered

    def line(self) -> str:
        """Chinese one-liner."""
        ok = self.n - self.false_refusals - self.false_answers
        return (f"{self.corpus}: {ok}/{self.n} 判定正确，误拒答 {self.false_refusals}，"
                f"不应答而答 {self.false_answers}")


def score(model: AnswerabilityModel, rows: Sequence[Row], corpus: str) -> FoldResult:
    """Count the model's decision errors on ``rows``."""
    fr = sum(1 for r in rows if r.label == 1 and model.probability(r.features) < model.threshold)
    fa = sum(1 for r in rows if r.label == 0 and model.probability(r.features) >= model.threshold)
    return FoldResult(corpus, len(rows), fr, fa)


# A wrong answer costs this many false refusals when the threshold is chosen.
WRONG_ANSWER_COST = 2.0
THRESHOLDS = tuple(round(0.3 + 0.02 * i, 2) for i in range(21))  # 0.30 .. 0.70


def choose_threshold(model: AnswerabilityModel, rows: Sequence[Row]) -> float:
    """The threshold (of :data:`THRESHOLDS`) with the least cost on ``rows``: false refusals
    plus :data:`WRONG_ANSWER_COST` per answer that should not be given; ties go nearest 0.5."""
    probs = [(model.probability(r.features), r.label) for r in rows]

    def cost(t: float) -> tuple[float, float]:
        fr = sum(1 for p, y in probs if y == 1 and p < t)
        fa = sum(1 for p, y in probs if y == 0 and p >= t)
        return fr + WRONG_ANSWER_COST * fa, abs(t - 0.5)

    return min(THRESHOLDS, key=cost)


def _fit(rows: Sequence[Row], c: float) -> AnswerabilityModel:
    model = fit([r.features for r in rows], [r.label for r in rows], c=c)
    model.threshold = choose_threshold(model, rows)
    return model


def loco(rows: Sequence[Row], *, c: float = 1.0) -> list[FoldResult]:
    """Leave one corpus out: fit (coefficients and threshold) on the others, score on it; one
    result per corpus."""
    corpora = sorted({r.corpus for r in rows})
    out = []
    for held in corpora:
        model = _fit([r for r in rows if r.corpus != held], c)
        out.append(score(model, [r for r in rows if r.corpus == held], held))
    return out


def fit_all(rows: Sequence[Row], *, c: float = 1.0) -> AnswerabilityModel:
    """The model (coefficients and threshold) fitted on every row, with the corpora and counts
    in ``meta``."""
    model = _fit(rows, c)
    model.meta = {
        "corpora": sorted({r.corpus for r in rows}),
        "n": len(rows),
        "answerable": sum(r.label for r in rows),
    }
    return model
