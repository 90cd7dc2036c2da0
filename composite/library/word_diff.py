"""Which words changed inside the changed lines of a line diff, at a bounded cost.

Most prompts are one paragraph: a one-word edit is a whole line removed and added. Here
each run of removed lines is paired, in order, with the run of added lines after it, and
each pair is compared by tokens (words, runs of whitespace, single punctuation marks;
single characters in Chinese and Japanese, which put no spaces between words) with the
line diff's own machinery (diff.py: anchors, trimmed ends, Myers under a budget).

All pairs of one diff share a budget of ``WORD_WORK_MAX`` steps, and each pair is charged
``PAIR_COST`` more for its fixed overhead, so that tens of thousands of short changed
lines stay cheap. A pair that the budget does not cover, or that has too little in
common to be worth showing word by word, is shown as a whole line, as before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise
from typing import NamedTuple

from composite.library.diff import ADDED, REMOVED, SAME, LineDiff, diff_sequences

WORD_WORK_MAX = 100_000
# Steps charged per pair for what a comparison costs whatever its size (tokenising, the
# maps, lists and anchors of diff_sequences, the segments): about 20 µs measured, so at
# most 1,000 pairs a diff.
PAIR_COST = 100
# How far an insertion or deletion may move to end on a word boundary (see _slide).
SLIDE_MAX = 8

# Han ideographs (with their extensions and compatibility forms), radicals, kana and
# bopomofo: scripts written without spaces, where each character is a token.
_CJK = (
    "\u2e80-\u2fdf\u3040-\u30ff\u3100-\u312f\u31a0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    "\U00020000-\U0003134f"
)
_TOKEN = re.compile(rf"[{_CJK}]|(?:[^\W{_CJK}]|[\u0300-\u036f])+|\s+|.", re.DOTALL)

Segment = tuple[str, str]  # (op, text): op ' ' in both lines, '-' only in the old, '+' only in the new


@dataclass(frozen=True)
class WordDiff:
    """The word-level changes of a line diff's paired lines.

    ``segments[n]`` splits line ``n`` of the line diff into what the pair has in common
    (' ') and what only this line has ('-' on a removed line, '+' on an added one);
    ``pairs[n]`` is the added line shown beside removed line ``n``, marked word by word.
    Lines not in them are shown whole. ``exact`` is False when the budget ran out before every
    pair was compared.
    """

    segments: dict[int, list[Segment]]
    pairs: dict[int, int]
    exact: bool


class Row(NamedTuple):
    """One row of a side-by-side view: unchanged text across both sides, or the old beside the new.

    ``same`` is the text of a run of unchanged lines (then ``old`` and ``new`` are None);
    otherwise ``old`` and ``new`` are a side's segments (None: nothing on that side). A
    paired line is marked word by word; lines shown whole are one unmarked (' ') segment.
    """

    same: str | None
    old: list[Segment] | None
    new: list[Segment] | None


def tokens(line: str) -> list[str]:
    """A line cut into words, runs of whitespace and single other characters."""
    return _TOKEN.findall(line)


def diff_words(body: LineDiff, work_max: int = WORD_WORK_MAX) -> WordDiff:
    """Compare each removed line with the added line in the same place of its run of changes."""
    budget = [work_max]
    segments: dict[int, list[Segment]] = {}
    pairs: dict[int, int] = {}
    exact = True
    # Each run of changes is its removed lines, then its added ones (diff.py). Found from the
    # runs of one op: a regex r"-+\++" would backtrack from every line of a long run of
    # removed lines with no added ones after it, in quadratic time.
    runs = body.spans()
    for (op, old_lo, old_hi), (next_op, new_lo, new_hi) in pairwise(runs):
        if (op, next_op) != (REMOVED, ADDED):
            continue
        for old_n, new_n in zip(range(old_lo, old_hi), range(new_lo, new_hi), strict=False):
            if body.texts[old_n] == body.texts[new_n]:
                continue  # in a coarse stretch: nothing to mark, and shown whole the rows stay few
            if budget[0] <= 0:
                exact = False
                break
            budget[0] -= PAIR_COST
            compared = diff_sequences(tokens(body.texts[old_n]), tokens(body.texts[new_n]), budget)
            if not compared.exact:
                exact = False
            elif _worth_showing(compared, body.texts[old_n], body.texts[new_n]):
                ops = _slide(compared)
                segments[old_n] = _side(ops, compared.texts, ADDED)
                segments[new_n] = _side(ops, compared.texts, REMOVED)
                pairs[old_n] = new_n
    return WordDiff(segments, pairs, exact)


def _worth_showing(compared: LineDiff, old: str, new: str) -> bool:
    """True when the two lines have something in common, and at least half of the shorter one."""
    # Two unrelated lines still share spaces and small words: marked word by word they
    # would be a patchwork, which is harder to read than the two lines whole. An empty
    # line has nothing to share: marked, it would only repeat the other line.
    common = sum(len(text) for op, text in compared.lines() if op == SAME)
    return common > 0 and 2 * common >= min(len(old), len(new))


def _slide(compared: LineDiff) -> str:
    """The ops with each lone insertion or deletion moved to where it starts and ends best."""
    # Trimming the common ends is greedy: "{{city}}." to "{{city}} on {{budget}}." comes
    # out as "{{city" + "}} on {{budget" + "}}.". Moving an insertion whose first token
    # equals the one after it (or last equals the one before) describes the same change;
    # of those places, the one whose two ends fall between words is the one a person sees.
    ops, texts = list(compared.ops), compared.texts
    for op, start, end in compared.spans():
        if op == SAME:
            continue
        best, best_score = 0, _boundary(texts, start) + _boundary(texts, end)
        for step in (1, -1):
            shift = 0
            while abs(shift) < SLIDE_MAX:
                lo, hi = start + shift, end + shift
                if step > 0 and not (hi < len(ops) and ops[hi] == SAME and texts[lo] == texts[hi]):
                    break
                if step < 0 and not (lo > 0 and ops[lo - 1] == SAME and texts[lo - 1] == texts[hi - 1]):
                    break
                shift += step
                score = _boundary(texts, start + shift) + _boundary(texts, end + shift)
                if score > best_score:
                    best, best_score = shift, score
        if best:
            ops[start:end] = SAME * (end - start)
            ops[start + best : end + best] = op * (end - start)
    return "".join(ops)


def _boundary(texts: list[str], n: int) -> int:
    """How good a place to start or end a change the point before token ``n`` is."""
    if n == 0 or n == len(texts):
        return 3
    before, after = texts[n - 1], texts[n]
    if before.isspace() or after.isspace():
        return 2
    return 1 if not (before[-1].isalnum() and after[0].isalnum()) else 0


def _side(ops: str, texts: list[str], other: str) -> list[Segment]:
    """One line's segments: the tokens not of the other line, consecutive ones of one op joined."""
    runs: list[tuple[str, list[str]]] = []  # joined at the end: adding to a string each time is quadratic
    for op, text in zip(ops, texts, strict=True):
        if op == other:
            continue
        if runs and runs[-1][0] == op:
            runs[-1][1].append(text)
        elif len(runs) >= 2 and op != SAME and runs[-2][0] == op and "".join(runs[-1][1]).isspace():
            # Whitespace between two changes joins them: "<del>a b</del>", not "<del>a</del> <del>b</del>".
            runs[-2][1].extend([*runs.pop()[1], text])
        else:
            runs.append((op, [text]))
    return [(op, "".join(texts)) for op, texts in runs]


def rows(body: LineDiff, words: WordDiff) -> list[Row]:
    """The diff as rows, each pair of lines compared word by word on its own row."""
    # Lines shown whole share a row per stretch, as the line diff's runs do: the coarse
    # worst case (tens of thousands of lines) stays a few rows, and rows are at most
    # twice the pairs (each costs PAIR_COST) plus the runs.
    out: list[Row] = []
    spans = body.spans()
    k = 0
    while k < len(spans):
        op, lo, hi = spans[k]
        k += 1
        if op == SAME:
            out.append(Row("\n".join(body.texts[lo:hi]), None, None))
            continue
        old_lo, old_hi, new_lo, new_hi = (lo, hi, hi, hi) if op == REMOVED else (lo, lo, lo, hi)
        if op == REMOVED and k < len(spans) and spans[k][0] == ADDED:
            new_lo, new_hi = spans[k][1], spans[k][2]
            k += 1
        old_at, new_at = old_lo, new_lo
        for old_n in range(old_lo, min(old_hi, old_lo + new_hi - new_lo)):
            new_n = words.pairs.get(old_n)
            if new_n is not None:
                out.extend(_whole(body, old_at, old_n, new_at, new_n))
                out.append(Row(None, words.segments[old_n], words.segments[new_n]))
                old_at, new_at = old_n + 1, new_n + 1
        out.extend(_whole(body, old_at, old_hi, new_at, new_hi))
    return out


def _whole(body: LineDiff, old_lo: int, old_hi: int, new_lo: int, new_hi: int) -> list[Row]:
    """A row for the lines old_lo:old_hi beside new_lo:new_hi shown whole, if there are any."""
    if old_lo == old_hi and new_lo == new_hi:
        return []
    old = [(SAME, "\n".join(body.texts[old_lo:old_hi]))] if old_lo < old_hi else None
    new = [(SAME, "\n".join(body.texts[new_lo:new_hi]))] if new_lo < new_hi else None
    return [Row(None, old, new)]
