"""Knowledge-base admin in headless Chromium: upload with progress and report, a title fix,
a version marked superseded, hit testing and a refused question turned into 官方口径.

The app runs over a real KnowledgeService (hashing embeddings, three test documents) under
uvicorn on 127.0.0.1; screenshots go to test-artifacts/kb-*.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.conftest import PASSWORD
from tests.api.kb_support import make_kb_app
from tests.api.support import Users
from tests.browser_support import ARTIFACTS, chromium_page, serve
from vetbot.settings import Settings

pytestmark = pytest.mark.browser

WRONG_TITLE = """---
title: 测试济南市乘车办法草稿
issuer: 测试济南市退役军人事务局
date_issued: 2025-06-01
region: 济南市
topics: [transit]
---
# 测试济南市乘车办法草稿
## 第三条 公交优待
持优待证的退役军人在济南市乘坐市内公交和地铁免费。
"""
FEES = """---
title: 测试优待证收费说明
issuer: 测试退役军人事务部
date_issued: 2024-05-01
region: 全国
topics: [card]
---
# 测试优待证收费说明
## 第一条 不收费
申领、换发和补办优待证均不收取任何费用。
"""
DROP_FILES = """([files]) => {
  const dt = new DataTransfer();
  for (const [name, text] of files) dt.items.add(new File([text], name, {type: "text/markdown"}));
  const zone = document.getElementById("dropzone");
  zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: dt, bubbles: true, cancelable: true}));
  zone.dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
}"""


@pytest.fixture
def live_server(settings: Settings, case_service: Any, session_factory: Any, users: Users) -> Iterator[str]:
    app = make_kb_app(settings, case_service, session_factory)
    with serve(app) as url:
        yield url


@pytest.fixture
def page(live_server: str) -> Iterator[Any]:
    with chromium_page(viewport={"width": 1200, "height": 1000}) as pg:
        pg.on("dialog", lambda dialog: dialog.accept())
        pg.goto(f"{live_server}/kb")
        pg.fill("input[name=username]", "admin")
        pg.fill("input[name=password]", PASSWORD)
        pg.click("button[type=submit]")
        pg.wait_for_url(f"{live_server}/kb")
        yield pg


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"kb-{name}.png"), full_page=True)


def _ask(page: Any, url: str, question: str) -> str:
    page.goto(f"{url}/ask")
    page.fill("textarea[name=question]", question)
    page.click("form.askform button[type=submit]")
    page.wait_for_selector("#answer")
    return str(page.inner_text("#answer"))


def test_upload_two_files_fix_a_title_and_mark_a_version_superseded(page: Any, live_server: str) -> None:
    from playwright.sync_api import expect

    # Upload two files by drag and drop; the bar follows the job to the per-file report.
    page.evaluate(DROP_FILES, [[["jinan-bus-2025.md", WRONG_TITLE], ["card-fees.md", FEES]]])
    expect(page.locator("#upload-chosen li")).to_have_count(2)
    page.click("#upload-submit")
    expect(page.locator("#upload-report h3")).to_have_text("导入报告", timeout=60_000)
    assert page.eval_on_selector("#upload-bar", "el => el.value") == 100
    expect(page.locator("#upload-status")).to_contain_text("已导入：2 / 2")
    report = page.inner_text("#upload-report")
    assert "jinan-bus-2025.md：已导入" in report and "card-fees.md：已导入" in report
    assert "标题：测试济南市乘车办法草稿" in report and "1 个片段，1 条" in report
    _shot(page, "upload-report")

    # Fix the wrong title: the document joins the 乘车优待办法 versions and supersedes the 2024 one.
    page.click("#upload-report a[href='/kb/docs/jinan-bus-2025.md']")
    page.fill("#f-title", "测试济南市退役军人乘车优待办法")
    page.click("#meta-save")
    expect(page.locator("#doc-title")).to_have_text("测试济南市退役军人乘车优待办法")
    expect(page.locator("#kb-msg")).to_contain_text("已保存")
    _shot(page, "title-fixed")
    page.goto(f"{live_server}/kb")
    old_row = page.locator("tr.kb-doc[data-doc='jinan-transit.md']")
    expect(old_row.locator(".status")).to_have_text("已被取代")
    expect(old_row.locator(".tag").first).to_have_text("历史版本")

    # Mark the 2020 card rules superseded by the 2024 ones: the answer stops citing them.
    question = "优待证遗失了怎么补办？"
    before = _ask(page, live_server, question)
    assert "测试优待证补办暂行规定" in before
    page.goto(f"{live_server}/kb/docs/old-card-rules.md")
    page.select_option("#f-superseded_by", "card-rules.md")
    page.click("#meta-save")
    expect(page.locator("#doc-status")).to_have_text("已被取代")
    after = _ask(page, live_server, question)
    assert "测试优待证补办暂行规定" not in after and "《测试优待证管理办法》第十条" in after
    _shot(page, "answer-after-supersession")


def test_hit_test_and_a_refused_question_turned_into_official_answer(page: Any, live_server: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{live_server}/kb/hittest")
    page.fill("textarea[name=q]", "优待证遗失了怎么补办？")
    page.click("#hittest-form button[type=submit]")
    expect(page.locator("#hit-table .hit-row").first).to_be_visible()
    assert page.locator("#hit-table .hit-row").count() >= 3
    expect(page.locator("#hit-verdict")).to_contain_text("作答")
    expect(page.locator("#hit-signals")).to_contain_text("关键词覆盖率")
    _shot(page, "hit-test")

    refused_question = "退役军人优待证补办要带什么材料？"
    assert "没有找到能回答这个问题的政策依据" in _ask(page, live_server, refused_question)
    page.goto(f"{live_server}/dashboard/gaps")
    page.click("a.curated-link")
    expect(page.locator("textarea[name=question]")).to_have_value(refused_question)
    official = "补办优待证需携带本人居民身份证和户口簿，到原申领地的退役军人服务站办理。"
    page.fill("textarea[name=answer]", official)
    page.fill("textarea[name=citations]", "card-rules.md#第十条")
    page.click("#curated-save")
    expect(page.locator("#curated-table .curated-row")).to_have_count(1)
    expect(page.locator("#curated-table .status")).to_have_text("有效")
    _shot(page, "curated-list")

    answer = _ask(page, live_server, refused_question)
    assert "官方口径" in answer and "居民身份证和户口簿" in answer
    expect(page.locator("#official")).to_be_visible()
    expect(page.locator("#citations")).to_contain_text("《测试优待证管理办法》第十条")
    _shot(page, "official-answer")


def test_upload_a_folder_with_a_broken_file_and_files_of_other_types(
    page: Any, live_server: str, tmp_path: Any
) -> None:
    from playwright.sync_api import expect

    # A folder as staff keep it: policies in subfolders, a scan that is not a readable PDF, and
    # things that are no policy text at all (a photo, the Finder's .DS_Store).
    folder = tmp_path / "2025年政策"
    (folder / "交通").mkdir(parents=True)
    (folder / "card-fees.md").write_text(FEES, encoding="utf-8")
    (folder / "交通" / "jinan-bus-2025.md").write_text(WRONG_TITLE, encoding="utf-8")
    (folder / "scan-broken.pdf").write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\nthis is not a PDF body\n")
    (folder / "renamed.docx").write_bytes(b"%PDF-1.7 a PDF saved as .docx")  # content contradicts its name
    (folder / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0not really")
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    page.set_input_files("#upload-folder", str(folder))
    expect(page.locator("#upload-chosen li")).to_have_count(6)
    chosen = page.inner_text("#upload-chosen")
    assert "2025年政策/交通/jinan-bus-2025.md" in chosen
    assert "photo.jpg：已跳过" in chosen and ".DS_Store：已跳过" in chosen
    page.click("#upload-submit")
    expect(page.locator("#upload-report h3")).to_have_text("导入报告", timeout=60_000)
    report = page.inner_text("#upload-report")
    _shot(page, "folder-upload-report")
    assert "card-fees.md：已导入" in report and "jinan-bus-2025.md：已导入" in report
    assert "scan-broken.pdf：失败（" in report  # with the reason
    assert "renamed.docx：失败（" in report and "扩展名不符" in report  # skipped, not the whole folder
    expect(page.locator("#upload-status")).to_contain_text("其中 2 个失败")
    assert "photo.jpg" not in report  # skipped in the browser, never sent
    # the good files are in the knowledge base, the broken one is not
    page.goto(f"{live_server}/kb")
    expect(page.locator("tr.kb-doc[data-doc='card-fees.md']")).to_have_count(1)
    expect(page.locator("tr.kb-doc[data-doc='jinan-bus-2025.md']")).to_have_count(1)
    expect(page.locator("tr.kb-doc[data-doc='scan-broken.pdf']")).to_have_count(0)
