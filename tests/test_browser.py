"""The website in a real Chromium against the real process: what a person does and sees."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, require_chromium
from tests.support.process import ServerProcess

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[BrowserContext]:
    """Debian's Chromium with a fresh profile, driven by Playwright."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport=DESKTOP,
            permissions=["clipboard-read", "clipboard-write"],
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[ServerProcess]:
    """The real process, with the example prompts loaded so the pages look lived in."""
    server = ServerProcess(tmp_path, env={"LOAD_EXAMPLES": "true"}).start()
    try:
        yield server
    finally:
        server.stop()


def screenshot_dir(tmp_path: Path) -> Path:
    """Where the screenshots go: $SCREENSHOT_DIR when set, so people can look at them."""
    directory = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def test_a_person_writes_fills_finds_edits_compares_and_stars_a_prompt(
    browser: BrowserContext, site: ServerProcess, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    shots = screenshot_dir(tmp_path)
    page: Page = browser.pages[0] if browser.pages else browser.new_page()
    problems: list[str] = []
    # A blocked script or style (CSP) or a JavaScript error shows up here.
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))

    page.goto(f"{site.frontend}/")
    expect(page.get_by_role("heading", name="Prompt library")).to_be_visible()

    # Register (which logs in).
    page.get_by_role("link", name="Register").click()
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password", exact=True).fill("correct horse battery")
    page.get_by_label("Password again").fill("correct horse battery")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("link", name="ada", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()

    # Create a prompt with placeholders.
    page.get_by_role("link", name="New prompt").click()
    page.get_by_label("Title").fill("City break planner")
    page.get_by_label("Short description").fill("A day-by-day plan for a short trip.")
    page.get_by_label("Prompt", exact=True).fill(
        "Plan a {{days}}-day trip to {{city}}.\nList one museum and one park per day."
    )
    page.get_by_label("Tags").fill("travel, planning")
    page.get_by_label("Model hint").fill("any chat model")
    page.get_by_label("Public", exact=False).check()  # new prompts are private unless chosen
    page.get_by_role("button", name="Create prompt").click()
    expect(page.get_by_role("heading", name="City break planner")).to_be_visible()
    prompt_url = page.url

    # Fill the placeholders; the filled text is ready to copy.
    page.get_by_label("days").fill("3")
    page.get_by_label("city").fill("Lisbon")
    page.get_by_role("button", name="Fill in").click()
    filled = "Plan a 3-day trip to Lisbon.\nList one museum and one park per day."
    expect(page.locator("#prompt-text")).to_have_value(filled)
    copy = page.locator("button.copy")
    expect(copy).to_be_visible()  # shown by the script; hidden without JavaScript
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == filled

    # Find it with the search box in the header.
    page.get_by_role("searchbox", name="Search prompts").fill("lisbon museum trip")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_text("1 prompt found")).to_be_visible()
    page.get_by_role("link", name="City break planner").click()
    assert page.url.split("?")[0] == prompt_url

    # Edit it: a new version.
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Prompt", exact=True).fill(
        "Plan a {{days}}-day trip to {{city}} on a budget of {{budget}}.\n"
        "List one museum and one park per day."
    )
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text(re.compile(r"version 2"))).to_be_visible()
    expect(page.get_by_label("budget")).to_be_visible()

    # See what changed.
    page.get_by_role("link", name="History").click()
    expect(page.get_by_text("2 versions.")).to_be_visible()
    page.get_by_role("link", name="What changed").click()
    expect(page.locator(".diff .line.del .text")).to_have_text(["Plan a {{days}}-day trip to {{city}}."])
    expect(page.locator(".diff .line.add .text")).to_have_text(
        ["Plan a {{days}}-day trip to {{city}} on a budget of {{budget}}."]
    )
    expect(page.locator(".diff .line.same .text")).to_have_text(["List one museum and one park per day."])

    # Star it.
    page.get_by_role("link", name="City break planner").click()
    page.get_by_role("button", name=re.compile("Star")).click()
    starred = page.get_by_role("button", name=re.compile("Starred"))
    expect(starred).to_be_visible()
    expect(starred.locator(".count")).to_have_text("1")
    page.goto(f"{prompt_url}?days=3&city=Lisbon&budget=500+euros")
    expect(page.locator("#prompt-text")).to_have_value(re.compile("budget of 500 euros"))
    page.screenshot(path=str(shots / "prompt.png"), full_page=True)

    # Back home: the new prompt leads both lists, and its tags are in the cloud.
    page.get_by_role("link", name="ai.allucanget.biz").click()
    newest = page.locator("section", has=page.get_by_role("heading", name="Newest"))
    most_starred = page.locator("section", has=page.get_by_role("heading", name="Most starred"))
    expect(newest.locator(".card-title a").first).to_have_text("City break planner")
    expect(most_starred.locator(".card-title a").first).to_have_text("City break planner")
    expect(page.locator(".cloud").get_by_role("link", name=re.compile("^travel"))).to_be_visible()
    page.screenshot(path=str(shots / "home.png"), full_page=True)

    # On a phone the prompt page fits the screen: no sideways scrolling.
    page.set_viewport_size(PHONE)
    page.goto(f"{prompt_url}?days=3&city=Lisbon&budget=500+euros")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(shots / "prompt-phone.png"), full_page=True)

    assert problems == []
