"""A prompt's history: every version, one old version, what changed between two, restore."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Blueprint, redirect, render_template, url_for
from werkzeug.wrappers import Response

from composite.library import history, labels, prompts, word_diff
from composite.library.frontend.forms import number_arg, raw_view
from composite.library.frontend.security import current_user, get_db, login_required, viewer_id

bp = Blueprint("history", __name__, url_prefix="/prompts/<id:prompt_id>")


@bp.get("/history")
def list_versions(prompt_id: int) -> str:
    """The prompt's versions, newest first, a page at a time, with their labels."""
    return history_page(prompt_id)


def history_page(
    prompt_id: int, errors: Mapping[str, str] | None = None, values: Mapping[str, str] | None = None
) -> str:
    """The history page; with the label form's errors and input when a label could not be set."""
    viewer = viewer_id()
    prompt = prompts.get_prompt(get_db(), prompt_id, viewer)
    page = number_arg("page", 1) or 1
    limit = history.HISTORY_PAGE
    versions = history.list_versions(get_db(), prompt_id, viewer, limit=limit, offset=(page - 1) * limit)
    shown = labels.list_labels(get_db(), prompt_id, viewer)
    return render_template(
        "history/list.html",
        prompt=prompt,
        page=versions,
        labels=shown,
        labels_by_version=labels.by_version(shown),
        errors=errors or {},
        values=values or {"version": str(prompt.version)},
    )


@bp.get("/versions/<id:version>")
def read_version(prompt_id: int, version: int) -> str:
    """The prompt as it was at one version."""
    viewer = viewer_id()
    prompt = prompts.get_prompt(get_db(), prompt_id, viewer)
    old = history.get_version(get_db(), prompt_id, version, viewer)
    return render_template("history/version.html", prompt=prompt, version=old, raw=raw_view(default=False))


@bp.get("/diff")
def diff_versions(prompt_id: int) -> str:
    """What changed between two versions: by default the selected one against the one before."""
    viewer = viewer_id()
    prompt = prompts.get_prompt(get_db(), prompt_id, viewer)
    new_number = number_arg("to", prompt.version) or prompt.version
    new = history.get_version(get_db(), prompt_id, new_number, viewer)
    # By default the version before, skipping those saved private that the viewer may not see.
    default_old = history.previous_version(get_db(), prompt_id, new_number, viewer) or 0
    old_number = number_arg("from", default_old) or 0
    old = history.get_version(get_db(), prompt_id, old_number, viewer) if old_number else None
    diff = history.diff_versions(old, new) if old else None
    return render_template(
        "history/diff.html",
        prompt=prompt,
        numbers=history.version_numbers(get_db(), prompt_id, viewer),
        old=old,
        new=new,
        diff=diff,
        rows=word_diff.rows(diff.body, diff.words) if diff else [],
    )


@bp.post("/versions/<id:version>/restore")
@login_required
def restore_version(prompt_id: int, version: int) -> Response:
    """Make an old version current again, as a new version."""
    history.restore_version(get_db(), prompt_id, version, current_user())
    return redirect(url_for("prompts.read_prompt", prompt_id=prompt_id))
