"""Office dashboard pages, exports and JSON through the real app (TestClient).

Cases are filed and moved through their lifecycle by the real ``CaseService`` with a settable
clock, on the migrated database of ``tests/dashboard/conftest.py`` (SQLite, and PostgreSQL
when available). The knowledge service is the API tests' fake; clustering uses
``HashingEmbeddings`` injected through ``app.state.dashboard.embeddings``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.app import create_app
from api.dashboard.state import TTLCache
from api.security import create_token
from api.users import UserService
from complaints.service import CaseService
from complaints.types import ComplaintIntake
from knowledge.questionlog import QuestionLog
from tests.api.conftest import PASSWORD, SECRET, _cheap_argon2, make_settings  # noqa: F401
from tests.api.support import FakeKnowledge
from tests.fakes import HashingEmbeddings

from .complaint_texts import BUS, CARD, HOMETOWNS, NOISE, SCENIC
from .conftest import CST, Clock

NOW = datetime(2026, 3, 25, 12, 0, tzinfo=CST)
RANGE = {"start": "2026-01-01", "end": "2026-03-31"}

# Personal data planted in texts and contact fields: none of it may appear on a page or export.
PHONE_IN_TEXT = "13812345678"
ID_IN_TEXT = "330702198805061234"
CARD_IN_TEXT = "6222021234567890123"
CONTACT_PHONE = "13987654321"
CONTACT_NAME = "张建国"
SECRETS = (PHONE_IN_TEXT, ID_IN_TEXT, CARD_IN_TEXT, CONTACT_PHONE, CONTACT_NAME)
PII_TEXT = (
    f"优待证申请三个月没有下来，我的电话{PHONE_IN_TEXT}，身份证{ID_IN_TEXT}，"
    f"补贴请打到银行卡{CARD_IN_TEXT}，请尽快处理。"
)


@dataclass(frozen=True)
class Plan:
    """One case: intake time and region/theme/text, then lifecycle offsets in days."""

    key: str
    at: datetime
    region: str
    theme: str
    text: str
    accept: float | None = None
    conclude: float | None = None  # days after acceptance
    rating: str | None = None
    reject: bool = False
    name: str = "李四"
    phone: str = "13700001111"


def _at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 10, 0, tzinfo=CST)


PLANS = [
    Plan(
        "J1",
        _at(1, 5),
        "济南市",
        "card",
        PII_TEXT,
        accept=2,
        conclude=10,
        rating="满意",
        name=CONTACT_NAME,
        phone=CONTACT_PHONE,
    ),
    Plan(
        "J2",
        _at(1, 8),
        "济南市",
        "transit",
        "乘坐公交出示优待证，司机让我投币。",
        accept=4,
        conclude=20,
        rating="不满意",
    ),
    Plan("J3", _at(1, 12), "济南市", "transit", "公交刷优待证提示无效卡。", accept=1),  # conclusion overdue
    Plan("J4", _at(1, 20), "济南市", "transit", "公交司机不认优待证。"),  # never accepted: overdue
    Plan(
        "F1",
        _at(2, 3),
        "济南市",
        "transit",
        "BRT 司机说优待证不能免费乘车。",
        accept=3,
        conclude=6,
        rating="基本满意",
    ),
    Plan("F2", _at(2, 10), "济南市", "transit", "优待证乘车政策执行不一致。"),  # overdue since 25 Feb
    Plan("F3", _at(2, 14), "扬州市", "transit", "扬州公交不认优待证。", reject=True),
    Plan("F4", _at(2, 18), "济南市", "card", "优待证照片印错了要求补办。", accept=1, conclude=10),
    Plan("F5", _at(2, 25), "济南市", "card", "优待证补领说系统查不到信息。", accept=1),
    Plan("M1", _at(3, 2), "金华市", "culture_tourism", "景区不认优待证，只给半价。", accept=1),
    Plan("M2", _at(3, 5), "金华市", "culture_tourism", "景区说优待证要提前预约。", accept=2),
    Plan("M3", _at(3, 11), "金华市", "culture_tourism", "景区周末优待窗口不开。"),  # accept due 26 Mar: soon
    Plan("M4", _at(3, 20), "金华市", "culture_tourism", "景区索道不给优待。"),
]


def seed_cases(service: CaseService, clock: Clock) -> dict[str, str]:
    """File every plan through the service, then replay the lifecycle in time order."""
    tickets: dict[str, str] = {}
    chats: dict[str, int] = {}
    for i, p in enumerate(PLANS):
        clock.now = p.at
        chats[p.key] = 5000 + i
        view = service.intake(
            ComplaintIntake(
                text=p.text,
                channel="web",
                complainant_chat_id=chats[p.key],
                complainant_name=p.name,
                complainant_phone=p.phone,
                region=p.region,
                theme=p.theme,
            )
        )
        tickets[p.key] = view.ticket
    steps: list[tuple[datetime, str, Plan]] = []
    for p in PLANS:
        if p.reject:
            steps.append((p.at + timedelta(days=1), "reject", p))
        if p.accept is not None:
            accepted = p.at + timedelta(days=p.accept)
            steps.append((accepted, "accept", p))
            if p.conclude is not None:
                steps.append((accepted + timedelta(days=p.conclude), "conclude", p))
                if p.rating:
                    steps.append((accepted + timedelta(days=p.conclude, hours=1), "rate", p))
    for at, action, p in sorted(steps, key=lambda s: s[0]):
        clock.now = at
        ticket = tickets[p.key]
        with service.session_factory() as session:
            from complaints.models import Case

            handler_id = session.query(Case).filter_by(ticket=ticket).one().assigned_handler_id
        assert handler_id is not None
        actor = service.handler_actor(handler_id)
        if action == "accept":
            service.accept(ticket, actor)
        elif action == "reject":
            service.reject(ticket, actor, "不属于本单位职责范围。")
        elif action == "conclude":
            service.conclude(ticket, actor, "已协调解决。")
        else:
            assert p.rating is not None
            service.rate(ticket, chats[p.key], p.rating)
    return tickets


@dataclass
class Env:
    """The app under test and its parts."""

    client: TestClient
    app: Any
    service: CaseService
    clock: Clock
    session_factory: Callable[[], Session]
    users: UserService
    tokens: dict[str, str]

    def h(self, who: str) -> dict[str, str]:
        """Bearer headers of a test user."""
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def get(self, url: str, who: str = "office", **params: Any) -> Any:
        """GET as ``who``."""
        return self.client.get(url, params=params or None, headers=self.h(who), follow_redirects=False)


@pytest.fixture
def env(
    tmp_path: Path, session_factory: Callable[[], Session], service: CaseService, clock: Clock
) -> Iterator[Env]:
    users = UserService(session_factory)
    tokens = {}
    for name, role, handler_id in (
        ("staff", "staff", None),
        ("handler", "handler", "jn-yfk"),
        ("office", "office", None),
        ("admin", "admin", None),
    ):
        user = users.create_user(name, PASSWORD, role, display_name=f"{name}用户", handler_id=handler_id)
        tokens[name] = create_token(SECRET, user_id=user.id, username=name, role=role, hours=1)
    settings = make_settings(tmp_path)
    app = create_app(settings, knowledge=FakeKnowledge(), cases=service, session_factory=session_factory)
    app.state.dashboard.embeddings = HashingEmbeddings(dim=512)
    app.state.dashboard.clock = lambda: NOW
    with TestClient(app) as client:
        yield Env(client, app, service, clock, session_factory, users, tokens)


@pytest.fixture
def seeded(env: Env) -> dict[str, str]:
    return seed_cases(env.service, env.clock)


def _text(html: str) -> str:
    """Visible text, roughly: tags removed, whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _section(html: str, section_id: str) -> str:
    start = html.index(f'id="{section_id}"')
    end = html.find("<section", start)
    return html[start : end if end != -1 else len(html)]


def _kpi(html: str, kpi_id: str) -> str:
    m = re.search(rf'id="{kpi_id}".*?class="kpi-value">([^<]*)<', html, re.S)
    assert m, kpi_id
    return m.group(1).strip()


def _theme_counts(html: str) -> dict[str, int]:
    rows = re.findall(r'<tr data-theme="([a-z_]+)">.*?data-count>(\d+)<', html, re.S)
    return {code: int(n) for code, n in rows}


# --------------------------------------------------------------------------------------------
# access
# --------------------------------------------------------------------------------------------

PAGES = [
    "/dashboard",
    "/dashboard/themes/transit",
    "/dashboard/emerging",
    "/dashboard/gaps",
    "/dashboard/monthly?month=2026-02",
    "/dashboard/export/cases.csv",
    "/dashboard/export/cases.xlsx",
    "/dashboard/export/aggregates.csv",
    "/dashboard/export/aggregates.xlsx",
]


def test_only_office_and_admin_see_the_dashboard(env: Env) -> None:
    for url in PAGES:
        anon = env.client.get(url, follow_redirects=False)
        assert anon.status_code == 303 and anon.headers["location"].startswith("/login?next=/dashboard"), url
        for who in ("staff", "handler"):
            denied = env.get(url, who)
            assert denied.status_code == 403, (url, who)
            assert "没有权限" in denied.text
        for who in ("office", "admin"):
            assert env.get(url, who).status_code == 200, (url, who)
    assert env.client.get("/v1/dashboard/aggregates").status_code == 401
    assert env.get("/v1/dashboard/aggregates", "staff").status_code == 403
    assert env.get("/v1/dashboard/aggregates", "office").status_code == 200
    # The navigation links the dashboard for office, not for staff.
    assert 'href="/dashboard"' in env.get("/search", "office").text
    assert 'href="/dashboard"' not in env.get("/search", "staff").text


def test_login_form_leads_back_to_the_dashboard(env: Env, seeded: dict[str, str]) -> None:
    r = env.client.get("/dashboard", follow_redirects=False)
    assert r.headers["location"] == "/login?next=/dashboard"
    r = env.client.post(
        "/login",
        data={"username": "office", "password": PASSWORD, "next": "/dashboard"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/dashboard"
    page = env.client.get("/dashboard", params=RANGE)
    assert page.status_code == 200 and "投诉主题看板" in page.text
    assert 'href="/dashboard" aria-current="page"' in page.text
    assert '<link rel="stylesheet" href="/static/dashboard.css">' in page.text
    assert env.client.get("/static/dashboard.css").status_code == 200


# --------------------------------------------------------------------------------------------
# overview
# --------------------------------------------------------------------------------------------


def test_overview_counts_charts_and_theme_table(env: Env, seeded: dict[str, str]) -> None:
    html = env.get("/dashboard", **RANGE).text
    assert _kpi(html, "kpi-total") == "13"
    assert _theme_counts(html) == {"transit": 6, "card": 3, "culture_tourism": 4}
    # Server-rendered SVG: a line per theme, stacked bars per region, no script needed.
    trend = _section(html, "trend")
    assert trend.count('<path class="series"') == 3
    assert re.search(r'<path class="series" d="M[\d.]+,[\d.]+ L', trend)
    assert "2026-01" in trend and "2026-03" in trend
    bars = _section(html, "regions")
    assert bars.count("<rect x=") >= 3  # Jan: 济南; Feb: 济南 + 扬州; Mar: 金华
    assert "济南市 8 件" in _text(bars) and "金华市 4 件" in _text(bars)
    # Drill-down links keep the filters.
    assert "/dashboard/themes/transit?period=month&amp;start=2026-01-01&amp;end=2026-03-31" in html
    # The theme × period matrix links a cell to its cases.
    matrix = html[html.index('id="period-matrix"') :]
    assert "in_period=2026-01" in matrix


def test_filters_change_the_numbers(env: Env, seeded: dict[str, str]) -> None:
    jinan = env.get("/dashboard", region="济南市", **RANGE).text
    assert _kpi(jinan, "kpi-total") == "8"
    assert _theme_counts(jinan) == {"transit": 5, "card": 3}
    assert '<option value="济南市" selected>' in jinan
    transit = env.get("/dashboard", theme="transit", **RANGE).text
    assert _kpi(transit, "kpi-total") == "6"
    assert _theme_counts(transit) == {"transit": 6}
    feb = env.get("/dashboard", start="2026-02-01", end="2026-02-28").text
    assert _kpi(feb, "kpi-total") == "5"
    assert "上一时段 4 件" in _text(feb)  # the 28 days before: 4 January cases
    weekly = env.get("/dashboard", period="week", **RANGE).text
    assert "2026-W02" in weekly and "2026-W14" in _section(weekly, "themes")
    assert _kpi(weekly, "kpi-total") == "13"


def test_bad_filters_are_reported_and_defaults_used(env: Env, seeded: dict[str, str]) -> None:
    r = env.get("/dashboard", period="year", start="2026-13-01", theme="weather")
    assert r.status_code == 422
    for message in ("统计周期只能是", "日期格式应为", "未知的投诉主题：weather"):
        assert message in r.text
    swapped = env.get("/dashboard", start="2026-03-01", end="2026-01-01")
    assert swapped.status_code == 422 and "开始日期不能晚于结束日期" in swapped.text
    # Defaults: six months up to today (the dashboard clock), every case inside.
    default = env.get("/dashboard").text
    assert _kpi(default, "kpi-total") == "13" and 'value="2025-10-01"' in default


def test_deadlines_times_and_satisfaction(env: Env, seeded: dict[str, str]) -> None:
    html = env.get("/dashboard", **RANGE).text
    assert _kpi(html, "kpi-overdue") == "3"
    deadlines = _section(html, "deadlines")
    overdue = re.findall(r'class="ticket overdue"[^>]*>([^<]+)<', deadlines)
    assert sorted(overdue) == sorted([seeded["J3"], seeded["J4"], seeded["F2"]])
    soon = re.findall(r'class="ticket soon"[^>]*>([^<]+)<', deadlines)
    assert soon == [seeded["M3"]]
    assert "济南市退役军人事务局优抚科" in deadlines and "王建国" in deadlines
    assert "办结超" in deadlines and "受理超" in deadlines
    # Acceptance: 2+4+1+3+1+1+1+2 days over 8 cases; conclusion: 10+20+6+10 over 4.
    assert _kpi(html, "kpi-accept") == "1.9 天"
    assert _kpi(html, "kpi-conclude") == "11.5 天"
    times = _text(_section(html, "times"))
    assert "金华市退役军人服务中心 2 1.5 天 0 — —" in times
    sat = _section(html, "satisfaction")
    ratings = dict(re.findall(r'data-rating="([^"]+)">(\d+)<', sat))
    assert ratings == {"满意": "1", "基本满意": "1", "不满意": "1", "未评价": "1"}
    assert _kpi(html, "kpi-satisfaction") == "66.7%"
    assert "<svg" in sat and "<rect" in sat


# --------------------------------------------------------------------------------------------
# drill-down
# --------------------------------------------------------------------------------------------


def test_drill_down_lists_the_theme_cases_masked(env: Env, seeded: dict[str, str]) -> None:
    r = env.get("/dashboard/themes/card", **RANGE)
    assert r.status_code == 200
    html = r.text
    assert "优待证申领/制发/补办/信息" in html
    table = html[html.index('id="case-table"') :]
    rows = re.findall(
        r"<tr>\s*<td class=\"nowrap\">(TS-[\d-]+)</td>\s*<td class=\"nowrap\">([\d-]+)</td>"
        r"\s*<td class=\"nowrap\">([^<]+)</td>\s*<td class=\"nowrap\">([^<]+)</td>\s*<td>([^<]+)</td>",
        table,
    )
    assert [row[0] for row in rows] == [seeded["F5"], seeded["F4"], seeded["J1"]]  # newest first
    assert rows[-1][1:] == ("2026-01-05", "济南市", "已办结", "济南市退役军人事务局优抚科")
    assert "138****5678" in table and "330***********1234" in table and "6222 **** **** 0123" in table
    assert "<svg" in html and "<rect" in html
    # Narrowing: status, then a single period.
    open_only = env.get("/dashboard/themes/card", status="已受理", **RANGE).text
    assert seeded["F5"] in open_only and seeded["J1"] not in open_only
    january = env.get("/dashboard/themes/transit", in_period="2026-01", **RANGE).text
    table = january[january.index('id="case-table"') :]
    assert {seeded["J2"], seeded["J3"], seeded["J4"]} == set(re.findall(r"TS-\d{8}-\d{4}", table))
    jinan = env.get("/dashboard/themes/transit", region="扬州市", **RANGE).text
    assert re.findall(r"TS-\d{8}-\d{4}", jinan[jinan.index('id="case-table"') :]) == [seeded["F3"]]
    assert env.get("/dashboard/themes/weather").status_code == 404


# --------------------------------------------------------------------------------------------
# exports
# --------------------------------------------------------------------------------------------


def _filename(response: Any) -> str:
    header = response.headers["content-disposition"]
    assert header.startswith("attachment;")
    assert re.search(r'filename="vetbot-[A-Za-z0-9._-]+"', header), header
    m = re.search(r"filename\*=UTF-8''([^;]+)", header)
    assert m, header
    return unquote(m.group(1))


def test_case_exports(env: Env, seeded: dict[str, str]) -> None:
    r = env.get("/dashboard/export/cases.csv", region="济南市", **RANGE)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert _filename(r) == "投诉案件_济南市_2026-01-01至2026-03-31.csv"
    assert r.headers["cache-control"] == "no-store"
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:5] == ["编号", "登记时间", "地区", "主题", "状态"]
    assert len(rows) == 1 + 8 and {row[2] for row in rows[1:]} == {"济南市"}
    assert {row[0] for row in rows[1:]} == {
        seeded[k] for k in ("J1", "J2", "J3", "J4", "F1", "F2", "F4", "F5")
    }
    # The drill-down's narrowing applies to its export too.
    theme_csv = env.get("/dashboard/export/cases.csv", theme="card", status="已受理", **RANGE)
    assert [row[0] for row in csv.reader(io.StringIO(theme_csv.content.decode("utf-8-sig")))][1:] == [
        seeded["F5"]
    ]

    x = env.get("/dashboard/export/cases.xlsx", **RANGE)
    assert x.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert _filename(x) == "投诉案件_2026-01-01至2026-03-31.xlsx"
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(x.content))
    assert wb.sheetnames == ["案件列表", "导出说明"]
    sheet = list(wb["案件列表"].iter_rows(values_only=True))
    assert sheet[0][0] == "编号" and len(sheet) == 1 + 13
    assert {row[0] for row in sheet[1:]} == set(seeded.values())
    about = {row[0]: row[1] for row in wb["导出说明"].iter_rows(values_only=True)}
    assert about["筛选：登记日期"] == "2026-01-01 至 2026-03-31"


def test_aggregate_exports_and_json(env: Env, seeded: dict[str, str]) -> None:
    r = env.get("/dashboard/export/aggregates.csv", **RANGE)
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert _filename(r) == "投诉主题统计_2026-01-01至2026-03-31.csv"
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["统计周期", "地区", "主题代码", "主题", "件数"]
    cells = {(p, g, t): int(n) for p, g, t, _label, n in rows[1:]}
    assert cells[("2026-01", "济南市", "transit")] == 3
    assert cells[("2026-02", "扬州市", "transit")] == 1
    assert cells[("2026-03", "金华市", "culture_tourism")] == 4
    assert sum(cells.values()) == 13
    weekly = env.get("/dashboard/export/aggregates.csv", period="week", region="金华市", **RANGE)
    week_rows = list(csv.reader(io.StringIO(weekly.content.decode("utf-8-sig"))))[1:]
    assert {row[0] for row in week_rows} == {"2026-W10", "2026-W11", "2026-W12"}

    x = env.get("/dashboard/export/aggregates.xlsx", **RANGE)
    assert x.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(x.content))
    assert wb.sheetnames == ["主题统计", "趋势", "超期与临期", "办理时长与满意度", "导出说明"]
    assert sum(row[4] for row in wb["主题统计"].iter_rows(min_row=2, values_only=True)) == 13
    overdue_cells = " ".join(str(row[6]) for row in wb["超期与临期"].iter_rows(min_row=2, values_only=True))
    assert seeded["J4"] in overdue_cells and seeded["F2"] in overdue_cells

    data = env.get("/v1/dashboard/aggregates", region="济南市", **RANGE).json()
    assert (
        data["total"] == 8 and data["overdue"] == 3 and data["periods"] == ["2026-01", "2026-02", "2026-03"]
    )
    assert data["trend"]["transit"] == [3, 2, 0]
    bad = env.get("/v1/dashboard/aggregates", start="yesterday")
    assert bad.status_code == 422 and "日期格式" in bad.text
    assert env.get("/dashboard/export/cases.csv", period="year").status_code == 422


def test_exports_are_audited(env: Env, seeded: dict[str, str]) -> None:
    for kind in ("cases.csv", "cases.xlsx", "aggregates.csv", "aggregates.xlsx"):
        assert env.get(f"/dashboard/export/{kind}", region="济南市", **RANGE).status_code == 200
    env.get("/dashboard/export/cases.csv", "staff")  # refused: not exported, not audited
    records = env.users.recent_audit(action="dashboard.export")
    assert [r.target for r in records] == ["aggregates.xlsx", "aggregates.csv", "cases.xlsx", "cases.csv"]
    assert {r.actor for r in records} == {"user:office"}
    first = records[-1]
    assert first.detail["filters"]["region"] == "济南市" and first.detail["rows"] == 8


# --------------------------------------------------------------------------------------------
# personal data
# --------------------------------------------------------------------------------------------


def _seed_gaps(session_factory: Callable[[], Session], question: str) -> None:
    with session_factory() as session:
        at = NOW - timedelta(days=5)
        session.add_all(
            [
                QuestionLog(
                    created_at=at,
                    channel="telegram",
                    question=question,
                    answer="…",
                    refused=False,
                    confidence=0.3,
                    intent="question",
                    sources=[
                        {
                            "title": "测试优待证管理办法",
                            "article": "第十条",
                            "score": 0.41,
                            "chunk_id": "card-rules:abcdef012345:0",
                            "doc_id": "card-rules",
                        }
                    ],
                ),
                QuestionLog(
                    created_at=at + timedelta(hours=1),
                    channel="web",
                    question="金华景区认不认外地优待证？",
                    answer="抱歉",
                    refused=True,
                    refusal_reason="no_evidence",
                    confidence=0.1,
                    intent="question",
                    sources=[],
                ),
                QuestionLog(
                    created_at=at + timedelta(hours=2),
                    channel="web",
                    question="高铁优先进站有规定吗？",
                    answer="…",
                    refused=False,
                    confidence=0.8,
                    intent="question",
                    rating="down",
                    sources=[
                        {
                            "title": "已删除的文件",
                            "article": "第一条",
                            "score": 0.5,
                            "chunk_id": "gone-doc:000000000000:1",
                        }
                    ],
                ),
                QuestionLog(
                    created_at=at,
                    channel="web",
                    question="优待证丢了怎么补办？",
                    answer="…",
                    refused=False,
                    confidence=0.9,
                    intent="question",
                    rating="up",
                    sources=[],
                ),
            ]
        )
        session.commit()


def test_personal_data_never_leaves_unmasked(env: Env, seeded: dict[str, str]) -> None:
    _seed_gaps(env.session_factory, f"外地优待证在金华景区能免门票吗？我的电话{PHONE_IN_TEXT}")
    # Put the planted case in the emerging-themes window too.
    env.app.state.dashboard.clock = lambda: datetime(2026, 1, 20, 9, 0, tzinfo=CST)
    emerging = env.get("/dashboard/emerging", window=28)
    env.app.state.dashboard.clock = lambda: NOW
    responses = [emerging] + [
        env.get(url, **params)
        for url, params in (
            ("/dashboard", RANGE),
            ("/dashboard/themes/card", RANGE),
            ("/dashboard/gaps", {}),
            ("/dashboard/monthly", {"month": "2026-01", "to": "2026-03"}),
            ("/dashboard/export/cases.csv", RANGE),
            ("/dashboard/export/cases.xlsx", RANGE),
            ("/dashboard/export/aggregates.csv", RANGE),
            ("/dashboard/export/aggregates.xlsx", RANGE),
            ("/v1/dashboard/aggregates", RANGE),
        )
    ]
    assert "330***********1234" in env.get("/dashboard/themes/card", **RANGE).text
    assert "138****5678" in env.get("/dashboard/gaps").text
    from openpyxl import load_workbook

    for r in responses:
        assert r.status_code == 200, r.url
        if r.headers["content-type"].startswith("application/vnd.openxml"):
            wb = load_workbook(io.BytesIO(r.content))
            body = " ".join(str(c) for ws in wb for row in ws.iter_rows(values_only=True) for c in row)
        else:
            body = r.content.decode("utf-8-sig")
        for secret in SECRETS:
            assert secret not in body, (r.url, secret)
    # The masked forms are there (so the case was in the output at all).
    export = env.get("/dashboard/export/cases.csv", **RANGE).content.decode("utf-8-sig")
    assert "张**" in export and "139****4321" in export and "138****5678" in export


# --------------------------------------------------------------------------------------------
# emerging themes
# --------------------------------------------------------------------------------------------


def _seed_emerging(service: CaseService, clock: Clock) -> None:
    plans: list[tuple[float, str, str, str]] = []  # (days before NOW, region, theme, text)
    for i in range(12):  # 11 in the last 14 days, 1 in the 14 before
        days = 20.0 if i == 0 else 0.5 + i * 1.1
        plans.append((days, "金华市", "culture_tourism", SCENIC[i % 3].format(h=HOMETOWNS[i])))
    for i in range(12):  # steady: 6 and 6
        days = 1.0 + (i % 6) * 2.1 + (14 if i >= 6 else 0)
        plans.append((days, "济南市", "transit", BUS[i % 2].format(r="济南", n=10 + i * 7)))
    for i in range(9):  # steady, slightly shrinking: 5 and 4
        plans.append(
            (
                2.0 + i * 3.0,
                "扬州市",
                "card",
                CARD[i % 2].format(r=("济南", "扬州", "深圳")[i % 3], n=2 + i % 3),
            )
        )
    for i, text in enumerate(NOISE):
        plans.append((1.5 + i * 4.1, "扬州市", "other", text))
    for days, region, theme, text in sorted(plans, reverse=True):
        clock.now = NOW - timedelta(days=days)
        service.intake(ComplaintIntake(text=text, channel="web", region=region, theme=theme))


def test_emerging_page_flags_the_growing_cluster_and_caches(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed_emerging(env.service, env.clock)
    import api.dashboard.data as data

    calls: list[tuple[Any, ...]] = []
    real = data.emerging

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append((kwargs["window_days"], kwargs["region"]))
        return real(*args, **kwargs)

    monkeypatch.setattr(data, "emerging", counting)
    ticks = [0.0]
    env.app.state.dashboard.cache = TTLCache(ttl=300, monotonic=lambda: ticks[0])

    r = env.get("/dashboard/emerging")
    assert r.status_code == 200
    html = r.text
    clusters = re.findall(
        r'<li class="cluster card( growing)?">(.*?)</li>\s*(?=<li class="cluster|</ol>)', html, re.S
    )
    assert clusters, html
    flagged = [body for growing, body in clusters if growing]
    assert len(flagged) == 1 and clusters[0][0] == " growing"  # the growing cluster comes first
    top = flagged[0]
    assert "快速增长" in top and "青岚山" in top and "外地" in top
    assert re.search(r"data-recent>11 件<", top) and re.search(r"data-previous>1 件<", top)
    assert "金华市 12" in _text(top)
    bus = next(body for _, body in clusters if "公交" in body)
    assert "快速增长" not in bus and "data-recent>6 件<" in bus and "data-previous>6 件<" in bus
    assert "共 1 组" not in html and "<strong>1</strong> 组快速增长" in html

    # Cached per filter: a second visit does not cluster again; another filter does; expiry does.
    assert env.get("/dashboard/emerging").text == html
    assert calls == [(14, None)]
    jinan = env.get("/dashboard/emerging", region="济南市").text
    assert calls == [(14, None), (14, "济南市")]
    assert "青岚山" not in jinan
    assert "badge-growth" not in jinan and "<strong>0</strong> 组快速增长" in jinan
    ticks[0] = 301.0
    env.get("/dashboard/emerging")
    assert calls[-1] == (14, None) and len(calls) == 3
    assert env.get("/dashboard/emerging", window=5).status_code == 422


# --------------------------------------------------------------------------------------------
# knowledge gaps
# --------------------------------------------------------------------------------------------


def test_gaps_page_groups_questions_and_links_the_passages(env: Env) -> None:
    _seed_gaps(env.session_factory, "外地优待证在金华景区能免门票吗？")
    html = env.get("/dashboard/gaps").text
    assert "共 <strong>3</strong> 个问题" in html
    assert "优待证丢了怎么补办" not in html  # a well-answered question is no gap
    for label in ("低置信度", "拒答", "用户点踩", "知识库中未找到依据"):
        assert label in html
    link = re.search(r'<a href="(/documents/card-rules#chunk-[^"]+)">《测试优待证管理办法》第十条</a>', html)
    assert link, html
    path, anchor = link.group(1).split("#")
    document = env.get(path)
    assert document.status_code == 200 and f'id="{anchor}"' in document.text
    assert "《已删除的文件》第一条" in html and "该文件已不在知识库中" in html
    assert 'href="/documents/gone-doc' not in html
    search = re.search(r'<a href="(/search\?q=[^"]+)">在政策检索中查找</a>', html)
    assert search and unquote(search.group(1)) == "/search?q=已删除的文件 第一条"
    # The two 金华景区 questions form one group with keywords.
    groups = re.findall(r'<h2 class="cluster-title">([^<]+)</h2>', html)
    assert len(groups) == 2 and any("景区" in g or "外地" in g for g in groups), groups
    assert env.get("/dashboard/gaps", days=7).status_code == 422


# --------------------------------------------------------------------------------------------
# monthly summary
# --------------------------------------------------------------------------------------------


def test_monthly_summary(env: Env, seeded: dict[str, str]) -> None:
    r = env.get("/dashboard/monthly", month="2026-02")
    assert r.status_code == 200
    html = r.text
    sheets = re.findall(r'<section class="month-sheet" id="month-([\d-]+)">', html)
    assert sheets == ["2026-02"]
    assert "2026年2月" in html
    assert re.search(r"data-total>5<", html) and "上月 4" in html
    kpis = dict(re.findall(r'kpi-label">([^<]+)</span><span class="kpi-value"[^>]*>([^<]+)<', html))
    assert kpis["当月受理"] == "3" and kpis["当月办结"] == "2"
    # Overdue as the month ended: J4 and F2 (J3's conclusion deadline was still ahead).
    overdue = html[html.index('class="data compact overdue-list"') :]
    assert set(re.findall(r"TS-\d{8}-\d{4}", overdue)) == {seeded["J4"], seeded["F2"]}
    top = html[html.index('class="data compact top-themes"') :]
    assert re.search(r"交通出行优待</td><td class=\"num\">3</td><td class=\"num\">3</td>", top)
    assert "<svg" in html and "<rect" in html
    # Several months: one sheet each; the running month counts overdue cases up to now.
    many = env.get("/dashboard/monthly", month="2026-01", to="2026-03").text
    assert re.findall(r'id="month-([\d-]+)"', many) == ["2026-01", "2026-02", "2026-03"]
    march = many[many.index('id="month-2026-03"') :]
    assert re.search(r"data-overdue>3<", march) and "本月尚未结束" in march
    assert "/static/dashboard.css" in many
    css = env.client.get("/static/dashboard.css").text
    assert "@media print" in css and "break-after: page" in css
    assert env.get("/dashboard/monthly", month="2026-3x").status_code == 422


# --------------------------------------------------------------------------------------------
# building blocks
# --------------------------------------------------------------------------------------------


def test_svg_charts_escape_labels_and_scale_axes() -> None:
    from api.dashboard.charts import Series, hbar_chart, line_chart, nice_max, stacked_bar_chart

    assert nice_max(0) == (1.0, 1.0) and nice_max(3) == (3.0, 1.0) and nice_max(13) == (15, 5)
    evil = '<script>alert("x")</script>'
    for chart in (
        line_chart(["2026-01", "2026-02"], [Series(evil, [1, 3])], label=evil),
        stacked_bar_chart(["2026-01", "2026-02"], [Series(evil, [2, 0]), Series("乙", [1, 1])], label="图"),
        hbar_chart([(evil, 4.0)], label="图"),
    ):
        svg = str(chart)
        assert svg.startswith("<svg") and svg.endswith("</svg>")
        assert "<script" not in svg and "&lt;script&gt;" in svg
        assert "style=" not in svg  # the CSP forbids inline styles
    line = str(line_chart(["a", "b", "c"], [Series("甲", [0, 2, 4])], label="趋势"))
    assert line.count("<circle") == 3 and re.search(r'd="M[\d.]+,[\d.]+ L[\d.]+,[\d.]+ L', line)
    bars = str(stacked_bar_chart(["a", "b"], [Series("甲", [2, 0]), Series("乙", [1, 1])], label="堆叠"))
    assert bars.count("<rect") == 3  # zero segments are not drawn


def test_content_disposition_carries_the_chinese_name() -> None:
    from api.dashboard.downloads import content_disposition, export_names
    from api.dashboard.filters import Filters

    f = Filters(
        period="month", start=datetime(2026, 1, 1).date(), end=datetime(2026, 3, 31).date(), region="济南/市"
    )
    name, ascii_name = export_names("cases", f, "csv")
    assert name == "投诉案件_济南_市_2026-01-01至2026-03-31.csv"
    assert ascii_name == "vetbot-cases_2026-01-01_2026-03-31.csv"
    header = content_disposition(name, ascii_name)
    assert header.startswith('attachment; filename="vetbot-cases_2026-01-01_2026-03-31.csv"; ')
    assert unquote(header.split("filename*=UTF-8''")[1]) == name
    assert header.isascii()


def test_ttl_cache_computes_once_per_key_under_concurrency() -> None:
    import threading
    import time as _time

    cache = TTLCache(ttl=60)
    calls: list[str] = []

    def slow() -> str:
        calls.append("x")
        _time.sleep(0.1)
        return "value"

    results: list[Any] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get_or_compute("k", slow))) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == ["x"] and {r.value for r in results} == {"value"}
    assert sorted(r.hit for r in results) == [False, True, True, True]
