"""Curated answers (官方口径): from a refused question to an official answer with its citation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.users import UserService
from knowledge.questionlog import QuestionLogService
from tests.api.kb_support import add_editor, make_kb_app
from tests.api.support import Users
from vetbot.settings import Settings

REFUSED = "退役军人优待证补办要带什么材料？"
OFFICIAL = "补办优待证需携带本人居民身份证和户口簿，到原申领地的退役军人服务站办理。"


@pytest.fixture
def kb(settings: Settings, case_service: Any, session_factory: Any) -> Iterator[TestClient]:
    app = make_kb_app(settings, case_service, session_factory)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def staff(user_service: UserService, users: Users) -> Users:
    return add_editor(user_service, users)


def _knowledge(client: TestClient) -> Any:
    return client.app.state.runtime.knowledge  # type: ignore[attr-defined]


def _publish(client: TestClient, users: Users, **values: str) -> Any:
    form = {"question": REFUSED, "answer": OFFICIAL, "citations": "card-rules.md#第十条", "region": "全国",
            "expires_on": (date.today() + timedelta(days=90)).isoformat(), **values}
    return client.post("/kb/curated", data=form, headers=users.headers("editor"), follow_redirects=False)


def test_refused_question_becomes_an_official_answer_with_its_citation(
    kb: TestClient, staff: Users, session_factory: Any
) -> None:
    refused = _knowledge(kb).ask(REFUSED)
    assert refused.refused
    log_id = QuestionLogService(session_factory).record(refused, channel="web")
    form = kb.get(f"/kb/curated/new?log={log_id}", headers=staff.headers("editor"))
    assert form.status_code == 200 and REFUSED in form.text and "card-rules.md#" in form.text

    r = _publish(kb, staff, source_log_id=str(log_id))
    assert r.status_code == 303, r.text
    answer = _knowledge(kb).ask(REFUSED)
    assert not answer.refused and answer.official
    assert answer.answer.startswith("【官方口径】补办优待证需携带本人居民身份证")
    assert [s.citation for s in answer.sources] == ["《测试优待证管理办法》第十条"]
    assert "依据：《测试优待证管理办法》第十条" in answer.answer
    # Ordinary answers do not quote curated passages.
    other = _knowledge(kb).ask("优待证丢失补办需要多少天？")
    assert not other.official and all(not s.doc_id.startswith("curated:") for s in other.sources)

    (entry,) = kb.app.state.runtime.users.recent_audit(action="kb.curated.create")  # type: ignore[attr-defined]
    assert entry.actor == "user:editor" and entry.detail["before"] is None
    assert entry.detail["after"]["citations"] == [{"doc_id": "card-rules.md", "passage_key": "第十条"}]
    listing = kb.get("/kb/curated", headers=staff.headers("editor")).text
    assert REFUSED in listing and "有效" in listing


def test_expired_and_retired_curated_answers_are_not_used(kb: TestClient, staff: Users) -> None:
    _publish(kb, staff)
    store = _knowledge(kb).store
    (doc_id,) = [d for d in store.documents if d.startswith("curated:")]
    curated = kb.app.state.curated  # type: ignore[attr-defined]
    row_id = int(doc_id.split(":")[1])
    # The day after expiry: not used for answers, and the review sweep takes it out of the KB.
    expires = curated.get(row_id).expires_on
    assert curated.sweep(on=expires + timedelta(days=1)) == [doc_id]
    assert doc_id not in store.documents
    assert not _knowledge(kb).ask(REFUSED).official

    kb.post(f"/kb/curated/{row_id}", data={"question": REFUSED, "answer": OFFICIAL + "（更新）",
                                           "citations": "card-rules.md#第十条", "region": "全国",
                                           "expires_on": ""}, headers=staff.headers("editor"))
    assert _knowledge(kb).ask(REFUSED).official
    r = kb.post(f"/kb/curated/{row_id}/retire", headers=staff.headers("editor"), follow_redirects=False)
    assert r.status_code == 303
    assert not _knowledge(kb).ask(REFUSED).official
    assert "已停用" in kb.get("/kb/curated", headers=staff.headers("editor")).text
    actions = [e.action for e in kb.app.state.runtime.users.recent_audit()]  # type: ignore[attr-defined]
    expected = {"kb.curated.create", "kb.curated.expire", "kb.curated.update", "kb.curated.retire"}
    assert expected <= set(actions)


def test_invalid_curated_forms_are_shown_again_with_the_error(kb: TestClient, staff: Users) -> None:
    r = _publish(kb, staff, citations="nope.md#第一条")
    assert r.status_code == 422 and "引用的文件不在知识库中" in r.text and OFFICIAL in r.text
    r = _publish(kb, staff, citations="card-rules.md#第九十九条")
    assert r.status_code == 422 and "文件中没有该条文" in r.text
    r = _publish(kb, staff, expires_on="2001-01-01")
    assert r.status_code == 422 and "有效期不能早于今天" in r.text
    assert not [d for d in _knowledge(kb).store.documents if d.startswith("curated:")]


def test_gap_report_links_to_a_new_curated_answer_for_editors_only(
    kb: TestClient, staff: Users, session_factory: Any
) -> None:
    QuestionLogService(session_factory).record(_knowledge(kb).ask(REFUSED), channel="web")
    gaps = kb.get("/dashboard/gaps", headers=staff.headers("admin"))
    assert gaps.status_code == 200 and "/kb/curated/new?log=" in gaps.text
    assert "/kb/curated/new?log=" not in kb.get("/dashboard/gaps", headers=staff.headers("office")).text


def test_editors_find_open_gaps_on_the_curated_page(
    kb: TestClient, staff: Users, session_factory: Any
) -> None:
    log_id = QuestionLogService(session_factory).record(_knowledge(kb).ask(REFUSED), channel="web")
    page = kb.get("/kb/curated", headers=staff.headers("editor")).text
    assert REFUSED in page and f"/kb/curated/new?log={log_id}" in page
    _publish(kb, staff, source_log_id=str(log_id))
    page = kb.get("/kb/curated", headers=staff.headers("editor")).text
    assert f"/kb/curated/new?log={log_id}" not in page  # covered now


@pytest.mark.parametrize(
    "paraphrase", ["补办优待证要带哪些材料？", "我的优待证弄丢了，补办需要什么证件", "优待证补办需要啥材料"]
)
def test_a_curated_answer_matches_paraphrases_of_its_question(
    kb: TestClient, staff: Users, paraphrase: str
) -> None:
    _publish(kb, staff)
    answer = _knowledge(kb).ask(paraphrase)
    assert answer.official and answer.answer.startswith("【官方口径】补办优待证需携带")


@pytest.mark.parametrize(
    "other",
    [
        "优待证丢失补办需要多少天？",  # same document, another aspect
        "残疾军人证补办需要什么材料",  # the same aspect of another certificate
        "退役士兵安置需要什么材料",
        "优待证可以免费坐公交吗",
        "烈士遗属抚恤金多少钱",
    ],
)
def test_a_curated_answer_does_not_answer_other_questions(kb: TestClient, staff: Users, other: str) -> None:
    _publish(kb, staff)
    assert not _knowledge(kb).ask(other).official


def test_a_curated_answer_below_the_first_rank_still_answers_its_paraphrase(
    kb: TestClient, staff: Users
) -> None:
    # On a large KB an official passage can outrank the curated one for a reworded question.
    from dataclasses import replace

    from knowledge.curated import curated_answer

    _publish(kb, staff)
    knowledge = _knowledge(kb)
    result, _ = knowledge.explain("补办优待证要带哪些材料？")
    assert result.hits[0].chunk_id.startswith("curated:")
    demoted = replace(result, hits=[*result.hits[1:3], result.hits[0], *result.hits[3:]])
    retriever = knowledge.retriever
    store, today = knowledge.store, date.today()
    reply = curated_answer(demoted, store, today, retriever.versions(), analyze=retriever.analyze)
    assert reply is not None and reply.text.startswith("【官方口径】补办优待证需携带")
