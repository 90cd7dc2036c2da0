"""ETag and 304 for a prompt's page: a browser revalidating an unchanged page is sent no body."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from typing import Any

from flask import current_app, g, make_response, request, session
from werkzeug.wrappers import Response

from composite.library import freshness, stars
from composite.library.frontend.security import get_db, get_settings, viewer_id
from composite.server.conditional import PRIVATE_REVALIDATE, SHARED_REVALIDATE, none_match, weak_etag


def _build() -> str:
    """A token of this application instance: a new process may render the same data differently."""
    return current_app.extensions.setdefault("composite.page_build", secrets.token_hex(8))


def viewer_starred(prompt_id: int) -> bool:
    """Whether the viewer starred the prompt, read once per request: its tag and its page both show it."""
    starred: dict[int, bool] = g.setdefault("viewer_starred", {})
    if prompt_id not in starred:
        starred[prompt_id] = stars.has_starred(get_db(), prompt_id, viewer_id())
    return starred[prompt_id]


def conditional_prompt_page(view: Callable[..., Any]) -> Callable[..., Any]:
    """Give a prompt's page an ETag made of all it shows; answer 304 when the browser's copy is current."""

    @functools.wraps(view)
    def wrapped(prompt_id: int, **kwargs: Any) -> Any:
        if get_settings().debug:  # development: templates change under the same data
            return view(prompt_id, **kwargs)
        viewer = viewer_id()
        # Read before the page is built, so a page is never older than its tag. The session
        # is the rest of what a page shows that the database does not hold: CSRF token, login.
        state = freshness.prompt_state(get_db(), prompt_id, viewer)
        parts = (
            _build(),
            request.endpoint,
            prompt_id,
            viewer,
            state.parts(),
            viewer_starred(prompt_id),
            sorted(session.items()),
            request.query_string,
        )
        etag = weak_etag(*parts)
        if none_match(request.headers.get("If-None-Match"), etag):
            # As the page itself would be marked (security.mark_cacheability): shared only
            # when nobody is logged in and the browser holds no session.
            shared = viewer is None and not session
            cache_control = SHARED_REVALIDATE if shared else PRIVATE_REVALIDATE
            return current_app.response_class(
                status=304, headers={"ETag": etag, "Cache-Control": cache_control}
            )
        response: Response = make_response(view(prompt_id, **kwargs))
        if response.status_code == 200:
            response.headers["ETag"] = etag
        return response

    return wrapped
