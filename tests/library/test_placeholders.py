"""Placeholders: every style people write, what is code instead, and a bounded cost to find and fill."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from composite.library import placeholders as placeholders_module
from composite.library.errors import Invalid
from composite.library.placeholders import (
    CACHE_SIZE,
    FIELDS_MAX,
    FILL_VALUE_MAX,
    FILLED_MAX,
    LONG_DEFAULT,
    Placeholder,
    fill,
    filled_length,
    placeholders,
    template,
)
from composite.library.rules import BODY_MAX


def test_filled_length_is_the_length_of_the_filled_text() -> None:
    body = "Dear {{name}}, {{ name }} and {{other}} and {{unknown}}."
    values = {"name": "Ada", "other": "", "unused": "x"}
    assert filled_length(body, values) == len(fill(body, values))
    assert fill(body, values) == "Dear Ada, Ada and {{other}} and {{unknown}}."


def test_the_largest_fill_within_the_limit_is_allowed() -> None:
    body = "{{a}}" * 10
    value = "x" * (FILLED_MAX // 10)
    assert len(fill(body, {"a": value})) == FILLED_MAX
    with pytest.raises(Invalid) as refused:
        fill(body, {"a": value + "x"})
    assert "more than the 100,000 allowed" in refused.value.errors["fill"]


def test_a_placeholder_repeated_10000_times_is_refused_before_anything_is_built() -> None:
    body = "{{a}}" * (BODY_MAX // 5)
    value = "<" * FILL_VALUE_MAX
    tracemalloc.start()
    started = time.process_time()
    with pytest.raises(Invalid) as refused:
        fill(body, {"a": value})
    cpu = time.process_time() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"\nfill of 10,000 x 10,000 characters: refused in {cpu * 1000:.1f} ms CPU, peak {peak} bytes")
    assert "100,000,000 characters" in refused.value.errors["fill"]
    # The 100-million-character text is never made: what is held is one small record per use
    # of the placeholder (10,000 of them, about 1.5 MB).
    assert peak < 5_000_000
    assert cpu < 1.0


def names(body: str) -> list[str]:
    """The placeholder names of a body."""
    return [placeholder.name for placeholder in placeholders(body)]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Hi {{name}}.", ["name"]),
        ("Hi {{ name }}.", ["name"]),
        ("Put {{code here}} and {{ two   words }}.", ["code here", "two words"]),
        ("Act as a ${Position}.", ["Position"]),
        ("Act as a ${Position:Software Developer}.", ["Position"]),
        (
            "Decide on {{Product / decision / topic / problem}} by {{deadline, ISO date}}: {{Why?}}",
            ["Product / decision / topic / problem", "deadline, ISO date", "Why?"],
        ),
        (
            "{{user.name}}, {{first-name}}, {{_x}}, {{ville d'été}}, {{название}}",
            [
                "user.name",
                "first-name",
                "_x",
                "ville d'été",
                "название",
            ],
        ),
    ],
    ids=["braces", "spaced", "words", "dollar", "dollar default", "authors' punctuation", "name characters"],
)
def test_every_style_is_a_placeholder(body: str, expected: list[str]) -> None:
    assert names(body) == expected


@pytest.mark.parametrize(
    "body",
    [
        "Use `{{name}}` or `${name}` as written.",
        "Use ``a ` {{name}}`` with a backtick inside.",
        "```\n{{name}}\n${name}\n```",
        "~~~python\nprint(f'{{name}}')\n~~~",
        "1. Step one:\n   ```yaml\n   run: echo ${name}\n   ```",
        "Text.\n\n    {{name}} in an indented block\n",
        "```\nnever closed {{name}}",
        "token: ${{ secrets.TOKEN }} and ${{ matrix.os }}",
        "{{ x | upper }} {{ f(x) }} {{ .Values.image }} {{#each items}} {{/each}} {{> partial}} {{ 'x' }}",
        "{% for x in items %}{% endfor %} {# comment #}",
        "${HOME:-/tmp} ${VAR:=x} ${VAR:?missing} ${VAR:+set} ${#list[@]} ${a + b} ${x/y/z}",
        "{{1st}} {{ }} {{}} ${} ${:default} {{a}b}} {{a\nb}}",
        "{{" + "n" * 65 + "}}",
    ],
    ids=[
        "code span",
        "double backtick span",
        "backtick fence",
        "tilde fence",
        "fence in a list",
        "indented block",
        "unclosed fence",
        "github actions",
        "template expressions",
        "template tags",
        "shell expansions",
        "not names",
        "name too long",
    ],
)
def test_what_is_not_a_placeholder(body: str) -> None:
    assert placeholders(body) == []


def test_code_ends_where_markdown_ends_it() -> None:
    body = (
        "`{{a}}` {{b}}\n```\n{{c}}\n```\n{{d}} `` {{e}} `\n\n"
        "` {{f}}\n\n- item\n\n    {{g}} continues the item\n"
    )
    # The backtick before {{f}} has no partner in its paragraph; {{g}} is list content, not code.
    assert names(body) == ["b", "d", "e", "f", "g"]
    assert names("Not code: \\`{{a}}` ends here") == ["a"]  # an escaped backtick opens nothing


def test_defaults_and_repeated_names() -> None:
    body = "${Role} and ${Role:Editor} and {{ Role }} and ${Tone:  warm  } ${Tone:cold}"
    assert placeholders(body) == [
        Placeholder("Role", "Editor", multiline=False),  # the first default written
        Placeholder("Tone", "warm", multiline=False),
    ]
    assert fill(body, {}) == "Editor and Editor and Editor and warm warm"  # defaults fill every use
    assert (
        fill(body, {"Role": "Poet", "Tone": ""}) == "Poet and Poet and Poet and ${Tone:  warm  } ${Tone:cold}"
    )


def test_a_field_is_multiline_on_its_own_line_or_with_a_long_default() -> None:
    short, long = "x" * LONG_DEFAULT, "x" * (LONG_DEFAULT + 1)
    body = (
        f"Intro {{{{inline}}}}.\n  {{{{alone}}}}  \r\n"
        f"${{short:{short}}} ${{long:{long}}} ${{lines:a\nb}}\n{{{{last}}}}"
    )
    shapes = {p.name: p.multiline for p in placeholders(body)}
    assert shapes == {
        "inline": False,
        "alone": True,
        "short": False,
        "long": True,
        "lines": True,
        "last": True,
    }
    assert placeholders("{{only}}") == [Placeholder("only", "", multiline=True)]


def test_a_body_has_at_most_fields_max_fields() -> None:
    body = "".join(f"${{n{i}}} " for i in range(FIELDS_MAX + 5)) + "${n0:again}"
    assert names(body) == [f"n{i}" for i in range(FIELDS_MAX)]
    assert fill(body, {"n0": "x", f"n{FIELDS_MAX}": "y"}).startswith("x ${n1} ")
    assert f"${{n{FIELDS_MAX}}} " in fill(body, {f"n{FIELDS_MAX}": "y"})  # past the cap: text


def test_the_template_puts_the_body_back_together() -> None:
    body = "Dear {{ name }}, `{{code}}` ${name:you} ${{ x }} 😀 {{two words}}"
    parts = template(body)
    assert parts == [
        "Dear ",
        (0, "{{ name }}"),
        ", `{{code}}` ",
        (0, "${name:you}"),
        " ${{ x }} 😀 ",
        (1, "{{two words}}"),
        "",
    ]
    assert "".join(part if isinstance(part, str) else part[1] for part in parts) == body
    assert template("no placeholders") == ["no placeholders"]


HOSTILE = {
    "braces": "{{" * (BODY_MAX // 2),
    "dollar braces": "${" * (BODY_MAX // 2),
    "backticks": "{{a}}" + "`" * (BODY_MAX - 5),
    "backtick runs of every length": "".join("`" * n + "{{a}}" for n in range(1, 310)),
    "mixed openers": "`{{${" * (BODY_MAX // 5),
    "unclosed name": "{{" + "a" * (BODY_MAX - 2),
    "unclosed default": "${a:" + "x" * (BODY_MAX - 4),
    "blank name": "{{" + " " * (BODY_MAX - 4) + "}}",
    "github actions": "${{ a }}" * (BODY_MAX // 8),
    "placeholders": "${a}" * (BODY_MAX // 4),
    "placeholders on lines": "{{a}}\n" * (BODY_MAX // 6),
    "distinct names": "".join(f"${{n{i}}}" for i in range(7_000))[:BODY_MAX],
    "long defaults": ("${a:" + "x" * 1_995 + "}") * (BODY_MAX // 2_000),
    "blank lines and a backtick": "`" + "\n" * (BODY_MAX - 6) + "{{a}}",
    "indented lines": "    ${a}\n" * (BODY_MAX // 9),
    "fences": "```\n{{a}}\n" * (BODY_MAX // 10),
    "loose list": "- a\n\n    ${b}\n" * (BODY_MAX // 14),
}


@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
def test_finding_placeholders_in_any_body_is_cheap(body: str) -> None:
    assert len(body) <= BODY_MAX
    started = time.process_time()
    found = placeholders(body)
    parts = template(body)
    filled = fill(body, {}, max_length=10**9)
    cpu = time.process_time() - started
    print(f"\n{len(body):,} characters, {len(found):,} placeholders: {cpu * 1000:.1f} ms CPU")
    assert cpu < 1.0  # generous: about 40 ms for the three here
    assert len(parts) <= 2 * len(body)
    assert len(filled) <= len(body) * 2_000


def test_the_cache_is_exact_and_bounded() -> None:
    bodies = [f"${{a:{i}}} {{{{b}}}}" for i in range(CACHE_SIZE + 50)]
    for body in bodies:
        assert placeholders(body) == [Placeholder("a", body[4:-7], False), Placeholder("b", "", False)]
    assert len(placeholders_module._cache) == CACHE_SIZE
    found = placeholders(bodies[-1])
    found.append(Placeholder("changed", "", False))  # a caller's list is its own
    assert [p.name for p in placeholders(bodies[-1])] == ["a", "b"]


def test_names_written_only_inside_code_are_counted_for_the_page() -> None:
    from composite.library.placeholders import names_in_code

    body = "Use {{topic}}.\n\n```\n{{a}} {{b}} ${c} {{topic}}\n```\nand `{{d}}`, `{{ x | upper }}`"
    assert names_in_code(body) == 4  # a, b, c, d: topic is a field, the filter is no name
    assert names_in_code("plain text") == 0
