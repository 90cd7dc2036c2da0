"""Where a Markdown text is code: fenced and indented code blocks and inline code spans.

A close reading of CommonMark, simplified where prompts do not need the rest: fences may be
indented any amount (code in list items), an indented block needs a blank line before it and
is not code when it continues a list item. One pass over the lines and one over the
backtick runs of each paragraph: linear in the text, whatever it contains.
"""

from __future__ import annotations

import re

Span = tuple[int, int]  # [start, end) offsets into the text

_FENCE = re.compile(r"[ \t]*(`{3,}|~{3,})(.*)")
_LIST_ITEM = re.compile(r" {0,3}(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)")
_BACKTICKS = re.compile(r"`+")


def code_regions(text: str) -> list[Span]:
    """The spans of ``text`` that are code, in order and not overlapping."""
    regions: list[Span] = []
    fence: tuple[str, int] | None = None  # the open fence's character and length
    fence_start = 0
    paragraph_start: int | None = None  # where the current run of prose lines began
    previous_blank = True  # the start of the text counts as after a blank line
    in_code_block = False  # the previous line was part of an indented code block
    in_list = False
    offset = 0
    for line in text.splitlines(keepends=True):
        start, offset = offset, offset + len(line)
        content = line.rstrip("\r\n")
        if fence is not None:
            closing = _FENCE.fullmatch(content)
            if closing and not closing.group(2).strip():
                run = closing.group(1)
                if run[0] == fence[0] and len(run) >= fence[1]:
                    regions.append((fence_start, offset))
                    fence, previous_blank = None, False
            continue
        blank = not content.strip()
        opening = None if blank else _FENCE.fullmatch(content)
        if opening and not (opening.group(1)[0] == "`" and "`" in opening.group(2)):
            paragraph_start = _close_paragraph(text, paragraph_start, start, regions)
            run = opening.group(1)
            fence, fence_start, in_code_block = (run[0], len(run)), start, False
            continue
        indented = content.startswith(("    ", "\t"))
        if not blank and indented and (in_code_block or previous_blank) and not in_list:
            paragraph_start = _close_paragraph(text, paragraph_start, start, regions)
            regions.append((start, offset))
            in_code_block, previous_blank = True, False
            continue
        if blank:
            paragraph_start = _close_paragraph(text, paragraph_start, start, regions)
            previous_blank = True  # a blank line inside an indented block keeps it open
            continue
        if _LIST_ITEM.match(content):
            in_list = True
        elif previous_blank and not indented:
            in_list = False  # a paragraph at the margin ends the list
        if paragraph_start is None:
            paragraph_start = start
        in_code_block, previous_blank = False, False
    if fence is not None:  # an unclosed fence runs to the end (as in CommonMark)
        regions.append((fence_start, len(text)))
    _close_paragraph(text, paragraph_start, offset, regions)
    regions.sort()
    return regions


def _close_paragraph(text: str, start: int | None, end: int, regions: list[Span]) -> None:
    """Add the code spans of the prose in [start, end); the paragraph is then closed (None)."""
    if start is not None:
        regions.extend(code_spans(text, start, end))


def code_spans(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """The inline code spans of ``text[start:end]``: a run of n backticks up to the next run of n."""
    end = len(text) if end is None else end
    runs: list[Span] = []
    for match in _BACKTICKS.finditer(text, start, end):
        begin = match.start()
        if begin > 0 and text[begin - 1] == "\\":  # an escaped backtick opens nothing
            begin += 1
            if begin == match.end():
                continue
        runs.append((begin, match.end()))
    # For each run length, the indices of the runs of that length, and how far each was used:
    # every run is looked at a bounded number of times, so a text of 50,000 backticks in
    # runs of every length is as cheap as one code span.
    by_length: dict[int, list[int]] = {}
    for index, (begin, stop) in enumerate(runs):
        by_length.setdefault(stop - begin, []).append(index)
    cursor = dict.fromkeys(by_length, 0)
    spans: list[Span] = []
    index = 0
    while index < len(runs):
        begin, stop = runs[index]
        length = stop - begin
        same, at = by_length[length], cursor[length]
        while at < len(same) and same[at] <= index:
            at += 1
        cursor[length] = at
        if at == len(same):  # no closing run: these backticks are plain text
            index += 1
            continue
        closer = same[at]
        spans.append((begin, runs[closer][1]))
        index = closer + 1
    return spans
