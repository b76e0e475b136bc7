"""Complaint detection and theme classification: the ``ComplaintClassifier`` facade.

A message is a *complaint* when it voices a grievance about a refused or delayed entitlement, about
misconduct, or explicitly asks to 投诉/举报/反映/曝光/讨说法. A grievance phrased as a question
asking what to do (景区不认优待证怎么办？) stays a *question* but is flagged ``ambiguous`` so the
bot answers and offers to file a complaint.

Two layers are combined:

* a rule layer (always on, ``complaints.rules`` over ``complaints.rule_patterns``): explicit
  complaint declarations, refusal/delay/misconduct patterns, rhetorical outbursts,
  help-seeking and question forms, hypotheticals, thanks, a domain check (grievances about a
  noisy neighbour are chit-chat), and weighted theme keywords;
* an optional embedding layer (``complaints.example_index``): cosine kNN against the labelled
  examples in ``complaints/data/examples.yaml`` (embedded once, in one batch, at
  construction), which nudges the grievance score and votes on the theme.

``complaints.classifier_eval.evaluate_classifier`` measures detection precision/recall/F1 and
theme accuracy on eval items.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from langchain_core.embeddings import Embeddings

from complaints.example_index import ExampleIndex, Neighbours
from complaints.examples import DEFAULT_EXAMPLES_PATH, Example, parse_examples, read_examples_file
from complaints.rules import RuleSignals, normalize_message, rule_signals
from complaints.themes import THEMES

logger = logging.getLogger(__name__)

Intent = Literal["question", "complaint"]

# Tie-break order: where the entitlement was refused beats the card itself, conduct comes last.
_THEME_PRIORITY = (
    "transit",
    "culture_tourism",
    "education",
    "medical",
    "housing",
    "employment",
    "pension_subsidy",
    "card",
    "other",
    "service_conduct",
)

# Themes about an entitlement (everything but conduct): a grievance about a refused or delayed
# entitlement is filed under the entitlement even when staff behaved badly on the way.
_ENTITLEMENT_THEMES = tuple(t for t in THEMES if t != "service_conduct")
# Keyword weight from which an entitlement theme "dominates" a conduct grievance.
_DOMINANT_KEYWORD_WEIGHT = 2.5
_SERVICE_CONDUCT_DISCOUNT = 0.3

# Decision thresholds and weights (tuned on examples.yaml; see tests/complaints).
# A strong rule pattern (1.0) alone is a grievance; a weak one (0.5) needs support from emotion,
# another pattern or the neighbours. Neighbours alone need a clear majority of grievances
# (net share >= ~0.95): in leave-one-out runs on the examples, plain questions reached 0.76.
_GRIEVANCE_THRESHOLD = 0.75
_EMOTION_WEIGHT = 0.5
_EMBED_SUPPORT_WEIGHT = 0.8
_EMBED_VETO_WEIGHT = 0.25
# Share of complaint neighbours that turns a statement with a stray interrogative word
# (谁出门带户口本啊) into a complaint.
_EMBED_COMPLAINT_SHARE = 0.7
_EMBED_THEME_WEIGHT = 3.0


@dataclass(frozen=True)
class Classification:
    """The classifier's verdict on one message."""

    intent: Intent
    theme: str  # best theme code even for questions ("other" when nothing fits)
    confidence: float  # 0..1 confidence in the intent decision
    ambiguous: bool  # grievance-like question: answer it and offer to file a complaint




class ComplaintClassifier:
    """Complaint detector and theme classifier (rules, plus embedding kNN when available)."""

    def __init__(
        self,
        embeddings: Embeddings | None = None,
        examples_path: Path | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        """Load the examples and, with ``embeddings``, embed them once in a single batch.

        With ``cache_dir``, the embedded examples are cached there (see
        ``complaints.example_index``). Raises ``ConfigurationError`` when the examples file is
        unreadable or invalid.
        """
        path = examples_path or DEFAULT_EXAMPLES_PATH
        content = read_examples_file(path)
        self._examples = parse_examples(content, path)
        self._index = (
            ExampleIndex(self._examples, embeddings, content, cache_dir) if embeddings is not None else None
        )
        logger.debug(
            "complaint classifier: %d examples, embeddings=%s",
            len(self._examples),
            "yes" if self._index is not None else "no",
        )

    @property
    def examples(self) -> list[Example]:
        """The labelled examples in use."""
        return list(self._examples)

    def classify(self, text: str, vector: Sequence[float] | None = None) -> Classification:
        """Classify one user message as a complaint or a question, with its theme.

        ``vector`` is the message's query embedding when the caller already computed one
        (``KnowledgeService.ask`` shares its retrieval embedding), so the message is not
        embedded a second time; without it the classifier embeds the message itself.

        Grievance scores are summed pattern weights (a strong rule pattern 1.0, a weak one 0.5,
        capped at ``rules.GRIEVANCE_CAP``) nudged by the neighbours' net grievance share; the
        returned ``confidence`` is in ``[0.6, 0.99]`` except for the fixed cases (0.7, 0.8,
        0.95, and 1.0 for an empty message).
        """
        norm = normalize_message(text)
        if not norm:
            return Classification(intent="question", theme="other", confidence=1.0, ambiguous=False)
        signals = rule_signals(norm)
        neighbours = self._index.neighbours(norm, vector) if self._index is not None else None

        grievance = signals.grievance + (_EMOTION_WEIGHT if signals.emotion else 0.0)
        if neighbours is not None:
            # Neighbours that are grievances (complaints or grievance-questions) vs. plain questions.
            net = neighbours.complaint + neighbours.ambiguous - neighbours.question
            if net < 0:
                grievance += _EMBED_VETO_WEIGHT * net
            elif signals.grievance > 0 or not signals.positive:
                grievance += _EMBED_SUPPORT_WEIGHT * net
        if signals.hypothetical and signals.question_form and not signals.help_seeking:
            # 如果景区不认优待证… / 听说有的地方不认…？ asks about a rule, not about the user's case.
            grievance = 0.0
        if not signals.in_domain:
            # A grievance outside veterans' services (装修太吵, 老婆不让我喝酒) is chit-chat.
            grievance = 0.0
        # A wh-word without "?" can be rhetoric (谁出门带户口本啊); a yes/no form is a question.
        weak_question = (
            signals.question_form
            and not signals.strong_question
            and not signals.yes_no_question
            and neighbours is not None
            and neighbours.complaint >= _EMBED_COMPLAINT_SHARE
        )
        # A grievance ending in a bare "?" (补助申请一年了，审核个一年？) is indignation, not a query.
        echo_question = signals.echo_question and not signals.help_seeking and not signals.yes_no_question
        has_grievance = grievance >= _GRIEVANCE_THRESHOLD
        rhetoric = signals.rhetorical or signals.reproach
        margin = grievance - _GRIEVANCE_THRESHOLD

        intent: Intent
        ambiguous = False
        if signals.declared and signals.declared_pos > signals.help_pos:
            intent, confidence = "complaint", 0.95
        elif has_grievance and rhetoric and signals.rhetorical_pos > signals.help_pos:
            # …我一个退伍兵去哪找，这不是故意刁难人吗: the outburst, said last, is the point.
            intent, confidence = "complaint", _squash(margin, base=0.6)
        elif signals.declared or (has_grievance and signals.help_seeking):
            intent, confidence, ambiguous = "question", 0.8, True
        elif has_grievance and (rhetoric or not signals.question_form or weak_question or echo_question):
            intent = "complaint"
            confidence = _squash(margin, base=0.6)
        elif has_grievance:
            # Neighbours alone do not make a plain policy question grievance-like.
            intent, confidence = "question", 0.7
            ambiguous = signals.grievance > 0 or signals.emotion
        else:
            intent = "question"
            confidence = _squash(-margin, base=0.6)
            ambiguous = signals.procedure_question
        theme = self._theme(signals, neighbours)
        return Classification(
            intent=intent, theme=theme, confidence=round(confidence, 3), ambiguous=ambiguous
        )

    def _theme(self, signals: RuleSignals, neighbours: Neighbours | None) -> str:
        scores = dict(signals.theme_scores)
        dominant = max(scores[t] for t in _ENTITLEMENT_THEMES)
        only_conduct = signals.conduct_grievance > 0 and signals.entitlement_grievance == 0
        if dominant >= _DOMINANT_KEYWORD_WEIGHT and not only_conduct:
            scores["service_conduct"] *= _SERVICE_CONDUCT_DISCOUNT
        if neighbours is not None:
            for theme, vote in neighbours.theme_votes.items():
                scores[theme] += _EMBED_THEME_WEIGHT * vote
        # Ties go to the more specific theme (_THEME_PRIORITY order).
        best = max(_THEME_PRIORITY, key=lambda t: scores[t])
        return best if scores[best] > 0 else "other"


def _squash(margin: float, base: float) -> float:
    """Map a score margin (>= 0) to a confidence in [base, 0.99]."""
    return min(0.99, base + (1.0 - base) * (1.0 - math.exp(-2.0 * max(margin, 0.0))))


__all__ = ["Classification", "ComplaintClassifier", "Intent"]
