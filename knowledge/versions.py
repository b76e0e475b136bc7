"""Versions in force: which documents of a knowledge base are superseded, and by what.

Two rules, both read from the documents' own metadata (see :mod:`knowledge.types`):

* **Same title.** Documents whose titles are the same once normalised (中华人民共和国 prefix,
  summary suffixes, brackets, spaces dropped) are versions of one text; the one with the latest
  ``date_version`` (the latest 修正/修订, else the publication date) is in force and the others
  are ``已被取代`` by it. A document with no date cannot be ordered and stays in force.
* **Known successions** (``KNOWN_SUCCESSORS``) that the newer text does not state by name:
  信访条例 → 信访工作条例 (2022), when the knowledge base holds both.
* **Marked by staff.** A document whose metadata has ``superseded_by`` (a doc id or a title,
  set on the knowledge-base admin page) is ``已被取代`` by that document; this wins over the
  rules above. A title the knowledge base does not hold is still shown as the successor.
* **Repeal by name.** A document whose ``repeals`` names another document's title (《…》同时废止)
  makes that document ``已废止`` — unless the named document is not older than the repealing
  one (信访条例 2005 repeals the 1995 《信访条例》, not itself).

``status_date`` is when the newer text took effect (its ``date_effective``, else its
``date_version``). Pure functions over metadata mappings: no store, no I/O.

* **Not yet in force.** Given ``today`` (an ISO date, China time), a document whose
  ``date_effective`` is later is ``尚未施行``: like a superseded one it is never the basis of an
  answer, only shown labelled; and it replaces or repeals nothing before that day (the text it
  will replace stays in force until then, and ``VersionIndex.upcoming`` says what will happen).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from knowledge.text import normalize
from knowledge.types import status_note

Status = Literal["现行有效", "已被取代", "已废止", "尚未施行"]
IN_FORCE: Status = "现行有效"
SUPERSEDED: Status = "已被取代"
REPEALED: Status = "已废止"
NOT_YET: Status = "尚未施行"

# Successions the texts do not state by name: the national 信访条例 (国务院令第431号) gave way to
# the 信访工作条例 of 2022. Applied only when the knowledge base holds both, the newer one later.
KNOWN_SUCCESSORS: dict[str, str] = {"信访条例": "信访工作条例"}

_PREFIX = re.compile(r"^(中华人民共和国|中国人民解放军)")
# Summary suffixes and bracketed dates/versions: 《…（要点）》, 国防教育法(2018), 条例（2022年修订）.
_BRACKETS = re.compile(r"[（(【\[][^（）()【】\[\]]{0,16}[)）】\]]")
_PUNCT = re.compile(r"[\s《》〈〉“”\"'·・:：,，。]")


@lru_cache(maxsize=1 << 18)  # every generation's version index looks at every title again
def normalise_title(title: str) -> str:
    """The title key two versions of one text share.

    ``中华人民共和国国防教育法（2018年修正）`` → ``国防教育法``.
    """
    text = normalize(title or "")
    text = _BRACKETS.sub("", text)
    text = _PUNCT.sub("", text)
    return _PREFIX.sub("", text)


@dataclass(frozen=True)
class DocumentStatus:
    """Whether a document is in force; for a superseded one, what replaced it and from when."""

    status: Status = IN_FORCE
    superseded_by: str = ""  # title of the newer / repealing document
    status_date: str = ""  # ISO date the newer text took effect ("" when it states none)

    @property
    def in_force(self) -> bool:
        """True for 现行有效."""
        return self.status == IN_FORCE

    def note(self) -> str:
        """Chinese label of a superseded document (:func:`knowledge.types.status_note`); "" in force."""
        return status_note(self.status, self.superseded_by, self.status_date)


@dataclass(frozen=True)
class Supersession:
    """One superseded document, for ingest reports: ``old`` (doc id) is replaced by ``new``."""

    old: str
    old_title: str
    old_date: str
    new: str
    new_title: str
    status: DocumentStatus
    # True when ``new`` is not yet in force: ``old`` stays in force until ``status.status_date``.
    upcoming: bool = False

    def describe(self) -> str:
        """Chinese one-liner for the ingest report (``…已废止：被《…》废止（…起施行）``, or for an
        upcoming one ``…将于2027-03-01被《…》废止``)."""
        old = f"《{self.old_title}》" + (f"（{self.old_date}）" if self.old_date else "")
        return old + (_upcoming_label(self.status) if self.upcoming else self.status.note())


def _upcoming_label(st: DocumentStatus) -> str:
    """``将于2027-01-01被《…》废止`` (or ``取代``), for a text in force that ``st`` will end."""
    verb = "废止" if st.status == REPEALED else "取代"
    return f"将于{st.status_date}被《{st.superseded_by}》{verb}"


def _version_date(meta: Mapping[str, Any]) -> str:
    return str(meta.get("date_version") or meta.get("date_amended") or meta.get("date_issued") or "")


def _effective(meta: Mapping[str, Any]) -> str:
    return str(meta.get("date_effective") or _version_date(meta))


class VersionIndex:
    """Status of every document of a knowledge base, from ``doc_id -> metadata``.

    Metadata keys read: ``title``, ``date_version`` (fallbacks ``date_amended``, ``date_issued``),
    ``date_effective``, ``repeals``, ``superseded_by``. Documents not in the mapping are in force.
    ``today`` (ISO date): documents taking effect later are 尚未施行 (None: no such check).
    """

    def __init__(self, documents: Mapping[str, Mapping[str, Any]], today: str | None = None) -> None:
        self._status: dict[str, DocumentStatus] = {}
        self._successor: dict[str, str] = {}  # old doc id -> the doc id that replaced it
        # In force today, replaced or repealed on a later day: old doc id -> (pending doc id, status
        # it will have then). Read by knowledge.pending and the staff document pages.
        self._upcoming: dict[str, tuple[str, DocumentStatus]] = {}
        self.supersessions: list[Supersession] = []
        # The same for texts in force that a 尚未施行 one will replace or repeal (``upcoming``).
        self.upcoming_supersessions: list[Supersession] = []
        # Not yet in force: labelled, and replacing nothing until the day it takes effect.
        self._pending = {
            doc_id: str(meta.get("date_effective"))
            for doc_id, meta in documents.items()
            if today and meta.get("date_effective") and str(meta.get("date_effective")) > today
        }
        by_key: dict[str, list[str]] = {}
        for doc_id, meta in documents.items():
            key = normalise_title(str(meta.get("title", "")))
            if key:
                by_key.setdefault(key, []).append(doc_id)
        self._mark_explicit(documents, by_key)
        for ids in by_key.values():
            dated = [d for d in ids if _version_date(documents[d]) and d not in self._pending]
            self._upcoming_version(ids, dated, documents)
            if len(dated) < 2:
                continue
            newest = max(dated, key=lambda d: (_version_date(documents[d]), d))
            new_meta = documents[newest]
            for old in dated:
                if old in self._status:
                    continue  # marked by staff
                if old != newest and _version_date(documents[old]) < _version_date(new_meta):
                    self._mark(old, newest, documents, SUPERSEDED)
        for old_key, new_key in KNOWN_SUCCESSORS.items():
            for new in by_key.get(new_key, []):
                for old in by_key.get(old_key, []):
                    old_date, new_date = _version_date(documents[old]), _version_date(documents[new])
                    if old not in self._status and old_date and new_date and old_date < new_date:
                        self._mark(old, new, documents, REPEALED)
        for doc_id, meta in documents.items():
            named = {normalise_title(t) for t in str(meta.get("repeals", "")).split("|") if t.strip()}
            if not named:
                continue
            mine = _version_date(meta)
            for key in named:
                for target in by_key.get(key, []):
                    if target == doc_id or target in self._status:
                        continue
                    theirs = _version_date(documents[target])
                    if mine and theirs and theirs >= mine:
                        continue  # the repealed text is an older one of the same name
                    self._mark(target, doc_id, documents, REPEALED)
        for doc_id, effective in self._pending.items():
            if doc_id not in self._status:
                self._status[doc_id] = DocumentStatus(NOT_YET, "", effective)
        self.supersessions.sort(key=lambda s: (s.old_title, s.old_date))
        # An upcoming end only for what is still in force (a later rule may have ended it already).
        self.upcoming_supersessions = sorted(
            (s for s in self.upcoming_supersessions if s.old not in self._status),
            key=lambda s: (s.old_title, s.old_date),
        )

    def _mark_explicit(
        self, documents: Mapping[str, Mapping[str, Any]], by_key: dict[str, list[str]]
    ) -> None:
        """Successions set by staff (``superseded_by``: a doc id, else a title)."""
        for doc_id, meta in documents.items():
            named = str(meta.get("superseded_by", "") or "").strip()
            if not named:
                continue
            new = named if named in documents else next(iter(by_key.get(normalise_title(named), [])), "")
            if new and new != doc_id:
                self._mark(doc_id, new, documents, SUPERSEDED)
            elif not new:
                st = DocumentStatus(SUPERSEDED, named.strip("《》"), "")
                self._status[doc_id] = st
                self.supersessions.append(
                    Supersession(
                        doc_id, str(meta.get("title", "")), _version_date(meta), "", st.superseded_by, st
                    )
                )

    def _upcoming_version(
        self, ids: list[str], dated: list[str], documents: Mapping[str, Mapping[str, Any]]
    ) -> None:
        """A later version of the same title, not yet in force, will replace the newest one in force."""
        later = [d for d in ids if d in self._pending and _version_date(documents[d])]
        if not later or not dated:
            return
        current = max(dated, key=lambda d: (_version_date(documents[d]), d))
        first = min(later, key=lambda d: (self._pending[d], d))
        if _version_date(documents[current]) < _version_date(documents[first]):
            self._mark(current, first, documents, SUPERSEDED)

    def _mark(self, old: str, new: str, documents: Mapping[str, Mapping[str, Any]], status: Status) -> None:
        new_meta = documents[new]
        st = DocumentStatus(status, str(new_meta.get("title", "")), _effective(new_meta))
        if new in self._pending:
            # The old text stays in force until the new one takes effect; what will happen is kept.
            if old not in self._pending and old not in self._upcoming:
                self._upcoming[old] = (new, st)
                old_meta = documents[old]
                self.upcoming_supersessions.append(
                    Supersession(old, str(old_meta.get("title", "")), _version_date(old_meta), new,
                                 st.superseded_by, st, upcoming=True)
                )
            return
        self._status[old] = st
        self._successor[old] = new
        old_meta = documents[old]
        self.supersessions.append(
            Supersession(old, str(old_meta.get("title", "")), _version_date(old_meta), new,
                         st.superseded_by, st)
        )

    def status(self, doc_id: str) -> DocumentStatus:
        """The document's status (in force when unknown)."""
        return self._status.get(doc_id, DocumentStatus())

    def upcoming(self, doc_id: str) -> tuple[str, DocumentStatus] | None:
        """For a text in force that a 尚未施行 text of the knowledge base will replace or repeal:
        ``(pending doc id, status it will have)`` (status 已被取代 / 已废止, ``status_date`` the
        day); None otherwise."""
        if doc_id in self._status:
            return None
        return self._upcoming.get(doc_id)

    def upcoming_note(self, doc_id: str) -> str:
        """Staff label of :meth:`upcoming`: ``将于2027-01-01被《…》废止`` (or ``取代``); "" when none."""
        found = self.upcoming(doc_id)
        if found is None:
            return ""
        return _upcoming_label(found[1])

    def in_force_successor(self, doc_id: str) -> str:
        """Doc id of the document in force that replaced ``doc_id`` ("" when it is in force, or
        its successor is not in the knowledge base). Follows chains (A by B, B by C → C)."""
        seen = {doc_id}
        new = self._successor.get(doc_id, "")
        while new in self._successor and new not in seen:  # staff may chain or loop successions
            seen.add(new)
            new = self._successor[new]
        return "" if new in seen or new in self._status else new

    def superseded_ids(self) -> frozenset[str]:
        """Doc ids of every superseded or repealed document."""
        return frozenset(self._status)


def index_from_documents(
    docs: Iterable[tuple[str, Mapping[str, Any]]], today: str | None = None
) -> VersionIndex:
    """A :class:`VersionIndex` from ``(doc_id, metadata)`` pairs."""
    return VersionIndex(dict(docs), today)
