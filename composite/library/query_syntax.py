"""What a search box's text asks for beyond its words: phrases, exclusions and filters.

The syntax is what people type into other search boxes:

- ``"linux terminal"``: the words side by side, in that order (punctuation between them
  is allowed, as in "Linux: terminal");
- ``-windows``: no prompt that holds the word (``-"two words"`` excludes each of them);
- ``tag:fabric``, ``author:alice``: the same filters as the ``tag`` and ``author``
  parameters; ``is:starred``: the prompts the viewer has starred;
- a word written against CJK text without a space (``Go语言``) must appear as written,
  not as its parts: otherwise every "go" in the library matches.

Anything else is a plain word, ``http://`` and ``e-mail`` included. An unclosed quote runs
to the end of the query. Past MAX_PHRASES phrases and MAX_EXCLUDED exclusions the rest are
left out, as words are past MAX_QUERY_TERMS (composite.library.search): each costs a scan
or a posting list, and a query is cheap whatever is typed into it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from composite.library.tokens import fold

MAX_PHRASES = 4
MAX_EXCLUDED = 12
_TOKEN = re.compile(r'(?P<neg>-)?(?:(?P<key>tag|author|is):)?(?:"(?P<quoted>[^"]*)"?|(?P<bare>[^\s"]+))')
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
# A Latin (or other non-CJK) word and a CJK run written together, either way round.
_MIXED = re.compile(rf"[^\W{_CJK}]+[{_CJK}]|[{_CJK}][^\W{_CJK}]+")


@dataclass(frozen=True)
class Query:
    """A search box's text, parsed: the words to rank by and what narrows the matches."""

    words: str  # every word to search for, the phrases' included, as one text
    phrases: tuple[str, ...] = ()  # each must appear in the prompt as written (folded)
    excluded: tuple[str, ...] = ()  # words no match may hold
    tag: str | None = None
    author: str | None = None
    starred: bool = False

    @property
    def narrows(self) -> bool:
        """Whether anything but the words limits the matches."""
        return bool(self.phrases or self.excluded or self.tag or self.author or self.starred)


def parse(text: str) -> Query:
    """The query a search box's text asks for (never fails: what is not syntax is words)."""
    words: list[str] = []
    phrases: list[str] = []
    excluded: list[str] = []
    tag = author = None
    starred = False
    for match in _TOKEN.finditer(text):
        negated, key = bool(match["neg"]), match["key"]
        quoted = match["quoted"]
        value = quoted if quoted is not None else match["bare"] or ""
        if not value.strip():
            continue
        if key == "tag" and not negated:
            tag = value.strip().lower()
        elif key == "author" and not negated:
            author = value.strip()
        elif key == "is" and value.lower() == "starred" and not negated:
            starred = True
        elif negated:
            excluded.append(value)
        else:
            words.append(value)
            # Two quoted words, or a word written against CJK text: either must appear as written.
            if (quoted is not None and len(value.split()) > 1) or _MIXED.search(value):
                phrases.append(value)
    return Query(
        " ".join(words), tuple(phrases[:MAX_PHRASES]), tuple(excluded[:MAX_EXCLUDED]), tag, author, starred
    )


def phrase_pattern(phrase: str) -> re.Pattern[str]:
    """A phrase's words side by side in folded text, with only spaces or punctuation between them.

    A word runs on into CJK text without a separator, as it is written: ``Go语言``.
    """
    parts = re.findall(rf"[{_CJK}]+|[^\W{_CJK}]+", fold(phrase))
    pattern = ""
    for previous, part in zip(["", *parts], parts, strict=False):
        joined_to_cjk = previous and (_is_cjk(previous[-1]) != _is_cjk(part[0]))
        if previous:
            pattern += r"[\W_]*" if joined_to_cjk else r"[\W_]+"
        pattern += re.escape(part)
    if not parts:
        return re.compile(re.escape(fold(phrase)))
    # Word boundaries where the phrase starts or ends with a word: no letter of a longer
    # word beside it ("going" is not "go"). CJK has no spaces, so CJK beside it is fine.
    start = "" if _is_cjk(parts[0][0]) else rf"(?<![^\W{_CJK}])"
    end = "" if _is_cjk(parts[-1][-1]) else rf"(?![^\W{_CJK}])"
    return re.compile(start + pattern + end)


def _is_cjk(character: str) -> bool:
    return bool(re.match(f"[{_CJK}]", character))
