"""Request and response bodies of the bulk actions (POST /api/prompts/bulk), built on schemas.py."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from composite.library import bulk
from composite.library.backend.schemas import MAX_ID, Tag

BulkActionName = Literal[tuple(bulk.ACTIONS)]  # type: ignore[valid-type]


class BulkAction(BaseModel):
    """One action on some of the caller's prompts."""

    ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(
        min_length=1,
        max_length=bulk.BULK_MAX,
        description=f"The prompts to act on, at most {bulk.BULK_MAX:,}; a repeated id counts once",
    )
    action: BulkActionName
    tag: Tag | None = Field(
        default=None, description="The tag to add or remove: required by add_tag and remove_tag only"
    )


class BulkItemOut(BaseModel):
    """What became of one prompt named."""

    id: int
    outcome: Literal[bulk.OUTCOMES] = Field(  # type: ignore[valid-type]
        description="changed (a new version), unchanged (already so), deleted, not_found (not the"
        " caller's, or no such prompt: left untouched), refused (a rule forbids it for this prompt:"
        " see reason)"
    )
    reason: str | None = Field(default=None, description="Why it was refused")


class BulkResultOut(BaseModel):
    """How a bulk action went: counts by outcome, and each prompt in the order given."""

    action: BulkActionName
    tag: str | None = Field(description="The tag as stored (lower-cased), for add_tag and remove_tag")
    changed: int
    unchanged: int
    deleted: int
    not_found: int
    refused: int
    prompts: list[BulkItemOut]

    @classmethod
    def of(cls, result: bulk.BulkResult) -> BulkResultOut:
        """The API view of a domain bulk result."""
        return cls(
            action=result.action,
            tag=result.tag,
            **{outcome: result.count(outcome) for outcome in bulk.OUTCOMES},
            prompts=[BulkItemOut(**vars(item)) for item in result.items],
        )
