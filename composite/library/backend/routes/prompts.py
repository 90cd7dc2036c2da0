"""Prompts: list and search, create, read, edit (each edit a new version), delete, act on many at once."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from composite.db import Database
from composite.library import bulk, catalog, forks, freshness, labels, prompts
from composite.library.backend.bulk_schemas import BulkAction, BulkResultOut
from composite.library.backend.conditional import CONDITIONAL_RESPONSES, IfNoneMatch, conditional
from composite.library.backend.deps import (
    OPTIONAL_AUTH,
    CurrentUser,
    DatabaseDep,
    KeyedWriteDep,
    OptionalUser,
    PromptId,
    kept_answer,
)
from composite.library.backend.errors import error_responses
from composite.library.backend.schemas import (
    MAX_OFFSET,
    NO_NUL,
    ErrorOut,
    LabelledPromptOut,
    LabelName,
    PromptCreate,
    PromptOut,
    PromptPage,
    PromptUpdate,
)
from composite.library.idempotency import answer_json, request_digest

router = APIRouter(prefix="/prompts", tags=["prompts"])


def prompt_out(db: Database, prompt: prompts.Prompt, viewer_id: int | None) -> PromptOut:
    """The API view of a prompt, linked to its source only if the viewer may see it."""
    return PromptOut.of(prompt, forks.visible_source(db, prompt, viewer_id))


def page_out(db: Database, page: catalog.Page, viewer_id: int | None, response: Response) -> Response:
    """The API view of a page of prompts as JSON, each prompt's from its kept serialisation.

    Building and serialising twenty PromptOut models cost more than the rest of a listing
    together; a prompt's JSON depends only on its row and the source shown, so it is kept
    in the memo under both and the page is spliced from it. The headers the dependencies
    set (who may keep the answer) go with it.
    """
    sources = forks.visible_sources(db, page.items, viewer_id)
    items = [_item_json(db, p, sources.get(p.source_id) if p.source_id else None) for p in page.items]
    rest = PromptPage(
        items=[],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
        searched_for=page.searched_for if page.corrected else None,
        notice=page.notice,
    ).model_dump_json()
    assert rest.startswith(_NO_ITEMS)
    body = "".join([_NO_ITEMS[:-1], ",".join(items), rest[len(_NO_ITEMS) - 1 :]])
    return Response(body, media_type="application/json", headers=dict(response.headers))


_NO_ITEMS = '{"items":[]'


def _item_json(db: Database, prompt: prompts.Prompt, source: forks.ForkSource | None) -> str:
    """The JSON of one prompt as PromptOut, kept while the memo holds it (it never goes stale)."""
    return db.memo.get(
        ("api-item", prompt, source),
        lambda: PromptOut.of(prompt, source).model_dump_json(),
        lambda text: 256 + len(text),
    )


@router.get("", response_model=PromptPage, responses=error_responses(401, 422), openapi_extra=OPTIONAL_AUTH)
def list_prompts(
    db: DatabaseDep,
    viewer: OptionalUser,
    response: Response,
    q: Annotated[
        str,
        Query(
            max_length=catalog.MAX_QUERY_LENGTH,
            pattern=NO_NUL,
            description=(
                'Words to search for, with "exact phrases", -excluded words and the filters'
                " tag:NAME, author:NAME and is:starred (the caller's stars); the README's"
                ' "What search understands" has the rules and bounds'
            ),
        ),
    ] = "",
    tag: Annotated[
        str, Query(max_length=32, pattern=r"^[A-Za-z0-9-]*$", description="Only prompts with this tag")
    ] = "",
    author: Annotated[
        str, Query(max_length=32, pattern=r"^[A-Za-z0-9_.-]*$", description="Only prompts by this user")
    ] = "",
    sort: Annotated[
        Literal[catalog.SORTS],  # type: ignore[valid-type]
        Query(description="relevance: best matches first when searching, else newest first"),
    ] = "relevance",
    limit: Annotated[int, Query(ge=1, le=catalog.MAX_LIMIT)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Response:
    """Public prompts and the caller's own private ones, filtered, searched and sorted."""
    viewer_id = viewer.id if viewer else None
    page = catalog.list_prompts(
        db, viewer_id, q=q, tag=tag, author=author, sort=sort, limit=limit, offset=offset
    )
    return page_out(db, page, viewer_id, response)


@router.post("", status_code=201, response_model=PromptOut, responses=error_responses(400, 401, 409, 422))
def create_prompt(
    body: PromptCreate,
    user: CurrentUser,
    db: DatabaseDep,
    keyed: KeyedWriteDep,
    response: Response,
) -> Response:
    """Create a prompt owned by the caller, as version 1."""
    answer = keyed.run(
        request_digest("create prompt", body.model_dump_json()),
        lambda then: prompts.create_prompt(db, user, then, **body.model_dump()),
        lambda created: answer_json(201, PromptOut.of(created, None)),
    )
    return kept_answer(answer, response)


BULK_INTERRUPTED = {
    "model": ErrorOut,
    "description": "The action stopped part way; what it did is kept, and sending it again finishes it",
}


# Declared before the routes with a {prompt_id}, as a reader of the paths expects; no method clashes.
@router.post(
    "/bulk",
    response_model=BulkResultOut,
    responses={**error_responses(400, 401, 422), 503: BULK_INTERRUPTED},
)
def bulk_action(body: BulkAction, user: CurrentUser, db: DatabaseDep) -> BulkResultOut:
    """Make up to 1,000 of the caller's prompts public or private, add or remove a tag, or delete them."""
    return BulkResultOut.of(bulk.bulk_action(db, user, body.ids, body.action, body.tag))


@router.get(
    "/{prompt_id}",
    response_model=LabelledPromptOut,
    responses={**CONDITIONAL_RESPONSES, **error_responses(401, 404, 422)},
    openapi_extra=OPTIONAL_AUTH,
)
def read_prompt(
    prompt_id: PromptId,
    viewer: OptionalUser,
    db: DatabaseDep,
    response: Response,
    label: Annotated[
        LabelName | None, Query(description="Answer with the version this label points at (404 if none)")
    ] = None,
    if_none_match: IfNoneMatch = None,
) -> LabelledPromptOut | Response:
    """A prompt the caller may see (public, or their own), at its latest version or at a label's."""
    viewer_id = viewer.id if viewer else None
    # The state is read before the prompt: an answer is never older than the ETag it carries.
    state = freshness.prompt_state(db, prompt_id, viewer_id)
    version = labels.target(state.labels, prompt_id, label) if label else None
    if not_modified := conditional(
        response, if_none_match, "prompt", prompt_id, viewer_id, label, state.parts()
    ):
        return not_modified
    prompt = prompts.get_prompt(db, prompt_id, viewer_id)
    if version is not None:
        prompt = labels.at_version(prompt, version, db, viewer_id)
    source = forks.visible_source(db, prompt, viewer_id)
    return LabelledPromptOut.labelled(prompt, source, state.labels, label)


@router.patch("/{prompt_id}", response_model=PromptOut, responses=error_responses(400, 401, 403, 404, 422))
def update_prompt(prompt_id: PromptId, body: PromptUpdate, user: CurrentUser, db: DatabaseDep) -> PromptOut:
    """Edit the caller's prompt; a change makes a new version, no change makes none."""
    changes = body.model_dump(exclude_none=True)
    return prompt_out(db, prompts.update_prompt(db, prompt_id, user, **changes), user.id)


@router.delete(
    "/{prompt_id}", status_code=204, response_class=Response, responses=error_responses(401, 403, 404, 422)
)
def delete_prompt(prompt_id: PromptId, user: CurrentUser, db: DatabaseDep) -> None:
    """Delete the caller's prompt with all its versions and stars."""
    prompts.delete_prompt(db, prompt_id, user)
