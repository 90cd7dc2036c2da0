"""What search understands of a text: words stemmed, programming names kept, CJK split, accents folded."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer

MAX_TERM_LENGTH = 40
# Programming names whose punctuation is the name (c++, c#, .net, node.js), hyphenated
# words, runs of CJK characters, and plain words, tried in that order at each position.
_TOKEN = re.compile(
    # First, for speed: a plain word that nothing after it could extend (most words are).
    r"(?P<plain>[^\W\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]++(?![\w+#.-]))"
    r"|(?P<sym>[a-z][a-z0-9]*(?:\+\+|#)(?![\w+#]))"
    r"|(?P<dot>(?<![\w.])\.[a-z][a-z0-9]*(?![\w.])|[a-z0-9_]+(?:\.[a-z0-9_]+)+(?=[^\w.]|\.(?!\w)|$))"
    r"|(?P<hyph>[^\W_]+(?:-[^\W_]+)+)"
    r"|(?P<cjk>[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+)"
    r"|(?P<word>[^\W\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+)"
)
STOP_WORDS = frozenset(
    "a an and are as at be by for from in into is it of on or that the this to was with you your".split()
)
_stemmer = Stemmer.Stemmer("english")
_ACCENTS = re.compile("[\u0300-\u036f]+")


def fold(text: str) -> str:
    """Case-folded, compatibility-normalised text with accents dropped ('Café' finds 'cafe').

    Only the combining accents of Latin, Greek and Cyrillic letters (U+0300-U+036F) go: the
    marks that change a Japanese kana (が is not か) are outside that block and stay.
    """
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFC", _ACCENTS.sub("", unicodedata.normalize("NFKD", text.casefold())))


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Snowball (Porter 2) English stem: 'coding' and 'code' both give 'code'."""
    return _stemmer.stemWord(word)


def _words(text: str, *, query: bool) -> list[tuple[str, str]]:
    """(term, surface word) pairs in order; a document also gets the parts of its compounds."""
    found: list[tuple[str, str]] = []
    for match in _TOKEN.finditer(fold(text)):
        kind, token = match.lastgroup, match.group()
        if kind == "sym":
            found.append((token, token))
        elif kind == "dot":
            found.append((token, token))
            if not query:  # a document saying node.js is also about node
                found += [(stem(part), part) for part in token.split(".") if part]
        elif kind == "hyph":
            parts = token.split("-")
            joined = "".join(parts)
            found.append((stem(joined), joined))
            if not query:  # e-mail is found by email, e-mail and mail
                found += [(stem(part), part) for part in parts]
        elif kind == "cjk":
            # Character bigrams: 翻译成 gives 翻译 and 译成; no dictionary to ship or go stale.
            grams = [token[i : i + 2] for i in range(len(token) - 1)] or [token]
            found += [(gram, gram) for gram in grams]
        elif token not in STOP_WORDS:
            found.append((stem(token), token))
    return [(term, word) for term, word in found if term and len(term) <= MAX_TERM_LENGTH]


def terms(text: str) -> list[str]:
    """The index terms of a text, in order, stop words left out."""
    return [term for term, _ in _words(text, query=False)]


def term_words(text: str) -> list[tuple[str, str]]:
    """The index terms of a text with the word each came from."""
    return _words(text, query=False)


def query_words(query: str) -> list[tuple[str, str]]:
    """The distinct (term, word) pairs of a query; compounds stay whole (e-mail means email)."""
    distinct: dict[str, tuple[str, str]] = {}
    for term, word in _words(query, query=True):
        distinct.setdefault(term, (term, word))
    return list(distinct.values())


def only_stop_words(query: str) -> bool:
    """Whether a query has words but every one of them is a stop word."""
    return bool(_TOKEN.search(fold(query))) and not _words(query, query=True)
