"""Staff edits over ingested documents (knowledge.overlay) and staff-marked versions."""

from __future__ import annotations

from knowledge.overlay import DocumentOverlay, PassageEdit, apply_overlay, passage_keys, topics_value
from knowledge.store import ChunkRecord, DocumentRecord
from knowledge.versions import VersionIndex


def _record(sha: str = "a" * 64, third: str = "附件：申请表") -> DocumentRecord:
    texts = [
        ("第一条", "第一条 优待证由退役军人事务部门统一制发。"),
        ("第一条", "（续）各地不得另行制发。"),
        ("", third),
    ]
    chunks = [
        ChunkRecord(
            f"d:{sha[:12]}:{i}", text, {"doc_id": "d", "article": art, "title": "办法", "region": "全国"}
        )
        for i, (art, text) in enumerate(texts)
    ]
    return DocumentRecord("d", "d.md", sha, {"title": "办法", "region": "全国"}, chunks)


def test_passage_keys_are_labels_with_ordinals() -> None:
    assert passage_keys(_record().chunks) == ["第一条", "第一条/2", "段1"]


def test_no_overlay_returns_the_record_itself() -> None:
    record = _record()
    assert apply_overlay(record, None).record is record
    assert apply_overlay(record, DocumentOverlay("d")).record is record


def test_metadata_text_label_and_disabled_passages_apply_with_fresh_chunk_ids() -> None:
    record = _record()
    overlay = DocumentOverlay(
        "d",
        metadata={"title": "新办法", "region": "济南", "topics": "card,transit", "superseded_by": "e"},
        passages=(
            PassageEdit(
                "第一条/2",
                record.sha256,
                "（续）各地不得另行制发。",
                text="各地不得自行制发。",
                label="第2条",
            ),
            PassageEdit("段1", record.sha256, "附件：申请表", disabled=True),
        ),
    )
    out = apply_overlay(record, overlay)
    assert out.record is not None and out.applied == ["第一条/2", "段1"] and out.stale == []
    chunks = out.record.chunks
    assert [c.text for c in chunks] == ["第一条 优待证由退役军人事务部门统一制发。", "各地不得自行制发。"]
    assert chunks[1].metadata["article"] == "第二条" and chunks[1].metadata["edited"] is True
    assert {c.metadata["title"] for c in chunks} == {"新办法"}
    assert chunks[0].metadata["region"] == "济南市" and chunks[0].metadata["region_path"] == "山东省/济南市"
    assert chunks[0].metadata["topics"] == "|card|transit|" and chunks[0].metadata["superseded_by"] == "e"
    # New ids (the store embeds edited text instead of keeping the old vectors), in the documented form.
    assert all(
        c.chunk_id.startswith("d:") and c.chunk_id not in {x.chunk_id for x in record.chunks} for c in chunks
    )
    assert [c.metadata["chunk_id"] for c in chunks] == [c.chunk_id for c in chunks]
    assert record.chunks[1].text == "（续）各地不得另行制发。"  # the input is not modified
    # Applying again to the edited record (keys kept in metadata) gives the same result.
    again = apply_overlay(out.record, overlay)
    assert again.record is not None and [c.text for c in again.record.chunks] == [c.text for c in chunks]


def test_edit_goes_stale_when_the_source_passage_changed_but_not_when_another_did() -> None:
    old = _record()
    edit = PassageEdit("段1", old.sha256, "附件：申请表", text="附件：申请表（2025 版）")
    changed_elsewhere = _record(sha="b" * 64)
    out = apply_overlay(changed_elsewhere, DocumentOverlay("d", passages=(edit,)))
    assert (
        out.applied == ["段1"] and out.record is not None and out.record.chunks[2].text.endswith("2025 版）")
    )
    changed_here = _record(sha="c" * 64, third="附件：申请表及承诺书")
    out = apply_overlay(changed_here, DocumentOverlay("d", passages=(edit,)))
    assert out.stale == ["段1"] and out.record is not None
    assert out.record.chunks[2].text == "附件：申请表及承诺书"  # the source's new text, not the stale edit


def test_disabled_document_gives_no_record() -> None:
    assert apply_overlay(_record(), DocumentOverlay("d", disabled=True)).record is None


def test_topics_value_forms() -> None:
    assert topics_value("card，transit") == "|card|transit|" and topics_value(["tax"]) == "|tax|"
    assert topics_value("") == ""


def test_staff_marked_supersession_wins_and_names_unknown_successors() -> None:
    docs = {
        "old": {"title": "甲办法", "date_issued": "2020-01-01", "superseded_by": "new"},
        "new": {"title": "乙办法", "date_issued": "2024-01-01", "date_effective": "2024-03-01"},
        "lone": {"title": "丙办法", "superseded_by": "《丁办法》"},
    }
    index = VersionIndex(docs)
    assert index.status("old").status == "已被取代" and index.status("old").superseded_by == "乙办法"
    assert index.status("old").status_date == "2024-03-01"
    assert index.status("lone").superseded_by == "丁办法" and index.status("new").in_force
