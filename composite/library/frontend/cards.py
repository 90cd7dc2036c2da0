"""Prompt cards rendered once per what they show, not once per page view.

A listing or a search page is mostly cards: each is a macro call, two or more URL builds
and a tag list, about a tenth of a millisecond apiece, twenty to a page. A card shows
only the prompt at one version (its text and tags), its owner's name, stars and
visibility, the highlighted title and text it was given, and links under the site's
root; all of that is in the key, so a kept card is exactly what rendering would give.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from flask import current_app, request
from markupsafe import Markup

from composite.library.prompts import Prompt

# Cards kept per application: about 1 KiB each.
CARDS_KEPT = 4096


class CardCache:
    """The least recently used rendered cards, keyed by everything a card shows."""

    def __init__(self, kept: int = CARDS_KEPT) -> None:
        self.kept = kept
        self.hits = 0
        self.misses = 0
        self._cards: OrderedDict[tuple[Any, ...], Markup] = OrderedDict()
        self._lock = threading.Lock()

    def card(
        self, prompt: Prompt, title: str | None = None, text: str | None = None, level: int = 3
    ) -> Markup:
        """The card of a prompt (title and text: highlighted HTML to show instead of its own)."""
        key = (
            request.script_root,
            prompt.id,
            prompt.version,  # every change of content, tags or visibility makes a new version
            prompt.visibility,
            prompt.stars,
            prompt.owner,
            type(title),  # a plain str is escaped, Markup is not: the same text renders apart
            title,
            type(text),
            text,
            level,
        )
        with self._lock:
            found = self._cards.get(key)
            if found is not None:
                self._cards.move_to_end(key)
                self.hits += 1
                return found
            self.misses += 1
        macro = current_app.jinja_env.get_template("macros.html").module.render_card  # type: ignore[attr-defined]
        rendered: Markup = macro(prompt, title, text, level)  # autoescaped: already Markup
        with self._lock:
            self._cards[key] = rendered
            while len(self._cards) > self.kept:
                self._cards.popitem(last=False)
        return rendered
