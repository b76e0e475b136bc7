"""The case workspace in headless Chromium (issue 11 acceptance).

A caseworker takes a case from the queue to 办结 with an interim reply and a photo that shows
inline; the office opens an overdue case from the dashboard and sends 督办. The app (fake
knowledge, real CaseService on temp SQLite) runs under uvicorn on loopback; Playwright drives
/usr/bin/chromium. Screenshots (desktop and phone width) go to test-artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from complaints.service import CaseService
from complaints.types import ComplaintIntake
from tests.api.conftest import PASSWORD
from tests.api.support import FakeKnowledge, Users
from tests.browser_support import ARTIFACTS, chromium_page, serve
from vetbot.clock import utcnow
from vetbot.settings import Settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
    b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def live(settings: Settings, case_service: Any, session_factory: Any, users: Users) -> Iterator[str]:
    app = create_app(settings, knowledge=FakeKnowledge(), cases=case_service, session_factory=session_factory)
    with serve(app) as url:
        yield url


def _login(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def _do(page: Any, action: str, **fields: str) -> None:
    box = page.locator(f"details[data-action={action}]")
    if box.get_attribute("open") is None:
        box.locator("summary").click()
    for name, value in fields.items():
        box.locator(f"[name={name}]").fill(value)
    box.locator("button[type=submit]").click()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_caseworker_from_queue_to_conclusion(
    live: str, case_service: CaseService, tmp_path: Path, viewport: dict[str, int]
) -> None:
    from playwright.sync_api import expect

    view = case_service.intake(
        ComplaintIntake(
            text="济南公交司机不认优待证，拒绝免费乘车。", channel="visit", region="济南市", theme="transit"
        )
    )
    photo = tmp_path / "bus.png"
    photo.write_bytes(PNG)
    width = "desktop" if viewport is DESKTOP else "phone"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with chromium_page(viewport=viewport) as page:
        _login(page, live, "handler_jn")
        page.wait_for_url(f"{live}/cases")
        expect(page.locator("#cases")).to_contain_text(view.ticket)
        page.screenshot(path=str(ARTIFACTS / f"cases-queue-{width}.png"), full_page=True)
        page.click(f"text={view.ticket}")
        page.wait_for_url(f"{live}/cases/{view.ticket}")
        expect(page.locator("details[data-action=conclude]")).to_have_count(0)  # not before 受理
        _do(page, "accept")
        expect(page.locator("#case-status")).to_have_text("已受理")
        _do(page, "start")
        expect(page.locator("#case-status")).to_have_text("办理中")
        _do(page, "reply", note="已联系公交集团核实，请耐心等待。")
        expect(page.locator("#done")).to_contain_text("中间答复")
        box = page.locator("details[data-action=upload]")
        box.locator("summary").click()
        box.locator("input[type=file]").set_input_files(str(photo))
        box.locator("button[type=submit]").click()
        expect(page.locator("#files img")).to_have_count(1)
        _do(page, "conclude", note="公交集团已约谈司机，司机道歉并恢复免费乘车。")
        expect(page.locator("#case-status")).to_have_text("已办结")
        expect(page.locator("#timeline")).to_contain_text("已联系公交集团核实")
        assert page.locator("#files img").evaluate("img => img.naturalWidth") == 1  # the photo loads
        page.screenshot(path=str(ARTIFACTS / f"case-concluded-{width}.png"), full_page=True)
        page.goto(f"{live}/cases/{view.ticket}/print")
        expect(page.locator("#work-order")).to_contain_text(view.ticket)
        assert _prints(page, "#print-work-order") == 1
        page.screenshot(path=str(ARTIFACTS / f"case-print-{width}.png"), full_page=True)
    assert (ARTIFACTS / f"case-concluded-{width}.png").stat().st_size > 5_000


def test_office_opens_overdue_case_from_dashboard_and_supervises(
    live: str, session_factory: Any, case_service: CaseService
) -> None:
    from playwright.sync_api import expect

    past = CaseService(session_factory, case_service.routing, clock=lambda: utcnow() - timedelta(days=20))
    late = past.intake(
        ComplaintIntake(text="优待证申请两个月没有消息。", channel="phone", region="济南市", theme="card")
    )
    with chromium_page(viewport=DESKTOP) as page:
        _login(page, live, "office")
        page.wait_for_url(f"{live}/dashboard**")
        link = page.locator(f"a[href='/cases/{late.ticket}']").first
        expect(link).to_be_visible()
        link.click()
        page.wait_for_url(f"{live}/cases/{late.ticket}")
        expect(page.locator("#due")).to_contain_text("已超期")
        _do(page, "supervise", note="已超过受理期限，请三日内受理并报双拥办。")
        expect(page.locator("#done")).to_contain_text("督办")
        expect(page.locator("#timeline")).to_contain_text("请三日内受理")
        page.screenshot(path=str(ARTIFACTS / "case-supervised-desktop.png"), full_page=True)
    assert case_service.get(late.ticket).events[-1].action == "supervise"


def _prints(page: Any, button: str) -> int:
    """How many times clicking ``button`` called window.print (stubbed: no dialog)."""
    page.evaluate("() => { window.__printed = 0; window.print = () => { window.__printed += 1; }; }")
    page.click(button)
    return int(page.evaluate("() => window.__printed"))


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_station_clerk_files_walk_in_and_prints_receipt(
    live: str, case_service: CaseService, tmp_path: Path, viewport: dict[str, int]
) -> None:
    from playwright.sync_api import expect

    photo = tmp_path / "card.png"
    photo.write_bytes(PNG)
    width = "desktop" if viewport is DESKTOP else "phone"
    with chromium_page(viewport=viewport) as page:
        _login(page, live, "staff")
        page.wait_for_url(f"{live}/search")
        page.goto(f"{live}/intake")
        page.fill("textarea[name=text]", "景区不认退役军人优待证，门票照收。")
        expect(page.locator("input[name=region]")).to_have_value("济南市")  # the clerk's station
        page.fill("input[name=name]", "张大爷")
        page.fill("input[name=phone]", "13912345678")
        page.fill("input[name=id_number]", "370102198001011234")
        page.set_input_files("input[name=files]", str(photo))
        page.click("#intake-form button[type=submit]")
        page.wait_for_url("**/receipt")
        ticket = page.locator("#receipt-ticket").inner_text()
        expect(page.locator("#receipt")).to_contain_text(f"/status {ticket}")
        assert "370102198001011234" not in page.content() and "13912345678" not in page.content()
        assert _prints(page, "#print-receipt") == 1
        page.emulate_media(media="print")
        expect(page.locator("#print-receipt")).to_be_hidden()  # only the receipt is printed
        page.screenshot(path=str(ARTIFACTS / f"walk-in-receipt-{width}.png"), full_page=True)
    view = case_service.get(ticket)
    assert view.channel == "visit" and view.theme == "other"  # this app has no classifier injected
    assert view.attachments and view.attachments[0].stored
