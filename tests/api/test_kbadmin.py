"""Knowledge-base admin: metadata and passage edits through the overlay, versions, audit."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from api.kbhittest import FEATURE_LABELS
from api.templating import format_datetime
from api.users import UserService
from ingest.pipeline import ingest_paths
from knowledge.answerability import FEATURES
from knowledge.store import KnowledgeStore
from tests.api.kb_support import OLD_CARD_RULES, add_editor, make_kb_app
from tests.api.support import Users
from tests.fakes import HashingEmbeddings
from vetbot.settings import Settings

CARD = "card-rules.md"
OLD = "old-card-rules.md"


@pytest.fixture
def kb(settings: Settings, case_service: Any, session_factory: Any) -> Iterator[TestClient]:
    app = make_kb_app(settings, case_service, session_factory)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def staff(user_service: UserService, users: Users) -> Users:
    return add_editor(user_service, users)


def _store(client: TestClient) -> Any:
    return client.app.state.runtime.knowledge.store  # type: ignore[attr-defined]


def _audit(client: TestClient, action: str) -> list[Any]:
    return client.app.state.runtime.users.recent_audit(action=action)  # type: ignore[attr-defined]


def _post(client: TestClient, users: Users, who: str, url: str, data: dict[str, str] | None = None) -> Any:
    return client.post(url, data=data or {}, headers=users.headers(who), follow_redirects=False)


def test_documents_page_groups_versions_with_status(kb: TestClient, staff: Users) -> None:
    page = kb.get("/kb", headers=staff.headers("editor"))
    assert page.status_code == 200
    assert "测试优待证管理办法" in page.text and "测试优待证补办暂行规定" in page.text
    assert "现行有效" in page.text and "上传政策文件" not in page.text  # editors do not upload
    assert "上传政策文件" in kb.get("/kb", headers=staff.headers("admin")).text


def test_fixing_a_title_republishes_and_is_audited(kb: TestClient, staff: Users) -> None:
    r = _post(kb, staff, "editor", f"/kb/docs/{CARD}/meta", {"title": "测试优待证管理规定", "issuer": ""})
    assert r.status_code == 303
    doc = _store(kb).documents[CARD]
    assert doc.metadata["title"] == "测试优待证管理规定"
    assert all(c.metadata["title"] == "测试优待证管理规定" for c in doc.chunks)
    assert doc.metadata["issuer"] == "测试退役军人事务部"  # an empty field keeps the ingested value
    page = kb.get(f"/kb/docs/{CARD}", headers=staff.headers("editor")).text
    assert "导入值：测试优待证管理办法" in page and 'value="测试优待证管理规定"' in page
    assert "修改元数据" in page and "user:editor" in page  # the change history
    assert '"title": "测试优待证管理规定"' in page  # history readable, not \\u escapes
    (entry,) = _audit(kb, "kb.document.update")
    assert entry.actor == "user:editor" and entry.target == f"doc:{CARD}"
    assert entry.detail == {
        "before": {"overrides": {}, "disabled": False},
        "after": {"overrides": {"title": "测试优待证管理规定"}, "disabled": False},
    }
    # Clearing the field restores the ingested title.
    _post(kb, staff, "editor", f"/kb/docs/{CARD}/meta", {"title": ""})
    assert _store(kb).documents[CARD].metadata["title"] == "测试优待证管理办法"


def test_marking_an_old_version_superseded_changes_the_answer(kb: TestClient, staff: Users) -> None:
    knowledge = kb.app.state.runtime.knowledge  # type: ignore[attr-defined]
    question = "优待证遗失了怎么补办？"
    before = knowledge.ask(question)
    assert not before.refused and OLD in {s.doc_id for s in before.sources}
    _post(kb, staff, "editor", f"/kb/docs/{OLD}/meta", {"superseded_by": CARD})
    after = knowledge.ask(question)
    assert not after.refused and OLD not in {s.doc_id for s in after.sources}
    assert CARD in {s.doc_id for s in after.sources}
    page = kb.get("/kb", headers=staff.headers("editor")).text
    assert "已被取代" in page


def test_a_successor_that_the_kb_does_not_hold_is_refused(kb: TestClient, staff: Users) -> None:
    # A typo would otherwise mark the document superseded and drop it from every answer.
    r = _post(kb, staff, "editor", f"/kb/docs/{CARD}/meta", {"superseded_by": "nonexist.md"})
    assert r.status_code == 422 and "没有编号或标题" in r.text
    assert "superseded_by" not in _store(kb).documents[CARD].metadata
    assert "已被取代" not in kb.get("/kb", headers=staff.headers("editor")).text


def test_passage_edit_survives_unchanged_reingest_and_goes_stale_when_source_changes(
    kb: TestClient, staff: Users, settings: Settings
) -> None:
    store = _store(kb)
    edited = "优待证有效期届满的，持证人应当在届满前三个月内申请换发。"
    form = {"key": "第十一条", "text": edited, "label": "第十一条"}
    r = _post(kb, staff, "editor", f"/kb/docs/{CARD}/passage", form)
    assert r.status_code == 303
    texts = {c.metadata["article"]: c.text for c in store.documents[CARD].chunks}
    assert texts["第十一条"].startswith("优待证有效期届满的，持证人应当在届满前三个月")
    # BM25 and vectors see the edit: the new words find the passage.
    hits = kb.app.state.runtime.knowledge.search("届满前三个月内申请换发")  # type: ignore[attr-defined]
    assert hits[0].doc_id == CARD and hits[0].article == "第十一条"
    (entry,) = _audit(kb, "kb.passage.edit")
    assert entry.target == f"doc:{CARD}#第十一条" and entry.detail["before"] is None
    assert entry.detail["after"]["text"].startswith("优待证有效期届满的")

    source = settings.data_dir.parent / "sources" / CARD
    hook = kb.app.state.kb_admin.edits.apply  # type: ignore[attr-defined]
    writer = kb.app.state.jobs.writer_store()  # type: ignore[attr-defined]
    ingest_paths(writer, [source], progress=False, overlay=hook, rebuild=False)
    kb.app.state.jobs.reload_serving_store()  # type: ignore[attr-defined]
    texts = {c.metadata["article"]: c.text for c in _store(kb).documents[CARD].chunks}
    assert "届满前三个月" in texts["第十一条"]

    # The source changes that article: the edit is flagged, the new source text is used.
    changed = source.read_text(encoding="utf-8").replace("应当申请换发", "可以申请换发新证")
    source.write_text(changed, encoding="utf-8")
    r = _post(kb, staff, "admin", f"/kb/docs/{CARD}/reingest")
    assert r.status_code == 303 and quote("原文件有变化") in r.headers["location"]
    texts = {c.metadata["article"]: c.text for c in _store(kb).documents[CARD].chunks}
    assert "可以申请换发新证" in texts["第十一条"]
    page = kb.get(f"/kb/docs/{CARD}", headers=staff.headers("editor")).text
    assert "原文已变化，修改待复核" in page
    assert "1 处修改待复核" in kb.get("/kb", headers=staff.headers("editor")).text


def test_disable_passage_and_document(kb: TestClient, staff: Users) -> None:
    _post(kb, staff, "editor", f"/kb/docs/{CARD}/passage", {"key": "第十条", "action": "disable"})
    assert [c.metadata["article"] for c in _store(kb).documents[CARD].chunks] == ["第十一条"]
    page = kb.get(f"/kb/docs/{CARD}", headers=staff.headers("editor")).text
    assert "启用此段" in page
    _post(kb, staff, "editor", f"/kb/docs/{CARD}/passage", {"key": "第十条", "action": "enable"})
    assert len(_store(kb).documents[CARD].chunks) == 2

    _post(kb, staff, "editor", f"/kb/docs/{CARD}/disable")
    assert CARD not in _store(kb).documents
    listing = kb.get("/kb", headers=staff.headers("editor")).text
    assert "已停用" in listing and "测试优待证管理办法" in listing
    _post(kb, staff, "editor", f"/kb/docs/{CARD}/enable")
    assert CARD in _store(kb).documents
    assert len(_audit(kb, "kb.document.disable")) == 1 and len(_audit(kb, "kb.document.enable")) == 1
    assert _audit(kb, "kb.passage.disable")[0].detail["after"]["disabled"] is True


def test_delete_is_admin_only_and_audited(kb: TestClient, staff: Users) -> None:
    assert _post(kb, staff, "editor", f"/kb/docs/{OLD}/delete").status_code == 403
    r = _post(kb, staff, "admin", f"/kb/docs/{OLD}/delete")
    assert r.status_code == 303
    assert OLD not in _store(kb).documents
    (entry,) = _audit(kb, "kb.document.delete")
    assert entry.detail["before"]["title"] == "测试优待证补办暂行规定" and entry.detail["after"] is None


def test_hit_test_shows_scores_signals_and_the_answer(kb: TestClient, staff: Users) -> None:
    page = kb.get("/kb/hittest", params={"q": "优待证遗失了怎么补办？"}, headers=staff.headers("editor"))
    assert page.status_code == 200
    assert "检索排名" in page.text and "可答性信号" in page.text and "关键词覆盖率" in page.text
    assert "《测试优待证管理办法》第十条" in page.text
    assert "模型特征：单句覆盖率" in page.text and "特征 sentence" not in page.text  # named, not codes
    refused = kb.get("/kb/hittest", params={"q": "今天股市行情怎么样"}, headers=staff.headers("editor"))
    assert "拒答" in refused.text and 'id="hit-why"' in refused.text


def test_every_answerability_feature_has_a_chinese_label_on_the_hit_test() -> None:
    # fe27 §6: 模型特征：focus_missing / matched / object_missing were shown as codes.
    assert set(FEATURES) <= set(FEATURE_LABELS)
    assert all(re.search(r"[\u4e00-\u9fff]", FEATURE_LABELS[name]) for name in FEATURES)


def test_unknown_document_and_bad_topic(kb: TestClient, staff: Users) -> None:
    assert kb.get("/kb/docs/nope.md", headers=staff.headers("editor")).status_code == 404
    r = _post(kb, staff, "editor", f"/kb/docs/{CARD}/meta", {"topics": "card,notatopic"})
    assert r.status_code == 422
    r = _post(kb, staff, "editor", f"/kb/docs/{CARD}/meta", {"date_effective": "2025年1月1日"})
    assert r.status_code == 422
    r = _post(kb, staff, "editor", f"/kb/docs/{CARD}/meta", {"date_effective": "2024-13-45"})
    assert r.status_code == 422
    assert _audit(kb, "kb.document.update") == []


def test_upload_job_reports_each_file_and_keeps_a_disabled_document_out(kb: TestClient, staff: Users) -> None:
    _post(kb, staff, "editor", f"/kb/docs/{OLD}/disable")
    fees = "# 收费说明\n## 第一条 不收费\n补办优待证不收费。"
    files = [("files", (OLD, OLD_CARD_RULES.encode())), ("files", ("fees.md", fees.encode()))]
    r = kb.post("/v1/documents", files=files, headers=staff.headers("admin"))
    assert r.status_code == 202
    kb.app.state.jobs.wait(r.json()["job_id"], timeout=120)  # type: ignore[attr-defined]
    job = kb.get(r.json()["status_url"], headers=staff.headers("admin")).json()
    by_name = {f["name"]: f for f in job["files"]}
    report = by_name["fees.md"]["report"]
    assert report["articles"] == 1 and report["chunks"] == 1 and report["metadata"]["title"] == "收费说明"
    # Uploading a disabled document again does not bring it back into the index.
    assert OLD not in _store(kb).documents
    assert any("已在知识库管理中停用" in note for note in by_name[OLD]["report"]["notes"])


def test_another_replica_sees_the_edit_after_reloading(
    kb: TestClient, staff: Users, settings: Settings
) -> None:

    replica = KnowledgeStore.open(settings.data_dir / "kb", settings, HashingEmbeddings())
    assert replica.documents[CARD].metadata["title"] == "测试优待证管理办法"
    _post(kb, staff, "editor", f"/kb/docs/{CARD}/meta", {"title": "测试优待证管理规定"})
    replica.reload()
    assert replica.documents[CARD].metadata["title"] == "测试优待证管理规定"


def test_a_document_whose_source_file_is_gone_can_still_be_edited(
    kb: TestClient, staff: Users, settings: Settings
) -> None:
    (settings.data_dir.parent / "sources" / CARD).unlink()
    form = {"key": "第十条", "text": "优待证遗失的，可以在线申请补办。"}
    assert _post(kb, staff, "editor", f"/kb/docs/{CARD}/passage", form).status_code == 303
    texts = {c.metadata["article"]: c.text for c in _store(kb).documents[CARD].chunks}
    assert texts["第十条"] == "优待证遗失的，可以在线申请补办。" and len(texts) == 2
    r = _post(kb, staff, "admin", f"/kb/docs/{CARD}/reingest")
    assert r.status_code == 303 and CARD in _store(kb).documents
    assert quote("原文件已不存在") in r.headers["location"]


def test_search_page_labels_a_superseded_version(kb: TestClient, staff: Users) -> None:
    # Staff look a rule up on /search: the old version may still rank (it stays searchable),
    # but it must not read as if it were in force next to the current one.
    _post(kb, staff, "editor", f"/kb/docs/{OLD}/meta", {"superseded_by": CARD})
    page = kb.get("/search", params={"q": "优待证遗失 登报声明作废 补办"}, headers=staff.headers("editor"))
    assert page.status_code == 200
    results = page.text.split('id="results"', 1)[1]
    old_item = next(item for item in results.split('<li class="result') if "测试优待证补办暂行规定" in item)
    assert "已被《测试优待证管理办法》取代" in old_item
    current = [item for item in results.split('<li class="result') if "测试优待证管理办法》第" in item]
    assert current and all("已被" not in item for item in current)


def test_document_pages_say_a_version_is_superseded(kb: TestClient, staff: Users) -> None:
    # A search result links to the document page: opened there, the old text must say it is
    # no longer in force, and the document list must say which one is.
    _post(kb, staff, "editor", f"/kb/docs/{OLD}/meta", {"superseded_by": CARD})
    old_page = kb.get(f"/documents/{OLD}", headers=staff.headers("editor")).text
    assert "已被《测试优待证管理办法》取代" in old_page
    assert "已被" not in kb.get(f"/documents/{CARD}", headers=staff.headers("editor")).text
    listing = kb.get("/documents", headers=staff.headers("editor")).text
    row = next(item for item in listing.split("<li") if "测试优待证补办暂行规定" in item)
    assert "已被取代" in row
    api = kb.get(f"/v1/documents/{OLD}", headers=staff.headers("editor")).json()
    assert api["status"] == "已被取代"


def test_document_page_shows_the_ingest_time_in_china_time(kb: TestClient, staff: Users) -> None:
    page = kb.get(f"/kb/docs/{CARD}", headers=staff.headers("editor")).text
    assert re.search(r"导入于 \d{4}-\d{2}-\d{2} \d{2}:\d{2}<", page), page[:3000]
    assert "+00:00" not in page  # it used to show the stored UTC text, 2026-11-30T14:24:18+00:00
    assert format_datetime("2026-11-30T14:24:18+00:00") == "2026-11-30 22:24"
    assert format_datetime("2026-11-30") == "2026-11-30"  # a date stays as written


def test_document_pages_say_when_a_text_in_force_will_be_repealed(
    kb: TestClient, staff: Users, settings: Settings
) -> None:
    # A notice not yet in force that repeals the current one by name: staff reading the current
    # one must see that it ends on that day (fe25 §6).
    _ingest_repealing_notice(
        kb, settings,
        "## 第一条 施行\n本办法自2999年1月1日起施行，《测试优待证管理办法》同时废止。\n"
    )
    note = "将于2999-01-01被《测试优待证管理新办法》废止"
    page = kb.get(f"/documents/{CARD}", headers=staff.headers("editor")).text
    assert note in page and 'id="doc-upcoming"' in page
    assert note in kb.get(f"/kb/docs/{CARD}", headers=staff.headers("editor")).text
    assert kb.get(f"/v1/documents/{CARD}", headers=staff.headers("editor")).json()["upcoming_note"] == note
    assert "将于" not in kb.get(f"/documents/{OLD}", headers=staff.headers("editor")).text


def test_staff_search_lists_a_pending_text_after_the_rule_in_force_with_its_upcoming_note(
    kb: TestClient, staff: Users, settings: Settings
) -> None:
    # fe26 §9: the 尚未施行 passage was the first card, above the rule in force, and the card in
    # force did not say 将于…废止 as its document page does.
    _ingest_repealing_notice(
        kb, settings,
        "## 第十条 补办\n优待证遗失的，补办优待证可以网上申请，补办优待证免费，补办优待证当日办结。\n"
        "## 第二十条 施行\n本办法自2999年1月1日起施行，《测试优待证管理办法》同时废止。\n"
    )
    hits = kb.get("/v1/search", params={"q": "补办优待证"}, headers=staff.headers("editor")).json()["results"]
    order = [(h["doc_id"], h["status"]) for h in hits]
    pending = order.index(("card-rules-2999.md", "尚未施行"))
    assert order.index((CARD, "现行有效")) < pending, order
    note = "将于2999-01-01被《测试优待证管理新办法》废止"
    assert all(h["upcoming_note"] == note for h in hits if h["doc_id"] == CARD)
    assert all(h["upcoming_note"] == "" for h in hits if h["doc_id"] != CARD)
    page = kb.get("/search", params={"q": "补办优待证"}, headers=staff.headers("editor")).text
    assert f"现行有效，{note}" in page
    assert page.index("测试优待证管理办法") < page.index("测试优待证管理新办法")


def _ingest_repealing_notice(kb: TestClient, settings: Settings, articles: str) -> None:
    """Ingest into the served KB a 测试优待证管理新办法 in force from 2999-01-01 with ``articles``
    (markdown ``## 第N条`` sections) and reload it."""
    later = settings.data_dir.parent / "sources" / "card-rules-2999.md"
    later.write_text(
        "---\ntitle: 测试优待证管理新办法\nissuer: 测试退役军人事务部\ndate_issued: 2998-12-01\n"
        "date_effective: 2999-01-01\nregion: 全国\n---\n# 测试优待证管理新办法\n" + articles,
        encoding="utf-8",
    )
    writer = kb.app.state.jobs.writer_store()  # type: ignore[attr-defined]
    ingest_paths(writer, [later], progress=False, rebuild=False)
    kb.app.state.jobs.reload_serving_store()  # type: ignore[attr-defined]
