"""Register, log in and log out."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from composite.library import accounts, rules, throttle
from composite.library.accounts import User
from composite.library.errors import Conflict, Invalid
from composite.library.frontend.forms import form_error, text
from composite.library.frontend.intents import carry_out, parse_intent
from composite.library.frontend.security import get_db, get_limiter, get_settings, log_in, log_out, safe_next

bp = Blueprint("auth", __name__)


def _after_login(user: User, target: str | None) -> Response:
    # The star or copy asked for before logging in runs now, inside this CSRF-checked POST.
    intent = parse_intent(text("then"))
    done = carry_out(intent, user) if intent else None
    return redirect(done or target or url_for("browse.home"))


def _form_values() -> dict[str, str]:
    """The login and registration forms' hidden fields: where to go next and what to do there."""
    intent = parse_intent(request.args.get("then"))
    return {"next": request.args.get("next", ""), "then": str(intent) if intent else ""}


@bp.get("/register")
def register_form() -> str:
    """The registration form."""
    return render_template("auth/register.html", errors={}, values=_form_values())


@bp.post("/register")
def register() -> Response | tuple[str, int]:
    """Create an account and log straight in."""
    username, password = text("username").strip(), text("password")
    target = safe_next(text("next"))  # decided before anything is stored
    # Check every field first so that all problems show at once, not one per attempt.
    errors: dict[str, str] = {}
    for check, value in ((rules.check_username, username), (rules.check_password, password)):
        try:
            check(value)
        except Invalid as exc:
            errors.update(exc.errors)
    if password != text("confirm"):
        errors["confirm"] = "the two passwords differ"
    if errors:
        return form_error("auth/register.html", errors)
    # TooManyAttempts propagates to the error page: 429 with Retry-After.
    accounts.charge_registration(get_limiter(), get_settings().register_rate, request.remote_addr)
    try:
        user = accounts.create_user(get_db(), username, password)
    except Invalid as exc:
        return form_error("auth/register.html", exc.errors)
    except Conflict:
        return form_error("auth/register.html", {"username": "this name is taken; choose another"})
    log_in(user)
    return _after_login(user, target)


@bp.get("/login")
def login_form() -> str:
    """The login form."""
    return render_template("auth/login.html", errors={}, values=_form_values())


@bp.post("/login")
def login() -> Response | tuple[str, int]:
    """Check the password within the throttle and start a new session."""
    target = safe_next(text("next"))  # decided before the session is created
    # TooManyAttempts (429) and Busy (503) propagate to the error page with Retry-After.
    user = throttle.login(get_db(), text("username").strip(), text("password"), request.remote_addr)
    if user is None:
        return form_error("auth/login.html", {"password": "wrong username or password"})
    log_in(user)
    return _after_login(user, target)


@bp.post("/logout")
def logout() -> Response:
    """End the session on the server and forget the cookie."""
    log_out()
    return redirect(url_for("browse.home"))
