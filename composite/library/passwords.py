"""Password hashing with a bounded cost: a few hashes at a time, on a few threads.

Argon2 holds its memory cost (19 MiB here) for each hash in progress, and glibc keeps
that memory in the arena of the thread that hashed: 40 registrations in parallel on 40
request threads left the process at 1 GB. So every hash and verification runs on a
small pool of its own, one thread per core, and a request waits a bounded time for a
free slot before it is told to come back later. Memory for hashing is then at most
``SLOTS`` times the memory cost, however many requests arrive.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Final, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from composite.library.errors import Busy

T = TypeVar("T")

# Argon2id, memory-hard; parameters from OWASP's minimum (19 MiB, 2 passes) keep a
# login near 20-50 ms of CPU on a small VM.
MEMORY_COST_KIB: Final = 19 * 1024
_hasher = PasswordHasher(time_cost=2, memory_cost=MEMORY_COST_KIB, parallelism=1)
# More hashes at once than cores would only make each one slower.
SLOTS: Final = max(1, min(os.cpu_count() or 1, 4))
# How long a request waits for a slot before it is answered 503; at ~50 ms per hash a
# slot frees many times a second, so a wait this long means the server is flooded.
WAIT_SECONDS: Final = 5.0
RETRY_AFTER_SECONDS: Final = 5

# Verified against when the username is unknown, so both cases take the same time.
DUMMY_HASH: Final = (
    "$argon2id$v=19$m=19456,t=2,p=1$Qc0X5xrTNsDEPZkW7+Q9Sg$ekhibqmsy55xgtVMnH9ixXSvYkiYly5BroHz80FNjh4"
)

_slots = threading.BoundedSemaphore(SLOTS)
# Threads start on first use, never at import.
_pool = ThreadPoolExecutor(max_workers=SLOTS, thread_name_prefix="argon2")


def hash_password(password: str) -> str:
    """The Argon2id hash of a password, computed within the cap; Busy when no slot frees in time."""
    return _run(_hasher.hash, password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when the password matches the hash, checked within the cap; Busy when flooded."""
    return _run(_verify, password_hash, password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _run(work: Callable[..., T], *args: str) -> T:
    if not _slots.acquire(timeout=WAIT_SECONDS):
        raise Busy("the server is busy checking passwords; try again in a few seconds", RETRY_AFTER_SECONDS)
    try:
        # A slot held means a pool thread is free, so this never queues behind others.
        return _pool.submit(work, *args).result()
    finally:
        _slots.release()
