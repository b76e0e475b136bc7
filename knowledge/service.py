"""``KnowledgeService``: the question-answering facade used by the CLI, the bot and the API.

It owns one retriever over one knowledge base, the refusal policy and (optionally) an intent
classifier, injected by the layer above (``complaints.classifier.ComplaintClassifier``); models
are loaded once, in :meth:`KnowledgeService.from_settings`. Building the default knowledge base
on first use is ``ingest.bootstrap``'s job.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from knowledge.answer import FOLLOW_UP, REFUSALS, compose_answer
from knowledge.curated import curated_answer, without_curated
from knowledge.embeddings import build_embeddings
from knowledge.evidence import Evidence, RefusalPolicy, assess_evidence, refusal_reason
from knowledge.pending import pending_after_current, pending_mention, with_pending
from knowledge.question_checks import domain_vocabulary, is_injection, is_personal_status, load_userdict_words
from knowledge.retrieval import FUSION_METHODS, HybridRetriever, RetrievalResult
from knowledge.store import KnowledgeStore
from knowledge.synonyms import SynonymTable
from knowledge.text import normalize
from knowledge.thesaurus import Thesaurus
from knowledge.types import NATIONAL, Answer, Passage
from knowledge.validity import validity_reply
from knowledge.versions import VersionIndex
from vetbot import regions
from vetbot.clock import to_china, utcnow
from vetbot.errors import InvalidInputError
from vetbot.textnorm import strip_surrogates

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

    from vetbot.settings import Settings

logger = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 500


class Classification(Protocol):
    """What the service reads from a classifier's verdict."""

    @property
    def intent(self) -> str:
        """``"question"`` or ``"complaint"``."""

    @property
    def theme(self) -> str | None:
        """Theme code (``complaints.themes.THEMES``), or None."""

    @property
    def ambiguous(self) -> bool:
        """A grievance-like question: answer it and offer to file a complaint."""


class IntentClassifier(Protocol):
    """Tells complaints from questions (``complaints.classifier.ComplaintClassifier`` implements it)."""

    def classify(self, text: str, vector: Sequence[float] | None = None) -> Classification:
        """The verdict for one message; may raise anything (the service then treats it as a question).

        ``vector`` is the message's query embedding (``Embeddings.embed_query``), computed once
        per question by the service and shared with retrieval; a classifier that embeds should
        use it instead of embedding the message again.
        """


# Builds the classifier from the service's embeddings: ``factory(embeddings=..., cache_dir=...)``,
# ``cache_dir`` being where it may cache example embeddings. ``ComplaintClassifier`` is one.
ClassifierFactory = Callable[..., IntentClassifier | None]

# Called with the freshly opened store before the service is built (ingest.bootstrap uses it
# to build the default knowledge base on first use).
StorePreparer = Callable[[KnowledgeStore], None]


class KnowledgeService:
    """Answers questions from one knowledge base (see docs/ARCHITECTURE.md).

    ``classifier`` tells complaints from questions; without one every message is a question,
    and a classifier that raises is logged and ignored for that message.
    """

    def __init__(
        self,
        store: KnowledgeStore,
        settings: Settings,
        classifier: IntentClassifier | None = None,
        *,
        synonyms: SynonymTable | None = None,
        thesaurus: Thesaurus | None = None,
        policy: RefusalPolicy | None = None,
        fusion: str | None = None,
        embeddings: Embeddings | None = None,
    ) -> None:
        self._store = store
        # The model that embeds each question once, for the classifier and dense retrieval
        # alike; by default the store's own (the one its vectors were made with).
        self.embeddings = embeddings if embeddings is not None else store.embeddings
        self.settings = settings
        self.classifier = classifier
        self.synonyms = synonyms if synonyms is not None else SynonymTable.load()
        self.policy = policy or RefusalPolicy()
        if thesaurus is None and settings.thesaurus:
            thesaurus = Thesaurus.load()
        self.retriever = HybridRetriever(
            store, self.synonyms, fusion=fusion or settings.fusion, k=max(1, settings.top_k),
            thesaurus=thesaurus,
        )
        self.vocabulary = domain_vocabulary(self.synonyms, load_userdict_words())

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        kb_dir: Path | None = None,
        embeddings: Embeddings | None = None,
        *,
        classifier_factory: ClassifierFactory | None = None,
        prepare_store: StorePreparer | None = None,
    ) -> KnowledgeService:
        """Build the embeddings and open the store that ``settings`` select, then the service.

        ``kb_dir`` defaults to ``settings.default_kb_dir`` and is opened as it is (a missing one
        starts empty); ``prepare_store`` runs on the opened store first. The classifier, if a
        factory is given, gets the same embeddings and ``<data_dir>/cache``. Raises
        KnowledgeBaseError (store) and ConfigurationError (embedding backend) from the parts.
        """
        embeddings = embeddings or build_embeddings(settings)
        store = KnowledgeStore.open(Path(kb_dir or settings.default_kb_dir), settings, embeddings)
        if prepare_store is not None:
            prepare_store(store)
        classifier = None
        if classifier_factory is not None:
            classifier = classifier_factory(embeddings=embeddings, cache_dir=settings.data_dir / "cache")
        return cls(store, settings, classifier=classifier, embeddings=embeddings)

    @property
    def store(self) -> KnowledgeStore:
        """The knowledge base, on its newest published generation.

        Every read through the service (pages listing documents, health, the bot's cited
        passages) checks for a newer generation first; the check is rate-limited by
        ``settings.kb_refresh_seconds`` and usually only compares two clock readings.
        """
        self._store.refresh_if_stale()
        return self._store

    # ------------------------------------------------------------------ queries
    def regions(self) -> list[str]:
        """Regions present in the KB (``全国`` first)."""
        self._store.refresh_if_stale()
        return self.retriever.regions()

    def query_terms(self, query: str) -> list[str]:
        """The query's own words plus their synonym expansions, for highlighting."""
        return self.retriever.analyze(query).terms

    def search(
        self,
        query: str,
        *,
        k: int = 10,
        topic: str | None = None,
        region: str | None = None,
        document: str | None = None,
    ) -> list[Passage]:
        """Top-``k`` passages for staff lookup, best first (``Passage.score``: reranked score, ~0..1.5),
        except that a 尚未施行 passage comes after the rule in force it will replace or repeal
        (:func:`~knowledge.pending.pending_after_current`).

        A ``topic`` filters by each passage's own topics. An empty query with a topic, region or
        document lists the first ``k`` passages that pass them (score 0; see
        :meth:`HybridRetriever.browse`). Raises InvalidInputError on an over-long query, an
        empty one without a filter, or an unknown topic.
        """
        browsing = topic is not None or region is not None or document is not None
        if not (browsing and not normalize(strip_surrogates(query or ""))):
            query = self._validate(query)
        self._store.refresh_if_stale()
        found = self.retriever.search(query, k, topic=topic, region=region, document=document)
        return pending_after_current(found, self.retriever.versions())

    def versions(self) -> VersionIndex:
        """Which documents are in force today, China time (:mod:`knowledge.versions`; cached)."""
        return self.retriever.versions()

    def warm_up(self) -> None:
        """Load lazy parts (tokenizer, corpus statistics, Chroma) before timing or serving."""
        self.retriever.stats()
        self.ask("优待证去哪里办理？")

    def ask(self, question: str, region: str | None = None, *, fusion: str | None = None) -> Answer:
        """Answer ``question`` with citations, or refuse politely (``refused=True``).

        ``region`` is the asker's region (a KB place named in the question wins); ``fusion``
        overrides ``settings.fusion``. ``Answer.confidence`` is the evidence confidence (0..1),
        ``Answer.latency_ms`` the wall time. Raises InvalidInputError for an empty question, one
        over 500 characters or an unknown fusion method; KnowledgeBaseError from the store.
        """
        question = self._validate(question)
        start = time.perf_counter()
        # Another process may have published a new generation (cheap check, rate-limited).
        self._store.refresh_if_stale()
        # One query embedding per question, shared by the classifier and dense retrieval.
        vector = self.embeddings.embed_query(question)
        intent, theme, offer = self._classify(question, vector)
        if fusion is not None and fusion not in FUSION_METHODS:
            raise InvalidInputError(f"unknown fusion {fusion!r}", user_message=f"未知的融合方式：{fusion}")
        asker = self._asker_region(question, region)

        def done(answer: Answer) -> Answer:
            answer.latency_ms = round((time.perf_counter() - start) * 1000.0, 2)
            return answer

        base: dict[str, Any] = {
            "question": question, "intent": intent, "theme": theme, "offer_complaint": offer,
        }
        if is_injection(question):
            return done(self._refusal(base, "injection"))
        if intent != "complaint" and is_personal_status(question):
            return done(self._refusal(base, "personal_status"))
        validity = None if intent == "complaint" else validity_reply(
            question, self.store.documents, self.retriever.versions(), FOLLOW_UP)
        if validity is not None:
            if validity.refuse:
                return done(self._refusal(base, "no_evidence"))
            return done(Answer(**base, answer=validity.text, refused=False, sources=validity.sources,
                               confidence=1.0))
        k = max(3, self.settings.top_k)
        result = self.retriever.retrieve(question, k, prefer_region=asker, fusion=fusion, query_vector=vector)
        if not result.analysis.tokens:
            return done(self._refusal(base, "empty"))
        today = to_china(utcnow()).date()
        official = None if intent == "complaint" else curated_answer(
            result, self.store, today, self.retriever.versions(), analyze=self.retriever.analyze
        )
        if official is not None:
            return done(Answer(**base, answer=official.text, refused=False, sources=official.sources,
                               confidence=1.0, official=True))
        result = without_curated(result, self.store.chunks)
        evidence = assess_evidence(result, self.retriever, self.policy, self.vocabulary)
        reason = refusal_reason(question, evidence, self.policy, complaint=intent == "complaint")
        logger.debug(
            "ask coverage=%.2f margin=%.3f dense=%.3f bm25=%.2f conf=%.2f domain=%s reason=%s",
            evidence.coverage, evidence.dense_margin, evidence.dense_top, evidence.bm25_top,
            evidence.confidence, evidence.domain, reason,
        )
        if reason is not None:
            refusal = self._refusal(base, reason, evidence.confidence)
            if reason == "no_evidence":
                # Not an answer, but what was found: staff see it on the ask page and the
                # office's knowledge-gap report links to it, showing what policy is missing.
                refusal = self._found(refusal, result, asker)
            return done(refusal)
        composed = compose_answer(result, self.retriever, k=self.settings.top_k, region=asker)
        if not composed.facts:
            # Nothing in force that applies to the asker says anything on it: no empty answer.
            refusal = self._refusal(base, "no_evidence", evidence.confidence)
            return done(self._found(refusal, result, asker))
        mention = pending_mention(result, self.retriever, composed.sources, question, region=asker)
        return done(with_pending(
            Answer(
                **base,
                answer=composed.text,
                refused=False,
                sources=composed.sources,
                related=composed.related,
                confidence=round(evidence.confidence, 4),
                local_rule=composed.local_rule,
                not_stated=composed.not_stated,
            ),
            mention, FOLLOW_UP,
        ))

    def assess(self, question: str, region: str | None = None) -> tuple[Evidence, Answer | None]:
        """The evidence :meth:`ask` decides on, and the answer it would compose if it answered
        (None when nothing was retrieved): features and end-to-end labels for fitting the
        answerability model (``vetbot answerability``). Raises InvalidInputError as :meth:`ask`.
        """
        question = self._validate(question)
        result, evidence = self.explain(question, region)
        ordinary = without_curated(result, self.store.chunks)
        if not any(not h.superseded for h in ordinary.hits):
            return evidence, None
        asker = self._asker_region(question, region)
        composed = compose_answer(ordinary, self.retriever, k=self.settings.top_k, region=asker)
        draft = Answer(question=question, answer=composed.text, refused=False, sources=composed.sources,
                       related=composed.related, confidence=round(evidence.confidence, 4))
        return evidence, draft

    def explain(self, question: str, region: str | None = None) -> tuple[RetrievalResult, Evidence]:
        """The ranking (curated passages included) and the evidence :meth:`ask` decides on, for
        hit testing; raises InvalidInputError as :meth:`ask`."""
        question = self._validate(question)
        asker = self._asker_region(question, region)
        result = self.retriever.retrieve(question, max(3, self.settings.top_k), prefer_region=asker)
        ordinary = without_curated(result, self.store.chunks)
        return result, assess_evidence(ordinary, self.retriever, self.policy, self.vocabulary)

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _validate(text: str) -> str:
        # The question is echoed as typed (trimmed); tokenizers normalise their own input.
        # A lone surrogate (a broken character from a JSON client) is dropped, not fatal: the
        # rest of the question is still answered and can be echoed and logged.
        text = strip_surrogates(text or "").strip()
        if not normalize(text):
            raise InvalidInputError("empty question", user_message="问题不能为空")
        if len(text) > MAX_QUESTION_CHARS:
            raise InvalidInputError(
                f"question too long ({len(text)} chars)",
                user_message=f"问题太长了，请控制在 {MAX_QUESTION_CHARS} 字以内。",
            )
        return text

    @staticmethod
    def _refusal(base: dict[str, Any], reason: str, confidence: float = 0.0) -> Answer:
        return Answer(
            **base,
            answer=REFUSALS[reason],
            refused=True,
            refusal_reason=reason,
            confidence=round(confidence, 4),
        )

    def _found(self, refusal: Answer, result: RetrievalResult, asker: str | None) -> Answer:
        """A no-evidence refusal with what was found (its ``sources``, for staff) and the mention
        of a 尚未施行 text that was the only match (:mod:`knowledge.pending`), which then also
        leads the sources, so the knowledge-gap report shows why nothing in force answered."""
        found = [self.retriever.to_passage(h) for h in result.hits[: self.settings.top_k]]
        mention = pending_mention(result, self.retriever, [], refusal.question, region=asker, refused=True)
        if mention is not None:
            found = [mention.passage, *(p for p in found if p.chunk_id != mention.passage.chunk_id)]
        refusal.sources = found[: self.settings.top_k]
        return with_pending(refusal, mention, FOLLOW_UP)

    def _asker_region(self, question: str, region: str | None) -> str | None:
        """The asker's region: a place named in the question wins over the given one.

        Only a place that is a KB region or lies inside one counts (历下区 for a KB with
        济南市); of several, the most specific (金华市 over 浙江省). The given region is
        returned in the KB's spelling (济南 → 济南市), else as typed (深圳 stays 深圳, which
        the answer names when it has no local rule); so is a place named in the question that no
        KB region covers (广州的景区… → 广州市).
        """
        known = [r for r in self.regions() if r != NATIONAL]
        named = [p.name for p in regions.find_places(normalize(question))]
        inside = [n for n in named if any(regions.covers(k, n) for k in known)]
        if inside:
            return max(inside, key=lambda n: len(regions.chain_of(n)))
        typed = "".join((region or "").split())
        if not typed and named:
            # A place the KB has no rules for (广州的景区…): the answer says its rules are not
            # in the KB, rather than listing other places' rules.
            return max(named, key=lambda n: len(regions.chain_of(n)))
        if not typed:
            return None
        if regions.canonical_name(typed) == NATIONAL:
            return NATIONAL
        return next((k for k in known if regions.same_place(k, typed)), typed)

    def _classify(self, question: str, vector: Sequence[float]) -> tuple[str, str | None, bool]:
        """(intent, theme, offer_complaint) from the classifier; a question when it is absent."""
        if self.classifier is None:
            return "question", None, False
        try:
            c = self.classifier.classify(question, vector=vector)
        except Exception:  # a broken classifier must not stop answers
            logger.warning("complaint classifier failed", exc_info=True)
            return "question", None, False
        intent = "complaint" if c.intent == "complaint" else "question"
        theme = c.theme if c.theme else None
        return intent, theme, bool(c.ambiguous) and intent == "question"
