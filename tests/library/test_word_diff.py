"""Word diffs in changed lines: small where one word changed, whole lines past the budget, always cheap."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import pytest

from composite.library import diff, word_diff
from composite.library.rules import BODY_MAX
from composite.library.word_diff import Segment, WordDiff, diff_words, tokens

CPU_LIMIT = 1.0  # seconds: a generous margin over the ~100 ms the bound promises


def _words(old: str, new: str, work_max: int = word_diff.WORD_WORK_MAX) -> tuple[diff.LineDiff, WordDiff]:
    body = diff.diff_lines(old.splitlines(), new.splitlines())
    return body, diff_words(body, work_max)


def _pair(old: str, new: str) -> tuple[list[Segment], list[Segment]]:
    """The segments of a one-line text changed into another."""
    body, words = _words(old, new)
    assert body.ops == "-+"
    return words.segments[0], words.segments[1]


def _check(body: diff.LineDiff, words: WordDiff) -> None:
    """Segments join into their line, and hold only the ops their line may have."""
    for n, segments in words.segments.items():
        assert "".join(text for _, text in segments) == body.texts[n]
        assert {op for op, _ in segments} <= {" ", body.ops[n]}
    for old_n, new_n in words.pairs.items():
        assert (body.ops[old_n], body.ops[new_n]) == ("-", "+")
    # The rows hold every line of each side, in order.
    sides: tuple[list[str], list[str]] = ([], [])
    for row in word_diff.rows(body, words):
        for side, segments in zip(sides, (row.old, row.new), strict=True):
            if row.same is not None:
                side.extend(row.same.split("\n"))
            elif segments is not None:
                side.extend("".join(text for _, text in segments).split("\n"))
    assert sides == ([t for op, t in body.lines() if op != "+"], [t for op, t in body.lines() if op != "-"])


PARAGRAPH = (
    "I want you to act as a travel guide. I will write you my location and you will suggest a place"
    " to visit near my location. In some cases, I will also give you the type of places I will visit."
    " You will also suggest me places of similar type that are close to my first location. My first"
    " suggestion request is: I am in Istanbul and I want to visit only museums, then a good lunch."
)


def test_one_word_changed_in_a_long_paragraph_is_a_small_change_between_equal_text() -> None:
    assert len(PARAGRAPH) > 350
    old, new = _pair(PARAGRAPH, PARAGRAPH.replace("Istanbul", "Lisbon"))
    before, after = PARAGRAPH.split("Istanbul")
    assert old == [(" ", before), ("-", "Istanbul"), (" ", after)]
    assert new == [(" ", before), ("+", "Lisbon"), (" ", after)]


def test_punctuation_is_its_own_token() -> None:
    assert tokens("Hello, world!") == ["Hello", ",", " ", "world", "!"]
    old, new = _pair("Stop. Then go.", "Stop; then go!")
    assert old == [(" ", "Stop"), ("-", ". Then"), (" ", " go"), ("-", ".")]
    assert new == [(" ", "Stop"), ("+", "; then"), (" ", " go"), ("+", "!")]


def test_chinese_and_japanese_characters_are_tokens_each() -> None:
    assert tokens("我喜欢猫。") == ["我", "喜", "欢", "猫", "。"]
    assert tokens("ひらがなとカタカナ") == list("ひらがなとカタカナ")
    assert tokens("GPT模型 v2") == ["GPT", "模", "型", " ", "v2"]
    old, new = _pair("请把这段文字翻译成英语。", "请把这段文字翻译成法语。")
    assert old == [(" ", "请把这段文字翻译成"), ("-", "英"), (" ", "语。")]
    assert new == [(" ", "请把这段文字翻译成"), ("+", "法"), (" ", "语。")]


def test_accented_and_decomposed_letters_stay_in_their_word() -> None:
    assert tokens("café cafe\u0301 naïve") == ["café", " ", "cafe\u0301", " ", "naïve"]


def test_a_whitespace_change_is_shown() -> None:
    old, new = _pair("one  two\tthree", "one two three")
    assert old == [(" ", "one"), ("-", "  "), (" ", "two"), ("-", "\t"), (" ", "three")]
    assert new == [(" ", "one"), ("+", " "), (" ", "two"), ("+", " "), (" ", "three")]
    _, trailing = _pair("end", "end ")
    assert trailing == [(" ", "end"), ("+", " ")]


def test_space_between_two_changes_joins_them() -> None:
    old, new = _pair("keep a b c keep", "keep x y z keep")
    assert old == [(" ", "keep "), ("-", "a b c"), (" ", " keep")]
    assert new == [(" ", "keep "), ("+", "x y z"), (" ", " keep")]


def test_an_insertion_is_moved_to_start_and_end_between_words() -> None:
    # Trimming the common ends alone would give "{{city" + "}} on a budget of {{budget" + "}}.".
    old, new = _pair("Plan a trip to {{city}}.", "Plan a trip to {{city}} on a budget of {{budget}}.")
    assert old == [(" ", "Plan a trip to {{city}}.")]
    assert new == [(" ", "Plan a trip to {{city}}"), ("+", " on a budget of {{budget}}"), (" ", ".")]
    _, doubled = _pair("a big dog", "a big big dog")
    assert doubled == [(" ", "a big "), ("+", "big "), (" ", "dog")]


def test_removed_and_added_lines_pair_in_order_and_the_rest_are_whole() -> None:
    body, words = _words(
        "start\nthe first line\nthe second line\nend", "start\nthe 1st line\nend\nan added line\nanother one"
    )
    assert body.ops == " --+ ++"
    _check(body, words)
    assert words.pairs == {1: 3}
    assert words.segments[3] == [(" ", "the "), ("+", "1st"), (" ", " line")]
    assert 2 not in words.segments  # a removed line without a partner
    assert 5 not in words.segments  # added lines without one
    assert 6 not in words.segments
    assert words.exact


def test_lines_with_too_little_in_common_are_shown_whole() -> None:
    body, words = _words("Translate this into French.", "You are a poet; write me a sonnet.")
    assert body.ops == "-+"
    assert words.segments == {}
    assert words.exact


def test_past_the_budget_lines_are_shown_whole() -> None:
    old = "\n".join(f"line {n} old" for n in range(100))
    new = "\n".join(f"line {n} new" for n in range(100))
    body, words = _words(old, new, work_max=20 * word_diff.PAIR_COST)
    _check(body, words)
    assert not words.exact
    assert 0 < len(words.pairs) <= 20
    body, words = _words(old, new)
    assert words.exact
    assert len(words.pairs) == 100


def test_a_pair_too_costly_to_compare_is_shown_whole() -> None:
    # Repeated tokens give no anchors; the edits all over the line need more than the budget.
    rng = random.Random(3)
    old = " ".join(rng.choice("ab") for _ in range(2000))
    new = " ".join(rng.choice("ab") for _ in range(2000))
    body, words = _words(old, new, work_max=5000)
    assert (body.ops, words.segments, words.exact) == ("-+", {}, False)


def test_rows_put_each_pair_side_by_side_and_lines_shown_whole_together() -> None:
    body, words = _words(
        "start\nthe first line\nthe second line\nend", "start\nthe 1st line\nend\nnew\nlines"
    )
    assert word_diff.rows(body, words) == [
        word_diff.Row("start", None, None),
        word_diff.Row(None, words.segments[1], words.segments[3]),
        word_diff.Row(None, [(" ", "the second line")], None),
        word_diff.Row("end", None, None),
        word_diff.Row(None, None, [(" ", "new\nlines")]),
    ]
    body, words = _words("a\nb\nkept", "c\nd\nkept")
    assert word_diff.rows(body, words) == [
        word_diff.Row(None, [(" ", "a\nb")], [(" ", "c\nd")]),
        ("kept", None, None),
    ]


def test_the_rows_of_a_huge_diff_are_bounded_by_the_budget() -> None:
    body, words = _words(
        "".join(f"x{k} same\nc\n" for k in range(5000)), "".join(f"y{k} same\nc\n" for k in range(5000))
    )
    assert not body.exact  # the line diff was coarse: 9,999 lines removed, then 9,999 added
    assert len(words.pairs) <= word_diff.WORD_WORK_MAX // word_diff.PAIR_COST
    assert len(word_diff.rows(body, words)) <= 2 * len(words.pairs) + 3
    _check(body, words)


def test_small_random_pairs_round_trip() -> None:
    rng = random.Random(1)
    for _ in range(2000):
        old = "\n".join("".join(rng.choice("ab ,.我") for _ in range(rng.randint(0, 8))) for _ in range(3))
        new = "\n".join("".join(rng.choice("ab ,.我") for _ in range(rng.randint(0, 8))) for _ in range(3))
        body, words = _words(old, new, work_max=rng.choice([0, 60, 200, 10**6]))
        _check(body, words)


N = BODY_MAX
_WORDS = [f"w{n}" for n in range(N)]


def _unique_words(length: int) -> str:
    return " ".join(_WORDS)[:length]


def _every_other_word_changed(_: random.Random) -> tuple[str, str]:
    old = _unique_words(N)
    new = " ".join(word + "x" if n % 2 else word for n, word in enumerate(old.split(" ")))
    return old, new[:N]


def _some_words_changed(rng: random.Random, count: int) -> tuple[str, str]:
    words = _unique_words(N).split(" ")
    for n in rng.sample(range(0, len(words) - 1, 3), count):  # apart, so that no two changes join
        words[n] = "x" + words[n][1:]
    return _unique_words(N), " ".join(words)


def _repeated_tokens_changed(rng: random.Random) -> tuple[str, str]:
    old = ["a"] * (N // 2)
    new = list(old)
    for _ in range(500):
        new[rng.randrange(len(new))] = "b"
    return " ".join(old), " ".join(new)


# Each shape: two bodies of up to BODY_MAX characters, costly for the word diff.
SHAPES: dict[str, Callable[[random.Random], tuple[str, str]]] = {
    "one 50,000-character line, every other word changed": _every_other_word_changed,
    "one 50,000-character line, one word changed": lambda _: (_unique_words(N), "x" + _unique_words(N)[1:]),
    "one 50,000-character line, 100 words changed": lambda rng: _some_words_changed(rng, 100),
    "one line of one repeated word, 500 changed": _repeated_tokens_changed,
    "one line of one repeated character, the middle one changed": lambda _: (
        "a" * N,
        "a" * (N // 2) + "b" + "a" * (N // 2 - 1),
    ),
    "one line of Chinese, every tenth character changed": lambda rng: (
        "".join(chr(0x4E00 + n % 500) for n in range(N)),
        "".join("变" if n % 10 == 0 else chr(0x4E00 + n % 500) for n in range(N)),
    ),
    "one line of punctuation, some changed": lambda rng: (
        ".," * (N // 2),
        "".join(rng.choice([".,", ".;"]) for _ in range(N // 2)),
    ),
    "25,000 one-character lines, all changed": lambda _: ("a\n" * (N // 2), "b\n" * (N // 2)),
    "changed lines alternating with unique unchanged ones": lambda _: (
        "".join(f"u{k}\nline {k} x\n" for k in range(N // 16))[:N],
        "".join(f"u{k}\nline {k} y\n" for k in range(N // 16))[:N],
    ),
    "7,000 lines removed, one kept, 7,000 added (lines reversed)": lambda _: (
        "".join(f"l{k}\n" for k in range(N // 7)),
        "".join(f"l{k}\n" for k in reversed(range(N // 7))),
    ),
    "12,500 short lines, one word changed in each": lambda _: (
        "".join(f"a {k}\n" for k in range(N // 8))[:N],
        "".join(f"b {k}\n" for k in range(N // 8))[:N],
    ),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_a_word_diff_of_any_shape_is_cheap(shape: str) -> None:
    old, new = SHAPES[shape](random.Random(shape))
    assert len(old) <= BODY_MAX
    assert len(new) <= BODY_MAX
    body = diff.diff_lines(old.splitlines(), new.splitlines())
    started = time.process_time()
    words = diff_words(body)
    cpu = time.process_time() - started
    segments = sum(map(len, words.segments.values()))
    print(
        f"\nword diff of {shape}: {cpu * 1000:.1f} ms CPU, {len(words.pairs)} pairs, {segments} segments,"
        f" exact={words.exact}"
    )
    assert cpu < CPU_LIMIT
    _check(body, words)
    if "100 words" in shape:
        assert words.exact
        assert sum(op == "+" for op, _ in words.segments[1]) == 100
