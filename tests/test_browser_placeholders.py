"""Placeholders in a real Chromium: the values are marked in the raw text, the fields grow with them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.support.client import register
from tests.test_browser import browser, screenshot_dir, site  # noqa: F401 (fixtures)

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

    from tests.support.process import ServerProcess

pytestmark = pytest.mark.browser

BODY = (
    "Plan a {{days}}-day trip to {{city}} for someone who likes long walks, old bookshops, small"
    " museums and quiet cafés, and who travels by train.\n\nOne walk a day, {{days}} in all.\n"
    "Pack for {{city}} in ${season:spring}.\n"
)
# The marks sit on a layer behind the box: they line up only if both wrap the text alike.
# [left, top, width, height] of the box, then of the layer (as tall as its own text).
GEOMETRY = """() => {
  const box = document.getElementById('prompt-text').getBoundingClientRect();
  const layer = document.querySelector('.prompt-marks').getBoundingClientRect();
  return [[box.left, box.top, box.width, box.height], [layer.left, layer.top, layer.width, layer.height]];
}"""
MARKS = "() => Array.from(document.querySelectorAll('.prompt-marks mark'), (mark) => mark.textContent)"


def assert_layer_matches_box(page: Page) -> None:
    """The layer of marks has the box's place and width, and as many lines of text."""
    # (The text is longer than the box's least height, so the box is as tall as its lines.)
    box, layer = page.evaluate(GEOMETRY)
    assert box[:3] == layer[:3]
    assert abs(box[3] - layer[3]) <= 2, (box, layer)


def open_prompt(site: ServerProcess, browser: BrowserContext, body: str = BODY) -> tuple[Page, list[str]]:  # noqa: F811
    """A public prompt of the body, open in a page; the page and the errors it reports."""
    token = register(site)
    created = httpx.post(
        f"{site.backend}/api/prompts",
        json={"title": "Walking holiday", "body": body, "visibility": "public"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{site.frontend}/prompts/{created.json()['id']}")
    return page, problems


def test_filled_values_are_marked_in_the_raw_text_and_copied_plain(
    browser: BrowserContext,  # noqa: F811
    site: ServerProcess,  # noqa: F811
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    page, problems = open_prompt(site, browser)
    text = page.locator("#prompt-text")
    # Only the default is filled so far: it is the one value marked.
    assert page.evaluate(MARKS) == ["spring"]
    page.get_by_label("days").fill("3")
    page.get_by_label("city").fill("Lisbon <b>& Porto</b>")
    plain = BODY.replace("{{days}}", "3").replace("{{city}}", "Lisbon <b>& Porto</b>")
    plain = plain.replace("${season:spring}", "spring")
    expect(text).to_have_value(plain)
    city = "Lisbon <b>& Porto</b>"
    assert page.evaluate(MARKS) == ["3", city, "3", city, "spring"]
    # What was typed is text in the marks, never markup.
    assert page.locator(".prompt-marks b").count() == 0
    assert page.locator(".prompt-marks").get_attribute("aria-hidden") == "true"
    assert_layer_matches_box(page)

    # An emptied field shows its placeholder as written, unmarked.
    page.get_by_label("days").fill("")
    expect(text).to_have_value(BODY.replace("{{city}}", city).replace("${season:spring}", "spring"))
    assert page.evaluate(MARKS) == [city, city, "spring"]
    page.get_by_label("days").fill("3")

    # Copy copies the text alone.
    page.locator("button.copy").click()
    expect(page.locator("button.copy")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == plain

    # The marks read well in both themes: the box's text over the mark's colour.
    for scheme, background in (("light", "rgb(255, 241, 168)"), ("dark", "rgb(69, 57, 0)")):
        page.emulate_media(color_scheme=scheme)
        mark = page.locator(".prompt-marks mark").first
        assert mark.evaluate("mark => getComputedStyle(mark).backgroundColor") == background
        assert text.evaluate("box => getComputedStyle(box).backgroundColor") == "rgba(0, 0, 0, 0)"
        page.screenshot(path=str(screenshot_dir(tmp_path) / f"prompt-marks-{scheme}.png"), full_page=True)
    # At a phone's width the text wraps more, and the marks still follow it.
    page.set_viewport_size({"width": 390, "height": 844})
    assert_layer_matches_box(page)
    assert problems == []


def widths(page: Page, label: str) -> tuple[float, float, float]:
    """A field's width, the width its value needs, and the form's inner width."""
    return page.get_by_label(label, exact=True).evaluate(
        "(field) => { const form = field.form, style = getComputedStyle(form);"
        " return [field.offsetWidth, field.scrollWidth,"
        " form.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight)]; }"
    )


def test_a_field_grows_with_its_value_up_to_the_forms_width(
    browser: BrowserContext,  # noqa: F811
    site: ServerProcess,  # noqa: F811
) -> None:
    page, problems = open_prompt(site, browser)
    start, _, _ = widths(page, "city")
    page.get_by_label("city").fill("Lisbon, then Sintra and Cascais by train")
    grown, needed, most = widths(page, "city")
    assert grown > start
    assert needed <= page.get_by_label("city").evaluate("field => field.clientWidth")  # all of it shows
    page.get_by_label("city").fill("Lisbon, Sintra, Cascais, Évora, Coimbra, Porto, Braga " * 4)
    grown, _, most = widths(page, "city")
    assert abs(grown - most) <= 1  # the whole row, and no further: the page never scrolls sideways
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert problems == []


def test_without_css_field_sizing_the_script_sizes_the_fields(
    browser: BrowserContext,  # noqa: F811
    site: ServerProcess,  # noqa: F811
) -> None:
    # As in a browser without field-sizing: the script is told so, and the rule is undone.
    browser.add_init_script(
        "CSS.supports = () => false;"
        "document.addEventListener('DOMContentLoaded', () => document.querySelectorAll('input, textarea')"
        ".forEach((field) => { field.style.fieldSizing = 'fixed'; }));"
    )
    page, problems = open_prompt(site, browser)
    start, _, _ = widths(page, "city")
    page.get_by_label("city").fill("Lisbon, then Sintra and Cascais by train, and back")
    grown, needed, _ = widths(page, "city")
    assert grown > start
    assert needed <= page.get_by_label("city").evaluate("field => field.clientWidth")
    assert problems == []
