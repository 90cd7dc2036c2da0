"""Accounts, tokens, sessions and login throttling."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import pytest

from composite.db import Database
from composite.library import accounts, credentials, passwords, throttle
from composite.library.errors import Busy, Conflict, Invalid, NotFound, TooManyAttempts


def test_usernames_are_unique_in_any_case(db: Database) -> None:
    accounts.create_user(db, "Alice", "password123")
    with pytest.raises(Conflict):
        accounts.create_user(db, "alice", "password456")
    assert accounts.get_user_by_name(db, "ALICE").username == "Alice"


@pytest.mark.parametrize(
    ("username", "password", "field"),
    [
        ("ab", "password123", "username"),
        ("a" * 33, "password123", "username"),
        ("bad name", "password123", "username"),
        ("alice", "short", "password"),
    ],
)
def test_registration_rules(db: Database, username: str, password: str, field: str) -> None:
    with pytest.raises(Invalid) as caught:
        accounts.create_user(db, username, password)
    assert field in caught.value.errors


def test_passwords_are_stored_hashed_with_argon2(db: Database) -> None:
    accounts.create_user(db, "alice", "password123")
    (stored,) = db.fetchone("SELECT password_hash FROM users")
    assert stored.startswith("$argon2id$")
    assert "password123" not in stored
    assert accounts.authenticate(db, "alice", "password123") is not None
    assert accounts.authenticate(db, "alice", "password124") is None
    assert accounts.authenticate(db, "nobody", "password123") is None


def test_tokens_are_shown_once_stored_hashed_and_revocable(db: Database, make_user) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    secret, info = credentials.create_token(db, alice.id, "laptop")
    assert secret.startswith("pl_")
    assert db.fetchone(
        "SELECT count(*) FROM tokens WHERE token_hash = ? OR prefix = ?", [secret, secret]
    ) == (0,)
    assert credentials.user_for_token(db, secret) == alice
    assert credentials.user_for_token(db, secret + "x") is None
    assert [t.name for t in credentials.list_tokens(db, alice.id)] == ["laptop"]
    with pytest.raises(NotFound):
        credentials.revoke_token(db, bob.id, info.id)
    credentials.revoke_token(db, alice.id, info.id)
    assert credentials.user_for_token(db, secret) is None


def test_sessions_end_for_good(db: Database, make_user) -> None:
    alice = make_user("alice")
    first, second = credentials.start_session(db, alice.id), credentials.start_session(db, alice.id)
    assert first != second
    assert credentials.user_for_session(db, first) == alice
    credentials.end_session(db, first)
    assert credentials.user_for_session(db, first) is None
    assert credentials.user_for_session(db, second) == alice


def test_login_throttle_by_username_and_address_and_by_address(db: Database, make_user) -> None:
    make_user("alice")
    for _ in range(throttle.MAX_PER_USERNAME):
        assert throttle.login(db, "alice", "wrong-password", "10.0.0.1") is None
    with pytest.raises(TooManyAttempts) as caught:
        throttle.login(db, "ALICE", "password123", "10.0.0.1")  # the right password, too late
    assert 0 < caught.value.retry_after <= throttle.WINDOW.total_seconds() + 1
    # The owner, from their own address, is not locked out by someone else's guesses.
    assert throttle.login(db, "alice", "password123", "10.0.0.2") is not None
    for n in range(throttle.MAX_PER_ADDRESS - throttle.MAX_PER_USERNAME):
        assert throttle.login(db, f"user{n}", "wrong-password", "10.0.0.1") is None
    with pytest.raises(TooManyAttempts):
        throttle.login(db, "someone-new", "whatever1", "10.0.0.1")


def test_a_name_that_cannot_exist_is_charged_to_the_address_and_never_stored(db: Database) -> None:
    huge = "x" * 900_000
    assert throttle.login(db, huge, "whatever1", "10.0.0.1") is None
    assert throttle.login(db, "bad name!", "whatever1", "10.0.0.1") is None
    keys = [row[0] for row in db.fetchall("SELECT key FROM login_failures")]
    assert keys == ["ip:10.0.0.1", "ip:10.0.0.1"]


def test_expired_failures_and_sessions_are_purged_in_bounded_batches(db: Database, make_user) -> None:
    alice = make_user("alice")
    long_ago = datetime.now() - timedelta(days=30)
    db.write(
        lambda cur: (
            cur.execute("INSERT INTO login_failures SELECT 'ip:old', ? FROM range(250)", [long_ago]),
            cur.execute(
                "INSERT INTO sessions (session_hash, user_id, expires_at)"
                " SELECT 'old' || i, ?, ? FROM range(250) r(i)",
                [alice.id, long_ago],
            ),
        )
    )
    throttle.login(db, "alice", "wrong-password", "10.0.0.1")
    credentials.start_session(db, alice.id)
    assert db.fetchone("SELECT count(*) FROM login_failures WHERE key = 'ip:old'") == (
        250 - throttle.PURGE_BATCH,
    )
    expired = "SELECT count(*) FROM sessions WHERE expires_at < now()"
    assert db.fetchone(expired) == (250 - credentials.SESSION_PURGE_BATCH,)
    for _ in range(3):
        credentials.start_session(db, alice.id)
    assert db.fetchone(expired) == (0,)


def test_successful_login_clears_the_username_budget(db: Database, make_user) -> None:
    make_user("alice")
    for _ in range(throttle.MAX_PER_USERNAME - 1):
        throttle.login(db, "alice", "wrong-password", None)
    assert throttle.login(db, "alice", "password123", None) is not None
    for _ in range(throttle.MAX_PER_USERNAME - 1):
        assert throttle.login(db, "alice", "wrong-password", None) is None
    assert throttle.login(db, "alice", "password123", None) is not None


def test_hashing_runs_a_few_at_a_time_on_threads_of_its_own(db: Database) -> None:
    workers = [
        threading.Thread(target=accounts.create_user, args=(db, f"user{n}", "password123")) for n in range(12)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert db.fetchone("SELECT count(*) FROM users") == (12,)
    # glibc keeps a hash's 19 MiB in the arena of the thread that ran it: only these threads.
    hashing = [thread for thread in threading.enumerate() if thread.name.startswith("argon2")]
    assert 1 <= len(hashing) <= passwords.SLOTS


def test_when_every_hashing_slot_stays_busy_the_caller_gets_busy_with_retry_after(db: Database) -> None:
    held = [passwords._slots.acquire(timeout=30) for _ in range(passwords.SLOTS)]
    assert all(held)
    try:
        started = time.monotonic()
        with pytest.raises(Busy) as caught:
            accounts.create_user(db, "alice", "password123")
        assert time.monotonic() - started >= passwords.WAIT_SECONDS * 0.9  # it did wait, boundedly
    finally:
        for _ in held:
            passwords._slots.release()
    assert (caught.value.status, caught.value.retry_after) == (503, passwords.RETRY_AFTER_SECONDS)
    assert db.fetchone("SELECT count(*) FROM users") == (0,)
    assert accounts.create_user(db, "alice", "password123").username == "alice"
