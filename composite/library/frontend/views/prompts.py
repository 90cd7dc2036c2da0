"""A prompt's own pages: create, view with its placeholders filled, edit, delete, star, copy; bulk actions."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from composite.library import bulk, forks, prompts, stars
from composite.library.errors import Invalid
from composite.library.frontend.conditional import conditional_prompt_page, viewer_starred
from composite.library.frontend.forms import MAX_NUMBER, form_error, number_list, prompt_form, raw_view
from composite.library.frontend.security import current_user, get_db, login_required, viewer_id
from composite.library.placeholders import (
    FILL_VALUE_MAX,
    FILLED_MAX,
    fill,
    names_in_code,
    placeholders,
    template,
)
from composite.library.prompts import Prompt

bp = Blueprint("prompts", __name__, url_prefix="/prompts")


def owned(prompt_id: int) -> Prompt:
    """The current user's prompt: NotFound when they cannot see it, Forbidden when not theirs."""
    return prompts.load_for_owner(get_db().cursor(), prompt_id, current_user())


def _form_values(prompt: Prompt) -> dict[str, str]:
    return {
        "title": prompt.title,
        "description": prompt.description,
        "body": prompt.body,
        "tags": ", ".join(prompt.tags),
        "model_hint": prompt.model_hint,
        "visibility": prompt.visibility,
    }


@bp.get("/new")
@login_required
def new_prompt_form() -> str:
    """The form for a new prompt."""
    values = {"visibility": prompts.CONTENT_DEFAULTS["visibility"]}
    return render_template("prompts/form.html", prompt=None, errors={}, values=values)


@bp.post("/new")
@login_required
def create_prompt() -> Response | tuple[str, int]:
    """Save a new prompt as version 1."""
    try:
        prompt = prompts.create_prompt(get_db(), current_user(), **prompt_form())
    except Invalid as exc:
        return form_error("prompts/form.html", exc.errors, prompt=None)
    return redirect(url_for("prompts.read_prompt", prompt_id=prompt.id))


@bp.get("/<id:prompt_id>")
@conditional_prompt_page
def read_prompt(prompt_id: int) -> tuple[str, int]:
    """A prompt, with a field per placeholder and the text filled in from the query string.

    The script on the page fills the text as people type, without a request; the query
    string is the form without JavaScript and a link someone chose to share.
    """
    viewer = viewer_id()
    prompt = prompts.get_prompt(get_db(), prompt_id, viewer)
    fields = placeholders(prompt.body)
    given = [field.name for field in fields if field.name in request.args]
    values = {field.name: field.default for field in fields}
    values.update({name: request.args[name][:FILL_VALUE_MAX] for name in given})
    fill_error, status = None, 200
    try:
        filled = fill(prompt.body, values)
    except Invalid as exc:  # too long once filled: show the prompt as it is, and say why
        filled, fill_error = prompt.body, exc.errors["fill"]
        status = 422 if given else 200  # defaults alone are no mistake of the visitor's
    page = render_template(
        "prompts/view.html",
        prompt=prompt,
        fields=fields,
        names=[field.name for field in fields],  # what the output section asks about
        in_code=names_in_code(prompt.body),
        given=given,
        values=values,
        parts=template(prompt.body) if fields else [],
        value_max=FILL_VALUE_MAX,
        filled_max=FILLED_MAX,
        filled=filled,
        fill_error=fill_error,
        starred=viewer_starred(prompt.id),
        source=forks.visible_source(get_db(), prompt, viewer),
        # With placeholders the text being filled in is what matters; without, the formatting.
        raw=raw_view(default=bool(fields)),
        # Tall enough for every line where the box cannot grow to its text (no field-sizing, no JS).
        rows=max(filled.count("\n") + 2, 4),
    )
    return page, status


@bp.get("/<id:prompt_id>/edit")
@login_required
def edit_prompt_form(prompt_id: int) -> str:
    """The edit form, filled with the prompt as it is now."""
    prompt = owned(prompt_id)
    return render_template("prompts/form.html", prompt=prompt, errors={}, values=_form_values(prompt))


@bp.post("/<id:prompt_id>/edit")
@login_required
def update_prompt(prompt_id: int) -> Response | tuple[str, int]:
    """Save the changes as a new version (none when nothing changed)."""
    prompt = owned(prompt_id)  # before validating, so a stranger learns nothing from the errors
    try:
        prompts.update_prompt(get_db(), prompt_id, current_user(), **prompt_form())
    except Invalid as exc:
        return form_error("prompts/form.html", exc.errors, prompt=prompt)
    return redirect(url_for("prompts.read_prompt", prompt_id=prompt_id))


@bp.get("/<id:prompt_id>/delete")
@login_required
def delete_prompt_form(prompt_id: int) -> str:
    """Ask before deleting a prompt and its history."""
    return render_template("prompts/delete.html", prompt=owned(prompt_id))


@bp.post("/<id:prompt_id>/delete")
@login_required
def delete_prompt(prompt_id: int) -> Response:
    """Delete the prompt with every version and star."""
    user = current_user()
    prompts.delete_prompt(get_db(), prompt_id, user)
    return redirect(url_for("browse.user_page", username=user.username))


@bp.post("/bulk")
@login_required
def bulk_action() -> Response | str:
    """Apply one action to the prompts ticked on one's own page, in one request; deleting asks first."""
    user = current_user()
    form = request.form
    page = form.get("page", "")
    page_number = int(page) if page.isdecimal() and page.isascii() and 1 < int(page) <= MAX_NUMBER else None
    back = url_for("browse.user_page", username=user.username, page=page_number)
    ids, action, tag = number_list("ids"), form.get("action", ""), form.get("tag")
    try:
        if action == "delete" and form.get("confirmed") != "1":
            ids, _ = bulk.check_request(ids, action, tag)
            rows = prompts.rows_by_id(get_db().cursor(), ids)
            chosen = [rows[i][0] for i in ids if i in rows and rows[i][1] == user.id]
            if chosen:
                return render_template("prompts/bulk_delete.html", chosen=chosen, back=back, page=page_number)
        result = bulk.bulk_action(get_db(), user, ids, action, tag)
    except Invalid as exc:
        flash(" ".join(_sentence(problem) for problem in exc.errors.values()), "error")
    else:
        flash(result.summary())
    # After a POST, the page is asked for afresh: reloading it does not act again.
    return redirect(back, 303)


def _sentence(problem: str) -> str:
    """A rule's words ('choose at least one prompt') as a sentence of a notice."""
    return problem[:1].upper() + problem[1:].rstrip(".") + "."


@bp.post("/<id:prompt_id>/star")
@login_required
def star_prompt(prompt_id: int) -> Response:
    """Star the prompt (starring twice counts once)."""
    stars.star(get_db(), prompt_id, current_user())
    return redirect(url_for("prompts.read_prompt", prompt_id=prompt_id))


@bp.post("/<id:prompt_id>/unstar")
@login_required
def unstar_prompt(prompt_id: int) -> Response:
    """Take the user's star back."""
    stars.unstar(get_db(), prompt_id, current_user())
    return redirect(url_for("prompts.read_prompt", prompt_id=prompt_id))


@bp.post("/<id:prompt_id>/fork")
@login_required
def fork_prompt(prompt_id: int) -> Response:
    """Copy the prompt into the user's library as a private prompt, and show the copy."""
    fork = forks.fork_prompt(get_db(), prompt_id, current_user())
    return redirect(url_for("prompts.read_prompt", prompt_id=fork.id))
