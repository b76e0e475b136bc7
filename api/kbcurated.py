"""Curated answers (官方口径) for the admin pages: write, publish, review, expire.

Rows live in ``kb_curated_answers`` (:class:`knowledge.curated.CuratedAnswer`); each one in use
is published as the synthetic document ``curated:<id>`` through a writer store, like every
other knowledge-base change. Expired and retired ones are taken out of the knowledge base by
:meth:`CuratedAnswers.sweep` (the review list runs it) and are never used for answers anyway
(``knowledge.curated.curated_answer`` checks the date). Every change is audited with
``{"before", "after"}``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.jobs import JobRunner
from knowledge.curated import CURATED_PREFIX, CuratedAnswer, curated_record
from knowledge.overlay import passage_keys
from knowledge.questionlog import QuestionLog, knowledge_gaps
from knowledge.store import KnowledgeStore
from knowledge.types import NATIONAL
from vetbot import regions
from vetbot.clock import to_china, utcnow
from vetbot.errors import InvalidInputError, NotFoundError

logger = logging.getLogger(__name__)

EXPIRING_DAYS = 30
DEFAULT_VALID_DAYS = 365
MAX_ANSWER_CHARS = 2000


def today() -> date:
    """Today in China."""
    return to_china(utcnow()).date()


@dataclass(frozen=True)
class CuratedDraft:
    """What the form submits."""

    question: str
    answer: str
    citations: str  # one per line: doc_id or doc_id#passage key
    region: str = NATIONAL
    expires_on: str = ""
    source_log_id: int | None = None


def review_state(row: CuratedAnswer, on: date) -> str:
    """已停用 / 已过期 / 即将到期 / 有效 for the review list."""
    if row.retired:
        return "已停用"
    if row.expired(on):
        return "已过期"
    if row.expires_on <= on + timedelta(days=EXPIRING_DAYS):
        return "即将到期"
    return "有效"


class CuratedAnswers:
    """CRUD and publishing of curated answers (sync)."""

    def __init__(
        self,
        session_factory: Callable[[], Session],
        jobs: JobRunner,
        store_provider: Callable[[], KnowledgeStore],
        audit: Callable[..., None],
    ) -> None:
        self._session_factory = session_factory
        self.jobs = jobs
        self._store_provider = store_provider
        self._audit = audit

    # ------------------------------------------------------------------ reads
    def entries(self) -> list[CuratedAnswer]:
        """Every curated answer, soonest expiry first."""
        with self._session_factory() as session:
            stmt = select(CuratedAnswer).order_by(CuratedAnswer.expires_on, CuratedAnswer.id)
            return list(session.scalars(stmt))

    def get(self, answer_id: int) -> CuratedAnswer:
        """One curated answer; NotFoundError."""
        with self._session_factory() as session:
            row = session.get(CuratedAnswer, answer_id)
        if row is None:
            raise NotFoundError(f"curated {answer_id}", user_message="没有找到该官方口径。")
        return row

    def open_gaps(self, limit: int = 20) -> list[QuestionLog]:
        """Recent refused, low-confidence or 👎 questions (masked) that no curated answer covers yet."""
        with self._session_factory() as session:
            rows = knowledge_gaps(session, limit=limit * 3)
        covered = {r.source_log_id for r in self.entries() if r.source_log_id is not None}
        covered_questions = {r.question for r in self.entries()}
        fresh = [r for r in rows if r.id not in covered and r.question not in covered_questions]
        return fresh[:limit]

    def draft_from_log(self, log_id: int) -> CuratedDraft:
        """A form prefilled from a logged question (gap report, 👎): its question and the
        passages it retrieved as citations; NotFoundError for an unknown log id."""
        with self._session_factory() as session:
            row = session.get(QuestionLog, log_id)
        if row is None:
            raise NotFoundError(f"qa_log {log_id}", user_message="没有找到该问题记录。")
        cites = []
        store = self._store_provider()
        for source in row.sources or []:
            doc = store.documents.get(str(source.get("doc_id", "")))
            if doc is None:
                continue
            keys = dict(zip([c.chunk_id for c in doc.chunks], passage_keys(doc.chunks), strict=True))
            key = keys.get(str(source.get("chunk_id", "")), "")
            cites.append(f"{doc.doc_id}#{key}" if key else doc.doc_id)
        return CuratedDraft(
            question=row.question,
            answer="",
            citations="\n".join(dict.fromkeys(cites[:3])),
            region=row.region or NATIONAL,
            source_log_id=log_id,
        )

    # ------------------------------------------------------------------ writes
    def _validate(self, draft: CuratedDraft) -> dict[str, Any]:
        question, answer = draft.question.strip(), draft.answer.strip()
        if not question or not answer:
            raise InvalidInputError("empty", user_message="问题和口径内容都不能为空。")
        if len(answer) > MAX_ANSWER_CHARS or len(question) > 500:
            message = f"口径内容请控制在 {MAX_ANSWER_CHARS} 字以内，问题 500 字以内。"
            raise InvalidInputError("too long", user_message=message)
        citations = self._citations(draft.citations)
        region = regions.canonical_name(draft.region.strip()) or draft.region.strip() or NATIONAL
        try:
            expires = (
                date.fromisoformat(draft.expires_on)
                if draft.expires_on
                else today() + timedelta(days=DEFAULT_VALID_DAYS)
            )
        except ValueError as exc:
            raise InvalidInputError("bad date", user_message="有效期请填写日期，如 2026-12-31。") from exc
        if expires < today():
            raise InvalidInputError("expired", user_message="有效期不能早于今天。")
        return {
            "question": question,
            "answer": answer,
            "citations": citations,
            "region": region,
            "expires_on": expires,
        }

    def _citations(self, text: str) -> list[dict[str, str]]:
        docs = self._store_provider().documents
        out: list[dict[str, str]] = []
        for line in re.split(r"[\n\r]+", text or ""):
            line = line.strip()
            if not line:
                continue
            doc_id, _, key = line.partition("#")
            doc = docs.get(doc_id.strip())
            if doc is None or doc_id.startswith(CURATED_PREFIX):
                message = f"引用的文件不在知识库中：{doc_id}"
                raise InvalidInputError(f"unknown doc {doc_id}", user_message=message)
            key = key.strip()
            if key and key not in passage_keys(doc.chunks):
                raise InvalidInputError(f"unknown passage {line}", user_message=f"文件中没有该条文：{line}")
            out.append({"doc_id": doc.doc_id, "passage_key": key})
        if not out:
            raise InvalidInputError("no citation", user_message="请至少引用一条条文或一份文件。")
        return out

    def create(self, draft: CuratedDraft, actor: str, ip: str | None = None) -> CuratedAnswer:
        """Validate, store and publish a curated answer; InvalidInputError for a bad form."""
        values = self._validate(draft)
        with self._session_factory() as session:
            row = CuratedAnswer(
                **values,
                source_log_id=draft.source_log_id,
                created_by=actor[:96],
                updated_by=actor[:96],
                retired=False,
            )
            session.add(row)
            session.commit()
            session.refresh(row)
        self._publish(row)
        self._audit(actor, "kb.curated.create", row.doc_id, {"before": None, "after": row.describe()}, ip=ip)
        return row

    def update(self, answer_id: int, draft: CuratedDraft, actor: str, ip: str | None = None) -> CuratedAnswer:
        """Change a curated answer (it is used again if it was retired)."""
        values = self._validate(draft)
        with self._session_factory() as session:
            row = session.get(CuratedAnswer, answer_id)
            if row is None:
                raise NotFoundError(f"curated {answer_id}", user_message="没有找到该官方口径。")
            before = row.describe()
            for key, value in values.items():
                setattr(row, key, value)
            row.retired, row.updated_at, row.updated_by = False, utcnow(), actor[:96]
            session.commit()
            session.refresh(row)
        self._publish(row)
        self._audit(
            actor, "kb.curated.update", row.doc_id, {"before": before, "after": row.describe()}, ip=ip
        )
        return row

    def retire(self, answer_id: int, actor: str, ip: str | None = None) -> None:
        """Stop using a curated answer (kept for the record)."""
        with self._session_factory() as session:
            row = session.get(CuratedAnswer, answer_id)
            if row is None:
                raise NotFoundError(f"curated {answer_id}", user_message="没有找到该官方口径。")
            before = row.describe()
            row.retired, row.updated_at, row.updated_by = True, utcnow(), actor[:96]
            session.commit()
            session.refresh(row)
        self._unpublish([row.doc_id])
        self._audit(
            actor, "kb.curated.retire", row.doc_id, {"before": before, "after": row.describe()}, ip=ip
        )

    def sweep(self, on: date | None = None) -> list[str]:
        """Take expired and retired curated answers out of the knowledge base; their doc ids."""
        on = on or today()
        live = {r.doc_id for r in self.entries() if not r.retired and not r.expired(on)}
        published = [d for d in self._store_provider().documents if d.startswith(CURATED_PREFIX)]
        gone = [d for d in published if d not in live]
        if gone:
            self._unpublish(gone)
            self._audit("system:kb", "kb.curated.expire", ",".join(gone)[:255], {"removed": gone})
        return gone

    def _publish(self, row: CuratedAnswer) -> None:
        store = self.jobs.writer_store()
        with store.writer() as writer:
            writer.stage_document(curated_record(row))
        self.jobs.reload_serving_store()

    def _unpublish(self, doc_ids: list[str]) -> None:
        store = self.jobs.writer_store()
        with store.writer() as writer:
            for doc_id in doc_ids:
                if doc_id in writer.documents:
                    writer.stage_removal(doc_id)
        self.jobs.reload_serving_store()
