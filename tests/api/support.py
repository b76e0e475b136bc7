"""Test doubles for the API unit tests (integration tests use the real services)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from knowledge.store import ChunkRecord, DocumentRecord
from knowledge.types import NATIONAL, TOPICS, Answer, Passage
from knowledge.versions import VersionIndex
from vetbot.errors import InvalidInputError


def _doc(
    doc_id: str,
    title: str,
    region: str,
    topics: list[str],
    articles: list[tuple[str, str]],
    **extra: str,
) -> DocumentRecord:
    chunks = []
    for i, (article, text) in enumerate(articles):
        cid = f"{doc_id}:abcdef012345:{i}"
        chunks.append(
            ChunkRecord(
                cid,
                text,
                {
                    "doc_id": doc_id,
                    "chunk_id": cid,
                    "title": title,
                    "article": article,
                    "article_no": i + 1,
                    "heading": "",
                    "path": f"{doc_id}.md",
                    "region": region,
                    "scope": "national" if region == NATIONAL else "local",
                    "topics": "|" + "|".join(topics) + "|",
                    "issuer": "测试机关",
                    "doc_number": "",
                    "date_issued": "2024-01-01",
                    "date_effective": "",
                    "source_url": "",
                },
            )
        )
    meta = {
        "title": title,
        "region": region,
        "scope": "national" if region == NATIONAL else "local",
        "topics": "|" + "|".join(topics) + "|",
        "issuer": "测试机关",
        "date_issued": "2024-01-01",
        **extra,  # document-level metadata only (doc_number, date_effective): as /kb edits it
    }
    return DocumentRecord(
        doc_id=doc_id,
        path=f"{doc_id}.md",
        sha256="0" * 64,
        metadata=meta,
        chunks=chunks,
        ingested_at="2024-05-01T00:00:00+00:00",
    )


@dataclass
class FakeStore:
    """The two read-only attributes of KnowledgeStore that the API uses."""

    documents: dict[str, DocumentRecord] = field(default_factory=dict)

    @property
    def chunks(self) -> dict[str, ChunkRecord]:
        return {c.chunk_id: c for d in self.documents.values() for c in d.chunks}


class FakeKnowledge:
    """Deterministic KnowledgeService stand-in: substring retrieval, canned answers."""

    def __init__(self) -> None:
        docs = [
            _doc(
                "card-rules",
                "测试优待证管理办法",
                NATIONAL,
                ["card"],
                [
                    ("第十条", "优待证遗失的，持证人可以向原申领地的退役军人服务站申请补办优待证。"),
                    ("第十一条", "优待证有效期届满的，应当申请换发。<script>alert(1)</script>"),
                ],
            ),
            _doc(
                "jinan-transit",
                "测试济南市乘车优待办法",
                "济南市",
                ["transit", "card"],
                [
                    ("第三条", "持优待证的退役军人在济南市乘坐市内公交免费。"),
                ],
                doc_number="济退役军人发〔2024〕3号",
                date_effective="2024-03-01",
            ),
        ]
        self.store = FakeStore({d.doc_id: d for d in docs})
        self.asked: list[tuple[str, str | None]] = []

    def regions(self) -> list[str]:
        return [NATIONAL, "济南市"]

    def versions(self) -> VersionIndex:
        return VersionIndex({d.doc_id: d.metadata for d in self.store.documents.values()})

    def query_terms(self, query: str) -> list[str]:
        terms = [t for t in query.split() if t]
        return terms + (["优待证"] if "优待" in query and "优待证" not in terms else [])

    def _check(self, text: str) -> str:
        text = (text or "").strip()
        if not text:
            raise InvalidInputError("empty", user_message="问题不能为空")
        if len(text) > 500:
            raise InvalidInputError("long", user_message="问题太长了，请控制在 500 字以内。")
        return text

    def search(
        self,
        query: str,
        *,
        k: int = 10,
        topic: str | None = None,
        region: str | None = None,
        document: str | None = None,
    ) -> list[Passage]:
        # An empty query with a filter browses (score 0, document order), as the real service does.
        browsing = not (query or "").strip() and bool(topic or region or document)
        query = "" if browsing else self._check(query)
        if topic is not None and topic not in TOPICS:
            raise InvalidInputError("topic", user_message="未知的主题")
        out = []
        for doc in self.store.documents.values():
            if document and doc.doc_id != document:
                continue
            for c in doc.chunks:
                m = c.metadata
                if topic and f"|{topic}|" not in m["topics"]:
                    continue
                if region and m["region"] not in (region, NATIONAL):
                    continue
                score = sum(c.text.count(t) for t in self.query_terms(query))
                if score or browsing:
                    out.append(
                        Passage(
                            title=m["title"],
                            article=m["article"],
                            text=c.text,
                            score=float(score),
                            path=m["path"],
                            region=m["region"],
                            doc_id=doc.doc_id,
                            chunk_id=c.chunk_id,
                            scope=m["scope"],
                            topics=[t for t in m["topics"].split("|") if t],
                        )
                    )
        out.sort(key=lambda s: -s.score)
        return out[:k]

    def ask(self, question: str, region: str | None = None) -> Answer:
        question = self._check(question)
        self.asked.append((question, region))
        if "天气" in question:
            return Answer(
                question=question,
                answer="抱歉，这个问题超出了我的服务范围。",
                refused=True,
                refusal_reason="off_topic",
            )
        sources = self.search(question.replace("？", " ").replace("丢了怎么补办", " 补办"), k=3)
        return Answer(
            question=question,
            answer="可以向原申领地的退役军人服务站申请补办。（《测试优待证管理办法》第十条）",
            refused=False,
            sources=sources,
            confidence=0.8,
        )


@dataclass
class Users:
    """Tokens of the test users, by role name."""

    tokens: dict[str, str]

    def headers(self, who: str) -> dict[str, Any]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


def post_case_action(client: Any, headers: dict[str, str], ticket: str, **form: Any) -> str:
    """POST a case-desk action form (``/cases/{ticket}/act``); returns the redirect target."""
    r = client.post(f"/cases/{ticket}/act", data=form, headers=headers, follow_redirects=False)
    assert r.status_code == 303, r.text
    return str(r.headers["location"])
