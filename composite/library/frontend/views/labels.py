"""Labels on the history page: the owner points a name at a version, moves it, removes it."""

from __future__ import annotations

from flask import Blueprint, redirect, request, url_for
from werkzeug.wrappers import Response

from composite.library import labels
from composite.library.errors import Conflict, Invalid, NotFound
from composite.library.frontend.forms import MAX_NUMBER, text
from composite.library.frontend.security import current_user, get_db, login_required
from composite.library.frontend.views.history import history_page
from composite.library.frontend.views.prompts import owned

bp = Blueprint("labels", __name__, url_prefix="/prompts/<id:prompt_id>/labels")


@bp.post("")
@login_required
def set_label(prompt_id: int) -> Response | tuple[str, int]:
    """Point a label at a version (creating or moving it), then show the history again."""
    owned(prompt_id)  # before reading the form, so a stranger learns nothing from its errors
    name, number = text("name").strip(), text("version").strip()
    errors: dict[str, str] = {}
    try:
        labels.check_label_name(name)
    except Invalid as exc:
        errors.update(exc.errors)
    version = int(number) if number.isdecimal() and number.isascii() and len(number) <= 10 else 0
    if not 1 <= version <= MAX_NUMBER:
        errors["version"] = "must be the number of one of the versions below"
    if not errors:
        try:
            labels.set_label(get_db(), prompt_id, name, version, current_user())
        except NotFound:  # the prompt is the user's (checked above): the version is what is missing
            errors["version"] = f"there is no version {version}"
        except Conflict as exc:
            errors["name"] = exc.message
    if errors:
        return history_page(prompt_id, errors, request.form), 422
    return redirect(url_for("history.list_versions", prompt_id=prompt_id))


@bp.post("/<label>/remove")
@login_required
def remove_label(prompt_id: int, label: str) -> Response:
    """Remove a label; the version it pointed at stays."""
    labels.remove_label(get_db(), prompt_id, label, current_user())
    return redirect(url_for("history.list_versions", prompt_id=prompt_id))
