"""Cells a spreadsheet would run as formulas: guarded on CSV export, unguarded on CSV import.

A cell that begins with ``=``, ``+``, ``-`` or ``@`` (and, for some programs, a tab or a
carriage return) is read by Excel, LibreOffice and Google Sheets as a formula, which can
fetch URLs or run commands when the file is opened (OWASP's "CSV injection"). The export
puts a single quote before such a cell, which spreadsheets show as text and hide. An
import takes that quote off again, so a prompt that starts with a Markdown list ("- item")
survives a round trip through the CSV export unchanged.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
GUARD = "'"


def guarded(cell: str) -> str:
    """The cell as a spreadsheet shows it as text: one that would start a formula gets a leading quote."""
    return GUARD + cell if cell.startswith(FORMULA_STARTS) else cell


def unguarded(cell: str) -> str:
    """The cell as it was before ``guarded``: a quote before a formula's first character is dropped."""
    return cell[1:] if cell.startswith(GUARD) and cell[1:2] and cell[1:].startswith(FORMULA_STARTS) else cell
