"""CSV and XLSX exports of case lists and aggregates for the office (personal data masked).

* CSV is UTF-8 with a BOM so that Excel on Chinese Windows opens it with the right encoding.
* XLSX is written with openpyxl (header row bold and frozen, dates as real Excel dates).
* Every case row goes through masking here, whatever it came from (``CaseRecord``,
  ``CaseRow`` or the service's ``CaseView``): texts through ``mask_text``, the phone through
  ``mask_phone``, the name down to the family name. The raw phone or ID number never leaves.
* Cells that Excel would run as a formula (``=``, ``+``, ``-``, ``@`` first) are prefixed
  with ``'`` (CSV/formula injection).

All functions return ``bytes`` so that the API can stream them and the CLI can write them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from complaints.records import CaseRecord, CaseRow, mask_name, mask_record
from complaints.themes import theme_label
from vetbot.clock import CHINA_TZ, as_utc
from vetbot.privacy import mask_phone, mask_text

if TYPE_CHECKING:
    from complaints.aggregates import AggregateRow, Satisfaction, TimeStats, TrendSeries
    from complaints.deadlines import UnitDeadlines

CSV_MIME = "text/csv; charset=utf-8"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MASK_NOTE = "本文件中的身份证号、手机号、银行卡号和姓名均已脱敏处理。"

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    """One exported column: Chinese header, value getter and Excel width."""

    header: str
    get: Callable[[CaseRow], Any]
    width: int = 14


CASE_COLUMNS: tuple[Column, ...] = (
    Column("编号", lambda r: r.ticket, 20),
    Column("登记时间", lambda r: r.created_at, 17),
    Column("地区", lambda r: r.region, 10),
    Column("主题", lambda r: r.theme_label, 22),
    Column("状态", lambda r: r.status, 10),
    Column("渠道", lambda r: r.channel, 10),
    Column("承办单位", lambda r: r.unit, 28),
    Column("承办人编号", lambda r: r.handler_id or "", 12),
    Column("受理时间", lambda r: r.accepted_at, 17),
    Column("办结时间", lambda r: r.concluded_at, 17),
    Column("评价", lambda r: r.rating or "", 10),
    Column("信访人", lambda r: r.complainant_name or "", 10),
    Column("联系电话", lambda r: r.complainant_phone or "", 14),
    Column("投诉内容", lambda r: r.text, 80),
)


def to_case_row(item: Any) -> CaseRow:
    """A masked ``CaseRow`` from a ``CaseRecord``, a ``CaseRow`` or a service ``CaseView``.

    Masking is applied again even to rows that claim to be masked: it is idempotent, and an
    export is the last place an unmasked number could slip out.
    """
    if isinstance(item, CaseRecord):
        return mask_record(item)
    theme = getattr(item, "theme", "")
    return CaseRow(
        ticket=item.ticket,
        theme=theme,
        theme_label=getattr(item, "theme_label", None) or theme_label(theme, default=theme),
        region=getattr(item, "region", ""),
        status=getattr(item, "status", ""),
        channel=getattr(item, "channel", ""),
        created_at=item.created_at,
        accepted_at=getattr(item, "accepted_at", None),
        concluded_at=getattr(item, "concluded_at", None),
        unit=getattr(item, "unit", None) or getattr(item, "assigned_unit", None) or "",
        handler_id=getattr(item, "handler_id", None) or getattr(item, "assigned_handler_id", None),
        rating=getattr(item, "rating", None),
        text=mask_text(getattr(item, "text", "") or ""),
        complainant_name=mask_name(getattr(item, "complainant_name", None)),
        complainant_phone=mask_phone(getattr(item, "complainant_phone", None)),
    )


def _cell(value: Any) -> Any:
    """A value safe for a spreadsheet cell: China-local naive datetimes, no formulas.

    Masking happens per field in ``to_case_row`` (masking every string would mangle ticket
    numbers such as TS-20260102-0001, which look like a card number to the regex).
    """
    if value is None:
        return ""
    if isinstance(value, datetime):
        return as_utc(value).astimezone(CHINA_TZ).replace(tzinfo=None, microsecond=0)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv_text(value: Any) -> str:
    value = _cell(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_text(v) for v in row])
    return buf.getvalue().encode("utf-8-sig")


# --------------------------------------------------------------------------------------------
# case lists
# --------------------------------------------------------------------------------------------


def cases_csv(items: Iterable[Any]) -> bytes:
    """CSV (UTF-8 with BOM) of a case list, masked."""
    rows = (to_case_row(i) for i in items)
    return _csv_bytes([c.header for c in CASE_COLUMNS], ([c.get(r) for c in CASE_COLUMNS] for r in rows))


def cases_xlsx(items: Iterable[Any], *, filters: Mapping[str, str] | None = None) -> bytes:
    """XLSX of a case list (sheet 案件列表, plus 导出说明 with the filters), masked."""
    wb = _workbook()
    ws = wb.create_sheet("案件列表")
    _write_table(ws, [c.header for c in CASE_COLUMNS], (
        [c.get(r) for c in CASE_COLUMNS] for r in (to_case_row(i) for i in items)
    ), widths=[c.width for c in CASE_COLUMNS])
    _about_sheet(wb, "投诉案件列表", filters)
    return _save(wb)


# --------------------------------------------------------------------------------------------
# aggregates
# --------------------------------------------------------------------------------------------

AGGREGATE_HEADER = ("统计周期", "地区", "主题代码", "主题", "件数")
DEADLINE_HEADER = (
    "承办单位", "承办人", "承办人编号", "在办件数", "超期件数", "临期件数", "超期编号", "临期编号",
)


def _aggregate_rows(rows: Iterable[AggregateRow]) -> list[list[Any]]:
    return [[r.period, r.region, r.theme, r.theme_label, r.count] for r in rows]


def aggregates_csv(rows: Iterable[AggregateRow]) -> bytes:
    """CSV of theme × period × region counts (``complaints.aggregates.AggregateRow``)."""
    return _csv_bytes(AGGREGATE_HEADER, _aggregate_rows(rows))


def trend_csv(trend: TrendSeries) -> bytes:
    """CSV of a trend: one row per group, one column per period, and a total."""
    header = ["分组", *trend.periods, "合计"]
    return _csv_bytes(header, (
        [trend.labels.get(k, k), *v, sum(v)] for k, v in trend.series.items()
    ))


def aggregates_xlsx(
    rows: Iterable[AggregateRow],
    *,
    trend: TrendSeries | None = None,
    deadlines: Sequence[UnitDeadlines] | None = None,
    times: TimeStats | None = None,
    satisfaction: Satisfaction | None = None,
    filters: Mapping[str, str] | None = None,
) -> bytes:
    """XLSX of the aggregates: 主题统计, and when given 趋势, 超期与临期, 办理时长与满意度."""
    wb = _workbook()
    ws = wb.create_sheet("主题统计")
    _write_table(ws, AGGREGATE_HEADER, _aggregate_rows(rows), widths=[12, 10, 18, 24, 8])
    if trend is not None:
        ws = wb.create_sheet("趋势")
        _write_table(
            ws, ["分组", *trend.periods, "合计"],
            ([trend.labels.get(k, k), *v, sum(v)] for k, v in trend.series.items()),
            widths=[24] + [10] * (len(trend.periods) + 1),
        )
    if deadlines is not None:
        ws = wb.create_sheet("超期与临期")
        _write_table(
            ws, DEADLINE_HEADER,
            (
                [u.unit, u.handler_name or "", u.handler_id or "", u.open_count, len(u.overdue),
                 len(u.due_soon),
                 "、".join(f"{i.ticket}（{i.stage_label}）" for i in u.overdue),
                 "、".join(f"{i.ticket}（{i.stage_label}）" for i in u.due_soon)]
                for u in deadlines
            ),
            widths=[28, 10, 12, 10, 10, 10, 60, 60],
        )
    if times is not None or satisfaction is not None:
        ws = wb.create_sheet("办理时长与满意度")
        body: list[list[Any]] = []
        if times is not None:
            body += [
                ["已受理件数", times.accepted],
                ["平均受理用时（天）", _or_dash(times.avg_days_to_accept)],
                ["已办结件数", times.concluded],
                ["平均办结用时（自受理起，天）", _or_dash(times.avg_days_to_conclude)],
                ["平均总用时（自登记起，天）", _or_dash(times.avg_days_total)],
            ]
        if satisfaction is not None:
            body += [[f"评价：{k}", v] for k, v in satisfaction.counts.items()]
            rate = satisfaction.satisfied_rate
            body.append(["满意率（满意+基本满意）", f"{rate:.1%}" if rate is not None else "—"])
        _write_table(ws, ["指标", "数值"], body, widths=[32, 14])
    _about_sheet(wb, "投诉主题统计", filters)
    return _save(wb)


# --------------------------------------------------------------------------------------------
# openpyxl helpers
# --------------------------------------------------------------------------------------------


def _workbook() -> Any:
    from openpyxl import Workbook

    wb = Workbook()
    if wb.active is not None:
        wb.remove(wb.active)
    return wb


def _or_dash(value: float | None) -> float | str:
    return "—" if value is None else value


def _write_table(
    ws: Any, header: Sequence[str], rows: Iterable[Sequence[Any]], *, widths: Sequence[int]
) -> None:
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    ws.append(list(header))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    for row in rows:
        ws.append([_cell(v) for v in row])
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    for row_cells in ws.iter_rows(min_row=2):
        for cell in row_cells:
            if isinstance(cell.value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(cell.value, str) and len(cell.value) > 40:
                cell.alignment = Alignment(wrap_text=True, vertical="top")


def _about_sheet(wb: Any, title: str, filters: Mapping[str, str] | None) -> None:
    ws = wb.create_sheet("导出说明")
    ws.append(["内容", title])
    ws.append(["导出时间", datetime.now(CHINA_TZ).strftime("%Y-%m-%d %H:%M")])
    for key, value in (filters or {}).items():
        ws.append([f"筛选：{key}", _cell(mask_text(str(value)))])
    ws.append(["隐私", MASK_NOTE])
    ws.column_dimensions["A"].width = 16
    ws.column_dimensions["B"].width = 60


def _save(wb: Any) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
