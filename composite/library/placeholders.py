"""Placeholders: the fields a prompt body asks people to fill in, as people write them.

Recognised, outside Markdown code (code spans, fenced and indented blocks):
``{{name}}``, ``{{ name }}``, ``{{two words}}``, ``${name}`` and ``${name:default value}``
(the prompts.chat style). A name starts with a letter or ``_``, at most 64 characters; a
body has at most 100 distinct names. Inside ``{{ }}`` it may then hold anything but braces,
line breaks and ``| ( ) [ ]`` (``{{Product / decision / topic}}``, ``{{date, ISO}}``);
inside ``${ }`` only letters, digits, ``_ . - '`` and single spaces.

Not placeholders, because they are code another program fills in: GitHub Actions
expressions ``${{ ... }}``; template expressions whose inside is not a plain name
(``{{ x | upper }}``, ``{{ f(x) }}``, ``{{ .Values.x }}``, ``{{#each}}``); template tags
``{% ... %}``; shell expansions ``${VAR:-x}``, ``${VAR#x}``; anything inside code.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from composite.library.code_regions import code_regions
from composite.library.errors import Invalid
from composite.library.rules import BODY_MAX

NAME_MAX = 64
# Distinct names per body: a form of more fields is no form, and without a cap a body of
# 7,000 "${nN}" would list 7,000 fields (six times the body's size in every API listing).
FIELDS_MAX = 100
DEFAULT_MAX = 2_000
LONG_DEFAULT = 60  # a default longer than this gets a multi-line field
FILL_VALUE_MAX = 10_000  # per placeholder; the filled text stays a readable size
# The filled text as a whole: a placeholder used n times repeats its value n times, so
# without this a 50,000-character body of "{{a}}" and one 10,000-character value would
# make 100 million characters (a 400 MB page once escaped).
FILLED_MAX = 2 * BODY_MAX

# Every repetition is bounded and stops at a brace, so each attempt costs a bounded number
# of steps and the search stays linear however the body is made (no nested quantifiers).
_TOKEN = re.compile(
    r"\$\{\{"  # a GitHub Actions expression: consumed so its {{ is not read as a placeholder
    r"|\{\{(?P<inner>[^{}\n]{1,80})\}\}"
    rf"|\$\{{(?P<dollar>[^{{}}\n:]{{1,80}})(?::(?P<default>[^{{}}]{{0,{DEFAULT_MAX}}}))?\}}"
)
_NAME = re.compile(r"[^\W\d][\w.'-]*(?: [\w.'-]+)*")
# Inside {{ }} a name is how its author put it, "Product / decision / topic" or "date (ISO)"
# aside: after its first letter, anything but the marks of a template expression (a filter's
# bar, a call's or an index's brackets). ${ } keeps the narrow rule: ${x/y/z} is the shell's.
_BRACED_NAME = re.compile(r"[^\W\d][^{}|()\[\]]*")
_SHELL_OPERATORS = ("-", "=", "?", "+")  # ${VAR:-x}, ${VAR:=x}, ${VAR:?x}, ${VAR:+x}
CACHE_SIZE = 128  # bodies whose fields are kept: more than a page of 100 prompts
_cache: OrderedDict[bytes, tuple[Placeholder, ...]] = OrderedDict()
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class Placeholder:
    """One field to fill in: its name, the value it starts with, and the field's shape."""

    name: str
    default: str
    multiline: bool


class Occurrence(NamedTuple):
    """One place in the body where a placeholder is written, as ``body[start:end]``."""

    start: int
    end: int
    name: str
    default: str


def occurrences(body: str) -> list[Occurrence]:
    """Every placeholder written in the body, in order."""
    if "{{" not in body and "${" not in body:
        return []  # most prompts: no need to find the code
    found: list[Occurrence] = []
    names: dict[str, str | None] = {}  # each spelling checked once: {{a}} x 10,000 is common
    seen: set[str] = set()
    position = 0
    for code_start, code_end in [*code_regions(body), (len(body), len(body))]:
        for match in _TOKEN.finditer(body, position, code_start):
            inner, dollar, default = match.group("inner", "dollar", "default")
            raw = inner or dollar
            if raw is None:
                continue  # ${{ ... }}
            if raw not in names:
                names[raw] = _name(raw, _BRACED_NAME if inner else _NAME)
            name = names[raw]
            if name is None or (default and default.startswith(_SHELL_OPERATORS)):
                continue
            if name not in seen:
                if len(seen) == FIELDS_MAX:
                    continue  # past the cap a new name is text, as written
                seen.add(name)
            found.append(Occurrence(match.start(), match.end(), name, default.strip() if default else ""))
        position = max(position, code_end)
    return found


def _name(raw: str, pattern: re.Pattern[str]) -> str | None:
    """The name a placeholder's inside spells, or None when it is code, not a name."""
    name = " ".join(raw.split())
    return name if len(name) <= NAME_MAX and pattern.fullmatch(name) else None


def names_in_code(body: str) -> int:
    """How many distinct names are written as placeholders inside code only (not fields, by design)."""
    if "{{" not in body and "${" not in body:
        return 0
    fields = {occurrence.name for occurrence in occurrences(body)}
    inside: set[str] = set()
    for start, end in code_regions(body):
        for match in _TOKEN.finditer(body, start, end):
            inner, dollar = match.group("inner", "dollar")
            name = _name(inner, _BRACED_NAME) if inner else _name(dollar, _NAME) if dollar else None
            if name is not None and name not in fields:
                inside.add(name)
    return len(inside)


def placeholders(body: str) -> list[Placeholder]:
    """The distinct placeholders of a body, in order of first use.

    A name used several times is one field: its default is the first one written, and it is
    multi-line when any use stands on a line of its own or the default is long.
    """
    if "{{" not in body and "${" not in body:
        return []
    # A listing of 100 prompts parses 100 bodies; a hostile 50,000-character body takes
    # about 10-20 ms, so without this a page of them costs 1-2 s of CPU every time it is read.
    # Keyed by the body's digest, the cache is exact (a body's placeholders never change) and
    # holds no bodies: its memory is its entries' defaults, at most the body size each.
    key = hashlib.blake2b(body.encode("utf-8", "surrogatepass"), digest_size=16).digest()
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
            return list(cached)
    result = tuple(_merge(body, occurrences(body)))
    with _cache_lock:
        _cache[key] = result
        if len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return list(result)


def _merge(body: str, found: list[Occurrence]) -> list[Placeholder]:
    defaults: dict[str, str] = {}
    multiline: dict[str, bool] = {}
    for occurrence in found:
        name = occurrence.name
        if not defaults.get(name):
            defaults[name] = occurrence.default
        if not multiline.get(name):
            multiline[name] = _on_own_line(body, occurrence)
    return [
        Placeholder(name, default, multiline[name] or "\n" in default or len(default) > LONG_DEFAULT)
        for name, default in defaults.items()
    ]


def _on_own_line(body: str, occurrence: Occurrence) -> bool:
    # Only the blanks next to the placeholder are looked at, so this stays linear.
    before = occurrence.start
    while before > 0 and body[before - 1] in " \t":
        before -= 1
    after = occurrence.end
    while after < len(body) and body[after] in " \t\r":
        after += 1
    return (before == 0 or body[before - 1] == "\n") and (after == len(body) or body[after] == "\n")


def template(body: str) -> list[str | tuple[int, str]]:
    """The body as text and placeholders: a string is text, ``(i, raw)`` the i-th placeholder."""
    found = occurrences(body)
    index = {placeholder.name: i for i, placeholder in enumerate(_merge(body, found))}
    parts: list[str | tuple[int, str]] = []
    position = 0
    for occurrence in found:
        parts.append(body[position : occurrence.start])
        parts.append((index[occurrence.name], body[occurrence.start : occurrence.end]))
        position = occurrence.end
    parts.append(body[position:])
    return parts


def _values_of(body: str, found: list[Occurrence], values: Mapping[str, str]) -> dict[str, str]:
    """Each name's value: the one given, else its default."""
    return {p.name: values.get(p.name, p.default) for p in _merge(body, found)}


def filled_length(body: str, values: Mapping[str, str]) -> int:
    """How long ``fill(body, values)`` would be, computed without building it."""
    found = occurrences(body)
    return _length(body, found, _values_of(body, found, values))


def _length(body: str, found: list[Occurrence], values: Mapping[str, str]) -> int:
    length = len(body)
    for occurrence in found:  # at most one per 4 characters of the body
        value = values[occurrence.name]
        if value:
            length += len(value) - (occurrence.end - occurrence.start)
    return length


def fill(body: str, values: Mapping[str, str], max_length: int = FILLED_MAX) -> str:
    """The body with each placeholder replaced by its value (or its default when none is given).

    An empty value leaves the placeholder as written. Raises Invalid, before building
    anything, when the result would be longer than ``max_length`` characters.
    """
    found = occurrences(body)
    values = _values_of(body, found, values)
    length = _length(body, found, values)
    if length > max_length:
        raise Invalid(
            {
                "fill": f"the filled-in text would be {length:,} characters, more than the"
                f" {max_length:,} allowed: use shorter values (a placeholder used several"
                " times repeats its value each time)"
            }
        )
    pieces: list[str] = []
    position = 0
    for occurrence in found:
        value = values[occurrence.name]
        pieces.append(body[position : occurrence.start] if value else body[position : occurrence.end])
        if value:
            pieces.append(value)
        position = occurrence.end
    pieces.append(body[position:])
    return "".join(pieces)
