"""Small helpers the views share for reading forms and query strings."""

from __future__ import annotations

from typing import Any

from flask import render_template, request

from composite.library.errors import Invalid
from composite.library.prompts import CONTENT_FIELDS
from composite.library.rules import check_prompt_fields, check_tags

# Larger values cannot be ids or page numbers and would overflow the database's integers.
MAX_NUMBER = 2**31 - 1


def form_error(template: str, errors: dict[str, str], **context: Any) -> tuple[str, int]:
    """Render a form again with its errors next to the fields and the user's input kept."""
    return render_template(template, errors=errors, values=request.form, **context), 422


def text(name: str) -> str:
    """A form field as text, empty when absent."""
    return request.form.get(name, "")


def prompt_form() -> dict[str, str]:
    """The prompt fields of the submitted form, every problem found at once or Invalid."""
    fields = {name: text(name) for name in CONTENT_FIELDS}
    errors: dict[str, str] = {}
    # The domain checks again when it writes; checking here too reports the tag
    # problems together with the text ones instead of one after the other.
    for check, kwargs in (
        (check_prompt_fields, {k: v for k, v in fields.items() if k != "tags"}),
        (check_tags, {"values": fields["tags"]}),
    ):
        try:
            check(**kwargs)
        except Invalid as exc:
            errors.update(exc.errors)
    if errors:
        raise Invalid(errors)
    return fields


def number_arg(name: str, default: int | None = None) -> int | None:
    """A positive whole number from the query string, or ``default`` when absent or unusable."""
    value = request.args.get(name, "")
    if not value.isdecimal() or not value.isascii():
        return default
    number = int(value)
    return number if 1 <= number <= MAX_NUMBER else default


def number_list(name: str) -> list[int]:
    """Every value of a form field that is a positive whole number (ticked ids), in order; others skipped."""
    values = request.form.getlist(name)
    numbers = [int(v) for v in values if v.isdecimal() and v.isascii() and len(v) <= len(str(MAX_NUMBER))]
    return [number for number in numbers if 1 <= number <= MAX_NUMBER]


def raw_view(default: bool) -> bool:
    """Whether to show a prompt's text as written (``?view=raw``) or formatted (``?view=formatted``)."""
    view = request.args.get("view")
    return view == "raw" if view in ("raw", "formatted") else default
