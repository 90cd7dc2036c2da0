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

from composite.library.diff import ADDED, REMOVED, SAME, LineDiff, diff_sequences

WORD_WORK_MAX = 100_000
# Steps charged per pair for what a comparison costs whatever its size (tokenising, the
# maps, lists and anchors of diff_sequences, the segments): about 20 µs measured, so at
# most 1,000 pairs a diff.
PAIR_COST = 100

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
    ``pairs[n]`` is the added line that removed line ``n`` was compared with. Lines not
    in them are shown whole. ``exact`` is False when the budget ran out before every
    pair was compared.
    """

    segments: dict[int, list[Segment]]
    pairs: dict[int, int]
    exact: bool


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
            if budget[0] <= 0:
                exact = False
                break
            budget[0] -= PAIR_COST
            compared = diff_sequences(tokens(body.texts[old_n]), tokens(body.texts[new_n]), budget)
            if not compared.exact:
                exact = False
            elif _worth_showing(compared, body.texts[old_n], body.texts[new_n]):
                segments[old_n] = _side(compared, ADDED)
                segments[new_n] = _side(compared, REMOVED)
                pairs[old_n] = new_n
    return WordDiff(segments, pairs, exact)


def _worth_showing(compared: LineDiff, old: str, new: str) -> bool:
    """True when at least half of the shorter line is common to both."""
    # Two unrelated lines still share spaces and small words: marked word by word they
    # would be a patchwork, which is harder to read than the two lines whole.
    common = sum(len(text) for op, text in compared.lines() if op == SAME)
    return 2 * common >= min(len(old), len(new))


def _side(compared: LineDiff, other: str) -> list[Segment]:
    """One line's segments: the tokens not of the other line, consecutive ones of one op joined."""
    runs: list[tuple[str, list[str]]] = []  # joined at the end: adding to a string each time is quadratic
    for op, text in compared.lines():
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
