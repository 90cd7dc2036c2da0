"""The import reader on hostile shapes: depth refused before anything is built, oversize items alone."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from pathlib import Path

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


class CountingStream(io.BytesIO):
    """A file that counts the bytes read from it."""

    taken = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.taken += len(data)
        return data


def test_refusing_a_deeply_nested_file_reads_only_its_start() -> None:
    body = b'{"x":' + b"[" * 1_000_000 + b"]" * 1_000_000 + b"}"
    stream = CountingStream(body)
    started = time.thread_time()
    with pytest.raises(Invalid):
        list(read_json(stream))
    # Counted, not timed: refused at level 33 within the parser's first buffer (64 KiB),
    # whatever follows. The CPU bound only catches a return of the quadratic reader
    # (minutes at this depth), with a wide margin for a busy machine.
    assert stream.taken <= 128 * 1024 < len(body) // 10
    assert time.thread_time() - started < 0.5


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


def test_one_long_string_costs_about_twice_its_size_and_no_more(tmp_path: Path) -> None:
    """The worst a single JSON value can cost: the parser's token plus the str made of it."""
    size = 32 * 1024 * 1024
    path = tmp_path / "long.json"
    path.write_bytes(
        b'{"format":"allucanget-prompts","prompts":[{"title":"t","body":"' + b"a" * size + b'"}]}'
    )
    # A process of its own, so that its peak resident size is the reader's alone.
    script = (
        "import resource, sys\n"
        "from composite.library.import_files import read_json\n"
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "with open(sys.argv[1], 'rb') as f:\n"
        "    kinds = [type(raw.item).__name__ for raw in read_json(f)]\n"
        "print(kinds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True
    )
    kinds, grown_kib = done.stdout.rsplit(" ", 1)
    assert kinds == "['Oversize']"  # refused alone, as any item past ITEM_MAX_WEIGHT
    assert int(grown_kib) * 1024 < 3 * size, f"grew {int(grown_kib) // 1024} MiB for a 32 MiB string"
