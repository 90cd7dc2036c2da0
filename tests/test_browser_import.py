"""The account page's import in a real Chromium: a large file uploads, its report replaces the form."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support import corpus
from tests.support.browser import sign_up
from tests.test_browser import browser, site  # noqa: F401 (fixtures)

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

    from tests.support.process import ServerProcess

pytestmark = pytest.mark.browser


def test_a_person_imports_a_large_csv_and_sees_what_was_refused(
    browser: BrowserContext,  # noqa: F811
    site: ServerProcess,  # noqa: F811
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    page = browser.pages[0] if browser.pages else browser.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    sign_up(page, site.frontend, "importer")
    page.goto(f"{site.frontend}/account")

    items = corpus.prompts(1500, seed=11)
    items[41] = {**items[41], "visibility": "everyone"}  # row 43
    collection = tmp_path / "collection.csv"
    corpus.write_csv(items, collection, style="act")
    page.get_by_label("Export or CSV file").set_input_files(str(collection))
    page.get_by_role("button", name="Import").click()
    report = page.locator("#import-report")
    done = "1499 new, 0 updated, 0 already up to date, 1 not imported"
    expect(report).to_contain_text(done, timeout=120_000)
    title = items[41]["title"]
    expect(report).to_contain_text(f"Row 43 (“{title}”): visibility: must be 'public' or 'private'")
    assert page.url == f"{site.frontend}/account"  # the script sent it: the page never left
    expect(page.locator(".upload-progress")).to_be_hidden()  # the new form, ready for another file

    # The same form works again without a reload: a JSON export, all of it already there.
    export = tmp_path / "export.json"
    export.write_text(json.dumps(corpus.export_document([it for n, it in enumerate(items) if n != 41])))
    page.get_by_label("Export or CSV file").set_input_files(str(export))
    page.get_by_role("button", name="Import").click()
    again = "0 new, 0 updated, 1499 already up to date"
    expect(page.locator("#import-report")).to_contain_text(again, timeout=120_000)
    assert problems == []


def test_a_file_past_the_limit_is_refused_under_the_field_before_it_is_sent(
    browser: BrowserContext,  # noqa: F811
    site: ServerProcess,  # noqa: F811
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    page = browser.new_page()
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url) if request.method == "POST" else None)
    sign_up(page, site.frontend, "toolarge")
    page.goto(f"{site.frontend}/account")
    sent.clear()
    big = tmp_path / "prompts.csv"
    with big.open("wb") as file:  # 70 MB, sparse: the size is what the page reads
        file.truncate(70 * 1000 * 1000)
    page.get_by_label("Export or CSV file").set_input_files(str(big))
    page.get_by_role("button", name="Import").click()
    error = page.locator("#f-file-error")
    expect(error).to_contain_text("This file is 66.8 MiB; an import takes at most 64 MiB.")
    expect(page.get_by_label("Export or CSV file")).to_have_attribute("aria-invalid", "true")
    assert sent == []  # nothing was uploaded
    page.close()


def test_the_page_shows_how_many_prompts_are_stored_while_the_server_imports(
    browser: BrowserContext,  # noqa: F811
    site: ServerProcess,  # noqa: F811
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    page = browser.new_page()
    sign_up(page, site.frontend, "watcher")
    page.goto(f"{site.frontend}/account")
    collection = tmp_path / "large.json"
    collection.write_bytes(corpus.export_bytes(corpus.prompts(5000, seed=12)))
    # Every text the status line shows, as a person would read it in turn.
    page.evaluate(
        """() => {
          window.seen = [];
          const status = document.querySelector(".upload-status");
          new MutationObserver(() => window.seen.push(status.textContent))
            .observe(status, {childList: true, characterData: true, subtree: true});
        }"""
    )
    page.get_by_label("Export or CSV file").set_input_files(str(collection))
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#import-report")).to_contain_text("5000 new", timeout=180_000)
    seen = page.evaluate("window.seen")
    counts = [
        text for text in seen if text.startswith("Importing…") and text.endswith("of 5,000 prompts done")
    ]
    assert counts, seen
