"""The account page: API tokens, and export and import of one's prompts."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from composite.library import credentials, export, password_change, transfer
from composite.library.errors import Invalid
from composite.library.frontend.security import (
    current_user,
    get_db,
    get_limiter,
    get_settings,
    login_required,
)
from composite.library.import_files import IMPORT_MAX_BYTES, upload_kind

bp = Blueprint("account", __name__, url_prefix="/account")

# The import form's own body limit: the file's, framing included (a few hundred bytes).
UPLOAD_LIMITS = {"account.import_prompts": IMPORT_MAX_BYTES}


def _page(status: int = 200, **context: Any) -> tuple[str, int]:
    context.setdefault("token_errors", {})
    context.setdefault("import_errors", {})
    context.setdefault("password_errors", {})
    context.setdefault("values", {})
    tokens = credentials.list_tokens(get_db(), current_user().id)
    page = render_template("account/index.html", tokens=tokens, import_max_bytes=IMPORT_MAX_BYTES, **context)
    return page, status


@bp.get("")
@login_required
def account_page() -> tuple[str, int]:
    """Tokens, export and import."""
    return _page()


@bp.post("/tokens")
@login_required
def create_token() -> Response | tuple[str, int]:
    """Create an API token and show its secret this once."""
    # The same budget per client address as POST /api/tokens: TooManyAttempts is a 429 page.
    credentials.charge_token_request(get_limiter(), get_settings().token_rate, request.remote_addr)
    try:
        secret, info = credentials.create_token(get_db(), current_user().id, request.form.get("name"))
    except Invalid as exc:
        return _page(422, token_errors=exc.errors, values=request.form)
    page, status = _page(new_secret=secret, new_token=info)
    response = make_response(page, status)
    response.headers["Cache-Control"] = "no-store"  # the secret must not linger in any cache
    return response


@bp.post("/tokens/<id:token_id>/revoke")
@login_required
def revoke_token(token_id: int) -> BaseResponse:
    """Revoke one of the user's tokens; programs using it are refused from now on."""
    credentials.revoke_token(get_db(), current_user().id, token_id)
    return redirect(url_for("account.account_page"))


@bp.post("/password")
@login_required
def change_password() -> tuple[str, int]:
    """Change one's password; every other session and every API token ends."""
    form = request.form
    try:
        if form.get("new_password", "") != form.get("confirm", ""):
            raise Invalid({"confirm": "does not match the new password"})
        password_change.change_password(
            get_db(),
            current_user(),
            form.get("current_password", ""),
            form.get("new_password", ""),
            keep=session.get("sid"),
        )
    except Invalid as exc:
        return _page(422, password_errors=exc.errors)
    return _page(200, password_changed=True)


@bp.get("/export")
@login_required
def export_prompts() -> Response:
    """Download all of the user's prompts, private ones included: JSON with history, or CSV."""
    user = current_user()
    kind = "csv" if request.args.get("format") == "csv" else "json"
    stream = export.export_csv if kind == "csv" else export.export_json
    return Response(
        stream(get_db(), user),
        content_type=export.MEDIA_TYPES[kind],
        headers={"Content-Disposition": f'attachment; filename="{export.file_name(user, kind)}"'},
    )


@bp.post("/import")
@login_required
def import_prompts() -> tuple[str, int]:
    """Merge an export or a CSV file into the user's prompts, reporting each item; never duplicated."""
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise Invalid({"file": "choose an exported .json file or a .csv file"})
        # Werkzeug spooled a large file to disk: it is read from there as it is parsed.
        kind = upload_kind(upload.stream, upload.filename, upload.mimetype)
        visibility = request.form.get("visibility") or None
        key = request.form.get("progress") or None  # chosen by the page's script, to poll with
        result = transfer.import_file(get_db(), current_user(), upload.stream, kind, visibility, key)
    except Invalid as exc:
        return _page(422, import_errors=exc.errors)
    return _page(200, imported=result)


@bp.get("/import/progress/<key>")
@login_required
def import_progress(key: str) -> tuple[Response, int]:
    """How far the user's import sent with this key has got: stage, items done, total (JSON)."""
    progress = transfer.import_progress(get_db(), current_user(), key)
    if progress is None:
        return jsonify({"detail": "no import of yours with this key"}), 404
    answer = jsonify(progress.as_dict())
    answer.headers["Cache-Control"] = "no-store"
    return answer, 200
