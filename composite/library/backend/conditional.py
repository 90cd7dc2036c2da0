"""Conditional GETs for the API: each answer carries its ETag; a client whose copy is current gets 304."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, Response

from composite.server.conditional import PRIVATE_REVALIDATE, SHARED_REVALIDATE, none_match, weak_etag

IfNoneMatch = Annotated[
    str | None,
    Header(
        description="ETags of copies the client holds (a list, weak or strong, or *): when one is"
        " current the answer is 304 with no body"
    ),
]
_HEADERS: dict[str, Any] = {
    "ETag": {
        "description": "Names this answer: send it back in If-None-Match to be told 304 while it is current",
        "schema": {"type": "string"},
    },
    "Cache-Control": {
        "description": f"'{PRIVATE_REVALIDATE}' for a token holder, '{SHARED_REVALIDATE}' for anyone"
        " else: revalidate each time",
        "schema": {"type": "string"},
    },
}
CONDITIONAL_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"headers": _HEADERS},
    304: {
        "description": "Not Modified: the copy named in If-None-Match is current (no body)",
        "headers": _HEADERS,
    },
}


def conditional(response: Response, if_none_match: str | None, *parts: object) -> Response | None:
    """Give the answer made of ``parts`` its ETag; return a 304 to send instead if the copy is current."""
    # Who may keep it was said by the caller's dependency (deps.optional_user): public for
    # an anonymous caller, private for a token holder; private when nothing was said.
    cache_control = response.headers.get("Cache-Control", PRIVATE_REVALIDATE)
    headers = {"ETag": weak_etag(*parts), "Cache-Control": cache_control}
    if none_match(if_none_match, headers["ETag"]):
        return Response(status_code=304, headers=headers)
    response.headers.update(headers)
    return None
