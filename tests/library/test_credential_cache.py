"""Who a token or session belongs to is kept across prompt writes and forgotten at every credential write."""

from __future__ import annotations

import ast
import re

from composite.db import Database
from composite.library import credentials, password_change, prompts, useradmin
from composite.library.accounts import CREDENTIALS
from tests.support.source import LIBRARY, functions, strings

# A statement that changes users, tokens or sessions: who a credential belongs to.
CREDENTIAL_WRITE = re.compile(
    r"\b(INSERT INTO|UPDATE|DELETE FROM)\s+(users|tokens|sessions)\b", re.IGNORECASE
)


def test_a_token_lookup_survives_prompt_writes(db: Database, make_user) -> None:
    alice = make_user("alice")
    secret, _ = credentials.create_token(db, alice.id)
    memo = db.scope_memo(CREDENTIALS)
    assert credentials.user_for_token(db, secret) == alice
    misses = memo.misses
    for n in range(5):
        prompts.create_prompt(db, alice, title=f"t{n}", body="b")
        assert credentials.user_for_token(db, secret) == alice
    assert memo.misses == misses  # five commits, no lookup again


def test_every_credential_write_is_seen_by_the_next_lookup(db: Database, make_user) -> None:
    alice, bob = make_user("alice"), make_user("bob", "password456")
    token, info = credentials.create_token(db, alice.id)
    session = credentials.start_session(db, alice.id)
    assert credentials.user_for_token(db, token) == alice
    assert credentials.user_for_session(db, session) == alice

    credentials.revoke_token(db, alice.id, info.id)
    assert credentials.user_for_token(db, token) is None
    credentials.end_session(db, session)
    assert credentials.user_for_session(db, session) is None

    # A secret looked up (and kept as unknown) before it existed is found once it does.
    token, _ = credentials.create_token(db, alice.id)
    session = credentials.start_session(db, alice.id)
    assert credentials.user_for_token(db, token) == alice
    useradmin.set_disabled(db, "alice", True)
    assert credentials.user_for_token(db, token) is None
    assert credentials.user_for_session(db, session) is None
    useradmin.set_disabled(db, "alice", False)

    token, _ = credentials.create_token(db, alice.id)
    session = credentials.start_session(db, alice.id)
    kept = credentials.start_session(db, alice.id)
    assert credentials.user_for_session(db, session) == alice
    password_change.change_password(db, alice, "password123", "a-new-password", keep=kept)
    assert credentials.user_for_token(db, token) is None
    assert credentials.user_for_session(db, session) is None
    assert credentials.user_for_session(db, kept) == alice

    token, _ = credentials.create_token(db, bob.id)
    assert credentials.user_for_token(db, token) == bob
    useradmin.reset_password(db, "bob", "password789")
    assert credentials.user_for_token(db, token) is None
    token, _ = credentials.create_token(db, bob.id)
    assert credentials.user_for_token(db, token) == bob
    useradmin.delete_user(db, "bob")
    assert credentials.user_for_token(db, token) is None


def test_every_function_that_writes_credentials_touches_their_scope() -> None:
    # The cache above is exact only if no such statement commits without touch(cur, CREDENTIALS).
    writers = []
    for path, node, own in functions():
        if any(CREDENTIAL_WRITE.search(text) for text in strings(own)):
            writers.append(f"{path.name}:{node.name}")
            touches = [
                n for n in own
                if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "touch"
                and any(getattr(arg, "id", "") == "CREDENTIALS" for arg in n.args)
            ]  # fmt: skip
            assert touches, f"{path.relative_to(LIBRARY.parent)}:{node.lineno} {node.name} writes credentials"
    assert len(writers) >= 8  # the guard found the writers it is about
