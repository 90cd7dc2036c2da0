"""Line diffs: correct for every input, minimal where exact, bounded in CPU for every shape."""

from __future__ import annotations

import random
import string
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from composite.library import diff, history
from composite.library.history import PromptVersion
from composite.library.rules import BODY_MAX

CPU_LIMIT = 1.0  # seconds: a generous margin over the 100 ms the bound promises


def _sides(result: diff.LineDiff) -> tuple[list[str], list[str]]:
    """The old and the new text that a diff describes."""
    lines = list(result.lines())
    return [t for op, t in lines if op != "+"], [t for op, t in lines if op != "-"]


def _lcs(a: list[str], b: list[str]) -> int:
    """Length of a longest common subsequence (quadratic: small inputs only)."""
    row = [0] * (len(b) + 1)
    for x in a:
        previous_diagonal = 0
        for j, y in enumerate(b):
            previous_diagonal, row[j + 1] = (
                row[j + 1],
                previous_diagonal + 1 if x == y else max(row[j + 1], row[j]),
            )
    return row[-1]


def test_small_inputs_round_trip_and_myers_is_minimal() -> None:
    rng = random.Random(1)
    for _ in range(3000):
        alphabet = "abcd"[: rng.randint(1, 4)]
        a = [rng.choice(alphabet) for _ in range(rng.randint(0, 10))]
        b = [rng.choice(alphabet) for _ in range(rng.randint(0, 10))]
        result = diff.diff_lines(a, b)
        assert result.exact
        assert _sides(result) == (a, b)
        coarse = diff.diff_lines(a, b, work_max=rng.randint(0, 20))
        assert _sides(coarse) == (a, b)
        if a and b:
            script = diff._myers([ord(c) for c in a], [ord(c) for c in b], [10**9])
            assert script is not None
            assert sum(op != " " for op, _, _ in script) == len(a) + len(b) - 2 * _lcs(a, b)


def test_a_run_of_changes_lists_removals_before_additions() -> None:
    result = diff.diff_lines(["one", "two", "three"], ["one", "2", "3", "three"])
    assert list(result.lines()) == [(" ", "one"), ("-", "two"), ("+", "2"), ("+", "3"), (" ", "three")]
    assert result.runs() == [(" ", "one"), ("-", "two"), ("+", "2\n3"), (" ", "three")]


def test_unique_lines_anchor_a_text_with_many_edits() -> None:
    # 600 scattered edits are more than the budget allows in one gap; the unchanged
    # unique lines between them keep the diff exact.
    old = [f"line {n}" for n in range(3000)]
    new = [f"line {n}!" if n % 5 == 0 else f"line {n}" for n in range(3000)]
    result = diff.diff_lines(old, new)
    assert result.exact
    assert result.ops.count("-") == 600


def test_beyond_the_budget_the_middle_is_shown_coarsely() -> None:
    old = [f"x{n}" if n % 2 else "c" for n in range(2000)]
    new = [f"y{n}" if n % 2 else "c" for n in range(2000)]
    result = diff.diff_lines(["start", *old, "end"], ["start", *new, "end"], work_max=1000)
    assert not result.exact
    lines = list(result.lines())
    assert lines[0] == (" ", "start")
    assert lines[-1] == (" ", "end")
    assert _sides(result) == (["start", *old, "end"], ["start", *new, "end"])


def _random_text(rng: random.Random, size: int) -> str:
    return "".join(rng.choice(string.ascii_letters + " \n") for _ in range(size))


def _mutated(rng: random.Random, text: str, edits: int) -> tuple[str, str]:
    chars = list(text)
    for _ in range(edits):
        chars[rng.randrange(len(chars))] = rng.choice("xyz\n")
    return text, "".join(chars)


def _lines_edited(rng: random.Random, share: float) -> tuple[str, str]:
    lines = "\n".join(f"line {n} {rng.random():.6f}" for n in range(3000))[:BODY_MAX].split("\n")
    edited = [line + "!" if rng.random() < share else line for line in lines]
    return "\n".join(lines), "\n".join(edited)[:BODY_MAX]


N = BODY_MAX
# Each shape: two bodies of up to BODY_MAX characters, built from a seeded generator.
SHAPES: dict[str, Callable[[random.Random], tuple[str, str]]] = {
    "50,000 empty lines against 25,000 one-char lines": lambda _: ("x" + "\n" * (N - 1), "a\n" * (N // 2)),
    "25,000 one-char lines, all changed": lambda _: ("a\n" * (N // 2), "b\n" * (N // 2)),
    "25,000 one-char lines, the same": lambda _: ("a\n" * (N // 2), "a\n" * (N // 2)),
    "25,000 one-char lines, one changed in the middle": lambda _: (
        "a\n" * (N // 2),
        "a\n" * (N // 4) + "b\n" + "a\n" * (N // 4 - 1),
    ),
    "two repeated lines, shifted by one": lambda _: ("a\nb\n" * (N // 4), "b\na\n" * (N // 4)),
    "changed lines alternating with one repeated line": lambda _: (
        "".join(f"x{k}\nc\n" for k in range(N // 9)),
        "".join(f"y{k}\nc\n" for k in range(N // 9)),
    ),
    "changed lines alternating with unique unchanged ones": lambda _: (
        "".join(f"u{k}\nx{k}\n" for k in range(N // 14)),
        "".join(f"u{k}\ny{k}\n" for k in range(N // 14)),
    ),
    "random lines of three letters": lambda rng: (
        "\n".join(rng.choice("abc") for _ in range(N // 2)),
        "\n".join(rng.choice("abc") for _ in range(N // 2)),
    ),
    "lines in reverse order": lambda _: (
        "".join(f"l{k}\n" for k in range(N // 7)),
        "".join(f"l{k}\n" for k in reversed(range(N // 7))),
    ),
    "one 50,000-character line, last character changed": lambda _: ("a" * N, "a" * (N - 1) + "b"),
    "two unrelated random texts": lambda rng: (_random_text(rng, N), _random_text(rng, N)),
    "random text with 200 characters changed": lambda rng: _mutated(rng, _random_text(rng, N), 200),
    "mostly equal lines, 1% edited": lambda rng: _lines_edited(rng, 0.01),
    "mostly equal lines, 10% edited": lambda rng: _lines_edited(rng, 0.10),
    "mostly equal lines, half edited": lambda rng: _lines_edited(rng, 0.5),
}


def _version(number: int, body: str) -> PromptVersion:
    return PromptVersion(1, number, "t", "", body, "", [], "public", datetime.now(UTC))


@pytest.mark.parametrize("shape", SHAPES)
def test_a_diff_of_any_shape_is_cheap(shape: str) -> None:
    old_body, new_body = SHAPES[shape](random.Random(shape))
    assert len(old_body) <= BODY_MAX
    assert len(new_body) <= BODY_MAX
    old, new = _version(1, old_body), _version(2, new_body)
    started = time.process_time()
    result = history.diff_versions(old, new).body
    cpu = time.process_time() - started
    print(f"\ndiff of {shape}: {cpu * 1000:.1f} ms CPU, {len(result.ops)} lines, exact={result.exact}")
    assert cpu < CPU_LIMIT
    assert _sides(result) == (old_body.splitlines(), new_body.splitlines())
