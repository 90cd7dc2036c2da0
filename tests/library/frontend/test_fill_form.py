"""The fill form of a prompt page: a field of the right shape per placeholder, defaults filled in."""

from __future__ import annotations

import json
import re
from html import unescape
from html.parser import HTMLParser

from tests.library.frontend.conftest import AuthActions, NewBrowser

BODY = """Act as a ${Position:Software Developer} at {{ company name }}.

${Background}

Answer in ${Language:English}. Keep `${code}` and ${{ secrets.TOKEN }} as they are.
Summary: ${Summary:A few sentences that say what the candidate did, where, and what came of it}"""


class Fields(HTMLParser):
    """The fill form's fields, in order: (tag, attributes, text) of each input and textarea."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.fields: list[tuple[str, dict[str, str], str]] = []
        self.form: dict[str, str] = {}
        self._in_form = self._in_textarea = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {key: value or "" for key, value in attrs}
        if tag == "form" and "fill-form" in attributes.get("class", ""):
            self._in_form, self.form = True, attributes
        elif self._in_form and tag in ("input", "textarea"):
            self.fields.append((tag, attributes, ""))
            self._in_textarea = tag == "textarea"

    def handle_endtag(self, tag: str) -> None:
        self._in_form = self._in_form and tag != "form"
        self._in_textarea = self._in_textarea and tag != "textarea"

    def handle_data(self, data: str) -> None:
        if self._in_textarea:
            tag, attributes, text = self.fields[-1]
            self.fields[-1] = (tag, attributes, text + data)


def prompt_text(html: str) -> str:
    """The text of the prompt box, as a person would copy it."""
    match = re.search(r'<textarea id="prompt-text"[^>]*>(.*?)</textarea>', html, re.S)
    assert match
    return unescape(match.group(1))


def test_each_placeholder_gets_a_field_of_its_shape_with_its_default(
    alice: AuthActions, new_browser: NewBrowser
) -> None:
    prompt_id = alice.create_prompt(body=BODY)
    page = new_browser().client.get(f"/prompts/{prompt_id}")
    assert page.status_code == 200
    form = Fields(page.text)
    shapes = [(tag, attrs["name"], attrs.get("value", text)) for tag, attrs, text in form.fields]
    assert shapes == [
        ("input", "Position", "Software Developer"),
        ("input", "company name", ""),
        ("textarea", "Background", ""),  # alone on its line
        ("input", "Language", "English"),
        (
            "textarea",
            "Summary",
            "A few sentences that say what the candidate did, where, and what came of it",
        ),
    ]
    for _, attrs, _ in form.fields:
        assert f'<label for="{attrs["id"]}">{attrs["name"]}</label>' in page.text
        assert attrs["maxlength"] == "10000"  # the server keeps this much of a value
    # The defaults are filled in; empty fields leave their placeholder as written.
    assert prompt_text(page.text).startswith(
        "Act as a Software Developer at {{ company name }}.\n\n${Background}"
    )
    assert "Keep `${code}` and ${{ secrets.TOKEN }} as they are." in prompt_text(page.text)
    # What the script fills in as people type: the text and the placeholders, in order.
    parts = json.loads(form.form["data-template"])
    assert parts[:3] == ["Act as a ", [0, "${Position:Software Developer}"], " at "]
    assert "".join(part if isinstance(part, str) else part[1] for part in parts) == BODY
    assert form.form["method"] == "get"  # without JavaScript the form still works
    assert 'class="fill-link" hidden' in page.text  # the share action appears only with JavaScript


def test_the_form_without_javascript_fills_in_values_and_defaults(
    alice: AuthActions, new_browser: NewBrowser
) -> None:
    prompt_id = alice.create_prompt(body=BODY)
    visitor = new_browser().client
    query = {
        "Position": "Nurse",
        "company name": "St <Mary>",
        "Background": "Ten years\nin A&E",
        "Language": "",
    }
    page = visitor.get(f"/prompts/{prompt_id}", query_string=query)
    assert page.status_code == 200
    text = prompt_text(page.text)
    assert text.startswith(
        "Act as a Nurse at St <Mary>.\n\nTen years\nin A&E\n\nAnswer in ${Language:English}."
    )
    assert text.endswith(
        "Summary: A few sentences that say what the candidate did, where, and what came of it"
    )
    values = {attrs["name"]: attrs.get("value", body) for _, attrs, body in Fields(page.text).fields}
    assert values["company name"] == "St <Mary>"
    assert values["Background"].lstrip("\n") == "Ten years\nin A&E"
    assert values["Language"] == ""  # emptied on purpose: the field stays empty
    assert f'<a href="/prompts/{prompt_id}">Clear</a>' in page.text


def test_a_page_without_placeholders_has_no_fill_form(alice: AuthActions, new_browser: NewBrowser) -> None:
    prompt_id = alice.create_prompt(body="Run `echo ${HOME}`\n\n```\n{{code}}\n```\nthen {{ x | upper }}.")
    page = new_browser().client.get(f"/prompts/{prompt_id}")
    assert page.status_code == 200
    assert "fill-form" not in page.text
    assert Fields(page.text).fields == []


def test_defaults_too_long_once_filled_show_the_prompt_as_written_without_an_error_status(
    alice: AuthActions, new_browser: NewBrowser
) -> None:
    default = "x" * 2_000
    body = f"${{a:{default}}}" + "${a}" * 11_000  # 11,001 uses of a 2,000-character default
    prompt_id = alice.create_prompt(body=body)
    page = new_browser().client.get(f"/prompts/{prompt_id}")
    assert page.status_code == 200  # the visitor sent nothing wrong
    assert "The text was not filled in" in page.text
    assert prompt_text(page.text) == body
