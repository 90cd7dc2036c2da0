"""Finding prompts: search, tags, authors and sorting, always within what the viewer may see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from composite.accounts import get_user_by_name
from composite.db import Database
from composite.errors import Invalid, NotFound
from composite.prompts import PROMPT_COLUMNS, VISIBLE_TO, Prompt
from composite.search import RANKED_SQL, query_terms

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

    params: list[Any] = []
    sql = (
        f"SELECT {PROMPT_COLUMNS}, count(*) OVER () AS total FROM prompts p JOIN users u ON u.id = p.owner_id"
    )
    if searching:
        if not terms:  # only stop words or punctuation: nothing can match
            return Page([], 0, limit, offset)
        sql += f" JOIN ({RANKED_SQL}) r ON r.prompt_id = p.id"
        params += [terms, viewer_id, viewer_id]
    sql += f" WHERE {VISIBLE_TO}"
    params.append(viewer_id)
    if tag:
        sql += " AND list_contains(p.tags, ?)"
        params.append(tag.strip().lower())
    if author:
        try:
            owner = get_user_by_name(db, author)
        except NotFound:
            return Page([], 0, limit, offset)
        sql += " AND p.owner_id = ?"
        params.append(owner.id)
    order = {
        "relevance": "r.matched DESC, r.score DESC, p.id DESC" if searching else "p.id DESC",
        "new": "p.created_at DESC, p.id DESC",
        "stars": "p.stars DESC, p.id DESC",
    }[sort]
    sql += f" ORDER BY {order} LIMIT ? OFFSET ?"
    params += [limit, offset]
    rows = db.fetchall(sql, params)
    if rows:
        total = int(rows[0][-1])
    elif offset:
        total = list_prompts(db, viewer_id, q=q, tag=tag, author=author, sort=sort, limit=1).total
    else:
        total = 0
    return Page([Prompt(*row[:-1]) for row in rows], total, limit, offset)


def list_tags(db: Database, limit: int | None = None) -> list[TagCount]:
    """Tags over public prompts, most used first."""
    sql = (
        "SELECT tag, count(*) AS n FROM (SELECT unnest(tags) AS tag FROM prompts WHERE visibility = 'public')"
        " GROUP BY tag ORDER BY n DESC, tag"
    )
    params: list[Any] = []
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return [TagCount(name, int(count)) for name, count in db.fetchall(sql, params)]
