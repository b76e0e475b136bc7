"""Evaluation of the complaint classifier: detection precision/recall/F1 and theme accuracy."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from complaints.classifier import ComplaintClassifier


def evaluate_classifier(
    classifier: ComplaintClassifier, items: Iterable[Mapping[str, Any]]
) -> dict[str, Any]:
    """Detection precision/recall/F1 (complaint = positive) and theme accuracy on complaint items.

    ``items`` are eval records with ``q``, ``kind`` (``complaint`` is positive; ``answer`` and
    ``refuse`` are negatives) and, for complaints, ``theme``. Returns ``n``, the confusion counts
    ``tp``/``fp``/``fn``/``tn``, ``precision``/``recall``/``f1``/``theme_accuracy`` in ``[0, 1]``
    rounded to 4 places (0.0 when undefined), ``theme_total`` and the misclassified items under
    ``errors``.
    """
    truth: list[bool] = []
    predicted: list[bool] = []
    theme_total = theme_ok = 0
    errors: list[dict[str, Any]] = []
    for item in items:
        result = classifier.classify(str(item["q"]))
        positive = item["kind"] == "complaint"
        guessed = result.intent == "complaint"
        truth.append(positive)
        predicted.append(guessed)
        theme_wrong = False
        if positive:
            theme_total += 1
            theme_wrong = result.theme != item.get("theme")
            theme_ok += not theme_wrong
        if positive != guessed or theme_wrong:
            errors.append(
                {
                    "id": item.get("id"),
                    "q": item["q"],
                    "kind": item["kind"],
                    "theme": item.get("theme"),
                    "predicted_intent": result.intent,
                    "predicted_theme": result.theme,
                    "ambiguous": result.ambiguous,
                    "confidence": result.confidence,
                }
            )
    tn = fp = fn = tp = 0
    precision = recall = f1 = 0.0
    if truth:
        tn, fp, fn, tp = (int(v) for v in confusion_matrix(truth, predicted, labels=[False, True]).ravel())
        p, r, f, _ = precision_recall_fscore_support(
            truth, predicted, labels=[True], average="binary", pos_label=True, zero_division=0.0
        )
        precision, recall, f1 = float(p), float(r), float(f)
    return {
        "n": len(truth),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "theme_accuracy": round(theme_ok / theme_total, 4) if theme_total else 0.0,
        "theme_total": theme_total,
        "errors": errors,
    }


__all__ = ["evaluate_classifier"]
