"""What a visitor asked for before logging in (a star, a copy), done once they have.

The logged-out Star and "Copy to my library" buttons lead to the login form with
``then=star:ID`` or ``then=fork:ID``. The form carries it as a hidden field, so the action
runs inside the login (or registration) POST, behind its CSRF check and the password the
person just typed: never on a GET. ``then`` names an action and a prompt id, never a URL,
so it cannot redirect anywhere: where to go next is decided here, on this site.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import url_for

from composite.library import forks, stars
from composite.library.accounts import User
from composite.library.errors import NotFound
from composite.library.frontend.security import get_db

# An id as the site's URLs take them (IdConverter): at most nine digits.
_INTENT = re.compile(r"(star|fork):([1-9][0-9]{0,8})")
# The words the login and registration pages use to say what will happen.
ACTIONS = {"star": "star the prompt", "fork": "copy the prompt to your library"}


@dataclass(frozen=True)
class Intent:
    """An action on a prompt, waiting for the visitor to log in."""

    action: str
    prompt_id: int

    def __str__(self) -> str:
        return f"{self.action}:{self.prompt_id}"

    @property
    def described(self) -> str:
        """What will happen, in words."""
        return ACTIONS[self.action]


def parse_intent(value: str | None) -> Intent | None:
    """The intent a ``then`` value names, or None for anything else."""
    match = _INTENT.fullmatch(value or "")
    return Intent(match[1], int(match[2])) if match else None


def carry_out(intent: Intent, user: User) -> str | None:
    """Do the action for the user who just logged in; the page to show, or None if it cannot be done."""
    try:
        if intent.action == "star":
            stars.star(get_db(), intent.prompt_id, user)
            return url_for("prompts.read_prompt", prompt_id=intent.prompt_id)
        fork = forks.fork_prompt(get_db(), intent.prompt_id, user)
        return url_for("prompts.read_prompt", prompt_id=fork.id)
    except NotFound:
        # Deleted or made private meanwhile: logging in still worked; go where they were going.
        return None
