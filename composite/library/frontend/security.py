"""Who is asking, and may they: the session user, CSRF tokens and a guard against malformed input.

The signed Flask session cookie holds two things only: ``sid``, the id of a server-side
session from :mod:`composite.library.credentials`, and ``csrf``, the token every state-changing
form must send back. Ending the server-side session makes an old cookie worthless.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import secrets
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from flask import Flask, Request, Response, abort, current_app, g, redirect, request, session, url_for
from itsdangerous import BadSignature
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.utils import cached_property

from composite.config import Settings
from composite.db import Database
from composite.library import credentials
from composite.library.accounts import User
from composite.library.ratelimit import RateLimiter
from composite.server.cookies import parse_cookies, request_cookies
from composite.server.router import Scope

CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
URL_SAFE = "/?&=%+:@;,!$'()*~-._"  # characters a path and query keep as they are

F = TypeVar("F", bound=Callable[..., Any])


class SiteRequest(Request):
    """Flask's request with its cookies read as the server's response cache reads them."""

    @cached_property
    def cookies(self) -> ImmutableMultiDict[str, str]:
        """The request's cookies, by composite.server.cookies: one reading for the cache and the site."""
        # Werkzeug reads the same header with the same parser today; reading it through
        # the one function keeps the cache's idea of who is logged in the site's own.
        return ImmutableMultiDict(parse_cookies(self.environ.get("HTTP_COOKIE")))


def get_db() -> Database:
    """The database shared with the API."""
    return current_app.extensions["composite.db"]


def get_settings() -> Settings:
    """The process's settings."""
    return current_app.extensions["composite.settings"]


def get_limiter() -> RateLimiter:
    """The per-client rate limiter shared with the API."""
    return current_app.extensions["composite.limiter"]


def load_user() -> None:
    """Set g.user from the session id in the cookie, forgetting an id that no longer works."""
    g.user = None
    sid = session.get("sid")
    if not isinstance(sid, str) or request.endpoint == "static":  # files need no database read
        return
    g.user = credentials.user_for_session(get_db(), sid)
    if g.user is None:
        session.pop("sid", None)


def signed_in_check(app: Flask) -> Callable[[Scope], bool]:
    """A check of a request's session cookie, before the server takes its body: a live session?"""
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    max_age = int(app.permanent_session_lifetime.total_seconds())  # as Flask opens a session
    db: Database = app.extensions["composite.db"]

    def signed_in(scope: Scope) -> bool:
        cookie = request_cookies(scope["headers"]).get(cookie_name)
        if not cookie or serializer is None:
            return False
        try:
            sid = serializer.loads(cookie, max_age=max_age).get("sid")
        except (BadSignature, AttributeError):  # forged, expired, or not a session at all
            return False
        return isinstance(sid, str) and credentials.user_for_session(db, sid) is not None

    return signed_in


def csrf_token() -> str:
    """This browser's CSRF token, masked afresh on every call; created on first use."""
    g.csrf_used = True  # the page now holds this browser's secret: no one else may see it
    secret = session.get("csrf")
    if not isinstance(secret, str):
        secret = secrets.token_urlsafe(32)
        session["csrf"] = secret
    return _masked(secret)


def _masked(secret: str) -> str:
    """The secret XOR a random pad, sent beside the pad: never the same bytes twice on a page."""
    # A compressed page that reflects input beside a constant secret leaks the secret
    # through the compressed size (BREACH); masked, the bytes on the page change each time.
    plain = secret.encode()
    pad = secrets.token_bytes(len(plain))
    return base64.urlsafe_b64encode(pad + bytes(a ^ b for a, b in zip(pad, plain, strict=True))).decode()


def _unmasked(token: str) -> bytes:
    """The secret a masked token carries (empty when it is no masked token)."""
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return b""
    half = len(raw) // 2
    # Only the exact spelling _masked writes: the decoder skips what follows the padding.
    if not half or len(raw) != 2 * half or base64.urlsafe_b64encode(raw) != token.encode("ascii"):
        return b""
    return bytes(a ^ b for a, b in zip(raw[:half], raw[half:], strict=True))


def check_csrf() -> None:
    """Refuse a state-changing request from another site, or whose form lacks this browser's CSRF token."""
    if request.method not in UNSAFE_METHODS or request.routing_exception is not None:
        return  # nothing would run: let the 404 or 405 answer stand
    check_origin()
    expected = session.get("csrf")
    given = _unmasked(request.form.get(CSRF_FIELD, ""))
    if not isinstance(expected, str) or not given or not hmac.compare_digest(given, expected.encode()):
        abort(
            400,
            "This form has expired or did not come from this site. Go back, reload the page and try again.",
        )


CROSS_SITE = "This request came from another site, so it was refused. Use the form on this site."


def check_origin() -> None:
    """Refuse (403) a request a browser says came from another site: a second line behind the CSRF token."""
    # Browsers send Sec-Fetch-Site on every request, Origin on cross-origin ones and on
    # most POSTs; a client that sends neither (curl, scripts) is not a browser being
    # tricked, and still needs the CSRF token.
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        # "same-site" is a sibling host (another subdomain): not this site either.
        if fetch_site.lower() not in ("same-origin", "none"):
            abort(403, CROSS_SITE)
        return
    origin = request.headers.get("Origin")
    if origin is None:
        return
    # Only the host is compared: behind a proxy that terminates TLS the application may
    # see http while the browser says https, and a different host is what marks another site.
    if origin == "null" or _authority(urlsplit(origin).netloc) != _authority(request.host):
        abort(403, CROSS_SITE)


def _authority(host: str) -> str:
    # Default ports are written by some clients and left out by others.
    return host.lower().removesuffix(":80").removesuffix(":443")


def refuse_malformed_input() -> None:
    """Answer 400 when the query string or a form holds invalid UTF-8 or NUL characters."""
    # Werkzeug would quietly turn bad bytes into look-alike text or drop the whole form;
    # a clear refusal is better than storing mangled input.
    sources = [request.query_string]
    if request.method in UNSAFE_METHODS and request.mimetype == "application/x-www-form-urlencoded":
        sources.append(request.get_data(cache=True))  # Werkzeug parses the form from this cache
    for raw in sources:
        try:
            pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, errors="strict")
        except UnicodeDecodeError:
            abort(400, "The request is not valid UTF-8 text.")
        if any("\x00" in key or "\x00" in value for key, value in pairs):
            abort(400, "The request contains a NUL character.")
    if request.mimetype == "multipart/form-data":
        for key, value in request.form.items(multi=True):
            if "\x00" in key or "\x00" in value or "\ufffd" in value:
                abort(400, "The form contains characters that are not valid text.")


def log_in(user: User) -> None:
    """Start a fresh session for the user: new session id, new CSRF token, old session ended."""
    old = session.get("sid")
    if isinstance(old, str):
        credentials.end_session(get_db(), old)
    session.clear()
    session["sid"] = credentials.start_session(get_db(), user.id)
    session["csrf"] = secrets.token_urlsafe(32)
    g.user = user


def log_out() -> None:
    """End the session on the server, so the cookie stops working even if someone kept a copy."""
    sid = session.get("sid")
    if isinstance(sid, str):
        credentials.end_session(get_db(), sid)
    session.clear()
    g.user = None


def current_user() -> User:
    """The logged-in user; only call from views behind login_required."""
    user = g.user
    assert user is not None
    return user


def viewer_id() -> int | None:
    """The logged-in user's id, or None for a visitor."""
    return g.user.id if g.user is not None else None


def login_required(view: F) -> F:
    """Send anonymous visitors to the login page, then back to where they were going."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.user is None:
            # Werkzeug gives the path decoded; encode it again so that safe_next sees a URL.
            target = quote(request.full_path, safe=URL_SAFE) if request.method == "GET" else request.referrer
            return redirect(url_for("auth.login_form", next=safe_next(target)))
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


# Longer than any URL the site makes; a longer "next" is not ours.
NEXT_MAX = 2000


def safe_next(target: str | None) -> str | None:
    """A path on this site to go to after logging in, or None for anything that could leave it."""
    if not target or len(target) > NEXT_MAX:
        return None
    # Browsers drop tabs and newlines inside a URL and read "\\" as "/", and Werkzeug strips
    # some of them from a Location header: "/\t/evil.example" would become "//evil.example".
    # The site's own URLs are percent-encoded, so anything but printable ASCII is refused
    # rather than cleaned up (that also keeps CR and LF out of the header).
    if not all("!" <= char <= "~" for char in target) or "\\" in target:
        return None
    if target.startswith(request.host_url):
        target = "/" + target[len(request.host_url) :]
    parts = urlsplit(target)
    # "///x" splits into an empty host and the path "/x": refuse it rather than guess.
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return urlunsplit(("", "", parts.path, parts.query, "")) or "/"


def mark_cacheability(response: Response) -> Response:
    """Say who may keep a page: anyone when it shows nothing of this browser's, else this browser."""
    if request.method not in ("GET", "HEAD") or "Cache-Control" in response.headers:
        return response
    shared = g.get("user") is None and not g.get("csrf_used") and not session.modified
    # no-cache: kept, but checked again (ETag) each time, since any write may change it.
    response.headers["Cache-Control"] = "public, no-cache" if shared else "private, no-cache"
    return response
