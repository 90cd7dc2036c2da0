"""How far each import under way has got, for the page waiting on it to ask.

Only this process imports, so it knows each import's progress exactly, with nothing
stored: the import moves its ``Progress`` as it reads and stores, and the upload page
polls it by the key it chose when it sent the file. A key belongs to the user who sent it;
another user asking for it learns nothing. At most ``MAX_TRACKED`` imports are kept at
once, the oldest dropped first, so the table stays a few kilobytes whoever sends keys.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass
from typing import Any, Literal

KEY_RE = re.compile(r"^[A-Za-z0-9-]{8,64}$")
MAX_TRACKED = 256


@dataclass
class Progress:
    """One import's stage and count: items read so far, then items stored (or refused) of the total."""

    stage: Literal["reading", "storing", "done"] = "reading"
    done: int = 0
    total: int | None = None  # known once the whole file is read

    def as_dict(self) -> dict[str, Any]:
        """The progress as the status endpoint answers it."""
        return asdict(self)


class Tracker:
    """The progress of recent imports, by user and key; thread-safe (imports run on worker threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[int, str], Progress] = OrderedDict()

    def start(self, user_id: int, key: str | None) -> Progress:
        """A new progress for this import; kept for polling when the key is a valid one."""
        progress = Progress()
        if key is not None and KEY_RE.fullmatch(key):
            with self._lock:
                self._entries[(user_id, key)] = progress
                self._entries.move_to_end((user_id, key))
                while len(self._entries) > MAX_TRACKED:
                    self._entries.popitem(last=False)
        return progress

    def get(self, user_id: int, key: str) -> Progress | None:
        """The progress of the user's import with this key, or None (unknown, or another user's)."""
        with self._lock:
            return self._entries.get((user_id, key))
