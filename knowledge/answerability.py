"""The answer/refuse decision as a small logistic model over retrieval features.

A single confidence threshold tuned on one knowledge base does not carry to another (full
official texts score lower coverage than the bundled summaries). The model reads features that
mean the same on any corpus — shares, ranks and margins rather than raw scores — and its
coefficients are fitted offline by ``vetbot answerability fit`` on labelled questions over
several corpora (``vetbot answerability loco`` measures it leave-one-corpus-out) and stored in
``knowledge/data/answerability.json``; nothing is trained at run time.

Features (all in 0..1): ``coverage`` (blend of best-single and union concept coverage of the top
passages), ``lead_coverage`` (coverage of the top hit), ``margin`` (dense margin over the median
candidate, /0.04, clipped), ``agree`` (the top hit is in the top 3 of both dense and BM25),
``domain`` (the question has domain vocabulary), ``type_missing`` (an amount/duration/group is
asked and no on-topic passage states one), ``sentence`` (share of the question's concepts the
best single sentence of the top hit covers), ``uncovered`` (share of the question's concept
weight that no top passage covers), ``object_missing`` (a question whether a benefit applies
to something: the share of that something no top passage names), ``matched`` (how many of the
question's concepts the top hit states, /5, clipped). Passages of superseded texts are not
evidence.

The model is the only answer/refuse decision (``knowledge.evidence.refusal_reason``): answer
when ``p >= threshold``, or ``p >= complaint_threshold`` for a complaint. Labels for fitting
are end-to-end: 1 when the answer composed for the question would pass its eval item.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vetbot.errors import ConfigurationError

FEATURES: tuple[str, ...] = (
    "coverage", "lead_coverage", "margin", "agree", "domain", "type_missing", "sentence", "uncovered",
    "object_missing", "matched", "focus_missing",
)
MODEL_PATH = Path(__file__).resolve().parent / "data" / "answerability.json"


@dataclass
class AnswerabilityModel:
    """Logistic model ``p = sigmoid(bias + sum(w_f * x_f))``; answer when ``p >= threshold``
    (``complaint_threshold`` for complaints: a complaint still deserves the nearest rule)."""

    weights: dict[str, float]
    bias: float
    threshold: float = 0.5
    complaint_threshold: float = 0.3
    meta: dict[str, object] = field(default_factory=dict)

    def probability(self, features: Mapping[str, float]) -> float:
        """P(answerable) in 0..1; missing features count as 0."""
        z = self.bias + sum(w * float(features.get(f, 0.0)) for f, w in self.weights.items())
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> AnswerabilityModel:
        """Read the stored coefficients; ConfigurationError when the file is missing or malformed."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls(
                weights={str(k): float(v) for k, v in data["weights"].items()},
                bias=float(data["bias"]),
                threshold=float(data.get("threshold", 0.5)),
                complaint_threshold=float(data.get("complaint_threshold", 0.3)),
                meta=dict(data.get("meta", {})),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigurationError(
                f"cannot read answerability model {path}: {exc}",
                user_message="无法读取拒答模型文件，请检查安装。",
            ) from exc

    def save(self, path: Path = MODEL_PATH) -> None:
        """Write the coefficients as JSON."""
        data = {"features": list(self.weights), "weights": self.weights, "bias": self.bias,
                "threshold": self.threshold, "complaint_threshold": self.complaint_threshold,
                "meta": self.meta}
        Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def fit(rows: Sequence[Mapping[str, float]], labels: Sequence[int], *, c: float = 1.0) -> AnswerabilityModel:
    """Fit the model on feature rows and 0/1 labels (1 = answerable); class-balanced, L2 (``C=c``)."""
    from sklearn.linear_model import LogisticRegression  # offline fitting only

    x = [[float(r.get(f, 0.0)) for f in FEATURES] for r in rows]
    clf = LogisticRegression(C=c, class_weight="balanced", max_iter=1000)
    clf.fit(x, list(labels))
    weights = {f: round(float(w), 6) for f, w in zip(FEATURES, clf.coef_[0], strict=True)}
    return AnswerabilityModel(weights=weights, bias=round(float(clf.intercept_[0]), 6))
