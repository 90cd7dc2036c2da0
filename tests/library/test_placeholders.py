"""Filling placeholders: the filled text is bounded, however often a placeholder repeats."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from composite.library.errors import Invalid
from composite.library.placeholders import FILL_VALUE_MAX, FILLED_MAX, fill, filled_length
from composite.library.rules import BODY_MAX


def test_filled_length_is_the_length_of_the_filled_text() -> None:
    body = "Dear {{name}}, {{ name }} and {{other}} and {{unknown}}."
    values = {"name": "Ada", "other": "", "unused": "x"}
    assert filled_length(body, values) == len(fill(body, values))
    assert fill(body, values) == "Dear Ada, Ada and {{other}} and {{unknown}}."


def test_the_largest_fill_within_the_limit_is_allowed() -> None:
    body = "{{a}}" * 10
    value = "x" * (FILLED_MAX // 10)
    assert len(fill(body, {"a": value})) == FILLED_MAX
    with pytest.raises(Invalid) as refused:
        fill(body, {"a": value + "x"})
    assert "more than the 100,000 allowed" in refused.value.errors["fill"]


def test_a_placeholder_repeated_10000_times_is_refused_before_anything_is_built() -> None:
    body = "{{a}}" * (BODY_MAX // 5)
    value = "<" * FILL_VALUE_MAX
    tracemalloc.start()
    started = time.process_time()
    with pytest.raises(Invalid) as refused:
        fill(body, {"a": value})
    cpu = time.process_time() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"\nfill of 10,000 x 10,000 characters: refused in {cpu * 1000:.1f} ms CPU, peak {peak} bytes")
    assert "100,000,000 characters" in refused.value.errors["fill"]
    assert peak < 1_000_000  # the 100-million-character text is never made
    assert cpu < 1.0
