"""Tags over public prompts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from composite.library import catalog
from composite.library.backend.deps import DatabaseDep, public_answer
from composite.library.backend.errors import error_responses
from composite.library.backend.schemas import MAX_OFFSET, TagOut

router = APIRouter(prefix="/tags", tags=["tags"])


@router.get(
    "", response_model=list[TagOut], responses=error_responses(422), dependencies=[Depends(public_answer)]
)
def list_tags(
    db: DatabaseDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many tags")] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Skip this many tags")] = 0,
) -> list[TagOut]:
    """Tags over public prompts, most used first, a page at a time."""
    return [TagOut(name=tag.name, count=tag.count) for tag in catalog.list_tags(db, limit, offset)]
