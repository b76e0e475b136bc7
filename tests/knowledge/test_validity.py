# ruff: noqa: E501  (fixture texts read better unwrapped)
"""Validity questions are answered from the documents' version metadata."""

from __future__ import annotations

from typing import Any

import pytest

from knowledge.records import ChunkRecord, DocumentRecord
from knowledge.validity import validity_reply
from knowledge.versions import VersionIndex

END = "如需进一步了解。"
TODAY = "2026-12-01"


def _doc(doc_id: str, **meta: Any) -> DocumentRecord:
    meta = {"doc_id": doc_id, "region": "全国", **meta}
    return DocumentRecord(doc_id, f"{doc_id}.md", "x", meta, [ChunkRecord(f"{doc_id}:0", "第一条 为了……，制定本条例。", meta)])


OLD = _doc("xf2005", title="信访条例", doc_number="国务院令第431号", date_issued="2005-01-10",
           date_version="2005-01-10", date_effective="2005-05-01")
NEW = _doc("xf2022", title="信访工作条例", date_issued="2022-02-25", date_version="2022-02-25", date_effective="2022-05-01")
FUXU = _doc("fx", title="军人抚恤优待条例（要点）", date_version="2024-08-05", date_amended="2024-08-05", date_effective="2024-10-01")
METRO = _doc("metro", title="关于退役军人免费乘坐金华市轨道交通的通知", region="金华市", date_version="2025-03-01", date_effective="2025-04-01")
LATER = _doc("later", title="关于调整退役军人乘坐金华市轨道交通优待办法的通知", doc_number="金退役军人发〔2026〕31号",
             date_version="2026-11-20", date_effective="2027-01-01", repeals="关于退役军人免费乘坐金华市轨道交通的通知")


def _ask(question: str, *docs: DocumentRecord) -> Any:
    documents = {d.doc_id: d for d in docs}
    return validity_reply(question, documents, VersionIndex({d.doc_id: d.metadata for d in docs}, TODAY), END)


def test_a_replaced_text_names_its_status_and_the_text_in_force() -> None:
    reply = _ask("信访条例还有效吗", OLD, NEW, FUXU)
    assert reply is not None and not reply.refuse
    lines = reply.text.splitlines()
    assert lines[0] == "《信访条例》（国务院令第431号，2005年1月10日公布，2005年5月1日起施行）：已废止，被《信访工作条例》废止（2022年5月1日起）。"
    assert lines[1] == "现行有效的是《信访工作条例》（2022年2月25日公布，2022年5月1日起施行）。"
    assert lines[-1] == END
    assert [(s.citation, s.status) for s in reply.sources] == [("《信访条例》", "已废止"), ("《信访工作条例》", "现行有效")]


def test_a_short_name_is_not_a_longer_title() -> None:
    # 信访条例 is the 2005 text: with only the 2022 信访工作条例 in the KB, it is not there.
    reply = _ask("信访条例废止了吗", NEW)
    assert reply is not None and reply.refuse
    in_force = _ask("信访工作条例现在还有效吗？", OLD, NEW)
    assert in_force is not None and in_force.text.startswith("《信访工作条例》（2022年2月25日公布，2022年5月1日起施行）：现行有效。")
    assert [s.citation for s in in_force.sources] == ["《信访工作条例》"]


def test_common_short_names_and_near_spellings_find_the_document() -> None:
    reply = _ask("抚恤优待条例是不是新的", FUXU, NEW)
    assert reply is not None and "《军人抚恤优待条例（要点）》（2024年8月5日修改，2024年10月1日起施行）：现行有效。" in reply.text
    near = _ask("关于退役军人免费乘坐金华市轨道交通通知还有效吗", METRO, NEW)
    assert near is not None and near.sources[0].doc_id == "metro"


def test_a_text_in_force_says_when_a_pending_one_repeals_it() -> None:
    reply = _ask("关于退役军人免费乘坐金华市轨道交通的通知还有效吗", METRO, LATER)
    assert reply is not None
    assert "：现行有效。另：将于2027年1月1日被《关于调整退役军人乘坐金华市轨道交通优待办法的通知》废止（该文件尚未施行）。" in reply.text
    pending = _ask("关于调整退役军人乘坐金华市轨道交通优待办法的通知什么时候施行", METRO, LATER)
    assert pending is not None
    assert "（金退役军人发〔2026〕31号，2026年11月20日公布，2027年1月1日起施行）：尚未施行，将于2027年1月1日起施行" in pending.text
    assert pending.sources[0].status == "尚未施行"


def test_other_questions_are_not_validity_questions() -> None:
    for question in ("优待证还有效吗", "优待证有效期是几年？", "信访条例规定多少天内答复", "坐地铁免费吗",
                     "老兵退伍后犯了法，他的退役待遇会被取消吗？本人不服能怎么办？",
                     "按信访条例办的事现在还有效吗"):
        assert _ask(question, OLD, NEW, FUXU) is None, question
    # When a text in force took effect: its own article (本条例自…起施行) answers that.
    assert _ask("信访工作条例什么时候开始施行的", OLD, NEW) is None


EDU2018 = _doc("edu2018", title="中华人民共和国国防教育法", date_version="2018-04-27", date_amended="2018-04-27",
               date_effective="2018-04-27")
EDU2024 = _doc("edu2024", title="中华人民共和国国防教育法", date_version="2024-09-13", date_amended="2024-09-13",
               date_effective="2024-09-21")


@pytest.mark.parametrize("question", ["国防教育法现在用哪个版本", "国防教育法现在用的是哪个版本"])
def test_which_version_is_used_now_names_the_one_in_force_first(question: str) -> None:
    reply = _ask(question, EDU2018, EDU2024)
    assert reply is not None and not reply.refuse
    assert reply.text.splitlines()[0].endswith("现行有效。") and "2024年9月21日起施行" in reply.text.splitlines()[0]


@pytest.mark.parametrize("question", ["国防教育法2018年版还有效吗", "2018年的国防教育法还能用吗"])
def test_a_version_named_by_its_year_is_the_one_answered_first(question: str) -> None:
    reply = _ask(question, EDU2018, EDU2024)
    assert reply is not None and not reply.refuse
    assert "2018年4月27日修改" in reply.text.splitlines()[0] and "取代" in reply.text.splitlines()[0]
