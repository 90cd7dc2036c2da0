"""Free space beside the database file, read at most once a second, and the faults of a full disk."""

from __future__ import annotations

import errno
import os
import threading
import time
from pathlib import Path

# How long one reading of the free space stands: every write asks, so the system call must
# not be paid per statement, and a second is far shorter than any disk takes to fill.
READ_EVERY_SECONDS = 1.0
MIB = 1024 * 1024
# How DuckDB words a failed write for lack of space (it gives no errno of its own).
_NO_SPACE = (os.strerror(errno.ENOSPC), os.strerror(errno.EDQUOT))
# How DuckDB words the state after a fatal error: every later call on the instance fails.
_INVALIDATED = "database has been invalidated"


class DiskSpace:
    """The free bytes of the file system holding ``directory``, cached for READ_EVERY_SECONDS."""

    def __init__(self, directory: Path, reserve_bytes: int = 0, low_bytes: int = 0) -> None:
        self.directory = directory
        # Below ``reserve_bytes`` writes are refused, so that a checkpoint always has room;
        # below ``low_bytes`` the health check says the process is degraded.
        self.reserve_bytes = reserve_bytes
        self.low_bytes = low_bytes
        self._free: int | None = None
        self._read_at = -READ_EVERY_SECONDS
        self._lock = threading.Lock()

    def free_bytes(self) -> int | None:
        """Bytes an unprivileged writer may still use there, or None when it cannot be read."""
        now = time.monotonic()
        if now - self._read_at < READ_EVERY_SECONDS:
            return self._free
        with self._lock:
            if now - self._read_at >= READ_EVERY_SECONDS:
                try:
                    stat = os.statvfs(self.directory)
                    self._free = stat.f_bavail * stat.f_frsize
                except OSError:
                    self._free = None  # the directory is gone or unreadable: the write will say
                self._read_at = now
        return self._free

    def forget(self) -> None:
        """Read afresh next time (after a write failed for lack of space, or space was freed)."""
        self._read_at = -READ_EVERY_SECONDS

    def refuses_writes(self) -> bool:
        """Whether free space is below the reserve kept for checkpoints."""
        free = self.free_bytes()
        return free is not None and free < self.reserve_bytes

    def low(self) -> bool:
        """Whether free space is below the threshold at which health says degraded."""
        free = self.free_bytes()
        return free is not None and free < max(self.low_bytes, self.reserve_bytes)


def is_no_space(exc: BaseException) -> bool:
    """Whether an error is a write that failed for lack of space (or of quota)."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return any(words in str(exc) for words in _NO_SPACE)


def is_invalidated(message: str) -> bool:
    """Whether DuckDB's message says the database instance can no longer be used."""
    return _INVALIDATED in message
