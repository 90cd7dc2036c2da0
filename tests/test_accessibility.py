"""axe-core in Debian's Chromium finds no accessibility problem on any page, light or dark."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.support.axe import require_axe
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, require_chromium, sign_up
from tests.support.process import ServerProcess

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

SCHEMES = ("light", "dark")
# Shown for each violation: enough to find the element and the rule without rerunning.
REPORT = """
(results) => results.violations.map((v) => ({
  id: v.id, impact: v.impact, help: v.help,
  nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ") + ": " + (n.failureSummary || "")),
}))
"""


@dataclass(frozen=True)
class Check:
    """A page to check: its path ({prompt} is the member's prompt), who looks, what they do first."""

    name: str
    path: str
    member: bool = False
    then: Callable[[Page], None] | None = None


def _blank_title(page: Page) -> None:
    # Spaces pass the browser's `required` check and come back with an error next to the field.
    page.get_by_label("Title").fill("   ")
    page.get_by_label("Prompt", exact=True).fill("Body")
    page.get_by_role("button", name="Create prompt").click()
    page.wait_for_selector(".field-error")


def _bulk(action: str) -> Callable[[Page], None]:
    """Tick the first prompt on one's own page and apply an action to it."""

    def apply(page: Page) -> None:
        page.get_by_label("Select", exact=False).first.check()
        page.get_by_label("Action").select_option(action)
        page.get_by_role("button", name="Apply to selected prompts").click()
        page.wait_for_selector(".bulk-notice, h1:has-text('Delete')")

    return apply


# Add a page here when the site gains one.
CHECKS = [
    Check("home", "/"),
    Check("login", "/login"),
    Check("register", "/register"),
    Check("login, star pending", "/login?next=/prompts/{prompt}&then=star:{prompt}"),
    Check("search", "/search?q=trip"),
    Check("all prompts", "/search"),
    Check("prompt, visitor", "/prompts/{prompt}"),
    Check("tags", "/tags"),
    Check("tag", "/tags/travel"),
    Check("user", "/users/ada"),
    Check("not found", "/prompts/999999"),
    Check("home, member", "/", member=True),
    Check("prompt, owner", "/prompts/{prompt}", member=True),
    Check("prompt, filled", "/prompts/{prompt}?days=3&city=Lisbon", member=True),
    Check("history", "/prompts/{prompt}/history", member=True),
    Check("version", "/prompts/{prompt}/versions/1", member=True),
    Check("diff", "/prompts/{prompt}/diff", member=True),
    Check("new prompt", "/prompts/new", member=True),
    Check("new prompt, errors", "/prompts/new", member=True, then=_blank_title),
    Check("edit", "/prompts/{prompt}/edit", member=True),
    Check("delete", "/prompts/{prompt}/delete", member=True),
    Check("account", "/account", member=True),
    Check("starred", "/starred", member=True),
    Check("own prompts", "/users/ada", member=True),
    Check("own prompts, after a bulk action", "/users/ada", member=True, then=_bulk("make_public")),
    Check("bulk delete, asked first", "/users/ada", member=True, then=_bulk("delete")),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The real process, with the example prompts loaded so the pages look lived in."""
    server = ServerProcess(tmp_path_factory.mktemp("axe"), env={"LOAD_EXAMPLES": "true"}).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, driven by Playwright."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _member(chromium: Browser, site: ServerProcess) -> tuple[Page, int]:
    """A logged-in member with a public prompt of two versions (so history and diff have content)."""
    page = chromium.new_page()
    sign_up(page, site.frontend, "ada")
    page.goto(f"{site.frontend}/prompts/new")
    page.get_by_label("Title").fill("City break planner")
    page.get_by_label("Short description").fill("A day-by-day plan for a short trip.")
    page.get_by_label("Prompt", exact=True).fill("Plan a {{days}}-day trip to {{city}}.\nOne museum a day.")
    page.get_by_label("Tags").fill("travel, city breaks")
    page.get_by_label("Public", exact=False).check()
    page.get_by_role("button", name="Create prompt").click()
    prompt_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    page.goto(f"{site.frontend}/prompts/{prompt_id}/edit")
    page.get_by_label("Prompt", exact=True).fill("Plan a {{days}}-day trip to {{city}}.\nOne park a day.")
    page.get_by_role("button", name="Save changes").click()
    return page, prompt_id


def _violations(page: Page, axe: str) -> list[dict[str, Any]]:
    # Evaluated through DevTools, so the site's CSP (no inline scripts) stays on while axe runs.
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe)
    return page.evaluate(f"axe.run(document).then({REPORT})")


def test_no_axe_violations_on_any_page_in_either_colour_scheme(
    chromium: Browser, site: ServerProcess, tmp_path: Path
) -> None:
    axe = require_axe()
    member, prompt_id = _member(chromium, site)
    visitor = chromium.new_page()
    # The pages really are what they claim to be: a visitor sees the member's public prompt.
    assert httpx.get(f"{site.frontend}/prompts/{prompt_id}").status_code == 200
    found: list[str] = []
    for check in CHECKS:
        page = member if check.member else visitor
        page.goto(site.frontend + check.path.format(prompt=prompt_id))
        if check.then:
            check.then(page)
        for scheme in SCHEMES:
            page.emulate_media(color_scheme=scheme)
            for v in _violations(page, axe):
                found.append(f"{check.name} ({scheme}): {v['id']} [{v['impact']}] {v['help']}")
                found.extend(f"    {node}" for node in v["nodes"])
    assert found == [], "\n".join(found)
