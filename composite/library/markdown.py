"""Prompt text as Markdown: CommonMark to HTML, sanitised, images as links, cached by content.

Two layers, so that a mistake in one is caught by the other: markdown-it-py escapes raw
HTML (``html`` off) and refuses links outside http, https and mailto; nh3 (ammonia) then
keeps only the tags and attributes a prompt needs, with ``rel="nofollow noopener ugc"``
on every link. Images are shown as links labelled with their alt text, so a page never
fetches anything from elsewhere.

The parser's work is metered in steps, not timed: each attempt at a line or at a
position in a line, each token made and each character of a link address costs steps,
so a line inside ten open quotes costs ten times a line inside none. A text that uses up
WORK_MAX steps is shown as written instead, the same way as one nested too deep, so no
body of at most 50,000 characters costs more than about a tenth of a second of CPU
(docs/reliability.md). Rendered
HTML is then kept in a bounded LRU keyed by the text itself: a prompt's text at a version
never changes, and keying by the text rather than by (prompt id, version) keeps the
cache exact whatever happens to ids or versions.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from functools import cache
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import nh3
from markdown_it import MarkdownIt, helpers
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from markupsafe import Markup, escape

# markdown-it stops parsing blocks nested deeper than this and drops what is inside them;
# a body that deep is shown as written instead (see _too_deep).
MAX_NESTING = 20
# Bodies sit under the page's h2, so their headings start at h3 and never skip a level.
FIRST_HEADING = 3
LINK_REL = "nofollow noopener ugc"
URL_SCHEMES = frozenset({"http", "https", "mailto"})
# The parser's work in steps of about half a microsecond, fitted to the costliest shapes
# measured (docs/reliability.md): an attempt at a line or at a position in a line runs a
# chain of rules, BLOCK_STEPS or INLINE_STEPS; each token made is built, rendered and
# sanitised, TOKEN_STEPS.
BLOCK_STEPS = 6
INLINE_STEPS = 5
# A link text skipped token by token, mostly from a cache; a link address, per character.
SKIP_STEPS = 2
ADDRESS_STEPS = 1
TOKEN_STEPS = 8
# About 60 ms of CPU for the costliest shapes, and over twice the steps of the densest real
# document measured, scaled to 50,000 characters (tables, lists and links on most lines).
WORK_MAX = 120_000
# A run of one emphasis character is made into a token a character in one rule call, too
# late to stop: the longest run is charged before parsing begins.
_RUNS = re.compile(r"\*{64,}|_{64,}|~{64,}")
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


class _OverBudget(Exception):
    """The parser has used up WORK_MAX steps on one text."""


class _Meter:
    """The steps one parse has used: one meter a render, so concurrent renders never share one."""

    __slots__ = ("charged", "earlier", "steps", "tokens")

    def __init__(self) -> None:
        self.steps = 0
        self.tokens: list[Token] = []  # the token list rules are filling now
        self.charged = 0  # how many of its tokens have been paid for
        # Lists left for another and perhaps come back to (an image's alt text is parsed into
        # its own list in the middle of its paragraph's), by id, kept alive so ids stay unique.
        self.earlier: dict[int, tuple[list[Token], int]] = {}

    def charge(self, tokens: list[Token], steps: int) -> None:
        """Steps for a rule tried, plus TOKEN_STEPS for each token made since; over budget raises."""
        if tokens is not self.tokens:
            self.charge_made()
            self.earlier[id(self.tokens)] = (self.tokens, self.charged)
            self.tokens, self.charged = self.earlier.pop(id(tokens), (tokens, 0))
        self.steps += steps
        self.charge_made()

    def spend(self, steps: int) -> None:
        """Steps for work that makes no token; over budget raises."""
        self.steps += steps
        if self.steps > WORK_MAX:
            raise _OverBudget

    def charge_made(self) -> None:
        """TOKEN_STEPS for each token made since the last charge; over budget raises."""
        made = len(self.tokens) - self.charged
        self.charged = len(self.tokens)
        if made > 0:
            self.steps += TOKEN_STEPS * made
        if self.steps > WORK_MAX:
            raise _OverBudget


# The meter of the render running in this thread (a context variable rather than the
# parser's env because the helper that scans link addresses is given no state).
_meter: ContextVar[_Meter] = ContextVar("markdown_meter")


def _metered(rule: Callable[..., bool], steps: int) -> Callable[..., bool]:
    """A parser rule that charges its parse steps each time it is tried."""

    def metered(state: Any, *args: Any) -> bool:
        _meter.get().charge(state.tokens, steps)
        return rule(state, *args)

    return metered


def _meter_heads(ruler: Any, steps: int) -> None:
    # Every attempt at a line (block) or a position (inline), and every check whether a
    # line ends a paragraph, quote or list, runs a chain of rules from its first; the rest
    # are a fixed number of tries after it. Metering the first rule of each chain counts
    # the attempts, so a line inside ten open quotes costs ten steps, at little overhead.
    enabled = [rule for rule in ruler.__rules__ if rule.enabled]
    chains = {""} | {name for rule in enabled for name in rule.alt}
    heads = {next(rule.name for rule in enabled if not chain or chain in rule.alt) for chain in chains}
    for rule in enabled:
        if rule.name in heads:
            ruler.at(rule.name, _metered(rule.fn, steps), {"alt": rule.alt})


def _metered_address(string: str, pos: int, maximum: int) -> Any:
    """markdown-it's link address parser, charging a step a character it may have read."""
    found = helpers.parseLinkDestination(string, pos, maximum)
    if found.ok:
        end = found.pos
    else:
        # A failed scan stops at the first space or control character at the latest.
        ends = (string.find(stop, pos, maximum) for stop in (" ", "\n"))
        end = min((at for at in ends if at >= 0), default=maximum)
    _meter.get().spend(ADDRESS_STEPS * (end - pos))
    return found


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
    # Block and inline rules are where the work grows with nesting and with runs of
    # delimiters; the core rules run once a text and the post-passes once a delimiter.
    # Real documents measured use at most about half of WORK_MAX at 50,000 characters.
    _meter_heads(md.block.ruler, BLOCK_STEPS)
    _meter_heads(md.inline.ruler, INLINE_STEPS)
    # A link's text is found by skipping token after token, mostly from a cache, with no rule
    # tried; on 50,000 `[` that loop is most of the work.
    skip = md.inline.skipToken

    def metered_skip(state: StateInline) -> None:
        _meter.get().charge(state.tokens, SKIP_STEPS)
        skip(state)

    md.inline.skipToken = metered_skip  # type: ignore[method-assign]
    md.helpers = SimpleNamespace(
        parseLinkLabel=helpers.parseLinkLabel,
        parseLinkDestination=_metered_address,
        parseLinkTitle=helpers.parseLinkTitle,
    )
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


def _as_written(mode: str, text: str) -> str:
    # The one fallback, for a text too deep or too costly to render: its characters, escaped.
    if mode == "inline":
        return str(escape(text))
    return f'<pre class="as-written">{escape(text)}</pre>'


def _render(mode: str, text: str) -> str:
    md = _parser()
    meter = _Meter()
    env: dict[str, Any] = {}
    current = _meter.set(meter)
    try:
        meter.spend(TOKEN_STEPS * max((len(run) for run in _RUNS.findall(text)), default=0))
        tokens = md.parseInline(text, env) if mode == "inline" else md.parse(text, env)
        meter.charge_made()  # what the last rule made: rendering and sanitising it costs too
    except _OverBudget:
        return _as_written(mode, text)
    finally:
        _meter.reset(current)
    if _too_deep(tokens):
        return _as_written(mode, text)
    return sanitise(md.renderer.render(tokens, md.options, env))


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
