"""Placeholders: ``{{name}}`` in a prompt body becomes a field people fill in."""

from __future__ import annotations

import re
from collections.abc import Mapping

from composite.library.errors import Invalid
from composite.library.rules import BODY_MAX

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.-]{0,63})\s*\}\}")
FILL_VALUE_MAX = 10_000  # per placeholder; the filled text stays a readable size
# The filled text as a whole: a placeholder used n times repeats its value n times, so
# without this a 50,000-character body of "{{a}}" and one 10,000-character value would
# make 100 million characters (a 400 MB page once escaped).
FILLED_MAX = 2 * BODY_MAX


def placeholders(body: str) -> list[str]:
    """The distinct placeholder names of a body, in order of first use."""
    return list(dict.fromkeys(match.group(1) for match in PLACEHOLDER.finditer(body)))


def filled_length(body: str, values: Mapping[str, str]) -> int:
    """How long ``fill(body, values)`` would be, computed without building it."""
    length = len(body)
    for match in PLACEHOLDER.finditer(body):  # at most one per 5 characters of the body
        value = values.get(match.group(1), "")
        if value:
            length += len(value) - (match.end() - match.start())
    return length


def fill(body: str, values: Mapping[str, str], max_length: int = FILLED_MAX) -> str:
    """The body with each placeholder that has a non-empty value replaced by it.

    Raises Invalid, before building anything, when the result would be longer than
    ``max_length`` characters.
    """
    length = filled_length(body, values)
    if length > max_length:
        raise Invalid(
            {
                "fill": f"the filled-in text would be {length:,} characters, more than the"
                f" {max_length:,} allowed: use shorter values (a placeholder used several"
                " times repeats its value each time)"
            }
        )

    def replace(match: re.Match[str]) -> str:
        value = values.get(match.group(1), "")
        return value if value else match.group(0)

    return PLACEHOLDER.sub(replace, body)
