"""Placeholders: ``{{name}}`` in a prompt body becomes a field people fill in."""

from __future__ import annotations

import re
from collections.abc import Mapping

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.-]{0,63})\s*\}\}")


def placeholders(body: str) -> list[str]:
    """The distinct placeholder names of a body, in order of first use."""
    return list(dict.fromkeys(match.group(1) for match in PLACEHOLDER.finditer(body)))


def fill(body: str, values: Mapping[str, str]) -> str:
    """The body with each placeholder that has a non-empty value replaced by it."""

    def replace(match: re.Match[str]) -> str:
        value = values.get(match.group(1), "")
        return value if value else match.group(0)

    return PLACEHOLDER.sub(replace, body)
