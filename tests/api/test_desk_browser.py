"""Partner units, Telegram photos and unit 督办 in headless Chromium (issue 11, wave 3).

A complainant's Telegram photo, fetched once through the (fake) Bot API, shows inline on the
caseworker's case page; the caseworker asks the 交通运输局 for 协办, the partner's account answers
from its own queue, and the caseworker concludes the case. The office sends 催办 to a whole unit
from the dashboard's unit table and opens a case from the drill-down. Screenshots (desktop and
phone width) go to test-artifacts/.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from telegram.ext import ExtBot

from api.app import create_app
from api.users import UserService
from bot.photos import PhotoFetcher
from complaints.attachments import AttachmentStore
from complaints.service import CaseService
from complaints.types import ComplaintIntake
from tests.api.conftest import PASSWORD
from tests.api.support import FakeKnowledge, Users
from tests.api.test_case_browser import DESKTOP, PHONE, PNG, _do, _login
from tests.bot.fake_telegram import FakeBotAPI, FakeRequest
from tests.browser_support import ARTIFACTS, chromium_page, serve
from vetbot.settings import Settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def live(
    settings: Settings, case_service: Any, session_factory: Any, users: Users, user_service: UserService
) -> Iterator[str]:
    user_service.create_user("jt_clerk", PASSWORD, "partner", display_name="交通局刘科长", handler_id="p-jt")
    app = create_app(settings, knowledge=FakeKnowledge(), cases=case_service, session_factory=session_factory)
    with serve(app) as url:
        yield url


def _telegram_case(case_service: CaseService, settings: Settings) -> str:
    """A Telegram complaint with a photo, the photo fetched through the fake Bot API."""
    view = case_service.intake(
        ComplaintIntake(
            text="济南K51路公交司机不认优待证，要求投币。",
            channel="telegram",
            complainant_chat_id=5550001,
            complainant_name="王大爷",
            region="济南市",
            theme="transit",
            attachments=[{"file_id": "tg-photo-1", "kind": "photo", "mime": "image/jpeg", "size": 120}],
        )
    )
    api = FakeBotAPI()
    api.files["tg-photo-1"] = PNG
    bot = ExtBot("123:TEST", request=FakeRequest(api))
    fetcher = PhotoFetcher(bot, case_service, AttachmentStore(settings.data_dir / "case-files"))
    assert asyncio.run(fetcher.sweep()) == 1 and api.downloads == ["tg-photo-1"]
    return view.ticket


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_telegram_photo_inline_assist_answered_by_partner_then_concluded(
    live: str, case_service: CaseService, settings: Settings, viewport: dict[str, int]
) -> None:
    from playwright.sync_api import expect

    ticket = _telegram_case(case_service, settings)
    width = "desktop" if viewport is DESKTOP else "phone"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with chromium_page(viewport=viewport) as page:
        _login(page, live, "handler_jn")
        page.wait_for_url(f"{live}/cases")
        page.click(f"text={ticket}")
        page.wait_for_url(f"{live}/cases/{ticket}")
        expect(page.locator("#files img")).to_have_count(1)
        assert page.locator("#files img").evaluate("img => img.naturalWidth") == 1  # the fetched photo loads
        expect(page.locator("#files")).not_to_contain_text("尚未取回")
        _do(page, "accept")
        expect(page.locator("#case-status")).to_have_text("已受理")
        box = page.locator("details[data-action=assist]")
        box.locator("summary").click()
        box.locator("select[name=partner_id]").select_option("p-jt")
        box.locator("textarea[name=note]").fill("请核查K51路车载录像并约谈公交公司。")
        box.locator("button[type=submit]").click()
        expect(page.locator("#assists")).to_contain_text("济南市交通运输局")
        expect(page.locator("#assists")).to_contain_text("待答复")
        page.screenshot(path=str(ARTIFACTS / f"case-assist-requested-{width}.png"), full_page=True)
    with chromium_page(viewport=viewport) as page:
        _login(page, live, "jt_clerk")
        page.wait_for_url(f"{live}/cases")
        expect(page.locator("#cases")).to_contain_text(ticket)
        page.click(f"text={ticket}")
        page.wait_for_url(f"{live}/cases/{ticket}")
        assert "王大爷" not in page.content()  # a partner sees the name masked
        _do(page, "assist_reply", note="已调取录像并约谈公交公司，司机已道歉。")
        expect(page.locator("#assists")).to_contain_text("已答复")
        page.screenshot(path=str(ARTIFACTS / f"partner-answered-{width}.png"), full_page=True)
    with chromium_page(viewport=viewport) as page:
        _login(page, live, "handler_jn")
        page.wait_for_url(f"{live}/cases")
        page.goto(f"{live}/cases/{ticket}")
        expect(page.locator("#assists")).to_contain_text("司机已道歉")
        _do(page, "conclude", note="经交通运输局协办，公交公司已整改，今后凭证免费乘车。")
        expect(page.locator("#case-status")).to_have_text("已办结")
        page.screenshot(path=str(ARTIFACTS / f"case-concluded-with-assist-{width}.png"), full_page=True)
    assert [e.action for e in case_service.get(ticket).events][-3:] == ["assist", "assist_reply", "conclude"]


def test_office_sends_unit_reminder_and_opens_case_from_drill_down(
    live: str, case_service: CaseService
) -> None:
    from playwright.sync_api import expect

    tickets = [
        case_service.intake(
            ComplaintIntake(
                text=f"优待证申请第{i}次催问仍无结果。", channel="phone", region="济南市", theme="card"
            )
        ).ticket
        for i in range(2)
    ]
    with chromium_page(viewport=DESKTOP) as page:
        _login(page, live, "office")
        page.wait_for_url(f"{live}/dashboard**")
        row = page.locator("#units tr[data-unit='济南市退役军人事务局优抚科']")
        expect(row).to_be_visible()
        row.locator("summary").click()
        row.locator("select[name=kind]").select_option("催办")
        row.locator("textarea[name=text]").fill("本单位在办案件请本周内给出办理意见。")
        row.locator("button[type=submit]").click()
        expect(page.locator("#done")).to_contain_text("涉及在办案件 2 件")
        page.screenshot(path=str(ARTIFACTS / "dashboard-unit-reminder-desktop.png"), full_page=True)
        page.goto(f"{live}/dashboard/themes/card")
        page.locator("#case-table a.case-link").first.click()
        page.wait_for_url(f"{live}/cases/**")
        expect(page.locator("#timeline")).to_contain_text("本周内给出办理意见")
    for t in tickets:
        assert case_service.get(t).events[-1].action == "supervise"
