"""/docs renders the OpenAPI 3.1 spec offline in headless Chromium (Swagger UI 5 from swagger-ui-py)."""

from __future__ import annotations

from typing import Any

import pytest

from api.app import create_app
from tests.browser_support import ARTIFACTS, chromium_page, serve
from vetbot.settings import Settings

pytestmark = pytest.mark.browser


def test_docs_render_the_operations_offline(
    settings: Settings, fake_knowledge: Any, case_service: Any, session_factory: Any
) -> None:
    app = create_app(settings, knowledge=fake_knowledge, cases=case_service, session_factory=session_factory)
    assert app.openapi()["openapi"].startswith("3.1")
    with serve(app) as url, chromium_page(viewport={"width": 1200, "height": 900}) as page:
        outside: list[str] = []
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(url) else None)
        page.goto(f"{url}/docs")
        page.wait_for_selector(".opblock", timeout=20_000)
        body = page.inner_text("body")
        assert "Unable to render" not in body
        operations = page.locator(".opblock-summary-path").all_inner_texts()
        assert any("/v1/ask" in op for op in operations) and len(operations) >= 5
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "api-docs.png"))
        assert outside == []  # nothing fetched from a CDN
