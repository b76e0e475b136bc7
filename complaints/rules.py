"""The rule layer of complaint detection: what a message's wording says about its intent.

``rule_signals`` splits a message into clauses, finds declarations, help-seeking, question
forms, rhetoric, hypotheticals, thanks and the domain, and sums the weights of the grievance
patterns and theme keywords of ``complaints.rule_patterns`` into a ``RuleSignals``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from complaints.rule_patterns import (
    A_NOT_A,
    CLAUSE,
    COMPLAINT_VERB,
    CONDUCT_GRIEVANCE,
    DECLARATION,
    DOMAIN,
    EMOTION,
    ENTITLEMENT_GRIEVANCE,
    HELP_NEGATED_BEFORE,
    HELP_SEEKING,
    HYPOTHETICAL,
    INDIRECT_BEFORE,
    INTERROGATIVE,
    POSITIVE,
    QUESTION_PARTICLE_END,
    REPROACH,
    RHETORICAL,
    SENTENCE,
    SOFT_RHETORICAL,
    THEME_KEYWORDS,
    TRAILING_NOISE,
    YES_NO,
)

# Cap of each summed grievance weight (and of the total): many refusal words are one refusal.
GRIEVANCE_CAP = 2.0
# Theme keyword weight from which a message counts as in the domain without a DOMAIN word.
DOMAIN_KEYWORD_WEIGHT = 2.5


@dataclass(frozen=True)
class RuleSignals:
    """What the rule layer found in a message (exposed for tests and debugging)."""

    declared: bool  # explicit 投诉/举报/反映/讨说法 in a non-interrogative clause
    declared_pos: int  # offset of the last declaration, -1 if none
    help_seeking: bool  # asks what to do / where to complain / whether it is lawful
    help_pos: int  # offset of the last help-seeking phrase, -1 if none
    procedure_question: bool  # asks about complaint channels (怎么投诉, 投诉电话)
    question_form: bool  # the message ends as a question
    strong_question: bool  # ... with a question mark or a question particle (吗/么/呢)
    rhetorical: bool  # rhetorical outburst (凭什么, 这不是…吗！)
    rhetorical_pos: int  # offset of the last rhetorical outburst or reproach, -1 if none
    hypothetical: bool  # 如果/听说/哪些情况: not the user's own grievance
    positive: bool  # thanks or a resolved matter
    yes_no_question: bool  # the last clause asks a yes/no question (是不是, A不A)
    in_domain: bool  # mentions veterans' services or public administration
    emotion: bool
    entitlement_grievance: float  # summed pattern weights, refused/delayed entitlement
    conduct_grievance: float  # summed pattern weights, staff misconduct
    theme_scores: dict[str, float]
    # The last clause is a question only by its "?" (审核个一年？): an echo of indignation.
    echo_question: bool = False
    reproach: bool = False  # 钱谁退？/ 有啥用: rhetorical only next to a grievance

    @property
    def grievance(self) -> float:
        """Capped rule grievance score (entitlement + conduct + rhetoric)."""
        score = self.entitlement_grievance + self.conduct_grievance + (1.0 if self.rhetorical else 0.0)
        return min(score, GRIEVANCE_CAP)




def normalize_message(text: str) -> str:
    """NFKC-normalise (full-width punctuation to ASCII) and collapse whitespace."""
    text = unicodedata.normalize("NFKC", text or "")
    return re.sub(r"[ \t\r\f\v]+", " ", text).strip()


@dataclass(frozen=True)
class _Clause:
    text: str
    start: int
    interrogative: bool
    marked_only: bool = False  # interrogative only through a "?" (no wh-word, no particle)


def _has_direct_interrogative(clause: str) -> bool:
    if A_NOT_A.search(clause):
        return True
    return any(not INDIRECT_BEFORE.search(clause[: m.start()]) for m in INTERROGATIVE.finditer(clause))


def _clauses(text: str) -> list[_Clause]:
    """Split into clauses (with their offsets), marking those that ask something directly."""
    out: list[_Clause] = []
    for sentence in SENTENCE.finditer(text):
        body, terminator = sentence.group(1), sentence.group(2)
        pieces = list(CLAUSE.finditer(body))
        for j, piece in enumerate(pieces):
            core = TRAILING_NOISE.sub("", piece.group(0).strip())
            if not core:
                continue
            last = j == len(pieces) - 1
            worded = bool(QUESTION_PARTICLE_END.search(core)) or _has_direct_interrogative(core)
            marked = last and "?" in terminator
            out.append(
                _Clause(core, sentence.start(1) + piece.start(), marked or worded, marked and not worded)
            )
    return out


def _weighted_hits(text: str, patterns: Iterable[tuple[float, re.Pattern[str]]]) -> float:
    return sum(weight for weight, pattern in patterns if pattern.search(text))


def _theme_keyword_scores(text: str) -> dict[str, float]:
    return {theme: _weighted_hits(text, pats) for theme, pats in THEME_KEYWORDS.items()}


def rule_signals(text: str) -> RuleSignals:
    """Run the rule layer on ``text`` (normalised here)."""
    norm = normalize_message(text)
    clauses = _clauses(norm)

    declared_pos = -1
    help_pos = -1
    procedure = False
    for clause in clauses:
        if not clause.interrogative and DECLARATION.search(clause.text):
            declared_pos = clause.start
        for m in HELP_SEEKING.finditer(clause.text):
            if HELP_NEGATED_BEFORE.search(clause.text[: m.start()]):
                continue
            # Help phrases that are not themselves questions need a question clause around them.
            inherently_question = bool(re.search(r"(吗|怎么|咋|如何|哪|谁|什么|有没有)", m.group(0)))
            if clause.interrogative or inherently_question:
                help_pos = clause.start + m.start()
                # Asking how/where to complain (怎么投诉, 投诉电话) hints at an unspoken grievance.
                procedure = procedure or bool(COMPLAINT_VERB.search(clause.text))

    question_form = bool(clauses) and clauses[-1].interrogative
    strong_question = question_form and (
        norm.rstrip().endswith("?") or bool(re.search(r"(吗|么|呢|不)$", clauses[-1].text))
    )
    themes = _theme_keyword_scores(norm)
    rhetorical_hits = [m.start() for m in RHETORICAL.finditer(norm)]
    if not strong_question:
        rhetorical_hits += [m.start() for m in SOFT_RHETORICAL.finditer(norm)]
    reproach_hits = [m.start() for m in REPROACH.finditer(norm)]
    rhetorical_pos = max(rhetorical_hits + reproach_hits, default=-1)
    # 能不能用 must not read as 不能用.
    statement_view = A_NOT_A.sub(r"\1否", norm)
    entitlement = min(_weighted_hits(statement_view, ENTITLEMENT_GRIEVANCE), GRIEVANCE_CAP)
    conduct = min(_weighted_hits(statement_view, CONDUCT_GRIEVANCE), GRIEVANCE_CAP)
    return RuleSignals(
        declared=declared_pos >= 0,
        declared_pos=declared_pos,
        help_seeking=help_pos >= 0,
        help_pos=help_pos,
        procedure_question=procedure,
        question_form=question_form,
        strong_question=strong_question,
        rhetorical=bool(rhetorical_hits),
        rhetorical_pos=rhetorical_pos,
        hypothetical=bool(HYPOTHETICAL.search(norm)),
        positive=bool(POSITIVE.search(norm)),
        yes_no_question=bool(clauses)
        and bool(YES_NO.search(clauses[-1].text) or A_NOT_A.search(clauses[-1].text)),
        # Only specific theme words place a message in the domain: 态度/车/物业 alone also fit a
        # restaurant or a housing estate.
        in_domain=bool(DOMAIN.search(norm)) or any(v >= DOMAIN_KEYWORD_WEIGHT for v in themes.values()),
        emotion=bool(EMOTION.search(norm)),
        entitlement_grievance=entitlement,
        conduct_grievance=conduct,
        theme_scores=themes,
        echo_question=question_form and clauses[-1].marked_only,
        reproach=bool(reproach_hits),
    )


__all__ = ["DOMAIN_KEYWORD_WEIGHT", "GRIEVANCE_CAP", "RuleSignals", "normalize_message", "rule_signals"]
