"""Finding prompts: search, tags, authors and sorting, always within what the viewer may see."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from composite.db import Database, row_maker
from composite.library import scopes
from composite.library.accounts import get_user_by_name
from composite.library.errors import Invalid, NotFound
from composite.library.prompts import PROMPT_COLUMNS, VISIBLE_TO, Prompt
from composite.library.query_syntax import parse
from composite.library.scopes import BY_STARS, LISTED
from composite.library.searching import Narrowing, Page, filters_sql, find

__all__ = ["MAX_LIMIT", "MAX_QUERY_LENGTH", "SORTS", "Page", "TagCount", "list_prompts", "list_tags"]

SORTS = ("relevance", "new", "stars")
MAX_LIMIT = 100
MAX_QUERY_LENGTH = 500
# is:starred asked by nobody signed in: no results, and this says why.
SIGN_IN_FOR_STARS = "Sign in to search the prompts you starred (is:starred)."


@dataclass(frozen=True)
class TagCount:
    """A tag and how many public prompts carry it."""

    name: str
    count: int


def list_prompts(
    db: Database,
    viewer_id: int | None = None,
    *,
    q: str | None = None,
    tag: str | None = None,
    author: str | None = None,
    sort: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> Page:
    """Prompts the viewer may see, filtered and sorted; best matches first when searching."""
    if sort is not None and sort not in SORTS:
        raise Invalid({"sort": f"must be one of {', '.join(SORTS)}"})
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid({"limit": f"must be 1-{MAX_LIMIT}"})
    if offset < 0:
        raise Invalid({"offset": "must not be negative"})
    if q is not None and len(q) > MAX_QUERY_LENGTH:
        raise Invalid({"q": f"must be at most {MAX_QUERY_LENGTH} characters"})
    query = parse(q) if q and q.strip() else None
    if query is not None:
        # The box's filters and the parameters must both hold: two different tags match nothing.
        if (query.tag and tag and query.tag != tag.strip().lower()) or (
            query.author and author and query.author.lower() != author.lower()
        ):
            return Page((), 0, limit, offset, searched_for="")
        tag, author = query.tag or tag, query.author or author
        if query.starred and viewer_id is None:
            return Page((), 0, limit, offset, searched_for="", notice=SIGN_IN_FOR_STARS)
    starred_by = viewer_id if query is not None and query.starred else None
    # Filters alone (tag:fabric, is:starred) list what they select, as the parameters do.
    searching = query is not None and bool(query.words.strip() or query.excluded)
    sort = sort or ("relevance" if searching else "new")
    owner_id = None
    if author:
        try:
            with db.reading(LISTED):  # a name, once taken, names the same user until they go
                owner_id = get_user_by_name(db, author).id
        except NotFound:
            return Page((), 0, limit, offset)
    tag = tag.strip().lower() if tag else None
    if searching and query is not None:
        narrowing = Narrowing(query.phrases, query.excluded, starred_by)
        return find(
            db,
            viewer_id,
            query.words,
            tag=tag,
            owner_id=owner_id,
            sort=sort,
            limit=limit,
            offset=offset,
            narrowing=narrowing,
        )
    listing = Listing(viewer_id, tag, owner_id, starred_by, sort, limit, offset)
    # Kept until a write to what the page shows: home, tag and user pages ask the same few questions.
    return db.memo.get(("page", listing), lambda: _listing(db, listing), _page_weight)


def _page_weight(page: Page) -> int:
    """Roughly the bytes a page holds: its text, plus a little per prompt."""
    return sum(256 + len(p.title) + len(p.description) + len(p.body) for p in page.items)


@dataclass(frozen=True)
class Listing:
    """A page of prompts asked for without words to search: who asks, the filters, the order."""

    viewer_id: int | None
    tag: str | None
    owner_id: int | None
    starred_by: int | None
    sort: str
    limit: int
    offset: int


def _listing(db: Database, listing: Listing) -> Page:
    """One page of prompts without words to search, and how many there are in all."""
    sql, params = _page_sql(listing)
    read = [LISTED, *([BY_STARS] if listing.sort == "stars" else [])]
    if listing.starred_by is not None:  # which prompts the viewer starred: a star moves no listing
        read.append(scopes.starred(listing.starred_by))
    with db.reading(*read) as also:
        result = db.cursor().execute(sql, params)
        as_prompt = row_maker(Prompt, result.description)
        rows = result.fetchall()
        also(scopes.prompts(row[0] for row in rows))
    if rows:
        total = int(rows[0][-1])
    elif listing.offset:  # past the end: the count comes with the first page
        total = _listing(db, replace(listing, limit=1, offset=0)).total
    else:
        total = 0
    return Page(tuple(as_prompt(row) for row in rows), total, listing.limit, listing.offset)


def _page_sql(listing: Listing) -> tuple[str, list[Any]]:
    """One query for a page of prompts (no words to search) and the number of them in all.

    Ordering reads only narrow columns (ids, sort keys); the full rows are fetched for the
    one page alone, by primary key. A window count over the wide rows would carry every
    body through the sort, which at a million prompts takes seconds.
    """
    extra, extra_params = filters_sql(listing.tag, listing.owner_id, listing.starred_by)
    where = " AND ".join([VISIBLE_TO, *extra])
    filter_params: list[Any] = [listing.viewer_id, *extra_params]
    order = _ORDERS["id" if listing.sort == "relevance" else listing.sort]
    sql = (
        f"SELECT {PROMPT_COLUMNS}, (SELECT count(*) FROM prompts p WHERE {where}) AS total"
        f" FROM (SELECT p.id, p.created_at, p.stars FROM prompts p WHERE {where}"
        f" ORDER BY {order.format(t='p')} LIMIT ? OFFSET ?) page"
        " JOIN prompts p ON p.id = page.id JOIN users u ON u.id = p.owner_id"
        f" ORDER BY {order.format(t='page')}"
    )
    return sql, [*filter_params, *filter_params, listing.limit, listing.offset]


# Sort orders over a relation aliased t; every order ends on the id so that pages never overlap.
_ORDERS = {
    "id": "{t}.id DESC",
    "new": "{t}.created_at DESC, {t}.id DESC",
    "stars": "{t}.stars DESC, {t}.id DESC",
}


@dataclass(frozen=True)
class TagPage:
    """One page of tags, most used first, and how many tags there are in all."""

    items: tuple[TagCount, ...]  # a tuple: a cached page is shared by every caller
    total: int
    limit: int
    offset: int


def list_tags(db: Database, limit: int | None = None, offset: int = 0) -> tuple[TagCount, ...]:
    """Tags over public prompts, most used first."""
    return tag_page(db, limit, offset).items


def tag_page(db: Database, limit: int | None, offset: int = 0) -> TagPage:
    """A page of the tags over public prompts, most used first, with the number of tags in all."""

    # Counting tags reads every public prompt's tags: once per change of what is listed.
    def compute() -> TagPage:
        with db.reading(LISTED):
            return _tag_page(db, limit, offset)

    return db.memo.get(("tags", limit, offset), compute)


def _tag_page(db: Database, limit: int | None, offset: int) -> TagPage:
    sql = (
        "SELECT tag, n, count(*) OVER () FROM (SELECT tag, count(*) AS n FROM"
        " (SELECT unnest(tags) AS tag FROM prompts WHERE visibility = 'public') GROUP BY tag)"
        " ORDER BY n DESC, tag LIMIT ? OFFSET ?"
    )
    rows = db.fetchall(sql, [limit, offset])
    if rows:
        total = int(rows[0][2])
    elif offset:
        row = db.fetchone(
            "SELECT count(DISTINCT tag) FROM"
            " (SELECT unnest(tags) AS tag FROM prompts WHERE visibility = 'public')"
        )
        total = int(row[0]) if row else 0
    else:
        total = 0
    items = tuple(TagCount(name, int(count)) for name, count, _ in rows)
    return TagPage(items, total, limit or total, offset)
