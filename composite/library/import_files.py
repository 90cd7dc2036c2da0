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
from typing import IO, Any, Literal

import ijson

from composite.library.errors import Invalid
from composite.library.spreadsheet import unguarded

EXPORT_FORMAT = "allucanget-prompts"
# CSV columns besides title and body (or the common prompts.chat names, act and prompt).
CSV_OPTIONAL = ("description", "tags", "visibility", "model_hint")
# Other names a column may have, and the field it fills: prompts.chat's, and the dates of
# the site's own CSV export (composite.library.export).
CSV_ALIASES = {"act": "title", "prompt": "body", "created": "created_at", "updated": "updated_at"}
# The largest file an import takes: a real collection of a few thousand prompts (1,525 of
# them make 4.2 MB) with room to spare. It is read as a stream (spooled to disk, parsed
# item by item), so its size costs disk and time, not memory of its size several times
# over. A CSV cell may be as large: Python's csv module refuses
# a field past its limit (131,072 characters by default) and so the whole file, where a
# cell over a prompt field's limit should cost only its own row (composite.library.transfer
# says which and how long). The limit is the csv module's, process-wide; nothing else here
# reads CSV.
IMPORT_MAX_BYTES = 64 * 1024 * 1024
csv.field_size_limit(IMPORT_MAX_BYTES)
# Separators a CSV file may use: spreadsheets in many locales write ';', "Unicode text"
# exports and .tsv files a tab.
CSV_SEPARATORS = (",", ";", "\t", "|")
_BOM = codecs.BOM_UTF8
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
# The start of a file read to find its header line: far longer than any header.
_HEADER_SAMPLE = 64 * 1024


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
# A prompt's own fields come to about 52,000 characters at most (rules.py), and an export
# item carries every earlier version too: 8 MiB is over 150 versions of the largest body, or
# thousands of ordinary ones. An item past it is refused alone, never built, so no single
# item holds memory of the body's size.
ITEM_MAX_WEIGHT = 8 * 1024 * 1024
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


FileKind = Literal["json", "csv"]
# Media types of CSV as browsers and tools send them: Windows labels a .csv with Excel's type.
CSV_MEDIA_TYPES = frozenset(
    {"text/csv", "application/csv", "text/tab-separated-values", "application/vnd.ms-excel"}
)
CSV_SUFFIXES = (".csv", ".tsv", ".tab")
# Files people pick by mistake, by their first bytes: what to say instead of "not JSON".
_NOT_PROMPTS = (
    (b"%PDF", "this is a PDF"),
    (b"PK\x03\x04", "this is a zip archive, or a spreadsheet saved as .xlsx or .ods"),
    (b"\xd0\xcf\x11\xe0", "this is an old Excel workbook (.xls)"),
)
_UPLOAD_HINT = "upload a .json export or a .csv file (from a spreadsheet: save as 'CSV UTF-8')"


def media_kind(media_type: str) -> FileKind | None:
    """The reader a body of this media type needs (parameters ignored), or None."""
    media = media_type.split(";", 1)[0].strip().lower()
    if media in CSV_MEDIA_TYPES:
        return "csv"
    if media == "application/json" or media.endswith("+json"):
        return "json"
    return None


def upload_kind(stream: IO[bytes], filename: str, media_type: str) -> FileKind:
    """The reader an uploaded file needs, from its first bytes, its name and then its type.

    The name goes before the type: browsers label a .csv as text/plain, Excel's type or
    nothing, depending on the system. A file of neither kind is refused with what it is.
    """
    head = stream.read(8)
    stream.seek(0)
    for magic, what in _NOT_PROMPTS:
        if head.startswith(magic):
            raise Invalid({"file": f"{what}; {_UPLOAD_HINT}"})
    name = filename.lower()
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    if name.endswith(".json"):
        return "json"
    if kind := media_kind(media_type):
        return kind
    # Unnamed and untyped: an export starts with an object, after any byte order mark.
    return "json" if head.removeprefix(_BOM).lstrip()[:1] == b"{" else "csv"


def read_csv(stream: IO[bytes], ignored: list[str] | None = None) -> Iterator[RawItem]:
    """The rows of a CSV file with a header row, each as the fields its known columns give.

    The header's other columns are added to ``ignored``, for the report to name.

    UTF-8 (with or without a byte order mark) or UTF-16 with one, as spreadsheets save
    "Unicode text"; separated by commas, semicolons, tabs or bars, whichever the header
    line holds most of outside quotes.
    """
    encoding = _csv_encoding(stream)
    separator = _separator(stream, encoding)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    reader = csv.reader(text, delimiter=separator, strict=True)
    row = 1
    try:
        header = next(reader, None)
        if header is None:
            raise Invalid({"file": "the file is empty: a CSV file needs a header row"})
        columns = _columns(header)
        if ignored is not None:
            ignored += [name for name in dict.fromkeys(header) if name and name not in columns]
        index = 0
        for values in reader:
            row += 1
            if not any(value.strip() for value in values):
                continue  # a blank line between rows is not an item
            given = dict(zip(header, map(unguarded, values), strict=False))
            item = {field: given[name] for name, field in columns.items() if given.get(name) is not None}
            if "tags" in item:
                item["tags"] = split_tags(item["tags"])
            for optional in ("description", "visibility", "model_hint", "created_at", "updated_at"):
                if item.get(optional) == "":
                    del item[optional]  # an empty cell means "not given", not "blank"
            yield RawItem(index, row, item)
            index += 1
    except UnicodeDecodeError:
        raise Invalid({"file": f"this file is not UTF-8 text (row {row + 1}); {_SAVE_AS_UTF8}"}) from None
    except csv.Error as exc:
        raise Invalid({"file": f"this file is not CSV (row {row + 1}: {_short(exc)})"}) from None
    finally:
        text.detach()  # the caller owns the stream


_SAVE_AS_UTF8 = "save it from the spreadsheet as 'CSV UTF-8' (or 'Unicode text') and upload it again"


def _csv_encoding(stream: IO[bytes]) -> str:
    """The codec for the (seekable) stream: UTF-16 when it starts with its byte order mark, else UTF-8."""
    start = stream.read(2)
    stream.seek(0)
    # The UTF-16 codec reads the mark and the byte order from it; utf-8-sig drops a UTF-8 mark.
    return "utf-16" if start in _UTF16_BOMS else "utf-8-sig"


def _separator(stream: IO[bytes], encoding: str) -> str:
    """The separator the header line uses most outside quotes; a comma if it has none."""
    sample = stream.read(_HEADER_SAMPLE)
    stream.seek(0)
    if encoding == "utf-16":
        sample = sample[: len(sample) // 2 * 2]  # whole code units only
    line = sample.decode(encoding, errors="replace").split("\n", 1)[0]
    unquoted = re.sub(r'"[^"]*"?', "", line)
    counts = {separator: unquoted.count(separator) for separator in CSV_SEPARATORS}
    best = max(CSV_SEPARATORS, key=lambda separator: counts[separator])  # the first of a tie: ','
    return best if counts[best] else ","


def split_tags(cell: str) -> list[str]:
    """A CSV tags cell: tags separated by commas; spaces inside one tag become hyphens."""
    return [re.sub(r"\s+", "-", part.strip()) for part in cell.split(",") if part.strip()]


def _columns(header: list[str]) -> dict[str, str]:
    """Each usable column of the header and the field it fills; Invalid if title or body is missing."""
    names = [name.strip().lower() for name in header]
    header[:] = names
    columns = {name: name for name in names if name in ("title", "body", *CSV_OPTIONAL)}
    for alias, field in CSV_ALIASES.items():
        if alias in names and field not in columns.values():  # "title" wins over "act" when a file has both
            columns[alias] = field
    if not {"title", "body"} <= set(columns.values()):
        needs = "a title and a body column ('title' and 'body', or 'act' and 'prompt')"
        found = ", ".join(repr(name[:40]) for name in names[:12]) + (", ..." if len(names) > 12 else "")
        raise Invalid({"file": f"the CSV header needs {needs}; this file's header is {found}"})
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
