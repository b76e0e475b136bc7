"""End-to-end in headless Chromium: login, search, region filter, cited article, ask.

The app (real KnowledgeService over the bundled KB, real CaseService on temp SQLite) runs under
uvicorn on 127.0.0.1 in a thread; Playwright drives /usr/bin/chromium. A screenshot of the
search results goes to test-artifacts/search-results.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from api.app import create_app
from tests.api.conftest import PASSWORD
from tests.api.support import Users
from tests.browser_support import ARTIFACTS, chromium_page, serve
from vetbot.settings import Settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]

@pytest.fixture
def live_server(
    settings: Settings, knowledge_service: Any, case_service: Any, session_factory: Any, users: Users
) -> Iterator[str]:
    """The app under uvicorn on a free loopback port, in a background thread."""
    app = create_app(
        settings, knowledge=knowledge_service, cases=case_service, session_factory=session_factory
    )
    with serve(app) as url:
        yield url


@pytest.fixture
def page(live_server: str) -> Iterator[Any]:
    with chromium_page(viewport={"width": 1100, "height": 900}) as pg:
        yield pg


def test_staff_lookup_flow(page: Any, live_server: str) -> None:
    from playwright.sync_api import expect

    # Login (the protected page sends us to the form and back).
    page.goto(f"{live_server}/search")
    assert "/login" in page.url
    page.fill("input[name=username]", "staff")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/search")

    # Search.
    page.fill("input[name=q]", "优待证 补办")
    page.click("form.searchform button[type=submit]")
    results = page.locator("#results .result")
    expect(results.first).to_be_visible()
    assert results.count() >= 3
    expect(results.first.locator("mark").first).to_be_visible()
    expect(results.first.locator(".badge")).to_have_text("全国")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "search-results.png"), full_page=True)
    assert (ARTIFACTS / "search-results.png").stat().st_size > 10_000

    # Filter by region: only national and Jinan rules remain, with a local one among them.
    page.fill("input[name=q]", "优待证 乘车")
    page.select_option("select[name=region]", "济南市")
    page.click("form.searchform button[type=submit]")
    expect(page.locator("#result-count")).to_contain_text("济南市")
    badges = page.locator("#results .result .badge").all_inner_texts()
    assert badges and set(badges) <= {"全国", "地方·济南市"}
    assert "地方·济南市" in badges

    # Open a result at its cited article.
    link = page.locator("#results .result-title").first
    href = link.get_attribute("href")
    assert href and "#chunk-" in href
    anchor = href.split("#", 1)[1]
    link.click()
    page.wait_for_url(f"**#{anchor}")
    target = page.locator(f"[id='{anchor}']")
    expect(target).to_be_visible()
    expect(target).to_be_in_viewport()
    assert (
        page.evaluate("document.querySelector(':target') && document.querySelector(':target').id") == anchor
    )

    # Ask a question and see the citations.
    page.click("nav >> text=智能问答")
    page.fill("textarea[name=question]", "优待证丢了怎么补办？")
    page.click("form.askform button[type=submit]")
    expect(page.locator("#answer")).to_be_visible()
    citations = page.locator("#citations li")
    expect(citations.first).to_be_visible()
    assert "优待证" in citations.first.inner_text()
    expect(page.locator("form.rating button[value=up]")).to_be_visible()


def test_pages_fit_a_phone_screen(page: Any, live_server: str) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(f"{live_server}/login")
    page.fill("input[name=username]", "staff")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server}/search?q=%E4%BC%98%E5%BE%85%E8%AF%81")
    page.locator("#results .result").first.wait_for()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"page is {overflow}px wider than the phone screen"
