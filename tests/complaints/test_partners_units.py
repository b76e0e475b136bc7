"""Partner units in the routing table, per-unit supervision figures and the photo type check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from complaints import lifecycle as lc
from complaints.aggregates import unit_supervision
from complaints.attachments import sniff_image_mime
from complaints.records import CaseRecord
from complaints.routing import RoutingTable
from vetbot.errors import ConfigurationError, InvalidInputError, NotFoundError

SHIPPED = Path(__file__).resolve().parents[2] / "complaints" / "data" / "routing.yaml"
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def test_shipped_table_names_the_partner_units() -> None:
    table = RoutingTable.load(SHIPPED)
    units = {p.unit for p in table.partners.values()}
    for needle in ("交通运输局", "文化和旅游局", "教育局", "人力资源和社会保障局", "卫生健康委员会"):
        assert any(needle in u for u in units), needle
    # suggestions put the fitting unit first: 济南 transit -> 济南市交通运输局
    assert table.partners_for("transit", "济南市历下区")[0].unit == "济南市交通运输局"
    assert table.partners_for("education", "济南市")[0].unit == "济南市教育局"
    assert table.partner_by_unit("济南市交通运输局") is table.partner("jn-jtj")
    with pytest.raises(NotFoundError):
        table.partner("nope")


def _table(partners: list[dict[str, object]]) -> RoutingTable:
    return RoutingTable.from_dict(
        {
            "handlers": [{"id": "a", "name": "甲", "unit": "单位甲"}],
            "fallback": "a",
            "partners": partners,
        }
    )


@pytest.mark.parametrize(
    "partners",
    [
        [{"id": "p", "unit": "交通局"}, {"id": "p", "unit": "教育局"}],  # duplicate id
        [{"id": "a", "unit": "交通局"}],  # clashes with a handler id
        [{"id": "p", "unit": "交通局", "theme": ["weather"]}],  # unknown theme
        [{"id": "p"}],  # no unit
        [{"id": "p", "unit": "交通局", "telegram_chat_id": "x"}],
    ],
)
def test_bad_partner_entries_are_configuration_errors(partners: list[dict[str, object]]) -> None:
    with pytest.raises(ConfigurationError):
        _table(partners)


def _rec(ticket: str, unit: str, day: int, **kw: object) -> CaseRecord:
    created = NOW - timedelta(days=100 - day)
    values: dict[str, object] = {
        "ticket": ticket,
        "theme": "transit",
        "region": "济南市",
        "text": "x",
        "status": lc.PENDING,
        "created_at": created,
        "unit": unit,
        "accept_due": lc.accept_due(created),
    }
    values.update(kw)
    return CaseRecord(**values)  # type: ignore[arg-type]


def test_unit_supervision_rates() -> None:
    t0 = NOW - timedelta(days=90)
    records = [
        # unit A: one on time (满意), one concluded late (不满意), one open and overdue, one repeat
        _rec(
            "A1",
            "A",
            10,
            status=lc.CONCLUDED,
            accepted_at=t0,
            concluded_at=t0 + timedelta(days=10),
            conclude_due=t0 + timedelta(days=60),
            rating="满意",
            complainant_chat_id=7,
        ),
        _rec(
            "A2",
            "A",
            11,
            status=lc.CONCLUDED,
            accepted_at=t0,
            concluded_at=t0 + timedelta(days=70),
            conclude_due=t0 + timedelta(days=60),
            rating="不满意",
        ),
        _rec("A3", "A", 12),  # pending since 88 days: past its 15-day acceptance deadline
        _rec("A4", "A", 95, complainant_chat_id=7),  # same person, same theme: a repeat
        # unit B: one merged duplicate, one fresh
        _rec("B1", "B", 96, status=lc.MERGED, closed=True),
        _rec("B2", "B", 97),
    ]
    figures = {u.unit: u for u in unit_supervision(records, NOW)}
    a, b = figures["A"], figures["B"]
    assert (a.total, a.open, a.overdue, a.on_time, a.late) == (4, 2, 1, 1, 2)
    assert a.on_time_rate == pytest.approx(1 / 3, abs=1e-4)
    assert (a.rated, a.satisfied_rate) == (2, 0.5)
    assert (a.returns, a.return_rate) == (1, 0.25)
    assert (b.total, b.returns, b.return_rate, b.on_time_rate, b.satisfied_rate) == (2, 1, 0.5, None, None)
    assert [u.unit for u in unit_supervision(records, NOW)] == ["A", "B"]  # most late first


def test_photo_type_is_sniffed_from_the_bytes() -> None:
    assert sniff_image_mime(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert sniff_image_mime(b"\x89PNG\r\n\x1a\nrest") == "image/png"
    assert sniff_image_mime(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    with pytest.raises(InvalidInputError):
        sniff_image_mime(b"<html>not a photo</html>")
