"""Each question is embedded once, for the complaint classifier and dense retrieval alike."""

from __future__ import annotations

from pathlib import Path

from complaints.classifier import ComplaintClassifier
from knowledge.service import KnowledgeService
from knowledge.synonyms import SynonymTable
from tests.fakes import HashingEmbeddings
from tests.knowledge.conftest import build_tiny_kb, coverage_only_policy
from vetbot.settings import Settings


class CountingEmbeddings(HashingEmbeddings):
    """HashingEmbeddings that counts single-text embeddings (queries and one-text batches)."""

    def __init__(self) -> None:
        super().__init__()
        self.queries = 0
        self.documents: list[int] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.documents.append(len(texts))
        return super().embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        self.queries += 1
        return super().embed_query(text)


def test_ask_embeds_the_question_once(tmp_path: Path, synonyms: SynonymTable, settings: Settings) -> None:
    embeddings = CountingEmbeddings()
    store = build_tiny_kb(tmp_path / "kb", embeddings)
    classifier = ComplaintClassifier(embeddings=embeddings)
    service = KnowledgeService(
        store, settings, classifier=classifier, synonyms=synonyms, policy=coverage_only_policy()
    )
    questions = ["残疾军人坐公交免费吗？", "我要投诉：公交司机不认优待证", "今天天气怎么样"]
    for question in questions:
        embeddings.queries, embeddings.documents = 0, []
        answer = service.ask(question)
        assert embeddings.queries == 1, question
        assert embeddings.documents == [], question  # the classifier reused the query vector
        assert answer.intent in ("question", "complaint")
    assert service.ask("我要投诉：公交司机不认优待证").intent == "complaint"


def test_shared_vector_gives_the_classifier_neighbours(tmp_path: Path) -> None:
    embeddings = CountingEmbeddings()
    classifier = ComplaintClassifier(embeddings=embeddings)
    text = "公交司机不认优待证，非让我投币"
    vector = embeddings.embed_query(text)
    embeddings.documents = []
    shared = classifier.classify(text, vector=vector)
    assert embeddings.documents == []
    # The fake embeds queries and passages alike, so the verdicts agree.
    assert shared == classifier.classify(text)
