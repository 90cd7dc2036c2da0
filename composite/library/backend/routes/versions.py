"""Prompt history: every version, one version, the difference between two, restoring one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from composite.library import freshness, history, labels, prompts
from composite.library.backend.conditional import CONDITIONAL_RESPONSES, IfNoneMatch, conditional
from composite.library.backend.deps import (
    OPTIONAL_AUTH,
    CurrentUser,
    DatabaseDep,
    OptionalUser,
    PromptId,
    VersionNumber,
)
from composite.library.backend.errors import error_responses
from composite.library.backend.routes.prompts import prompt_out
from composite.library.backend.schemas import MAX_VERSION, DiffOut, PromptOut, VersionOut

router = APIRouter(prefix="/prompts/{prompt_id}", tags=["versions"])


@router.get(
    "/versions",
    response_model=list[VersionOut],
    responses={**CONDITIONAL_RESPONSES, **error_responses(401, 404, 422)},
    openapi_extra=OPTIONAL_AUTH,
)
def list_versions(
    prompt_id: PromptId,
    viewer: OptionalUser,
    db: DatabaseDep,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=history.MAX_HISTORY_PAGE)] = history.HISTORY_PAGE,
    offset: Annotated[int, Query(ge=0, le=MAX_VERSION)] = 0,
    if_none_match: IfNoneMatch = None,
) -> list[VersionOut] | Response:
    """A page of the versions of a prompt the caller may see, newest first; X-Total-Count says how many."""
    viewer_id = viewer.id if viewer else None
    # Versions never change once saved: the prompt's state says whether a page would.
    state = freshness.prompt_state(db, prompt_id, viewer_id)
    parts = ("versions", prompt_id, viewer_id, limit, offset, state.parts())
    if not_modified := conditional(response, if_none_match, *parts):
        return not_modified
    page = history.list_versions(db, prompt_id, viewer_id, limit=limit, offset=offset)
    response.headers["X-Total-Count"] = str(page.total)
    names = labels.by_version(state.labels)
    return [VersionOut.of(version, names.get(version.version)) for version in page.items]


@router.get(
    "/versions/{version}",
    response_model=VersionOut,
    responses={**CONDITIONAL_RESPONSES, **error_responses(401, 404, 422)},
    openapi_extra=OPTIONAL_AUTH,
)
def read_version(
    prompt_id: PromptId,
    version: VersionNumber,
    viewer: OptionalUser,
    db: DatabaseDep,
    response: Response,
    if_none_match: IfNoneMatch = None,
) -> VersionOut | Response:
    """One version of a prompt the caller may see, with the labels pointing at it."""
    viewer_id = viewer.id if viewer else None
    state = freshness.prompt_state(db, prompt_id, viewer_id)
    found = history.get_version(db, prompt_id, version, viewer_id)  # 404 before any 304
    if not_modified := conditional(
        response, if_none_match, "version", prompt_id, version, viewer_id, state.parts()
    ):
        return not_modified
    return VersionOut.of(found, labels.by_version(state.labels).get(version))


@router.get(
    "/diff", response_model=DiffOut, responses=error_responses(401, 404, 422), openapi_extra=OPTIONAL_AUTH
)
def diff_versions(
    prompt_id: PromptId,
    viewer: OptionalUser,
    db: DatabaseDep,
    from_version: Annotated[
        int | None,
        Query(
            alias="from",
            ge=1,
            le=MAX_VERSION,
            description="Default: the version before 'to' that the caller may see ('to' itself if none)",
        ),
    ] = None,
    to_version: Annotated[
        int | None, Query(alias="to", ge=1, le=MAX_VERSION, description="Default: the latest version")
    ] = None,
) -> DiffOut:
    """What changed between two versions of a prompt: one-line fields, then the body line by line."""
    viewer_id = viewer.id if viewer else None
    if to_version is None:
        to_version = prompts.get_prompt(db, prompt_id, viewer_id).version
    if from_version is None:
        # Others do not see versions saved while the prompt was private: skip over them.
        from_version = history.previous_version(db, prompt_id, to_version, viewer_id) or to_version
    old = history.get_version(db, prompt_id, from_version, viewer_id)
    new = history.get_version(db, prompt_id, to_version, viewer_id)
    return DiffOut.of(old, new, history.diff_versions(old, new))


@router.post(
    "/versions/{version}/restore", response_model=PromptOut, responses=error_responses(401, 403, 404, 422)
)
def restore_version(
    prompt_id: PromptId, version: VersionNumber, user: CurrentUser, db: DatabaseDep
) -> PromptOut:
    """Make an old version's content current again, as a new version; visibility stays as it is."""
    return prompt_out(db, history.restore_version(db, prompt_id, version, user), user.id)
