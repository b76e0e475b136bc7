"""CSV/XLSX exports round-trip, with personal data masked."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

from openpyxl import load_workbook

from complaints.aggregates import average_times, satisfaction, theme_counts, trend_series
from complaints.deadlines import deadline_report
from complaints.exports import (
    CASE_COLUMNS,
    aggregates_csv,
    aggregates_xlsx,
    cases_csv,
    cases_xlsx,
    trend_csv,
)
from complaints.records import CaseRecord
from complaints.types import Actor, CaseFilter, ComplaintIntake

from .conftest import CST

PHONE, PHONE_SPACED = "13912345678", "139 1234 5678"
ID_CARD, ID_CARD_2 = "370102199001011234", "33070219880506123X"
BANK = "6222021234567890123"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=CST)
SECRETS = (PHONE, ID_CARD, ID_CARD_2, BANK, "12345678", "张建国", "欧阳娜娜")


def _records() -> list[CaseRecord]:
    return [
        CaseRecord(ticket="TS-20260302-0001", theme="card", region="济南市", status="待受理", created_at=T0,
                   text=f"优待证三个月没办下来，我的电话{PHONE}，身份证{ID_CARD}。",
                   complainant_name="张建国", complainant_phone=PHONE_SPACED,
                   unit="济南市退役军人事务局优抚科", handler_id="jn-yfk"),
        CaseRecord(ticket="TS-20260303-0001", theme="transit", region="扬州市", status="已办结",
                   created_at=T0 + timedelta(days=1), accepted_at=T0 + timedelta(days=2),
                   concluded_at=T0 + timedelta(days=9), rating="满意",
                   text=f"=HYPERLINK(\"http://x\") 公交司机不认优待证，身份证{ID_CARD_2}，卡号{BANK}",
                   complainant_name="欧阳娜娜", complainant_phone=f"+86 {PHONE}",
                   unit="扬州市退役军人事务局优抚处"),
        CaseRecord(ticket="TS-20260304-0001", theme="medical", region="金华市", status="已受理",
                   created_at=T0 + timedelta(days=2), accepted_at=T0 + timedelta(days=3),
                   text="医院优先窗口没人", complainant_name=None, complainant_phone=None),
    ]


def _assert_no_secrets(blob: str) -> None:
    for secret in SECRETS:
        assert secret not in blob, secret
    assert PHONE_SPACED not in blob


def test_cases_csv_round_trip_masked() -> None:
    data = cases_csv(_records())
    assert data.startswith(b"\xef\xbb\xbf")  # BOM for Excel
    text = data.decode("utf-8-sig")
    _assert_no_secrets(text)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [c.header for c in CASE_COLUMNS]
    assert len(rows) == 4
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["编号"] == "TS-20260302-0001"
    assert first["登记时间"] == "2026-03-02 09:00"
    assert first["主题"] == "优待证申领/制发/补办/信息"
    assert first["信访人"] == "张**"
    assert first["联系电话"] == "139****5678"
    assert "139****5678" in first["投诉内容"] and "370***********1234" in first["投诉内容"]
    second = dict(zip(rows[0], rows[2], strict=True))
    assert second["投诉内容"].startswith("'=")  # no formula injection
    assert second["联系电话"] == "861****5678"  # +86 prefix kept as digits, middle masked
    assert second["信访人"] == "欧***"
    assert second["办结时间"] == "2026-03-11 09:00"
    third = dict(zip(rows[0], rows[3], strict=True))
    assert third["信访人"] == "" and third["联系电话"] == ""


def test_cases_xlsx_round_trip_masked() -> None:
    data = cases_xlsx(_records(), filters={"地区": "济南市", "备注": f"电话{PHONE}"})
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["案件列表", "导出说明"]
    ws = wb["案件列表"]
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert values[0] == [c.header for c in CASE_COLUMNS]
    assert len(values) == 4
    blob = "\n".join(str(v) for row in values for v in row if v is not None)
    about = "\n".join(str(c.value) for row in wb["导出说明"].iter_rows() for c in row if c.value is not None)
    _assert_no_secrets(blob)
    _assert_no_secrets(about)
    assert "脱敏" in about and "济南市" in about
    header = values[0]
    row1 = dict(zip(header, values[1], strict=True))
    assert row1["登记时间"] == datetime(2026, 3, 2, 9, 0)  # a real date, China local
    assert row1["联系电话"] == "139****5678"
    assert row1["信访人"] == "张**"
    assert dict(zip(header, values[2], strict=True))["投诉内容"].startswith("'=")


def test_aggregates_round_trip() -> None:
    recs = _records()
    rows = theme_counts(recs, "month")
    text = aggregates_csv(rows).decode("utf-8-sig")
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed[0] == ["统计周期", "地区", "主题代码", "主题", "件数"]
    assert sorted((r[0], r[1], r[2], int(r[4])) for r in parsed[1:]) == [
        ("2026-03", "扬州市", "transit", 1),
        ("2026-03", "济南市", "card", 1),
        ("2026-03", "金华市", "medical", 1),
    ]
    trend = trend_series(recs, "week", T0, T0 + timedelta(days=13))  # Monday 2 → Sunday 15 March
    t_rows = list(csv.reader(io.StringIO(trend_csv(trend).decode("utf-8-sig"))))
    assert t_rows[0] == ["分组", "2026-W10", "2026-W11", "合计"]
    assert all(r[-1] == "1" for r in t_rows[1:])

    now = T0 + timedelta(days=20)
    data = aggregates_xlsx(rows, trend=trend, deadlines=deadline_report(recs, now), times=average_times(recs),
                           satisfaction=satisfaction(recs), filters={"周期": "月"})
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["主题统计", "趋势", "超期与临期", "办理时长与满意度", "导出说明"]
    counts = [[c.value for c in r] for r in wb["主题统计"].iter_rows(min_row=2)]
    assert sorted(r[4] for r in counts) == [1, 1, 1]
    overdue = {r[0].value: r[4].value for r in wb["超期与临期"].iter_rows(min_row=2)}
    assert overdue["济南市退役军人事务局优抚科"] == 1  # pending 20 days: acceptance overdue
    metrics = {r[0].value: r[1].value for r in wb["办理时长与满意度"].iter_rows(min_row=2)}
    assert metrics["已受理件数"] == 2
    assert metrics["平均受理用时（天）"] == 1.0
    assert metrics["评价：满意"] == 1
    assert metrics["满意率（满意+基本满意）"] == "100.0%"
    everything = "\n".join(
        str(c.value) for ws in wb for r in ws.iter_rows() for c in r if c.value is not None
    )
    _assert_no_secrets(everything)


def test_export_of_service_views_is_masked(service) -> None:
    """CaseView objects from CaseService.list_cases (names unmasked there) export masked."""
    service.intake(ComplaintIntake(text=f"优待证没办好，电话{PHONE}，身份证{ID_CARD}", channel="web",
                                   region="济南市", theme="card", complainant_name="张建国",
                                   complainant_phone=PHONE))
    views = service.list_cases(CaseFilter(), Actor(id="office-1", name="双拥办", role="office"))
    assert views and views[0].complainant_name == "张建国"
    text = cases_csv(views).decode("utf-8-sig")
    _assert_no_secrets(text)
    row = dict(zip(*list(csv.reader(io.StringIO(text)))[:2], strict=True))
    assert row["信访人"] == "张**" and row["联系电话"] == "139****5678"
    assert row["承办单位"] == "济南市退役军人事务局优抚科" and row["承办人编号"] == "jn-yfk"
    wb = load_workbook(io.BytesIO(cases_xlsx(views)))
    _assert_no_secrets("\n".join(str(c.value) for r in wb["案件列表"].iter_rows() for c in r if c.value))
