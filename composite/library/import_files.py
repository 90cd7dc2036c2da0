"""Read an import file as it streams, item by item: the JSON export format, or CSV.

Only the file's structure is checked here (is it an export, is the CSV header usable);
each item comes out as raw fields for composite.library.transfer to validate, so that one
bad item is reported and the others still stored.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import ijson

from composite.library.errors import Invalid

EXPORT_FORMAT = "allucanget-prompts"
# CSV columns besides title and body (or the common prompts.chat names, act and prompt).
CSV_OPTIONAL = ("description", "tags", "visibility", "model_hint")
_BOM = codecs.BOM_UTF8


@dataclass(frozen=True)
class RawItem:
    """One item of a file as read: its place, and its fields or why they could not be read."""

    index: int  # among the file's items, from 0
    row: int | None  # CSV: the file's row number (the header is row 1, as a spreadsheet shows it)
    item: Any  # a JSON value, or a CSV row as a dict of the known fields


def document_items(document: Any) -> Iterator[RawItem]:
    """The items of an export document already parsed into Python values."""
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        raise Invalid({"file": f"not a prompt export (expected format {EXPORT_FORMAT!r})"})
    items = document.get("prompts")
    if not isinstance(items, list):
        raise Invalid({"prompts": "must be a list"})
    for index, item in enumerate(items):
        yield RawItem(index, None, item)


# An export nests at most four levels (the document, its list, an item, an item's tags);
# nothing a prompt tool writes comes near this, and refusing deeper input before building
# anything keeps a hostile file from costing more than its own size.
MAX_DEPTH = 32
# What one item may hold once read: its strings' characters plus a few bytes per value.
# A prompt's own fields come to about 52,000 characters at most (rules.py); an item far
# past that is refused alone, never built, so no single item holds memory of the body's size.
ITEM_MAX_WEIGHT = 1024 * 1024
_OPENS = frozenset({"start_map", "start_array"})
_CLOSES = frozenset({"end_map", "end_array"})


@dataclass(frozen=True)
class Oversize:
    """An item not built because it holds more than ITEM_MAX_WEIGHT: refused on its own."""

    weight: int


class _Events:
    """ijson's basic events, with the nesting depth counted here: Invalid past MAX_DEPTH.

    ``ijson.parse`` would give each event its dotted path ("prompts.item.item..."), built
    anew per event, which costs time and memory with the square of the depth; the reader
    needs only the depth and its own place in the outline.
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self._events = ijson.basic_parse(stream, use_float=True)
        self.depth = 0

    def __iter__(self) -> _Events:
        return self

    def __next__(self) -> tuple[str, Any]:
        event, value = next(self._events)
        if event in _OPENS:
            self.depth += 1
            if self.depth > MAX_DEPTH:
                deep = f"the JSON nests at least {self.depth} levels deep; at most {MAX_DEPTH}"
                raise Invalid({"file": deep})
        elif event in _CLOSES:
            self.depth -= 1
        return event, value


def read_json(stream: IO[bytes]) -> Iterator[RawItem]:
    """The items of an export file (a seekable stream), each built as read: memory follows one item."""
    events = _Events(_without_bom(stream))
    try:
        yield from _export_items(events)
    except ijson.JSONError as exc:
        # The parser's message quotes the input around the error: not worth showing.
        problem = "not UTF-8 text" if "UTF8" in str(exc) else "not JSON"
        raise Invalid({"file": f"this file is {problem}"}) from None
    except UnicodeDecodeError:
        raise Invalid({"file": "this file is not UTF-8 text"}) from None


def _export_items(events: _Events) -> Iterator[RawItem]:
    """The items of the document's "prompts" list; Invalid unless the outline is an export's."""
    if next(events, (None, None))[0] != "start_map":
        raise _not_an_export()
    seen: set[str] = set()
    for event, key in events:
        if event == "end_map":
            break
        kind, value = next(events)
        if key == "format":
            if kind in _OPENS or value != EXPORT_FORMAT:
                raise _not_an_export()
            seen.add("format")
        elif key == "prompts":
            if kind != "start_array":
                raise Invalid({"prompts": "must be a list"})
            seen.add("prompts")
            yield from _list_items(events)
        else:
            _skip(kind, events)  # other keys are ignored, read without building
    if next(events, None) is not None:  # the parser raises on anything after the document
        raise _not_an_export()
    if "format" not in seen:
        raise _not_an_export()
    if "prompts" not in seen:
        raise Invalid({"prompts": "must be a list"})


def _list_items(events: _Events) -> Iterator[RawItem]:
    """Each item of the list just opened, built one at a time."""
    for index, (event, value) in enumerate(events):
        if event == "end_array":
            return
        yield RawItem(index, None, _build(event, value, events))


def _build(event: str, value: Any, events: _Events) -> Any:
    """The value that starts with this event, built from the events that follow, or Oversize."""
    if event not in _OPENS:
        return value
    builder = ijson.ObjectBuilder()
    builder.event(event, value)
    bottom = events.depth - 1
    weight = 0
    while events.depth > bottom:
        event, value = next(events)
        weight += 8 + (len(value) if isinstance(value, str) else 0)
        if weight > ITEM_MAX_WEIGHT:
            _skip_to(bottom, events)
            return Oversize(weight)
        builder.event(event, value)
    return builder.value


def _skip(event: str, events: _Events) -> None:
    """Read past the value that starts with this event, building nothing."""
    if event in _OPENS:
        _skip_to(events.depth - 1, events)


def _skip_to(depth: int, events: _Events) -> None:
    """Read events until the nesting is back at depth."""
    while events.depth > depth:
        next(events)


def read_csv(stream: IO[bytes]) -> Iterator[RawItem]:
    """The rows of a CSV file with a header row, each as the fields its known columns give."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = csv.reader(text, strict=True)
    row = 1
    try:
        header = next(reader, None)
        if header is None:
            raise Invalid({"file": "the file is empty: a CSV file needs a header row"})
        columns = _columns(header)
        index = 0
        for values in reader:
            row += 1
            if not any(value.strip() for value in values):
                continue  # a blank line between rows is not an item
            given = dict(zip(header, values, strict=False))
            item = {field: given[name] for name, field in columns.items() if given.get(name) is not None}
            if "tags" in item:
                item["tags"] = split_tags(item["tags"])
            for optional in ("description", "visibility", "model_hint"):
                if item.get(optional) == "":
                    del item[optional]  # an empty cell means "not given", not "blank"
            yield RawItem(index, row, item)
            index += 1
    except UnicodeDecodeError:
        raise Invalid({"file": f"this file is not UTF-8 text (row {row + 1})"}) from None
    except csv.Error as exc:
        raise Invalid({"file": f"this file is not CSV (row {row + 1}: {_short(exc)})"}) from None
    finally:
        text.detach()  # the caller owns the stream


def split_tags(cell: str) -> list[str]:
    """A CSV tags cell: tags separated by commas; spaces inside one tag become hyphens."""
    return [re.sub(r"\s+", "-", part.strip()) for part in cell.split(",") if part.strip()]


def _columns(header: list[str]) -> dict[str, str]:
    """Each usable column of the header and the field it fills; Invalid if title or body is missing."""
    names = [name.strip().lower() for name in header]
    header[:] = names
    columns = {name: name for name in names if name in ("title", "body", *CSV_OPTIONAL)}
    for alias, field in (("act", "title"), ("prompt", "body")):
        if alias in names and field not in columns:  # "title" wins over "act" when a file has both
            columns[alias] = field
    if not {"title", "body"} <= set(columns.values()):
        needs = "a title and a body column ('title' and 'body', or 'act' and 'prompt')"
        raise Invalid({"file": f"the CSV header needs {needs}"})
    return columns


def _without_bom(stream: IO[bytes]) -> IO[bytes]:
    """The (seekable) stream past a UTF-8 byte order mark, if it starts with one."""
    if stream.read(len(_BOM)) != _BOM:
        stream.seek(0)
    return stream


def _not_an_export() -> Invalid:
    return Invalid({"file": f"not a prompt export (expected format {EXPORT_FORMAT!r})"})


def _short(exc: Exception) -> str:
    return str(exc)[:120]
