"""Frontend application factory."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable
from datetime import datetime
from urllib.parse import urlencode

from flask import Flask, Response, current_app, g, render_template, request, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from composite.config import Settings
from composite.db import Database, DatabaseInvalidatedError, DiskFullError
from composite.library.errors import DomainError, TooManyAttempts
from composite.library.frontend import intents, security, staticfiles
from composite.library.frontend.cards import CardCache
from composite.library.markdown import render_body, render_description
from composite.library.ratelimit import RateLimiter
from composite.server.cookies import cookie_header, parse_cookies
from composite.server.gone import CLIENT_CLOSED, ClientGone
from composite.server.limits import Refusal, Rendered
from composite.server.router import Scope


class IdConverter(IntegerConverter):
    """A database id or version number in a URL: longer numbers are simply not found."""

    regex = r"\d{1,9}"


def create_frontend(settings: Settings, db: Database, limiter: RateLimiter | None = None) -> Flask:
    """Build the Flask application over the shared database and rate limiter."""
    app = Flask(__name__, static_folder="static", static_url_path="/static")
    app.request_class = security.SiteRequest
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.production,
        # Development: templates and static files are read afresh, and errors show a
        # traceback page (Werkzeug's, without its console) instead of the plain 500 page.
        SEND_FILE_MAX_AGE_DEFAULT=0 if settings.debug else 3600,
        TEMPLATES_AUTO_RELOAD=settings.debug,
    )
    if settings.debug:
        from werkzeug.debug import DebuggedApplication

        app.debug = True
        app.wsgi_app = DebuggedApplication(app.wsgi_app, evalex=False)  # type: ignore[method-assign]
    app.extensions["composite.settings"] = settings
    app.extensions["composite.db"] = db
    app.extensions["composite.limiter"] = limiter or RateLimiter()
    app.url_map.converters["id"] = IdConverter

    # Order matters: an upload's own limit is set before anything reads the form, and bad
    # bytes are refused before the form is read for its CSRF token.
    app.before_request(_allow_large_upload)
    app.before_request(security.refuse_malformed_input)
    app.before_request(security.load_user)
    app.before_request(security.check_csrf)
    app.after_request(security.mark_cacheability)
    staticfiles.install(app, debug=settings.debug)
    app.jinja_env.globals["csrf_token"] = security.csrf_token
    # Error pages can render before load_user has run, so templates read the user via g.get.
    app.context_processor(lambda: {"current_user": g.get("user")})
    app.jinja_env.globals["page_url"] = page_url
    app.jinja_env.globals["pending_intent"] = intents.parse_intent
    app.jinja_env.filters["when"] = format_time
    app.jinja_env.globals["view_url"] = view_url
    app.extensions["composite.cards"] = cards = CardCache()
    app.jinja_env.globals["prompt_card"] = cards.card
    app.jinja_env.filters["markdown"] = render_body
    app.jinja_env.filters["markdown_inline"] = render_description

    from composite.library.frontend.views import account, auth, browse, history, labels, pages, prompts

    for blueprint in (pages.bp, browse.bp, auth.bp, prompts.bp, history.bp, labels.bp, account.bp):
        app.register_blueprint(blueprint)
    app.extensions["composite.upload_limits"] = account.UPLOAD_LIMITS
    if settings.test_endpoints:
        from composite.library.frontend.views import echo

        app.register_blueprint(echo.bp)

    @app.errorhandler(DomainError)
    def render_domain_error(error: DomainError) -> Response:
        """Render a refusal from the domain rules as a page with its status."""
        # The domain's messages never name a private prompt, so they are safe to show.
        message = error.message[:1].upper() + error.message[1:]
        if isinstance(error, TooManyAttempts):
            message = f"{message.rstrip('.')}. You can try again in {wait_in_words(error.retry_after)}."
        page = render_template(
            "error.html", code=error.status, title=_TITLES.get(error.status, "Error"), message=message
        )
        response = app.make_response((page, error.status))
        if isinstance(error, TooManyAttempts):
            response.headers["Retry-After"] = str(error.retry_after)
        return response

    @app.errorhandler(HTTPException)
    def render_http_error(error: HTTPException) -> tuple[str, int]:
        """Render 4xx and 5xx answers in the site's own layout."""
        return _http_error_page(error)

    app.register_error_handler(ClientGone, _client_gone)

    app.register_error_handler(DiskFullError, _disk_full)
    app.register_error_handler(Exception, _unexpected_error)

    return app


def _client_gone(error: ClientGone) -> tuple[str, int]:
    """Nobody hears this answer: it records in the access log that the work was skipped."""
    return "", CLIENT_CLOSED


def _disk_full(error: DiskFullError) -> tuple[str, int]:
    """A write refused for lack of disk space: 507, and the visitor knows nothing was saved."""
    current_app.logger.warning("write refused: %s", error)
    message = "The server is out of disk space, so nothing was saved. Please try again later."
    return render_template("error.html", code=507, title=_TITLES[507], message=message), 507


def _unexpected_error(error: Exception) -> tuple[str, int]:
    """Log the failure and show the site's 500 page, never a traceback."""
    db: Database = current_app.extensions["composite.db"]
    if isinstance(error, DatabaseInvalidatedError) or db.invalidated(error):
        # DuckDB's fatal error: the process is on its way to a restart (Database.invalidated).
        message = "The database failed and the server is restarting. Please try again shortly."
        return render_template("error.html", code=503, title=_TITLES[503], message=message), 503
    current_app.logger.exception("unhandled error in the website")
    message = "Something went wrong on our side. Please try again."
    return render_template("error.html", code=500, title="Server error", message=message), 500


_TITLES = {
    400: "Bad request",
    401: "Log in first",
    403: "Not yours",
    404: "Not found",
    409: "Conflict",
    413: "Too large",
    422: "Invalid input",
    429: "Too many attempts",
    503: "Busy",
    507: "Out of disk space",
}


def _http_error_page(error: HTTPException) -> tuple[str, int]:
    """An HTTP error as the site's page, its header showing who is logged in."""
    # Raised before load_user ran (malformed input, a body too large), the page would
    # otherwise say "Log in" to someone who is.
    if "user" not in g:
        try:
            security.load_user()
        except Exception:  # the error page is shown either way, without the name
            current_app.logger.exception("the user of an error page could not be loaded")
            g.user = None
    code = error.code or 500
    return render_template("error.html", code=code, title=error.name, message=error.description), code


def large_uploads(app: Flask) -> dict[str, int]:
    limits = app.extensions["composite.upload_limits"]
    return {rule.rule: limits[rule.endpoint] for rule in app.url_map.iter_rules() if rule.endpoint in limits}


def _allow_large_upload() -> None:
    """Give an upload endpoint its own body limit, before anything reads the form."""
    limit = current_app.extensions["composite.upload_limits"].get(request.endpoint)
    if limit is not None:
        request.max_content_length = limit


def refusal_page(app: Flask) -> Refusal:
    """The server's own refusals (a body too large, too many at once) as the site's error page."""
    session_cookie = app.config["SESSION_COOKIE_NAME"]

    @functools.lru_cache(maxsize=16)
    def anonymous(status: int, message: str) -> bytes:
        # The same for every visitor, so rendered once: most refusals cost no thread.
        with app.test_request_context("/"):
            return _error_page(status, message)

    def signed_in(cookies: str, status: int, message: str) -> bytes:
        # The request's own cookies, read as for any page: the header shows who is logged
        # in, and its Log out form carries the session's CSRF token.
        with app.test_request_context("/", headers={"Cookie": cookies}):
            security.load_user()
            if g.user is None:
                return anonymous(status, message)
            return _error_page(status, message)

    async def in_thread(cookies: str, status: int, message: str) -> Rendered:
        try:
            # The session's lookup may query the database: never on the event loop.
            page = await asyncio.to_thread(signed_in, cookies, status, message)
        except Exception:  # a page without the name beats no page at all
            app.logger.exception("the refusal page for a session could not be rendered")
            page = anonymous(status, message)
        return HTML, page

    def render(scope: Scope, status: int, message: str) -> Rendered | Awaitable[Rendered]:
        cookies = cookie_header(scope["headers"])
        if cookies is None or session_cookie not in parse_cookies(cookies):
            return HTML, anonymous(status, message)
        return in_thread(cookies, status, message)

    return render


HTML = b"text/html; charset=utf-8"


def _error_page(status: int, message: str) -> bytes:
    """The site's error page for a status and message, in the current request's context."""
    return render_template(
        "error.html", code=status, title=_TITLES.get(status, "Error"), message=message
    ).encode()


def format_time(value: datetime | None) -> str:
    """A timestamp as people read it: date and minutes."""
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


def page_url(number: int) -> str:
    """This listing's URL at another page number, keeping the search and sort."""
    args = {key: value for key, value in request.args.items() if key in ("q", "sort")}
    return url_for(request.endpoint or "browse.home", **(request.view_args or {}), **args, page=number)


def view_url(view: str) -> str:
    """This page's URL showing the prompt's text another way (``?view=``), keeping the rest."""
    # The query is encoded here, not passed to url_for: any name may arrive in it, and
    # url_for reads some (_external, _scheme, the route's own arguments) as instructions.
    pairs = [(key, value) for key, value in request.args.items(multi=True) if key != "view"]
    path = url_for(request.endpoint or "browse.home", **(request.view_args or {}))
    return f"{path}?{urlencode([*pairs, ('view', view)])}"


def wait_in_words(seconds: int) -> str:
    """A wait as a reader takes it in: '40 seconds', '1 minute', '57 minutes', '2 hours'."""
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds >= size * (2 if unit == "hour" else 1):
            count = round(seconds / size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"
