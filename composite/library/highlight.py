"""Matching words marked in a title or a short excerpt: everything escaped, matches in <mark>."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from functools import lru_cache

from markupsafe import Markup, escape

from composite.library.tokens import terms

EXCERPT_LENGTH = 180
EXCERPT_SCAN = 4_000
_CONTEXT_BEFORE = 60
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
# What a reader sees as one word: programming names and compounds whole (C++, node.js, e-mail).
_CJK_RUN = re.compile(f"[{_CJK}]")
_WORD = re.compile(rf"\.?[^\W_{_CJK}]+(?:[-.][^\W_{_CJK}]+)*(?:\+\+|#)?|[{_CJK}]+")


def _matches(text: str, wanted: Collection[str]) -> Iterator[tuple[int, int]]:
    """Character ranges of the words in text whose index terms are among ``wanted``, in order."""
    for match in _WORD.finditer(text):
        word = match.group()
        if _CJK_RUN.match(word):
            # CJK runs are indexed as bigrams: mark each wanted bigram (and single characters).
            for i in range(len(word)):
                for width in (2, 1):
                    if word[i : i + width] in wanted and len(word[i : i + width]) == width:
                        yield (match.start() + i, match.start() + i + width)
                        break
        elif not wanted.isdisjoint(_terms_of(word)):
            yield match.span()


@lru_cache(maxsize=65536)
def _terms_of(word: str) -> frozenset[str]:
    # Results pages repeat the same words over and over: tokenise each once.
    return frozenset(terms(word))


def _spans(text: str, wanted: Collection[str]) -> list[tuple[int, int]]:
    """The matches of text, overlapping ones merged."""
    merged: list[tuple[int, int]] = []
    for start, end in _matches(text, wanted):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _render(text: str, spans: list[tuple[int, int]]) -> Markup:
    out: list[str] = []
    at = 0
    for start, end in spans:
        out.append(str(escape(text[at:start])))
        out.append(f"<mark>{escape(text[start:end])}</mark>")
        at = end
    out.append(str(escape(text[at:])))
    return Markup("".join(out))  # noqa: S704 - every piece of text was escaped above


def highlight(text: str, wanted: Collection[str]) -> Markup:
    """The text, escaped, with the words matching the query's terms in <mark>."""
    return _render(text, _spans(text, frozenset(wanted)))


def excerpt(text: str, wanted: Collection[str], length: int = EXCERPT_LENGTH) -> Markup:
    """A short piece of text around its first match (or its start), escaped, matches marked."""
    wanted = frozenset(wanted)
    # Only as far as the first match, and no further than EXCERPT_SCAN: a long body costs
    # what its first few thousand characters cost.
    first = next(_matches(text[:EXCERPT_SCAN], wanted), None)
    start = 0
    if first is not None and first[1] > length:
        start = text.rfind(" ", 0, max(first[0] - _CONTEXT_BEFORE, 0)) + 1
    end = min(len(text), start + length)
    if end < len(text) and (space := text.rfind(" ", start, end)) > start + length // 2:
        end = space
    piece = " ".join(text[start:end].split())
    marked = highlight(piece, wanted)
    return Markup("{}{}{}").format("… " if start else "", marked, " …" if end < len(text) else "")
