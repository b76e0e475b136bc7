# ruff: noqa: E501  (fixture texts read better unwrapped)
"""Texts not yet in force are mentioned with an answer or a refusal, never used as its basis."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.pipeline import ingest_paths
from knowledge.pending import asks_about_future, chinese_date
from knowledge.service import KnowledgeService
from knowledge.store import KnowledgeStore, make_chroma_client
from knowledge.synonyms import SynonymTable
from knowledge.versions import REPEALED, SUPERSEDED, VersionIndex
from tests.fakes import HashingEmbeddings
from tests.knowledge.conftest import coverage_only_policy
from vetbot.settings import Settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "pending"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeService:
    tmp = tmp_path_factory.mktemp("pending")
    store = KnowledgeStore(tmp / "kb", HashingEmbeddings(), make_chroma_client(tmp / "kb", None))
    ingest_paths(store, [FIXTURES], progress=False)
    settings = Settings(data_dir=tmp / "data", kb_dir=tmp / "kb")
    return KnowledgeService(store, settings, synonyms=SynonymTable.load(), policy=coverage_only_policy())


def test_upcoming_names_the_pending_text_that_will_replace_or_repeal() -> None:
    docs = {
        "old": {"title": "示例优待办法", "date_version": "2020-01-01", "date_effective": "2020-03-01"},
        "new": {"title": "示例优待办法", "date_version": "2026-10-01", "date_effective": "2027-01-01"},
        "repealer": {"title": "示例新规定", "date_version": "2026-11-01", "date_effective": "2027-01-01",
                     "repeals": "示例旧规定"},
        "repealed": {"title": "示例旧规定", "date_version": "2019-01-01"},
        "alone": {"title": "示例其他规定", "date_version": "2019-01-01"},
    }
    index = VersionIndex(docs, "2026-12-01")
    assert index.status("old").in_force and index.status("repealed").in_force
    new, will_be = index.upcoming("old") or ("", None)
    assert new == "new" and will_be is not None and will_be.status == SUPERSEDED
    assert will_be.status_date == "2027-01-01"
    assert (index.upcoming("repealed") or ("", None))[0] == "repealer"
    assert index.upcoming_note("repealed") == "将于2027-01-01被《示例新规定》废止"
    assert index.upcoming_note("old") == "将于2027-01-01被《示例优待办法》取代"
    assert index.upcoming("alone") is None and index.upcoming("new") is None and index.upcoming_note("alone") == ""
    # On the day the change is made, and nothing is upcoming any more.
    after = VersionIndex(docs, "2027-01-01")
    assert after.status("repealed").status == REPEALED and after.upcoming("repealed") is None


def test_future_questions_and_dates() -> None:
    for q in ("明年金华地铁还免费吗", "以后还免费吗", "新规定什么时候施行", "2027年坐地铁要钱吗"):
        assert asks_about_future(q, "2026-12-01"), q
    for q in ("金华坐地铁免费吗", "2025年的规定还管用吗", "优待证去哪里办"):
        assert not asks_about_future(q, "2026-12-01"), q
    assert chinese_date("2027-01-01") == "2027年1月1日"


def test_an_answer_resting_on_a_text_about_to_be_repealed_says_so(service: KnowledgeService) -> None:
    answer = service.ask("在金华坐地铁要钱吗", region="金华市")
    assert not answer.refused
    assert "免费乘坐金华市轨道交通" in answer.answer.splitlines()[0]  # the rule in force is the answer
    assert all(s.in_force for s in answer.sources)
    line = next(x for x in answer.answer.splitlines() if x.startswith("另："))
    assert "《关于调整退役军人乘坐示例轨道交通优待的通知》（金退役军人发〔2998〕31号）将于2999年1月1日起施行" in line
    assert "届时《关于退役军人免费乘坐示例轨道交通的通知》废止" in line and "半价" in line
    assert line.endswith("（尚未施行，以上答复按现行规定）")
    assert answer.answer.endswith("12345 政务服务热线。")  # the follow-up pointer stays last
    pending = [p for p in answer.related if not p.in_force]
    assert [p.status for p in pending] == ["尚未施行"] and pending[0].status_date == "2999-01-01"


def test_a_refused_question_names_the_only_text_about_it_not_yet_in_force(service: KnowledgeService) -> None:
    answer = service.ask("老兵去双龙洞要门票吗", region="金华市")
    assert answer.refused and answer.refusal_reason == "no_evidence"
    assert "《关于退役军人免费游览示例国有景区的通知》（金退役军人发〔2998〕30号）将于2999年1月1日起施行" in answer.answer
    assert "免费游览金华市国有景区" in answer.answer and "（尚未施行，目前不能作为答复依据）" in answer.answer
    # Staff (and the knowledge-gap report) see it first among what was found.
    assert answer.sources[0].title == "关于退役军人免费游览示例国有景区的通知"
    assert answer.sources[0].status == "尚未施行"
    assert [p.status for p in answer.related] == ["尚未施行"]


def test_another_places_pending_rule_is_not_mentioned(service: KnowledgeService) -> None:
    answer = service.ask("老兵去双龙洞要门票吗", region="济南市")
    assert "另：" not in answer.answer and not answer.related


def test_a_validity_question_is_answered_from_the_version_metadata(service: KnowledgeService) -> None:
    answer = service.ask("关于退役军人免费乘坐示例轨道交通的通知还有效吗")
    assert not answer.refused
    assert answer.answer.startswith("《关于退役军人免费乘坐示例轨道交通的通知》（金退役军人发〔2020〕12号")
    assert "：现行有效。另：将于2999年1月1日被《关于调整退役军人乘坐示例轨道交通优待的通知》废止" in answer.answer
    assert [s.citation for s in answer.sources] == ["《关于退役军人免费乘坐示例轨道交通的通知》"]
    assert service.ask("示例优待管理办法废止了吗").refusal_reason == "no_evidence"  # not in the KB
