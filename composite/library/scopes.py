"""The parts of what readers see that writes change, named once: what caches are dropped by.

Each write touches the scopes it changes (``composite.db.touch``) and each read names the
scopes it reads (``Database.reading``); a kept answer or value lasts until a write to
one of its scopes (composite/db/scopes.py). What each scope covers:

- ``prompt(id)``: everything shown of one prompt: its row (content, version, visibility,
  star and fork counts, its fork link), its versions and labels, who starred it. A fork's
  page also reads its source's scope, for the source's title.
- ``LISTED``: which prompts each listing holds and in which order by age: any create,
  delete, or change of tags or visibility, and the tag cloud. A listing also reads the
  ``prompt(id)`` of every prompt on its page, for what each card shows.
- ``BY_STARS``: the order of listings sorted by stars.
- ``SEARCH``: the search index: what matches which words, and how well.
- ``starred(user_id)``: the prompts a user starred, in the order they were starred.
- ``CREDENTIALS``: who a token or session belongs to (composite.library.accounts).
- ``LOGINS``: the record of failed logins, which no kept answer reads.

A write that cannot say what it changes touches ``EVERYTHING`` (an import of thousands
of prompts, an administrator deleting a user), as does any transaction that touches
nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from composite.db.scopes import EVERYTHING
from composite.library.accounts import CREDENTIALS

__all__ = [
    "BY_STARS",
    "CREDENTIALS",
    "EVERYTHING",
    "LISTED",
    "LOGINS",
    "SEARCH",
    "prompt",
    "prompts",
    "starred",
]

LISTED = "listed"
BY_STARS = "by-stars"
SEARCH = "search"
LOGINS = "logins"


def prompt(prompt_id: int) -> str:
    """The scope of everything shown of one prompt."""
    return f"prompt:{prompt_id}"


def prompts(prompt_ids: Iterable[int | None]) -> list[str]:
    """The scopes of several prompts (None, a prompt that is not a fork's source, is left out)."""
    return [f"prompt:{prompt_id}" for prompt_id in prompt_ids if prompt_id is not None]


def starred(user_id: int) -> str:
    """The scope of the prompts one user starred."""
    return f"starred:{user_id}"
