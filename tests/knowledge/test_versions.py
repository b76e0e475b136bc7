# ruff: noqa: E501  (fixture texts read better unwrapped)
"""Versions in force: same-title versions, repeal by name, the superseded-passage rule."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from ingest.pipeline import ingest_paths
from knowledge.retrieval.versionorder import current_first
from knowledge.service import KnowledgeService
from knowledge.store import KnowledgeStore, make_chroma_client
from knowledge.synonyms import SynonymTable
from knowledge.versions import NOT_YET, REPEALED, SUPERSEDED, VersionIndex, normalise_title
from tests.fakes import HashingEmbeddings
from tests.knowledge.conftest import coverage_only_policy
from vetbot.settings import Settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "versions"


def test_title_normalisation_joins_versions_of_one_text() -> None:
    assert normalise_title("中华人民共和国国防教育法") == normalise_title("国防教育法（2018年修正）")
    assert normalise_title("《信访条例》") == "信访条例"
    assert normalise_title("信访工作条例") != normalise_title("信访条例")


def test_latest_version_date_wins_and_the_older_is_superseded() -> None:
    index = VersionIndex({
        "old": {"title": "中华人民共和国示例法", "date_version": "2018-04-27", "date_effective": "2018-04-27"},
        "new": {"title": "示例法", "date_version": "2024-09-13", "date_effective": "2024-09-21"},
        "undated": {"title": "示例法"},
    })
    assert index.status("new").in_force
    assert index.status("undated").in_force  # cannot be ordered, so never hidden
    old = index.status("old")
    assert old.status == SUPERSEDED and old.superseded_by == "示例法" and old.status_date == "2024-09-21"
    assert [s.old for s in index.supersessions] == ["old"]
    assert "已被《示例法》取代（2024-09-21起施行）" in index.supersessions[0].describe()


def test_repeal_by_name_but_never_of_itself() -> None:
    index = VersionIndex({
        "a": {"title": "信访条例", "date_version": "2005-01-10", "repeals": "信访条例"},
        "b": {"title": "示例来访规定", "date_version": "2001-01-01"},
        "c": {"title": "示例来访工作办法", "date_version": "2021-05-01", "date_effective": "2021-06-01",
              "repeals": "示例来访规定"},
    })
    assert index.status("a").in_force  # 信访条例 2005 repeals the 1995 text of the same name
    assert index.status("c").in_force
    b = index.status("b")
    assert b.status == REPEALED and b.superseded_by == "示例来访工作办法" and b.status_date == "2021-06-01"


def test_known_succession_without_a_repeal_clause() -> None:
    index = VersionIndex({
        "old": {"title": "信访条例", "date_version": "2005-01-10"},
        "new": {"title": "信访工作条例", "date_version": "2022-02-25", "date_effective": "2022-05-01"},
    })
    assert index.status("old").status == REPEALED and index.status("old").status_date == "2022-05-01"
    assert VersionIndex({"old": {"title": "信访条例", "date_version": "2005-01-10"}}).status("old").in_force


@pytest.fixture
def versions_service(tmp_path: Path) -> tuple[KnowledgeService, list[str]]:
    store = KnowledgeStore(tmp_path / "kb", HashingEmbeddings(), make_chroma_client(tmp_path / "kb", None))
    report = ingest_paths(store, [FIXTURES], progress=False)
    settings = Settings(data_dir=tmp_path / "data", kb_dir=tmp_path / "kb")
    service = KnowledgeService(store, settings, synonyms=SynonymTable(), policy=coverage_only_policy())
    return service, report.supersessions


def test_ingest_reads_dates_and_reports_supersessions(versions_service: tuple[KnowledgeService, list[str]]) -> None:
    service, lines = versions_service
    metas = {d.metadata["title"] + d.metadata["date_version"]: d.metadata for d in service.store.documents.values()}
    assert metas["示例军人优抚条例2023-07-01"]["date_effective"] == "2023-09-01"  # from the last article
    assert metas["示例军人优抚条例2015-06-01"]["date_adopted"] == "2010-03-01"  # from the head line
    assert metas["示例来访工作办法2021-05-01"]["repeals"] == "示例来访规定"
    assert len(lines) == 2
    assert any("《示例军人优抚条例》（2015-06-01）已被《示例军人优抚条例》取代（2023-09-01起施行）" in s for s in lines)
    assert any("《示例来访规定》" in s and "已废止" in s for s in lines)


def test_answers_use_the_version_in_force_only(versions_service: tuple[KnowledgeService, list[str]]) -> None:
    service, _ = versions_service
    for question in ("军人牺牲了一次性抚恤金是多少？", "来访人对处理意见不服怎么办？", "残疾军人坐公交免费吗？"):
        answer = service.ask(question)
        assert not answer.refused, question
        assert answer.sources and all(s.in_force for s in [*answer.sources, *answer.related]), question
        assert "40个月" not in answer.answer and "复核" not in answer.answer
    assert "80个月" in service.ask("军人牺牲了一次性抚恤金是多少？").answer


def test_staff_search_shows_both_versions_marked(versions_service: tuple[KnowledgeService, list[str]]) -> None:
    service, _ = versions_service
    found = service.search("一次性抚恤金标准", k=10)
    statuses = {(p.date_version, p.status) for p in found if p.article == "第三条"}
    assert ("2023-07-01", "现行有效") in statuses and ("2015-06-01", "已被取代") in statuses
    old = next(p for p in found if p.status == "已被取代")
    assert old.superseded_by == "示例军人优抚条例" and old.status_date == "2023-09-01"
    assert old.status_note == "已被《示例军人优抚条例》取代（2023-09-01起施行）"
    assert next(p for p in found if p.in_force).status_note == ""


def test_lead_in_comes_with_its_list(versions_service: tuple[KnowledgeService, list[str]]) -> None:
    service, _ = versions_service
    answer = service.ask("退役军人立过功，安排工作有没有优先？")
    assert not answer.refused
    assert "对下列退役军人，优先安排工作：" in answer.answer
    assert "（二）荣立二等功以上奖励的退役军人" in answer.answer


OFFICIAL = Path(__file__).resolve().parents[1] / "fixtures" / "official"


def _service_over(folder: Path, tmp_path: Path) -> KnowledgeService:
    store = KnowledgeStore(tmp_path / "kb", HashingEmbeddings(), make_chroma_client(tmp_path / "kb", None))
    ingest_paths(store, [folder], progress=False)
    settings = Settings(data_dir=tmp_path / "data", kb_dir=tmp_path / "kb")
    return KnowledgeService(store, settings, synonyms=SynonymTable(), policy=coverage_only_policy())


@pytest.mark.parametrize(
    ("folder", "query", "current", "old"),
    [
        (FIXTURES, "一次性抚恤金标准", "第三条", "第三条"),
        (FIXTURES, "残疾军人免费乘坐公共汽车", "第二条", "第二条"),
        (FIXTURES, "优先安排工作", "第四条", "第四条"),
        (FIXTURES, "来访人对处理意见不服", "第一条", "第一条"),  # repealed by another title
        (OFFICIAL, "定期抚恤金", "第四条", "第四条"),
        (OFFICIAL, "残疾等级", "第七条", "第六条"),  # renumbered in the 2024 revision
    ],
)
def test_staff_search_lists_the_version_in_force_before_the_superseded_one(
    tmp_path: Path, folder: Path, query: str, current: str, old: str
) -> None:
    # The older text of an article is often shorter and matched the query a little better, so
    # it ranked first (fresh-eyes report); staff must read the rule in force first.
    found = _service_over(folder, tmp_path).search(query, k=10)
    ranks = {(p.in_force, p.article): i for i, p in reversed(list(enumerate(found)))}
    assert found[0].in_force, [(p.article, p.status) for p in found]
    assert ranks[(False, old)] == ranks[(True, current)] + 1, [(p.article, p.status) for p in found]
    moved = found[ranks[(False, old)]]
    # labelled 已被《…》取代 / 已废止：被《…》废止, with the date the newer text took effect
    assert f"《{moved.superseded_by}》" in moved.status_note and moved.status_date in moved.status_note
    for i, p in enumerate(found):  # no superseded passage before the current text it pairs with
        if not p.in_force and p.article == old:
            assert any(q.in_force and q.article == current for q in found[:i])


def test_a_superseded_passage_without_a_counterpart_follows_the_replacing_documents_best_hit() -> None:
    index = VersionIndex({
        "a": {"title": "甲办法", "date_version": "2010-01-01", "superseded_by": "b"},
        "b": {"title": "乙办法", "date_version": "2015-01-01", "superseded_by": "c"},
        "c": {"title": "丙办法", "date_version": "2020-01-01"},
    })
    assert index.in_force_successor("a") == "c" and index.in_force_successor("c") == ""
    texts = {"a:1": "第五条 优待金按年发放。", "c:1": "第五条 优待金按月发放。", "c:2": "第九条 本办法自公布之日起施行。",
             "a:2": "第七条 烈士纪念设施由民政部门管理。"}
    hits = [SimpleNamespace(chunk_id=c, superseded=c.startswith("a")) for c in ("a:2", "a:1", "c:2", "c:1")]
    ordered = current_first(hits, lambda c: c.split(":")[0], texts.__getitem__, index.in_force_successor)
    # a:1 follows its new wording c:1; a:2 (like nothing in the new text) follows the text in
    # force's best hit, c:2: staff read the rule in force first (fresh-eyes report, 金华's notice).
    assert [h.chunk_id for h in ordered] == ["c:2", "a:2", "c:1", "a:1"]
    # With no hit of the replacing document, a superseded passage keeps its place, still marked.
    alone = [SimpleNamespace(chunk_id=c, superseded=c.startswith("a")) for c in ("a:2", "x:1")]
    kept = current_first(alone, lambda c: c.split(":")[0], lambda c: texts.get(c, "其他"), index.in_force_successor)
    assert [h.chunk_id for h in kept] == ["a:2", "x:1"]


def test_a_text_not_yet_in_force_replaces_nothing_until_its_day() -> None:
    docs = {
        "old": {"title": "示例优待办法", "date_version": "2020-01-01", "date_effective": "2020-03-01"},
        "new": {"title": "示例优待办法", "date_version": "2026-10-01", "date_effective": "2027-01-01"},
        "repealer": {"title": "示例新规定", "date_version": "2026-11-01", "date_effective": "2027-01-01",
                     "repeals": "示例旧规定"},
        "repealed": {"title": "示例旧规定", "date_version": "2019-01-01"},
    }
    before = VersionIndex(docs, "2026-12-01")
    assert before.status("old").in_force and before.status("repealed").in_force
    pending = before.status("new")
    assert pending.status == NOT_YET and pending.status_date == "2027-01-01"
    assert pending.note() == "尚未施行（2027-01-01起施行）"
    assert before.status("repealer").status == NOT_YET
    assert before.supersessions == []
    after = VersionIndex(docs, "2027-01-01")
    assert after.status("new").in_force and after.status("old").status == SUPERSEDED
    assert after.status("repealed").status == REPEALED
    # Without a date (ingest reports of what the texts say), versions are ordered as before.
    assert VersionIndex(docs).status("old").status == SUPERSEDED


def test_answers_never_rest_on_a_text_not_yet_in_force(tmp_path: Path) -> None:
    folder = tmp_path / "notices"
    folder.mkdir()
    (folder / "future.txt").write_text(
        "示例市退役军人免费游览景区的通知\n第一条 退役军人持优待证免费游览本市双龙景区。\n"
        "第二条 本通知自2999年1月1日起施行。\n", encoding="utf-8")
    (folder / "now.txt").write_text(
        "示例市退役军人游览景区优惠办法\n第一条 退役军人持优待证游览本市双龙景区享受门票半价。\n"
        "第二条 本办法自2020年1月1日起施行。\n", encoding="utf-8")
    store = KnowledgeStore(tmp_path / "kb", HashingEmbeddings(), make_chroma_client(tmp_path / "kb", None))
    ingest_paths(store, [folder], progress=False)
    settings = Settings(data_dir=tmp_path / "data", kb_dir=tmp_path / "kb")
    service = KnowledgeService(store, settings, synonyms=SynonymTable(), policy=coverage_only_policy())
    answer = service.ask("退役军人游览双龙景区免费吗")
    assert not answer.refused and "半价" in answer.answer and "免费游览本市" not in answer.answer
    assert all(s.in_force for s in [*answer.sources, *answer.related])
    found = {p.title: p for p in service.search("双龙景区", k=10)}
    assert found["示例市退役军人免费游览景区的通知"].status_note == "尚未施行（2999-01-01起施行）"


def test_the_ingest_report_says_a_repeal_that_starts_later_is_still_ahead(tmp_path: Path) -> None:
    # fe26 §9: the report said 「已废止：被《…》废止（2027-03-01起施行）」 for a text in force until then.
    folder = tmp_path / "notices"
    folder.mkdir()
    (folder / "now.txt").write_text(
        "示例市退役军人配偶乘坐公交优惠的通知\n第一条 退役军人随行配偶乘坐本市公交享受半价优惠。\n"
        "第二条 本通知自2020年1月1日起施行。\n", encoding="utf-8")
    (folder / "future.txt").write_text(
        "示例市退役军人配偶免费乘坐公交的通知\n第一条 退役军人随行配偶免费乘坐本市公交。\n"
        "第二条 本通知自2999年3月1日起施行，《示例市退役军人配偶乘坐公交优惠的通知》同时废止。\n",
        encoding="utf-8")
    store = KnowledgeStore(tmp_path / "kb", HashingEmbeddings(), make_chroma_client(tmp_path / "kb", None))
    report = ingest_paths(store, [folder], progress=False)
    assert report.supersessions == [
        "《示例市退役军人配偶乘坐公交优惠的通知》将于2999-03-01被《示例市退役军人配偶免费乘坐公交的通知》废止"
    ]
    assert "已废止" not in report.summary()
    # the same label as the document pages (VersionIndex.upcoming_note), from the one index
    index = VersionIndex({d.doc_id: d.metadata for d in store.documents.values()}, "2026-12-01")
    (old,) = [d for d, m in store.documents.items() if m.metadata["title"].endswith("优惠的通知")]
    assert report.supersessions[0].endswith(index.upcoming_note(old))
