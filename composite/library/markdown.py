"""Prompt text as Markdown: CommonMark to HTML, sanitised, images as links, cached by content.

Two layers, so that a mistake in one is caught by the other: markdown-it-py escapes raw
HTML (``html`` off) and refuses links outside http, https and mailto; nh3 (ammonia) then
keeps only the tags and attributes a prompt needs, with ``rel="nofollow noopener ugc"``
on every link. Images are shown as links labelled with their alt text, so a page never
fetches anything from elsewhere. Rendering a hostile 50,000-character body costs up to
about half a second of CPU (docs/reliability.md), so rendered HTML is kept in a bounded
LRU keyed by the text itself: a prompt's text at a version never changes, and keying by
the text rather than by (prompt id, version) keeps the cache exact whatever happens to
ids or versions.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markupsafe import Markup, escape

# markdown-it stops parsing blocks nested deeper than this and drops what is inside them;
# a body that deep is shown as written instead (see _too_deep).
MAX_NESTING = 20
# Bodies sit under the page's h2, so their headings start at h3 and never skip a level.
FIRST_HEADING = 3
LINK_REL = "nofollow noopener ugc"
URL_SCHEMES = frozenset({"http", "https", "mailto"})
CACHE_MAX_CHARS = 8_000_000  # source plus HTML of every entry: at most 32 MB at 4 bytes a character
_ALIGNMENTS = ("left", "center", "right")
_TAGS = frozenset(
    {"a", "blockquote", "br", "code", "del", "em", "hr", "li", "ol", "p", "pre", "s", "strong", "ul"}
    | {"h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td"}
)
_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
_CLASSES = {cell: {f"align-{side}" for side in _ALIGNMENTS} for cell in ("th", "td")}


def render_body(text: str) -> Markup:
    """A prompt body as safe HTML: block Markdown, headings from h3, images as links."""
    return _cached("body", text)


def render_description(text: str) -> Markup:
    """A description as safe HTML: inline Markdown only (emphasis, code, links), no blocks."""
    return _cached("inline", text)


def _allowed_link(url: str) -> bool:
    # An allow-list rather than markdown-it's deny-list: relative links, http(s) and mailto.
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:  # an unbalanced IPv6 bracket, say: not a link worth keeping
        return False
    return scheme in URL_SCHEMES or not scheme


class _Renderer(RendererHTML):
    """markdown-it's HTML renderer with images turned into plain links."""

    def image(self, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        """An image as a link to it labelled with its alt text (its text alone inside a link)."""
        token = tokens[idx]
        alt = self.renderInlineAsText(token.children, options, env)
        src = str(token.attrGet("src") or "")
        if token.meta.get("in_link") or not src:
            return escapeHtml(alt)
        return f'<a href="{escapeHtml(src)}">{escapeHtml(alt or src)}</a>'


def _adjust(state: StateCore) -> None:
    """Shift headings under the page's own, mark images inside links, alignment as classes."""
    previous = FIRST_HEADING - 1
    for token in state.tokens:
        if token.type == "heading_open":
            # Never more than one level deeper than the heading before (axe's heading-order).
            level = min(int(token.tag[1]) + FIRST_HEADING - 1, previous + 1, 6)
            token.tag = f"h{level}"
            previous = level
        elif token.type == "heading_close":
            token.tag = f"h{previous}"
        elif token.type in ("th_open", "td_open"):
            # The style attribute markdown-it sets would break the CSP (and is not kept).
            style = str(token.attrGet("style") or "")
            token.attrs.pop("style", None)
            side = style.removeprefix("text-align:")
            if side in _ALIGNMENTS:
                token.attrSet("class", f"align-{side}")
        elif token.type == "inline" and token.children:
            depth = 0
            for child in token.children:
                depth += (child.type == "link_open") - (child.type == "link_close")
                if child.type == "image" and depth > 0:
                    child.meta["in_link"] = True


@cache
def _parser() -> MarkdownIt:
    """The one configured parser (built on first use, not at import)."""
    md = MarkdownIt(
        "commonmark",
        {"html": False, "linkify": False, "typographer": False, "maxNesting": MAX_NESTING},
        renderer_cls=_Renderer,
    )
    md.enable(["table", "strikethrough"])
    md.validateLink = _allowed_link  # type: ignore[method-assign]
    md.core.ruler.push("site_adjust", _adjust)
    return md


# The blocks whose content markdown-it parses as blocks again, one level down.
_CONTAINERS = frozenset({"blockquote_open", "list_item_open"})


def _too_deep(tokens: list[Token]) -> bool:
    # markdown-it silently skips the content of a container opened at MAX_NESTING - 1 or deeper.
    return any(token.type in _CONTAINERS and token.level >= MAX_NESTING - 1 for token in tokens)


def sanitise(html: str) -> str:
    """HTML cut down to the tags and attributes a prompt needs, every link rel="nofollow noopener ugc"."""
    return nh3.clean(
        html,
        tags=set(_TAGS),
        attributes=_ATTRIBUTES,
        allowed_classes=_CLASSES,
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )


def _render(mode: str, text: str) -> str:
    md = _parser()
    if mode == "inline":
        return sanitise(md.renderInline(text))
    tokens = md.parse(text)
    if _too_deep(tokens):
        return f'<pre class="as-written">{escape(text)}</pre>'
    return sanitise(md.renderer.render(tokens, md.options, {}))


class _Cache:
    """Rendered HTML by (mode, text), least recently used dropped past CACHE_MAX_CHARS."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: OrderedDict[tuple[str, str], str] = OrderedDict()
        self.size = 0

    def get(self, key: tuple[str, str]) -> str | None:
        """The HTML kept for key, or None."""
        with self.lock:
            found = self.entries.get(key)
            if found is not None:
                self.entries.move_to_end(key)
            return found

    def put(self, key: tuple[str, str], html: str) -> None:
        """Keep html for key, dropping the least recently used beyond the bound."""
        cost = len(key[1]) + len(html)
        if cost > CACHE_MAX_CHARS:
            return
        with self.lock:
            if key in self.entries:
                return
            self.entries[key] = html
            self.size += cost
            while self.size > CACHE_MAX_CHARS:
                (_, old_text), old_html = self.entries.popitem(last=False)
                self.size -= len(old_text) + len(old_html)

    def clear(self) -> None:
        """Forget everything (tests measure the cost of a first render with it)."""
        with self.lock:
            self.entries.clear()
            self.size = 0


_cache = _Cache()


def _cached(mode: str, text: str) -> Markup:
    key = (mode, text)
    html = _cache.get(key)
    if html is None:
        html = _render(mode, text)  # outside the lock: one slow render holds up no other page
        _cache.put(key, html)
    return Markup(html)  # noqa: S704 - sanitised by nh3 above


def clear_cache() -> None:
    """Forget every rendered text."""
    _cache.clear()
