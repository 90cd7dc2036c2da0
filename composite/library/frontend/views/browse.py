"""Finding prompts: the home page, search, tags, each user's page and one's starred prompts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Blueprint, abort, render_template, request

from composite.library import accounts, bulk, catalog, stars
from composite.library.errors import Invalid
from composite.library.frontend.forms import number_arg
from composite.library.frontend.security import current_user, get_db, login_required, viewer_id
from composite.library.highlight import excerpt, highlight
from composite.library.rules import TAG_RE, USERNAME_RE, normal_tag

bp = Blueprint("browse", __name__)

PER_PAGE = 20
HOME_COUNT = 6
CLOUD_SIZE = 40
# However many tags there are, one page of the tag list stays a few tens of kilobytes.
TAGS_PER_PAGE = 200
SORT_LABELS = {"relevance": "Best match", "new": "Newest", "stars": "Most starred"}


def _offset() -> int:
    """Where the requested page starts (page numbers past 10,001 read as that one)."""
    return min((number_arg("page", 1) or 1) - 1, 10_000) * PER_PAGE


def _page(**filters: Any) -> catalog.Page:
    return catalog.list_prompts(get_db(), viewer_id(), limit=PER_PAGE, offset=_offset(), **filters)


def _sort() -> str | None:
    sort = request.args.get("sort") or None
    return sort if sort in catalog.SORTS else None


def tag_cloud(tags: Sequence[catalog.TagCount]) -> list[tuple[str, int, int]]:
    """Each tag with its count and a size from 1 to 5 relative to the most used tag."""
    most = max((tag.count for tag in tags), default=1)
    return [(tag.name, tag.count, 1 + (4 * (tag.count - 1)) // max(most - 1, 1)) for tag in tags]


@bp.get("/")
def home() -> str:
    """Newest and most starred prompts, and the tag cloud."""
    viewer = viewer_id()
    newest = catalog.list_prompts(get_db(), viewer, sort="new", limit=HOME_COUNT)
    starred = catalog.list_prompts(get_db(), viewer, sort="stars", limit=HOME_COUNT)
    cloud = tag_cloud(catalog.list_tags(get_db(), CLOUD_SIZE))
    return render_template("index.html", newest=newest, starred=starred, cloud=cloud)


@bp.get("/search")
def search() -> tuple[str, int]:
    """Full-text search with the API's filters (tag, author, sort), matches highlighted."""
    q = request.args.get("q", "")
    tag = normal_tag(request.args.get("tag", ""))
    author = request.args.get("author", "").strip()
    sort = _sort()
    page, errors = None, {}
    if tag and not TAG_RE.fullmatch(tag):
        errors["tag"] = "Tags are letters, digits and hyphens."
    if author and not USERNAME_RE.fullmatch(author):
        errors["author"] = "No user has a name like that."
    if not errors:
        try:
            page = _page(q=q, sort=sort, tag=tag or None, author=author or None)
        except Invalid as exc:
            errors = exc.errors
    hits = []
    if page is not None:
        hits = [
            (p, highlight(p.title, page.terms), excerpt(p.description or p.body, page.terms))
            for p in page.items
        ]
    context = {
        "q": q,
        "tag": tag,
        "author": author,
        "sort": sort,
        "page": page,
        "hits": hits,
        "errors": errors,
        "sorts": SORT_LABELS,
    }
    return render_template("search.html", **context), 422 if errors else 200


@bp.get("/tags")
def list_tags() -> str:
    """The tags in use on public prompts, most used first, a page at a time."""
    number = min(number_arg("page", 1) or 1, 10_000)
    page = catalog.tag_page(get_db(), TAGS_PER_PAGE, (number - 1) * TAGS_PER_PAGE)
    return render_template("tags.html", cloud=tag_cloud(page.items), page=page)


@bp.get("/tags/<tag>")
def tag_page(tag: str) -> str:
    """Prompts with one tag, newest or most starred first."""
    if not TAG_RE.match(tag):
        abort(404)
    sort = "stars" if _sort() == "stars" else "new"
    return render_template("tag.html", tag=tag, sort=sort, page=_page(tag=tag, sort=sort))


@bp.get("/users/<username>")
def user_page(username: str) -> str:
    """A user's profile and prompts (their private ones too, for themselves, with bulk actions)."""
    if not USERNAME_RE.match(username):
        abort(404)
    profile = accounts.get_profile(get_db(), username)
    page = _page(author=profile.username, sort="new")
    own = viewer_id() is not None and current_user().username == profile.username
    return render_template(
        "user.html", profile=profile, page=page, bulk_actions=bulk.ACTIONS if own else None
    )


@bp.get("/starred")
@login_required
def starred() -> str:
    """The prompts the logged-in user starred, the latest first."""
    page = stars.starred_prompts(get_db(), current_user(), PER_PAGE, _offset())
    return render_template("starred.html", page=page)
