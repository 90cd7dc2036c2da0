"""CSV files as spreadsheets and other tools write them: separators, encodings, line ends, huge cells."""

from __future__ import annotations

import csv
import io

import pytest

from composite.db import Database
from composite.library import prompts, transfer
from composite.library.errors import Invalid
from composite.library.import_files import upload_kind
from composite.library.rules import BODY_MAX

# Rows with what real collections hold: a quote, a comma, a line break inside a cell,
# Chinese text, placeholders in two styles.
ROWS = [
    ["act", "prompt", "for_devs", "type", "contributor"],
    ["Linux Terminal", 'Act as a "Linux terminal", reply with output only.', "TRUE", "TEXT", "f"],
    ["Translator", "Translate {{text}} into ${language}.\nKeep the tone.", "FALSE", "TEXT", "g"],
    ["诗人", "请以{{主题}}为题写一首诗\uff0c语气温和\u3002", "FALSE", "TEXT", "h"],
]


def spreadsheet(rows: list[list[str]], *, separator: str = ",", encoding: str = "utf-8", bom: bool = False,
                line_end: str = "\r\n") -> bytes:  # fmt: skip
    """The bytes a spreadsheet saves: its separator, encoding, byte order mark and line ends."""
    text = io.StringIO()
    writer = csv.writer(text, delimiter=separator, lineterminator=line_end, quoting=csv.QUOTE_MINIMAL)
    writer.writerows(rows)
    data = text.getvalue().encode(encoding)
    if bom and encoding == "utf-8":
        data = b"\xef\xbb\xbf" + data
    return data


def imported(db: Database, user, data: bytes) -> transfer.ImportResult:
    """Import CSV bytes for the user as the API does."""
    return transfer.import_file(db, user, io.BytesIO(data), "csv")


@pytest.mark.parametrize(
    "saved",
    [
        {"bom": True},  # Excel: "CSV UTF-8 (Comma delimited)"
        {"line_end": "\n"},  # LibreOffice Calc's default, and most scripts
        {"separator": ";", "bom": True},  # Excel where the decimal mark is a comma (de, fr, nl, ...)
        {"separator": "\t", "encoding": "utf-16"},  # Excel: "Unicode Text", UTF-16 with its mark
        {"separator": "\t", "line_end": "\n"},  # a .tsv file
        {"separator": "|", "line_end": "\n"},  # database dumps
    ],
    ids=["excel utf-8", "libreoffice", "excel semicolons", "excel unicode text", "tsv", "bars"],
)
def test_a_spreadsheets_file_is_read_whatever_its_separator_and_encoding(
    db: Database, make_user, saved: dict
) -> None:
    user = make_user("sheets")
    result = imported(db, user, spreadsheet(ROWS, **saved))
    assert (result.created, result.refused) == (3, 0)
    stored = {p.title: p.body for p in (prompts.get_prompt(db, item.id, user.id) for item in result.items)}
    assert stored == {row[0]: row[1] for row in ROWS[1:]}


def test_a_cell_past_pythons_csv_field_limit_refuses_only_its_row(db: Database, make_user) -> None:
    # prompts.chat's CSV has one prompt of 144,260 characters: the csv module's own limit
    # (131,072) once refused the whole file.
    rows = [["act", "prompt"], *([f"Prompt {n}", f"Body {n}"] for n in range(1, 1200))]
    rows.insert(1199, ["The long one", "x" * 144_260])
    rows += [["After it", "Still read"]]
    result = imported(db, make_user("long"), spreadsheet(rows))
    assert (result.created, result.refused) == (1200, 1)
    (refused,) = [item for item in result.items if item.outcome == "refused"]
    assert (refused.row, refused.reason) == (1200, f"the body has 144,260 characters; at most {BODY_MAX:,}")
    assert refused.title == "The long one"


def test_a_cell_as_large_as_the_file_limit_is_read_and_refused_alone(db: Database, make_user) -> None:
    huge = "y" * (8 * 1024 * 1024)  # far past any field's limit, well inside the file's
    rows = [["title", "body"], ["Huge", huge], ["Small", "ok"]]
    result = imported(db, make_user("huge"), spreadsheet(rows))
    assert [item.outcome for item in result.items] == ["refused", "created"]


def test_latin_1_is_refused_with_how_to_save_it_as_utf_8(db: Database, make_user) -> None:
    # Excel's plain "CSV" in Western Europe: Windows-1252, where é is one byte no UTF-8 has.
    data = spreadsheet([["title", "body"], ["Café", "Un résumé"]], separator=";", encoding="cp1252")
    with pytest.raises(Invalid) as refused:
        imported(db, make_user("latin"), data)
    assert refused.value.errors["file"] == (
        "this file is not UTF-8 text (row 2); save it from the spreadsheet as 'CSV UTF-8'"
        " (or 'Unicode text') and upload it again"
    )


def test_a_header_without_title_and_body_is_named_in_the_refusal(db: Database, make_user) -> None:
    with pytest.raises(Invalid) as refused:
        imported(db, make_user("header"), spreadsheet([["name", "text", "notes"], ["a", "b", "c"]]))
    assert refused.value.errors["file"].endswith("this file's header is 'name', 'text', 'notes'")


def test_a_refused_file_does_not_spend_the_import_budget(db: Database, make_user) -> None:
    user = make_user("retries")
    for _ in range(int(transfer.IMPORT_RATE.split("/")[0]) + 5):  # fixing a file by trial and error
        with pytest.raises(Invalid):
            imported(db, user, b"name,text\na,b\n")
    assert imported(db, user, spreadsheet(ROWS)).created == 3


@pytest.mark.parametrize(
    ("head", "name", "media", "said"),
    [
        (b"%PDF-1.7\n", "prompts.pdf", "application/pdf", "this is a PDF"),
        (b"PK\x03\x04", "prompts.xlsx", "application/octet-stream", "saved as .xlsx or .ods"),
        (b"\xd0\xcf\x11\xe0", "prompts.xls", "application/vnd.ms-excel", "old Excel workbook"),
    ],
)
def test_a_file_that_holds_no_prompts_is_named_for_what_it_is(
    head: bytes, name: str, media: str, said: str
) -> None:
    with pytest.raises(Invalid) as refused:
        upload_kind(io.BytesIO(head + b"\x00" * 64), name, media)
    assert said in refused.value.errors["file"]
    assert "upload a .json export or a .csv file" in refused.value.errors["file"]


@pytest.mark.parametrize(
    ("start", "name", "media", "kind"),
    [
        (b"title,body\n", "x.csv", "application/vnd.ms-excel", "csv"),  # what Windows sends for a .csv
        (b"title\tbody\n", "x.tsv", "text/tab-separated-values", "csv"),
        (b"title,body\n", "x.csv", "text/plain", "csv"),
        (b'{"format":', "x.json", "application/octet-stream", "json"),
        (b'\xef\xbb\xbf {"format":', "", "", "json"),
        (b"title,body\n", "", "", "csv"),
    ],
)
def test_an_upload_is_read_by_its_name_then_its_type_then_its_start(
    start: bytes, name: str, media: str, kind: str
) -> None:
    assert upload_kind(io.BytesIO(start), name, media) == kind


def test_a_row_repeated_in_the_file_is_stored_once_and_named_as_a_repeat(db: Database, make_user) -> None:
    rows = [["title", "body"], ["Once", "the same"], ["Other", "text"], ["Once", "the same"]]
    result = imported(db, make_user("repeats"), spreadsheet(rows))
    first, _, repeat = result.items
    assert (result.created, result.unchanged) == (2, 1)
    assert (repeat.outcome, repeat.id, repeat.reason) == ("unchanged", first.id, "a repeat of row 2")


def test_the_import_says_what_new_prompts_without_a_visibility_get(db: Database, make_user) -> None:
    user = make_user("publisher")
    kept = prompts.create_prompt(db, user, title="Already mine", body="same", visibility="private")
    rows = [["title", "body", "visibility"], ["Shown", "new one", ""], ["Hidden", "own choice", "private"]]
    rows.append(["Already mine", "same", ""])
    data = spreadsheet(rows)
    result = transfer.import_file(db, user, io.BytesIO(data), "csv", visibility="public")
    shown, hidden, again = (prompts.get_prompt(db, item.id, user.id) for item in result.items)
    assert (shown.visibility, hidden.visibility) == ("public", "private")  # a row's own choice wins
    assert (again.id, again.visibility) == (kept.id, "private")  # a prompt already there keeps its own
    with pytest.raises(Invalid):
        transfer.import_file(db, user, io.BytesIO(data), "csv", visibility="everyone")


def test_the_columns_no_field_reads_are_named_in_the_report(db: Database, make_user) -> None:
    result = imported(db, make_user("columns"), spreadsheet(ROWS))  # prompts.chat's own header
    assert result.ignored_columns == ("for_devs", "type", "contributor")
