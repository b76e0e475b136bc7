"""Query vocabulary: synonym groups, colloquial -> official wordings, and colloquial fillers.

``knowledge/data/synonyms.yaml`` holds:

- ``groups: [[term, term, ...], ...]``: interchangeable terms. A query that contains any member
  of a group (as a jieba token, or — for terms of two or more characters — as a substring of
  the raw question) is expanded with the other members, so that 老兵 finds 退役军人 and 坐地铁
  finds 城市轨道交通. Retrieval gives expansion terms a lower weight than the words the user
  actually typed.
- ``official: {colloquial: [official wording, ...]}``: one-way groups. 当兵 in a question is
  expanded with (and covered by) 军人/服现役, but 军人 in a question is not expanded with
  当兵: the official words are far more common, and the colloquial one is no evidence in a law.
- ``fillers: [word, ...]``: colloquial words that say who asks or how (家里, 具体, 平时), not what
  the question is about; query analysis weighs them at a fraction of their IDF
  (:data:`FILLER_WEIGHT`), so that a rare everyday word a law never uses does not count as a
  missing topic.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from knowledge.text import DATA_DIR, normalize
from vetbot.errors import ConfigurationError

logger = logging.getLogger(__name__)

SYNONYMS_FILE = DATA_DIR / "synonyms.yaml"
FILLER_WEIGHT = 0.25  # share of its IDF a colloquial filler keeps as a concept weight


class SynonymTable:
    """Groups of interchangeable terms; see the module docstring."""

    def __init__(
        self,
        groups: Iterable[Sequence[str]] = (),
        official: Mapping[str, Sequence[str]] | None = None,
        fillers: Iterable[str] = (),
    ) -> None:
        self.groups: list[tuple[str, ...]] = []
        self._index: dict[str, list[int]] = {}
        for group in groups:
            self._add(group, indexed=None)
        two_way = frozenset(self._index)
        # One-way groups: only the colloquial head is indexed, so only it finds the group.
        for head, targets in (official or {}).items():
            self._add([head, *targets], indexed=1)
        # Heads that are nothing but colloquial: query analysis weighs them, when the texts
        # never use them, as any unseen word (the table does not make them domain words).
        self.colloquial: frozenset[str] = frozenset(self._index) - two_way
        self.fillers: frozenset[str] = frozenset(normalize(str(t)).lower() for t in fillers if str(t).strip())
        # Longest first, so that substring scans see 退役军人 before 军人.
        self._substring_terms = sorted((t for t in self._index if len(t) >= 2), key=len, reverse=True)
        # The index is complete here: query analysis reads these sets on every question.
        self._terms: frozenset[str] = frozenset(self._index)
        self.domain_terms: frozenset[str] = self._terms - self.colloquial
        self._longest = max((len(t) for t in self._substring_terms), default=0)

    def _add(self, group: Sequence[str], indexed: int | None) -> None:
        """Add a group; ``indexed`` = how many leading members find it (None: all)."""
        terms = tuple(dict.fromkeys(normalize(str(t)).lower() for t in group if str(t).strip()))
        if len(terms) < 2:
            return
        gid = len(self.groups)
        self.groups.append(terms)
        for term in terms[:indexed]:
            self._index.setdefault(term, []).append(gid)

    @classmethod
    def load(cls, path: Path | None = None) -> SynonymTable:
        """Read a synonyms YAML file; a missing file gives an empty table (logged);
        ConfigurationError when the file is unreadable or its sections have the wrong shape."""
        import yaml

        path = path or SYNONYMS_FILE
        if not path.exists():
            logger.warning("synonym file %s not found; query expansion disabled", path)
            return cls()
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigurationError(f"cannot read synonyms {path}: {exc}") from exc
        groups = data.get("groups", []) if isinstance(data, dict) else data
        if not isinstance(groups, list) or not all(isinstance(g, list) for g in groups):
            raise ConfigurationError(f"{path}: 'groups' must be a list of lists of terms")
        official = (data.get("official") or {}) if isinstance(data, dict) else {}
        if not isinstance(official, dict) or not all(isinstance(v, list) for v in official.values()):
            raise ConfigurationError(f"{path}: 'official' must map a colloquial word to a list of wordings")
        fillers = (data.get("fillers") or []) if isinstance(data, dict) else []
        if not isinstance(fillers, list):
            raise ConfigurationError(f"{path}: 'fillers' must be a list of words")
        one_way = {str(k): [str(t) for t in v] for k, v in official.items()}
        return cls(groups, one_way, [str(f) for f in fillers])

    @property
    def terms(self) -> frozenset[str]:
        """Every term that finds a group: all members of two-way groups, the colloquial heads of
        one-way ones (the domain vocabulary contributed by this table)."""
        return self._terms

    def written_in(self, text: str, tokens: Iterable[str] = ()) -> set[str]:
        """The terms of two or more characters that occur in ``text`` (normalised, lower case),
        plus those among ``tokens``.

        Looks up every substring up to the longest term's length: a few hundred set look-ups
        for a question, instead of a scan of every term.
        """
        found = set(self._terms.intersection(tokens))
        n = len(text)
        for size in range(2, min(self._longest, n) + 1):
            found.update(self._terms.intersection(text[i : i + size] for i in range(n - size + 1)))
        return found

    def matched_groups(self, tokens: Sequence[str], query: str = "") -> list[int]:
        """Ids of the groups that a token, or a substring of ``query``, belongs to."""
        found: dict[int, None] = {}
        for tok in tokens:
            for gid in self._index.get(tok.lower(), ()):
                found[gid] = None
        if query:
            text = normalize(query).lower()
            for term in self._substring_terms:
                if term in text:
                    for gid in self._index[term]:
                        found[gid] = None
        return list(found)

    def expansions(self, tokens: Sequence[str], query: str = "") -> list[str]:
        """Only the added terms: members of matched groups that the query does not already say.

        A member containing one of the query's own words (退役军人优待证 for a query with
        优待证) adds only its other, broader words, so it is left out.
        """
        present = {t.lower() for t in tokens}
        own = [t for t in present if len(t) >= 2]
        text = normalize(query).lower() if query else ""
        out: dict[str, None] = {}
        for gid in self.matched_groups(tokens, query):
            for term in self.groups[gid]:
                if term in present or (text and term in text):
                    continue
                if any(t in term for t in own):
                    continue
                out[term] = None
        return list(out)

    def expand(self, tokens: Sequence[str], query: str = "") -> list[str]:
        """``tokens`` followed by the expansion terms (each once, original order kept)."""
        return list(dict.fromkeys([*tokens, *self.expansions(tokens, query)]))

    def __len__(self) -> int:
        return len(self.groups)
