"""Line-by-line comparison of two texts at a bounded cost, whatever their shape.

``difflib.ndiff`` is roughly cubic on many short lines, and so is
``difflib.SequenceMatcher`` on some shapes (lines alternating with one repeated line:
1,000 of each took a minute). Here the work is bounded instead:

1. lines become integers, and the common prefix and suffix are cut off;
2. lines that occur exactly once in each text and in the same order (the longest such
   run, as in patience diff) anchor the two texts to each other, cutting the middle
   into small independent gaps;
3. each gap is compared with Myers' O(ND) algorithm, which gives a shortest edit script,
   while a shared budget of ``WORK_MAX`` steps lasts.

A gap that would need more than the remaining budget is shown coarsely: all its old
lines removed, then all its new lines added. The result says whether that happened.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterator, Sequence
from itertools import chain
from typing import NamedTuple

# Steps of the comparison loops (about 0.1-0.2 µs each): enough for an exact diff of a
# few hundred edits between two anchors; any diff of two 50,000-character texts stays
# well under 100 ms of CPU.
WORK_MAX = 100_000

SAME, REMOVED, ADDED = " ", "-", "+"
_RUN = re.compile(r" +|-+|\++")


class LineDiff(NamedTuple):
    """A comparison: ``ops[n]`` says what happened to the line ``texts[n]``.

    An op is ' ' (in both), '-' (only in the old) or '+' (only in the new). ``exact`` is
    False when part of it was shown coarsely. The ops are one string and the texts the
    lines themselves, so a diff of 75,000 lines allocates no object per line.
    """

    ops: str
    texts: list[str]
    exact: bool

    @property
    def changed(self) -> bool:
        """True when some line was removed or added."""
        return bool(self.ops.strip(SAME))

    def lines(self) -> Iterator[tuple[str, str]]:
        """Each line as an (op, text) pair."""
        return zip(self.ops, self.texts, strict=True)

    def runs(self) -> list[tuple[str, str]]:
        """Consecutive lines with the same op as one (op, text) pair, joined by newlines."""
        # A page shows one row per run: the coarse worst case (tens of thousands of lines
        # removed, then added) is two rows to render, not 75,000.
        return [(op, "\n".join(self.texts[start:end])) for op, start, end in self.spans()]

    def spans(self) -> list[tuple[str, int, int]]:
        """Each run of consecutive lines with the same op as (op, start, end) line numbers."""
        return [(self.ops[match.start()], match.start(), match.end()) for match in _RUN.finditer(self.ops)]


def diff_lines(old: Sequence[str], new: Sequence[str], work_max: int = WORK_MAX) -> LineDiff:
    """Compare two lists of lines: ' ' same, '-' only in old, '+' only in new."""
    return diff_sequences(old, new, [work_max])


def diff_sequences(old: Sequence[str], new: Sequence[str], budget: list[int]) -> LineDiff:
    """Compare two lists of strings (lines or words) spending from ``budget[0]``, which is updated."""
    # The budget is a one-item list so that several comparisons can share it: the word
    # diff of a request compares many pairs of lines under one bound (word_diff.py).
    ids = {line: n for n, line in enumerate(dict.fromkeys(chain(old, new)))}
    a, b = list(map(ids.__getitem__, old)), list(map(ids.__getitem__, new))
    out = _Output(a, b, old, new, budget)
    a_lo = b_lo = 0
    for a_anchor, b_anchor in [*_anchors(a, b), (len(a), len(b))]:
        out.compare(a_lo, a_anchor, b_lo, b_anchor)
        if a_anchor < len(a):
            out.add(SAME, old[a_anchor : a_anchor + 1])
        a_lo, b_lo = a_anchor + 1, b_anchor + 1
    return LineDiff("".join(out.ops), out.texts, out.exact)


def _anchors(a: list[int], b: list[int]) -> list[tuple[int, int]]:
    """Positions of the longest in-order run of lines unique to both texts (patience sort)."""
    count_a, count_b = Counter(a), Counter(b)
    where_b = {line: j for j, line in enumerate(b) if count_b[line] == 1}
    pairs = [(i, where_b[line]) for i, line in enumerate(a) if count_a[line] == 1 and line in where_b]
    tails: list[int] = []  # smallest b index ending an increasing run of each length
    tail_pair: list[int] = []  # index into pairs of that run's last element
    previous = [-1] * len(pairs)
    for n, (_, j) in enumerate(pairs):
        length = bisect_left(tails, j)
        if length == len(tails):
            tails.append(j)
            tail_pair.append(n)
        else:
            tails[length] = j
            tail_pair[length] = n
        previous[n] = tail_pair[length - 1] if length else -1
    run: list[tuple[int, int]] = []
    n = tail_pair[-1] if tail_pair else -1
    while n >= 0:
        run.append(pairs[n])
        n = previous[n]
    run.reverse()
    return run


class _Output:
    """Compares the gaps between anchors in turn, sharing one budget, into one diff."""

    def __init__(
        self, a: list[int], b: list[int], old: Sequence[str], new: Sequence[str], budget: list[int]
    ) -> None:
        self.a, self.b, self.old, self.new = a, b, old, new
        self.budget = budget
        self.ops: list[str] = []  # pieces of the ops string, one per block of lines
        self.texts: list[str] = []
        self.exact = True

    def add(self, op: str, texts: Sequence[str]) -> None:
        """Append a block of lines that share one op."""
        self.ops.append(op * len(texts))
        self.texts.extend(texts)

    def compare(self, a_lo: int, a_hi: int, b_lo: int, b_hi: int) -> None:
        """Append the lines for old[a_lo:a_hi] against new[b_lo:b_hi]."""
        a, b, old, new = self.a, self.b, self.old, self.new
        start = a_lo
        while a_lo < a_hi and b_lo < b_hi and a[a_lo] == b[b_lo]:
            a_lo, b_lo = a_lo + 1, b_lo + 1
        end = a_hi
        while a_lo < a_hi and b_lo < b_hi and a[a_hi - 1] == b[b_hi - 1]:
            a_hi, b_hi = a_hi - 1, b_hi - 1
        # Slices and joins run at C speed; the loops above and in _myers are counted.
        self.budget[0] -= (a_lo - start) + (end - a_hi)
        self.add(SAME, old[start:a_lo])
        script = None
        if a_lo < a_hi and b_lo < b_hi:
            script = _myers(a[a_lo:a_hi], b[b_lo:b_hi], self.budget)
        if script is None:
            self.exact &= not (a_lo < a_hi and b_lo < b_hi)
            self.add(REMOVED, old[a_lo:a_hi])
            self.add(ADDED, new[b_lo:b_hi])
        else:
            self._add_script(script, a_lo, b_lo)
        self.add(SAME, old[a_hi:end])

    def _add_script(self, script: list[tuple[str, int, int]], a_lo: int, b_lo: int) -> None:
        """Append an edit script, each run of changes as its removals, then its additions."""
        added: list[str] = []
        for op, i, j in script:
            if op == SAME:
                self.add(ADDED, added)
                added.clear()
                self.add(SAME, self.old[a_lo + i : a_lo + i + 1])
            elif op == REMOVED:
                self.add(REMOVED, self.old[a_lo + i : a_lo + i + 1])
            else:
                added.append(self.new[b_lo + j])
        self.add(ADDED, added)


def _myers(a: list[int], b: list[int], budget: list[int]) -> list[tuple[str, int, int]] | None:
    """A shortest edit script from a to b, or None if it costs more than the budget left."""
    n, m = len(a), len(b)
    offset = n + m + 1
    v = [0] * (2 * offset + 1)
    trace: list[list[int]] = []  # v[offset-d-1 : offset+d+2] before each round d
    for d in range(n + m + 1):
        trace.append(v[offset - d - 1 : offset + d + 2])
        budget[0] -= 3 * d + 3
        for k in range(-d, d + 1, 2):
            if k == -d or (k != d and v[offset + k - 1] < v[offset + k + 1]):
                x = v[offset + k + 1]
            else:
                x = v[offset + k - 1] + 1
            y, start = x - k, x
            while x < n and y < m and a[x] == b[y]:
                x, y = x + 1, y + 1
            budget[0] -= x - start
            v[offset + k] = x
            if x >= n and y >= m:
                return _backtrack(trace, n, m)
            if budget[0] < 0:  # checked per diagonal: one round can hold many long snakes
                return None
    raise AssertionError("an edit script of n + m steps always exists")


def _backtrack(trace: list[list[int]], x: int, y: int) -> list[tuple[str, int, int]]:
    """Walk the rounds back from the end to recover the edit script, in order."""
    script: list[tuple[str, int, int]] = []
    for d in range(len(trace) - 1, -1, -1):
        v, base, k = trace[d], d + 1, x - y  # v[base + k] is diagonal k before round d
        came_down = k == -d or (k != d and v[base + k - 1] < v[base + k + 1])
        prev_k = k + 1 if came_down else k - 1
        prev_x = v[base + prev_k] if d else 0
        prev_y = prev_x - prev_k if d else 0
        while x > prev_x and y > prev_y:
            x, y = x - 1, y - 1
            script.append((SAME, x, y))
        if d:
            script.append((ADDED, -1, prev_y) if x == prev_x else (REMOVED, prev_x, -1))
        x, y = prev_x, prev_y
    script.reverse()
    return script
