"""The website in a real Chromium against the real process: what a person does and sees."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, fill_sign_up, require_chromium
from tests.support.client import register
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
    fill_sign_up(page, "ada")
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

    # Fill the placeholders (the text follows as they type); the filled text is ready to copy.
    page.get_by_label("days").fill("3")
    page.get_by_label("city").fill("Lisbon")
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
    diff = page.locator(".diff-split")
    old_line, new_line = diff.locator(".side.del"), diff.locator(".side.add")
    expect(old_line.locator(".text")).to_have_text(["Plan a {{days}}-day trip to {{city}}."])
    expect(new_line.locator(".text")).to_have_text(
        ["Plan a {{days}}-day trip to {{city}} on a budget of {{budget}}."]
    )
    expect(diff.locator(".side.both .text")).to_have_text(["List one museum and one park per day."])
    # Inside the changed line only the added words are marked, and not by colour alone.
    expect(new_line.locator("ins")).to_have_text(["on a budget of {{budget}}"])
    expect(old_line.locator("del")).to_have_count(0)
    marked = "(el, where) => getComputedStyle(el, where)"
    assert new_line.locator("ins").evaluate(f"el => ({marked})(el, '::before').content") == '" [added: "'
    assert "underline" in new_line.locator("ins").evaluate(f"el => ({marked})(el, null).textDecorationLine")
    # The old line beside the new one on a desktop, above it on a phone.
    old_box, new_box = old_line.bounding_box(), new_line.bounding_box()
    assert old_box
    assert new_box
    assert new_box["x"] >= old_box["x"] + old_box["width"] - 1
    assert abs(new_box["y"] - old_box["y"]) < 1
    page.screenshot(path=str(shots / "diff.png"), full_page=True)
    page.set_viewport_size(PHONE)
    old_box, new_box = old_line.bounding_box(), new_line.bounding_box()
    assert old_box
    assert new_box
    assert new_box["y"] >= old_box["y"] + old_box["height"] - 1
    assert abs(new_box["x"] - old_box["x"]) < 1
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(shots / "diff-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)

    # Label the first version for applications: they fetch it by name, and poll it cheaply.
    page.locator(".crumbs").get_by_role("link", name="History").click()
    page.get_by_label("Label", exact=True).fill("production")
    page.get_by_label("Version", exact=True).fill("1")
    page.get_by_role("button", name="Set label").click()
    expect(page.locator(".version", has_text="Version 1").locator(".badge.label")).to_have_text(
        ["production"]
    )
    expect(page.locator(".version", has_text="Version 2").locator(".badge.label")).to_have_count(0)
    page.screenshot(path=str(shots / "history.png"), full_page=True)
    production = f"{site.backend}/api/prompts/{prompt_url.rsplit('/', 1)[1]}?label=production"
    fetched = httpx.get(production)
    assert (fetched.status_code, fetched.json()["version"]) == (200, 1)
    assert httpx.get(production, headers={"If-None-Match": fetched.headers["etag"]}).status_code == 304

    # Star it.
    page.get_by_role("link", name="City break planner").click()
    page.get_by_role("button", name=re.compile("Star")).click()
    starred = page.get_by_role("button", name=re.compile("Starred"))
    expect(starred).to_be_visible()
    expect(starred.locator(".count")).to_have_text("1")
    page.goto(f"{prompt_url}?days=3&city=Lisbon&budget=500+euros")
    expect(page.locator("#prompt-text")).to_have_value(re.compile("budget of 500 euros"))
    page.screenshot(path=str(shots / "prompt.png"), full_page=True)

    # Copy it to my library: a private fork that links back.
    page.goto(prompt_url)
    page.get_by_role("button", name="Copy to my library").click()
    forked_from = page.locator(".forked-from")
    expect(forked_from).to_have_text(re.compile(r"Forked from\s+City break planner\s+by\s+ada"))
    expect(page.locator(".prompt-head .badge")).to_have_text("Private")
    assert page.url != prompt_url
    expect(page.get_by_label("budget")).to_be_visible()  # the content came along
    forked_from.get_by_role("link", name="City break planner").click()
    assert page.url == prompt_url
    expect(page.locator(".forks")).to_have_text("0 forks")  # a private copy is counted for no one

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
    page.set_viewport_size(DESKTOP)

    # Logged out, Star leads to an account and back, and the star is there afterwards.
    page.get_by_role("button", name="Log out").click()
    page.goto(prompt_url)
    page.get_by_role("link", name=re.compile("Star")).click()
    expect(page.get_by_text("Log in to star the prompt.")).to_be_visible()
    page.get_by_role("link", name="Create an account").click()
    expect(page.get_by_text("Create an account to star the prompt.")).to_be_visible()
    fill_sign_up(page, "grace")
    assert page.url == prompt_url
    starred = page.get_by_role("button", name=re.compile("Starred"))
    expect(starred.locator(".count")).to_have_text("2")
    page.get_by_role("link", name="Starred", exact=True).click()
    expect(page.get_by_role("heading", name="Starred")).to_be_visible()
    expect(page.locator(".card-title a")).to_have_text(["City break planner"])

    assert problems == []


MARKDOWN_BODY = (
    "# Code review checklist\n\n"
    "Review the change below as a **senior engineer** would. "
    + "Say what is wrong, why it matters and how to fix it, one point at a time. " * 12
    + "\n\n## Steps\n\n"
    + "".join(f"{i}. Step {i}: read the diff again and note anything surprising.\n" for i in range(1, 40))
    + "\n```python\nprint('<script>alert(1)</script>')\n```\n\n"
    "<script>document.title = 'owned'</script> [click](javascript:alert(1)) "
    "![tracker](https://tracker.invalid/pixel.png) <img src=x onerror=alert(1)>\n\n"
    "| check | done |\n|:--|--:|\n| tests | yes |\n"
)


def box_fits(page: Page) -> bool:
    """The prompt box shows all of its text: nothing to scroll inside it."""
    return page.evaluate(
        "() => { const box = document.getElementById('prompt-text');"
        " return box.clientHeight > 0 && box.scrollHeight <= box.clientHeight; }"
    )


def test_a_markdown_prompt_is_formatted_its_raw_text_fits_and_copy_copies_it_exactly(
    browser: BrowserContext, site: ServerProcess, tmp_path: Path
) -> None:
    import httpx
    from playwright.sync_api import expect

    from tests.support.client import register

    token = register(site, "mara")
    created = httpx.post(
        f"{site.backend}/api/prompts",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "title": "Code review",
            "body": MARKDOWN_BODY,
            "description": "A *thorough* review",
            "visibility": "public",
        },
    )
    assert created.status_code == 201, created.text
    url = f"{site.frontend}/prompts/{created.json()['id']}"

    shots = screenshot_dir(tmp_path)
    page: Page = browser.pages[0] if browser.pages else browser.new_page()
    problems: list[str] = []
    requests: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("request", lambda request: requests.append(request.url))
    page.on("dialog", lambda dialog: problems.append(f"dialog: {dialog.message}"))

    page.goto(url)
    formatted = page.locator("[data-view-pane=formatted]")
    expect(formatted.get_by_role("heading", name="Code review checklist", level=3)).to_be_visible()
    expect(formatted.locator("ol > li")).to_have_count(39)
    expect(formatted.locator("pre code")).to_have_text("print('<script>alert(1)</script>')\n")
    expect(page.locator(".lead em")).to_have_text("thorough")
    assert formatted.locator("script, img, iframe, [style], [onerror]").count() == 0
    assert page.locator("script").count() == 1  # the site's own
    expect(formatted.get_by_role("link", name="tracker")).to_have_attribute("rel", "nofollow noopener ugc")
    assert page.title() != "owned"
    # Nothing was fetched from anywhere but the site itself.
    assert all(address.startswith(site.frontend) for address in requests), requests
    page.screenshot(path=str(shots / "markdown.png"), full_page=True)

    # Copy copies the raw text exactly, even while the formatted view is showing.
    expect(page.locator("#prompt-text")).to_be_hidden()
    page.locator("button.copy").click()
    expect(page.locator("button.copy")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == MARKDOWN_BODY

    # The Raw view comes without a reload, and the box shows every line at every width.
    page.evaluate("window.sameDocument = true")
    page.get_by_role("link", name="Raw").click()
    expect(page.locator("#prompt-text")).to_be_visible()
    expect(formatted).to_be_hidden()
    expect(page.get_by_role("link", name="Raw")).to_have_attribute("aria-current", "true")
    assert page.evaluate("window.sameDocument") is True
    assert page.url.endswith("?view=raw")
    assert page.locator("#prompt-text").input_value() == MARKDOWN_BODY
    assert box_fits(page)
    for size in (PHONE, {"width": 320, "height": 640}, DESKTOP):
        page.set_viewport_size(size)
        assert box_fits(page), size
        right = page.evaluate("document.querySelector('.output').getBoundingClientRect().right")
        assert right <= size["width"], size
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(shots / "markdown-raw-phone.png"), full_page=True)

    # Where CSS cannot size the box to its text, the script does.
    page.evaluate(
        "() => { const box = document.getElementById('prompt-text'); box.style.fieldSizing = 'fixed';"
        " window.dispatchEvent(new Event('resize')); }"
    )
    assert box_fits(page)

    # Without a script the switch is a link: ?view=raw is a page of its own, and so back.
    page.goto(f"{url}?view=formatted")
    expect(formatted).to_be_visible()
    page.goto(f"{url}?view=raw")
    expect(page.locator("#prompt-text")).to_be_visible()
    assert box_fits(page)

    # An old version has the same two views.
    page.goto(f"{url}/versions/1")
    expect(page.locator("[data-view-pane=formatted] h3")).to_have_text("Code review checklist")
    page.get_by_role("link", name="Raw").click()
    expect(page.locator("pre.body-text")).to_have_text(MARKDOWN_BODY)


FILL_BODY = """Act as a ${Position:Software Developer} at {{ company name }}.

${Background}

Keep `${code}` as it is."""


def test_placeholders_fill_in_the_page_without_a_request(
    browser: BrowserContext, site: ServerProcess, tmp_path: Path
) -> None:
    from playwright.sync_api import Request, expect

    token = register(site, "filler")
    created = httpx.post(
        f"{site.backend}/api/prompts",
        json={"title": "Cover letter", "body": FILL_BODY, "visibility": "public"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    prompt_url = f"{site.frontend}/prompts/{created.json()['id']}"
    page: Page = browser.pages[0] if browser.pages else browser.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(prompt_url)
    text = page.locator("#prompt-text")
    expect(text).to_have_value(FILL_BODY.replace("${Position:Software Developer}", "Software Developer"))
    expect(page.get_by_label("Position")).to_have_value("Software Developer")  # the default
    expect(page.get_by_role("button", name="Fill in")).to_be_hidden()  # nothing to send

    requests: list[str] = []

    def sent(request: Request) -> None:
        requests.append(request.url)

    page.on("request", sent)
    page.get_by_label("company name").press_sequentially("Acme & Co")
    expect(text).to_have_value(re.compile(r"^Act as a Software Developer at Acme & Co\.\n"))
    background = page.get_by_label("Background")
    assert background.evaluate("field => field.tagName") == "TEXTAREA"  # alone on its line
    before = background.bounding_box()
    background.fill(
        "Ten years as a nurse.\nThen a course in programming.\nNow two years of web work.\nAnd more."
    )
    after = background.bounding_box()
    assert before
    assert after
    assert after["height"] > before["height"]  # it grows with what is typed
    assert background.evaluate("field => field.scrollHeight <= field.clientHeight + 2")  # nothing cut off
    expect(text).to_have_value(
        re.compile(r"\n\nTen years as a nurse\.\n.*\nAnd more\.\n\nKeep `\$\{code\}` as it is\.$", re.S)
    )
    position = page.get_by_label("Position")
    position.fill("")  # an emptied field shows its placeholder as written
    expect(text).to_have_value(re.compile(r"^Act as a \$\{Position:Software Developer\} at Acme"))
    position.fill("Nurse")
    position.press("Enter")  # would submit the form without the script
    expect(text).to_have_value(re.compile(r"^Act as a Nurse at Acme & Co\."))
    page.wait_for_timeout(300)  # a submit, had there been one, would have started by now
    assert page.url == prompt_url
    assert requests == []  # the values never left the page

    # Sharing is on purpose: the link carries the values, and opens filled in.
    page.get_by_role("button", name="Copy link with values").click()
    status = page.locator(".fill-status")
    expect(status).to_contain_text("Link copied")
    link = page.evaluate("navigator.clipboard.readText()")
    assert link.startswith(prompt_url + "?")
    assert "Position=Nurse" in link
    assert status.get_by_role("link").get_attribute("href") == link
    assert requests == []
    filled = text.input_value()
    page.goto(link)
    expect(text).to_have_value(filled)
    expect(page.get_by_label("company name")).to_have_value("Acme & Co")
    page.screenshot(path=str(screenshot_dir(tmp_path) / "prompt-fill.png"), full_page=True)
    assert problems == []
