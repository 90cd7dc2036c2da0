"""Frontend application factory."""

from __future__ import annotations

from flask import Flask, render_template
from werkzeug.exceptions import HTTPException

from composite.config import Settings
from composite.db import Database


def create_frontend(settings: Settings, db: Database) -> Flask:
    """Build the Flask application over the shared database."""
    app = Flask(__name__, static_folder="static", static_url_path="/static")
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.production,
        SEND_FILE_MAX_AGE_DEFAULT=3600,
    )
    app.extensions["composite.settings"] = settings
    app.extensions["composite.db"] = db

    from composite.frontend.views import pages

    app.register_blueprint(pages.bp)
    if settings.test_endpoints:
        from composite.frontend.views import echo

        app.register_blueprint(echo.bp)

    @app.errorhandler(HTTPException)
    def render_http_error(error: HTTPException) -> tuple[str, int]:
        """Render 4xx and 5xx answers in the site's own layout."""
        code = error.code or 500
        return render_template("error.html", code=code, title=error.name, message=error.description), code

    @app.errorhandler(Exception)
    def render_unexpected_error(error: Exception) -> tuple[str, int]:
        """Log the failure and show the site's 500 page, never a traceback."""
        app.logger.exception("unhandled error in the website")
        message = "Something went wrong on our side. Please try again."
        return render_template("error.html", code=500, title="Server error", message=message), 500

    return app
