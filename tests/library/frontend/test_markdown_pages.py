"""A prompt's text on its pages: formatted as Markdown or raw, the raw text exact, hostile text harmless."""

from __future__ import annotations

import html
import re

from tests.library.frontend.conftest import AuthActions, NewBrowser
from tests.library.test_markdown import assert_harmless

BODY = (
    "# Review this code\n\nCheck **security** first, then `style`.\n\n"
    "- one\n- two\n\n```js\nalert('<hi>')\n```\n\n"
    "<script>alert(1)</script> [x](javascript:alert(1)) ![logo](https://img.example/l.png)"
)


def pane(page: str, view: str) -> tuple[bool, str]:
    """Whether a view's pane is hidden, and what it holds."""
    match = re.search(rf'<(div|pre) ([^>]*)data-view-pane="{view}"( hidden)?>(.*?)</\1>', page, re.S)
    assert match, f"no {view} pane"
    return bool(match.group(3)), match.group(4)


def switch_links(page: str) -> dict[str, tuple[str, bool]]:
    """Each view link's address and whether it is marked as the current one."""
    found = re.findall(r'<a href="([^"]*)" data-view="(\w+)"( aria-current="true")?>', page)
    return {view: (html.unescape(href), bool(current)) for href, view, current in found}


def test_a_prompt_is_shown_formatted_with_its_raw_text_beside(
    alice: AuthActions, new_browser: NewBrowser
) -> None:
    prompt_id = alice.create_prompt(title="Review", body=BODY)
    page = new_browser().client.get(f"/prompts/{prompt_id}").text
    hidden, formatted = pane(page, "formatted")
    assert not hidden
    assert "<h3>Review this code</h3>" in formatted
    assert "<strong>security</strong>" in formatted
    assert "<li>one</li>" in formatted
    assert "<pre><code>alert('&lt;hi&gt;')\n</code></pre>" in formatted
    assert '<a href="https://img.example/l.png" rel="nofollow noopener ugc">logo</a>' in formatted
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in formatted
    assert_harmless(formatted)
    # The only scripts on the page are the site's own.
    scripts = re.findall(r"<script[^>]*>", page)
    assert len(scripts) == 1
    assert re.fullmatch(r'<script src="/static/site\.js\?v=[0-9a-f]+" defer>', scripts[0])
    assert "<img" not in page
    # The raw text is there too, exact, for Copy: hidden until asked for.
    hidden, raw = pane(page, "raw")
    assert hidden
    assert re.search(r'<textarea id="prompt-text" class="prompt-text" readonly rows="\d+">', raw)
    assert html.unescape(raw.split(">", 1)[1].removesuffix("</textarea>\n    ").rstrip()) == BODY
    assert switch_links(page) == {
        "formatted": (f"/prompts/{prompt_id}?view=formatted", True),
        "raw": (f"/prompts/{prompt_id}?view=raw", False),
    }


def test_the_raw_view_without_javascript_is_a_link_away(alice: AuthActions) -> None:
    prompt_id = alice.create_prompt(title="Review", body=BODY)
    page = alice.client.get(f"/prompts/{prompt_id}?view=raw").text
    assert pane(page, "formatted")[0]
    assert not pane(page, "raw")[0]
    assert switch_links(page)["raw"][1]
    assert not switch_links(page)["formatted"][1]
    # Anything else is the default view.
    assert not pane(alice.client.get(f"/prompts/{prompt_id}?view=nonsense").text, "formatted")[0]


def test_a_prompt_with_placeholders_opens_on_the_text_being_filled(alice: AuthActions) -> None:
    prompt_id = alice.create_prompt(title="Trip", body="# Plan\n\nA trip to {{city}}.")
    page = alice.client.get(f"/prompts/{prompt_id}", query_string={"city": "Porto"}).text
    assert not pane(page, "raw")[0]
    assert "A trip to Porto.</textarea>" in page
    # The formatted view shows the prompt as written; the switch keeps the values given.
    hidden, formatted = pane(page, "formatted")
    assert hidden
    assert "<p>A trip to {{city}}.</p>" in formatted
    assert switch_links(page)["formatted"] == (f"/prompts/{prompt_id}?city=Porto&view=formatted", False)
    formatted_page = alice.client.get(f"/prompts/{prompt_id}?city=Porto&view=formatted").text
    assert not pane(formatted_page, "formatted")[0]
    assert "A trip to Porto.</textarea>" in formatted_page  # Copy still copies the filled text


def test_the_view_links_take_any_query_safely(alice: AuthActions) -> None:
    prompt_id = alice.create_prompt(title="Review", body=BODY)
    query = "_external=1&_scheme=javascript&prompt_id=9&view=raw&a=%22%3E%3Cscript%3E"
    response = alice.client.get(f"/prompts/{prompt_id}?{query}")
    assert response.status_code == 200
    links = switch_links(response.text)
    assert links["raw"][0] == (
        f"/prompts/{prompt_id}?_external=1&_scheme=javascript&prompt_id=9&a=%22%3E%3Cscript%3E&view=raw"
    )
    assert "<script>" not in response.text.split("</header>", 1)[1].replace("<script src", "")


def test_the_prompt_box_is_tall_enough_for_every_line(alice: AuthActions) -> None:
    body = "\n".join(f"line {i}" for i in range(300))
    prompt_id = alice.create_prompt(title="Long", body=body)
    page = alice.client.get(f"/prompts/{prompt_id}").text
    assert 'readonly rows="301"' in page


def test_the_description_is_inline_markdown_on_the_prompt_page_and_plain_in_listings(
    alice: AuthActions,
) -> None:
    alice.create_prompt(
        title="Styled",
        body="Body",
        description="A *careful* `reviewer` <b>bold</b> [site](javascript:alert(1))",
    )
    listing = alice.client.get("/users/alice").text
    assert "A *careful* `reviewer` &lt;b&gt;bold&lt;/b&gt; [site](javascript:alert(1))" in listing
    prompt_id = int(re.findall(r'href="/prompts/(\d+)"', listing)[0])
    page = alice.client.get(f"/prompts/{prompt_id}").text
    lead = re.search(r'<p class="lead">(.*?)</p>', page, re.S)
    assert lead
    assert lead.group(1) == (
        "A <em>careful</em> <code>reviewer</code> &lt;b&gt;bold&lt;/b&gt; [site](javascript:alert(1))"
    )


def test_an_old_version_is_shown_formatted_or_raw(alice: AuthActions) -> None:
    prompt_id = alice.create_prompt(title="Review", body=BODY, description="*first*")
    alice.edit_prompt(prompt_id, body="Now plain.", description="second")
    page = alice.client.get(f"/prompts/{prompt_id}/versions/1").text
    hidden, formatted = pane(page, "formatted")
    assert not hidden
    assert "<h3>Review this code</h3>" in formatted
    assert_harmless(formatted)
    assert '<p class="lead"><em>first</em></p>' in page
    hidden, raw = pane(page, "raw")
    assert hidden
    assert html.unescape(raw) == BODY
    assert switch_links(page)["raw"] == (f"/prompts/{prompt_id}/versions/1?view=raw", False)
    raw_page = alice.client.get(f"/prompts/{prompt_id}/versions/1?view=raw").text
    assert not pane(raw_page, "raw")[0]
    assert pane(raw_page, "formatted")[0]
