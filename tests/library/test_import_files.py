"""The import reader on hostile shapes: depth refused before anything is built, oversize items alone."""

from __future__ import annotations

import io
import json
import time

import pytest

from composite.library.errors import Invalid
from composite.library.import_files import ITEM_MAX_WEIGHT, MAX_DEPTH, Oversize, read_json


def items(document: bytes) -> list[object]:
    """What the reader yields for a whole file."""
    return [raw.item for raw in read_json(io.BytesIO(document))]


@pytest.mark.parametrize(
    ("head", "tail"),
    [
        (b'{"format":"allucanget-prompts","prompts":[', b"]}"),
        (b'{"x":', b',"format":"allucanget-prompts","prompts":[]}'),
        (b'{"format":"allucanget-prompts","prompts":[{"title":"t","body":"b","tags":', b"}]}"),
    ],
    ids=["inside prompts", "outside prompts", "inside an item"],
)
def test_nesting_past_the_limit_is_refused_naming_depth_and_limit(head: bytes, tail: bytes) -> None:
    for depth in (MAX_DEPTH + 1, 500_000):
        with pytest.raises(Invalid) as refused:
            items(head + b"[" * depth + b"]" * depth + tail)
        assert refused.value.errors == {
            "file": f"the JSON nests at least {MAX_DEPTH + 1} levels deep; at most {MAX_DEPTH}"
        }


def test_nesting_within_the_limit_is_read() -> None:
    depth = MAX_DEPTH - 2  # the document and its list are two levels
    document = b'{"format":"allucanget-prompts","prompts":[' + b"[" * depth + b"]" * depth + b"]}"
    assert items(document) == [json.loads(b"[" * depth + b"]" * depth)]


def test_reading_a_nested_file_costs_time_linear_in_its_size() -> None:
    def cost(size: int) -> float:
        body = b'{"x":' + b"[" * size + b"]" * size + b"}"
        started = time.thread_time()
        with pytest.raises(Invalid):
            items(body)
        return time.thread_time() - started

    # Refused at depth 33 whatever follows: a million levels cost what a thousand do.
    assert cost(1_000_000) < 0.05


def test_an_oversize_item_is_refused_alone_and_never_built() -> None:
    junk = ",".join(["1"] * (ITEM_MAX_WEIGHT // 4))
    document = (
        '{"format":"allucanget-prompts","prompts":['
        f'{{"title":"big","body":"b","junk":[{junk}]}},{{"title":"ok","body":"fine"}}]}}'
    ).encode()
    first, second = items(document)
    assert isinstance(first, Oversize)
    assert second == {"title": "ok", "body": "fine"}


def test_an_item_at_the_largest_real_size_is_read_whole() -> None:
    item = {"title": "t" * 200, "body": "长" * 50_000, "description": "d" * 500, "tags": ["a"] * 10}
    document = json.dumps({"format": "allucanget-prompts", "prompts": [item]}).encode()
    assert items(document) == [item]
