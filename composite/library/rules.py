"""The input rules both applications enforce, in one place."""

from __future__ import annotations

import re
from collections.abc import Iterable

from composite.library.errors import Invalid

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,32}$")
TAG_RE = re.compile(r"^[a-z0-9-]{1,32}$")
# A tag as given, before lower-casing: words of letters, digits and '-' separated by spaces,
# which become '-' ("Language Learning" is the tag language-learning). At most TAG_MAX long.
TAG_INPUT_RE = re.compile(r"^ *[A-Za-z0-9-]+(?: +[A-Za-z0-9-]+)* *$")
TAG_MAX = 32
_TAG_SPACES = re.compile(r" *- *| +")  # spaces next to a '-' merge into it: "a - b" is a-b
PASSWORD_MIN = 8
PASSWORD_MAX = 1024  # hashing cost grows with length; nobody types more
TITLE_MAX = 200
BODY_MAX = 50_000
DESCRIPTION_MAX = 500
MODEL_HINT_MAX = 100
TAGS_MAX = 10
TOKEN_NAME_MAX = 64
VISIBILITIES = ("public", "private")


def check_username(value: str) -> str:
    """A username of 3-32 letters, digits, '_', '.' or '-'."""
    if not USERNAME_RE.fullmatch(value or ""):  # match() would let a trailing newline through
        raise Invalid({"username": "must be 3-32 characters of letters, digits, '_', '.' or '-'"})
    return value


def check_password(value: str) -> str:
    """A password of at least 8 characters."""
    if len(value or "") < PASSWORD_MIN:
        raise Invalid({"password": f"must be at least {PASSWORD_MIN} characters"})
    if len(value) > PASSWORD_MAX:
        raise Invalid({"password": f"must be at most {PASSWORD_MAX} characters"})
    return value


def _clean_text(value: str) -> str:
    # NUL cannot be shown or typed; refuse it rather than store it invisibly.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    # A lone surrogate (a JSON escape such as "\ud800") is not text: DuckDB cannot store it.
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("must be valid Unicode text") from None
    return value


def check_prompt_fields(
    *,
    title: str | None = None,
    body: str | None = None,
    description: str | None = None,
    model_hint: str | None = None,
    visibility: str | None = None,
) -> dict[str, str]:
    """Validate the text fields given (None means absent); return them cleaned or raise Invalid."""
    errors: dict[str, str] = {}
    cleaned: dict[str, str] = {}
    checks = {
        "title": (title, 1, TITLE_MAX, True),
        "body": (body, 1, BODY_MAX, False),
        "description": (description, 0, DESCRIPTION_MAX, True),
        "model_hint": (model_hint, 0, MODEL_HINT_MAX, True),
    }
    for field, (value, low, high, strip) in checks.items():
        if value is None:
            continue
        text = value.strip() if strip else value
        if field == "body" and not text.strip():
            text = ""
        try:
            _clean_text(text)
        except ValueError as exc:
            errors[field] = str(exc)
            continue
        if len(text) > high:  # how long it is, so that the writer knows how much to cut
            errors[field] = f"has {len(text):,} characters; at most {high:,}"
            continue
        if len(text) < low:
            errors[field] = f"must be {low}-{high} characters"
            continue
        cleaned[field] = text
    if visibility is not None:
        if visibility not in VISIBILITIES:
            errors["visibility"] = "must be 'public' or 'private'"
        else:
            cleaned["visibility"] = visibility
    if errors:
        raise Invalid(errors)
    return cleaned


def normal_tag(raw: str) -> str:
    """A tag as stored: spaces around it dropped, spaces inside it '-', lower-cased (not validated)."""
    return _TAG_SPACES.sub("-", " ".join(raw.split())).lower()


def check_tags(values: Iterable[str] | str) -> list[str]:
    """Validate tags: at most TAGS_MAX given, each 1-32 of a-z, 0-9, '-'; lower-cased, repeats merged.

    Spaces inside a tag become '-' and spaces around it are dropped, so "Language Learning"
    is language-learning. The count is of the tags given, before repeats are merged, so that
    the API's schema (a list of at most TAGS_MAX items) and this rule refuse the same input.
    A string is the website's form field: tags separated by commas.
    """
    if isinstance(values, str):
        # Any run of whitespace in the form field counts as one space.
        values = [" ".join(part.split()) for part in values.split(",") if part.strip()]
    given = list(values)
    if len(given) > TAGS_MAX:
        raise Invalid({"tags": f"at most {TAGS_MAX} tags"})
    tags: list[str] = []
    for raw in given:
        # Matched before lower-casing: str.lower() turns some non-ASCII letters into ASCII.
        if len(raw) > TAG_MAX or not TAG_INPUT_RE.fullmatch(raw):
            raise Invalid({"tags": f"{raw[:40]!r} is not a tag: use 1-{TAG_MAX} of a-z, 0-9, '-' and spaces"})
        tag = normal_tag(raw)
        if tag not in tags:
            tags.append(tag)
    return tags


def check_token_name(value: str | None) -> str:
    """A token name: free text up to 64 characters, 'token' when empty."""
    name = (value or "").strip() or "token"
    try:
        _clean_text(name)
    except ValueError as exc:
        raise Invalid({"name": str(exc)}) from None
    if len(name) > TOKEN_NAME_MAX:
        raise Invalid({"name": f"must be at most {TOKEN_NAME_MAX} characters"})
    return name
