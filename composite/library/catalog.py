"""Finding prompts: search, tags, authors and sorting, always within what the viewer may see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from composite.db import Database
from composite.library.accounts import get_user_by_name
from composite.library.errors import Invalid, NotFound
from composite.library.prompts import PROMPT_COLUMNS, VISIBLE_TO, Prompt
from composite.library.search import query_terms, ranked_sql

SORTS = ("relevance", "new", "stars")
MAX_LIMIT = 100
MAX_QUERY_LENGTH = 500


@dataclass(frozen=True)
class Page:
    """One page of prompts and how many match in all."""

    items: list[Prompt]
    total: int
    limit: int
    offset: int


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
    terms = query_terms(q or "")
    searching = bool(q and q.strip())
    sort = sort or ("relevance" if searching else "new")
    if searching and not terms:  # only stop words or punctuation: nothing can match
        return Page([], 0, limit, offset)
    owner_id = None
    if author:
        try:
            owner_id = get_user_by_name(db, author).id
        except NotFound:
            return Page([], 0, limit, offset)
    sql, params = _page_sql(viewer_id, terms if searching else [], tag, owner_id, sort, limit, offset)
    rows = db.fetchall(sql, params)
    if rows:
        total = int(rows[0][-1])
    elif offset:
        total = list_prompts(db, viewer_id, q=q, tag=tag, author=author, sort=sort, limit=1).total
    else:
        total = 0
    return Page([Prompt(*row[:-1]) for row in rows], total, limit, offset)


def _page_sql(
    viewer_id: int | None,
    terms: list[str],
    tag: str | None,
    owner_id: int | None,
    sort: str,
    limit: int,
    offset: int,
) -> tuple[str, list[Any]]:
    """One query for a page of prompts and the number of matches in all.

    Matching and ordering read only narrow columns (ids, sort keys, postings); the full rows
    are fetched for the one page alone, by primary key. A window count over the wide rows
    would carry every body through the sort, which at a million prompts takes seconds.
    """
    filters = [VISIBLE_TO]
    filter_params: list[Any] = [viewer_id]
    if tag:
        filters.append("list_contains(p.tags, ?)")
        filter_params.append(tag.strip().lower())
    if owner_id is not None:
        filters.append("p.owner_id = ?")
        filter_params.append(owner_id)
    where = " AND ".join(filters)
    page_params = [limit, offset]
    if not terms:
        # Two cheap scans of narrow columns: a top-N for the page and a count for the total.
        order = _ORDERS["id" if sort == "relevance" else sort]
        sql = (
            f"SELECT {PROMPT_COLUMNS}, (SELECT count(*) FROM prompts p WHERE {where}) AS total"
            f" FROM (SELECT p.id, p.created_at, p.stars FROM prompts p WHERE {where}"
            f" ORDER BY {order.format(t='p')} LIMIT ? OFFSET ?) page"
            " JOIN prompts p ON p.id = page.id JOIN users u ON u.id = p.owner_id"
            f" ORDER BY {order.format(t='page')}"
        )
        return sql, [*filter_params, *filter_params, *page_params]
    # Searching: rank once (materialised), then take the page and the count from the ranking.
    params: list[Any] = [viewer_id, viewer_id, *terms]
    if len(filters) == 1 and sort == "relevance":
        # Ranking already keeps to what the viewer may see: no need to touch prompts at all.
        matches = "SELECT prompt_id AS id, matched, score FROM ranked"
    else:
        matches = (
            "SELECT p.id, p.created_at, p.stars, r.matched, r.score"
            f" FROM prompts p JOIN ranked r ON r.prompt_id = p.id WHERE {where}"
        )
        params += filter_params
    order = _ORDERS[sort]
    sql = (
        f"WITH {ranked_sql(len(terms))}, matches AS MATERIALIZED ({matches}),"
        f" page AS (SELECT * FROM matches m ORDER BY {order.format(t='m')} LIMIT ? OFFSET ?)"
        f" SELECT {PROMPT_COLUMNS}, (SELECT count(*) FROM matches) AS total"
        " FROM page JOIN prompts p ON p.id = page.id JOIN users u ON u.id = p.owner_id"
        f" ORDER BY {order.format(t='page')}"
    )
    return sql, [*params, *page_params]


# Sort orders over a relation aliased t; every order ends on the id so that pages never overlap.
_ORDERS = {
    "relevance": "{t}.matched DESC, {t}.score DESC, {t}.id DESC",
    "id": "{t}.id DESC",
    "new": "{t}.created_at DESC, {t}.id DESC",
    "stars": "{t}.stars DESC, {t}.id DESC",
}


@dataclass(frozen=True)
class TagPage:
    """One page of tags, most used first, and how many tags there are in all."""

    items: list[TagCount]
    total: int
    limit: int
    offset: int


def list_tags(db: Database, limit: int | None = None, offset: int = 0) -> list[TagCount]:
    """Tags over public prompts, most used first."""
    return tag_page(db, limit, offset).items


def tag_page(db: Database, limit: int | None, offset: int = 0) -> TagPage:
    """A page of the tags over public prompts, most used first, with the number of tags in all."""
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
    items = [TagCount(name, int(count)) for name, count, _ in rows]
    return TagPage(items, total, limit or total, offset)
