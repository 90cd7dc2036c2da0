"""Request and response bodies of the API.

The limits come from composite.library.rules so that the OpenAPI schema documents them; the
domain checks them again, so a rule is enforced even where a schema cannot express it.
Every string field carries a length limit: besides bounding input, that makes pydantic
refuse lone surrogates (valid JSON escapes that DuckDB cannot store).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, Field
from typing_extensions import TypedDict

from composite.library import rules
from composite.library.history import PromptVersion, VersionDiff
from composite.library.placeholders import placeholders
from composite.library.prompts import Prompt
from composite.library.transfer import EXPORT_FORMAT, EXPORT_VERSION, MAX_IMPORT, ImportResult

MAX_ID = 2**63 - 1  # ids are BIGINT
MAX_VERSION = 2**31 - 1  # version numbers are INTEGER
MAX_OFFSET = 10**9
NO_NUL = r"^[^\x00]*$"
# At least one character that str.strip() keeps: str.strip() also removes \x1c-\x1f,
# which a regex \s does not match, so C0 controls cannot be that character either.
NOT_BLANK = r"^[^\x00]*[^\s\x00-\x1f][^\x00]*$"


def _aware(value: datetime) -> datetime:
    # DuckDB hands back TIMESTAMP values in the local time zone without saying so.
    return value if value.tzinfo else value.astimezone()


Timestamp = Annotated[datetime, AfterValidator(_aware)]
Username = Annotated[
    str,
    Field(
        min_length=3,
        max_length=32,
        pattern=rules.USERNAME_RE.pattern,
        description="3-32 letters, digits, '_', '.' or '-'",
        examples=["ada.lovelace"],
    ),
]
Title = Annotated[str, Field(min_length=1, max_length=rules.TITLE_MAX, pattern=NOT_BLANK)]
Body = Annotated[
    str,
    Field(
        min_length=1,
        max_length=rules.BODY_MAX,
        pattern=NOT_BLANK,
        description="The prompt text; {{name}} marks a placeholder",
    ),
]
Description = Annotated[str, Field(max_length=rules.DESCRIPTION_MAX, pattern=NO_NUL)]
ModelHint = Annotated[
    str, Field(max_length=rules.MODEL_HINT_MAX, pattern=NO_NUL, examples=["any chat model"])
]
Tag = Annotated[str, Field(min_length=1, max_length=32, pattern=rules.TAG_INPUT_RE.pattern)]
Tags = Annotated[
    list[Tag],
    Field(
        max_length=rules.TAGS_MAX,
        description=f"At most {rules.TAGS_MAX} tags of 1-32 characters of a-z, 0-9 and '-' (lower-cased)",
    ),
]
Visibility = Literal[rules.VISIBILITIES]  # type: ignore[valid-type]


class ErrorOut(BaseModel):
    """An error: what went wrong, in words."""

    detail: str


class ValidationIssue(BaseModel):
    """One invalid input: where it is and what is wrong with it."""

    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorOut(BaseModel):
    """Invalid input, one entry per problem (FastAPI's shape)."""

    detail: list[ValidationIssue]


# users ---------------------------------------------------------------------------


class UserCreate(BaseModel):
    """A new account."""

    username: Username
    password: str = Field(
        min_length=rules.PASSWORD_MIN,
        max_length=rules.PASSWORD_MAX,
        description=f"At least {rules.PASSWORD_MIN} characters",
    )


class UserOut(BaseModel):
    """A registered user."""

    id: int
    username: str


class ProfileOut(BaseModel):
    """What anyone may see of a user: counts over public prompts only."""

    username: str
    created_at: Timestamp
    public_prompts: int
    stars_received: int


# tokens --------------------------------------------------------------------------


class TokenCreate(BaseModel):
    """Credentials to exchange for a new API token."""

    username: Username
    password: str = Field(min_length=1, max_length=rules.PASSWORD_MAX)
    name: str | None = Field(
        default=None,
        max_length=rules.TOKEN_NAME_MAX,
        pattern=NO_NUL,
        description="A label to tell tokens apart ('token' when empty)",
    )


class TokenInfoOut(BaseModel):
    """A token as its owner sees it later: never the secret."""

    id: int
    name: str
    prefix: str = Field(description="The first characters of the token")
    created_at: Timestamp


class TokenOut(TokenInfoOut):
    """A new token; the secret is shown this once and stored only hashed."""

    token: str = Field(description="Send as 'Authorization: Bearer <token>'")


# prompts -------------------------------------------------------------------------


class PromptCreate(BaseModel):
    """A new prompt."""

    title: Title
    body: Body
    description: Description = ""
    model_hint: ModelHint = ""
    tags: Tags = []
    visibility: Visibility = "public"


class PromptUpdate(BaseModel):
    """Changes to a prompt; fields left out (or null) stay as they are."""

    title: Title | None = None
    body: Body | None = None
    description: Description | None = None
    model_hint: ModelHint | None = None
    tags: Tags | None = None
    visibility: Visibility | None = None


class PromptContentOut(BaseModel):
    """What a prompt says (the fields of composite.library.prompts.PromptContent)."""

    title: str
    description: str
    body: str
    model_hint: str
    tags: list[str]
    visibility: Visibility


class _PromptKeyOut(BaseModel):
    id: int
    uid: UUID = Field(description="Stable across export and import")
    owner: str


# Bases in this order put the key first, then the content, then the rest (as in the domain).
class PromptOut(PromptContentOut, _PromptKeyOut):
    """A prompt at its latest version."""

    version: int
    stars: int
    created_at: Timestamp
    updated_at: Timestamp
    placeholders: list[str] = Field(description="Names of the {{placeholders}} in the body, in order")

    @classmethod
    def of(cls, prompt: Prompt) -> PromptOut:
        """The API view of a domain prompt."""
        return cls(**vars(prompt), placeholders=placeholders(prompt.body))


class PromptPage(BaseModel):
    """One page of prompts and how many match in all."""

    items: list[PromptOut]
    total: int
    limit: int
    offset: int
    searched_for: str | None = Field(
        default=None,
        description="The words searched for when a typo was corrected (q=transalte gives translate),"
        " else null",
    )
    notice: str | None = Field(
        default=None,
        description="Why nothing could match (only stop words such as 'the'), or which words were corrected",
    )


class _VersionKeyOut(BaseModel):
    prompt_id: int
    version: int


class VersionOut(PromptContentOut, _VersionKeyOut):
    """A prompt as it was at one version."""

    created_at: Timestamp

    @classmethod
    def of(cls, version: PromptVersion) -> VersionOut:
        """The API view of a domain version."""
        return cls(**vars(version))


class FieldChangeOut(BaseModel):
    """A one-line field that differs between two versions."""

    field: str
    old: str
    new: str


class DiffLineOut(TypedDict):
    """One line of the body: ' ' in both, '-' only in the old, '+' only in the new."""

    # A TypedDict, not a model: a diff has up to 100,000 lines, and validating plain
    # dicts costs a third of building a model object for each.
    op: Literal[" ", "-", "+"]
    text: str


class DiffOut(BaseModel):
    """What changed from one version to another."""

    prompt_id: int
    from_version: int
    to_version: int
    changes: list[FieldChangeOut]
    lines: list[DiffLineOut]
    exact: bool = Field(
        description="False when the bodies were too different to compare line by line within the"
        " cost bound: part of the old body is then listed as removed and the new one as added, whole"
    )

    @classmethod
    def of(cls, old: PromptVersion, new: PromptVersion, diff: VersionDiff) -> DiffOut:
        """The API view of a comparison between two versions."""
        # Built without validation: every value comes from the domain's own types, and
        # validating up to 100,000 lines would cost more than computing the diff did.
        return cls.model_construct(
            prompt_id=new.prompt_id,
            from_version=old.version,
            to_version=new.version,
            changes=[FieldChangeOut(**vars(change)) for change in diff.changes],
            lines=[{"op": op, "text": text} for op, text in diff.body.lines()],
            exact=diff.body.exact,
        )


class StarsOut(BaseModel):
    """A prompt's star count."""

    stars: int


class TagOut(BaseModel):
    """A tag and how many public prompts carry it."""

    name: str
    count: int


# export and import ---------------------------------------------------------------


class _ExportKey(BaseModel):
    uid: UUID


class ExportedPrompt(PromptContentOut, _ExportKey):
    """One prompt in an export document."""

    created_at: Timestamp
    updated_at: Timestamp


class ExportDocument(BaseModel):
    """All of a user's prompts, public and private, at their latest version."""

    format: Literal[EXPORT_FORMAT] = EXPORT_FORMAT  # type: ignore[valid-type]
    version: int = EXPORT_VERSION
    exported_at: Timestamp
    owner: str
    prompts: list[ExportedPrompt]


class ImportedPrompt(BaseModel):
    """One prompt to import: matched to yours by uid, else by title and body."""

    uid: UUID | None = None
    title: Title
    body: Body
    description: Description | None = None
    model_hint: ModelHint | None = None
    tags: Tags | None = None
    visibility: Visibility | None = None


class ImportDocument(BaseModel):
    """An export document (other keys are ignored); each prompt is checked on its own."""

    format: Literal[EXPORT_FORMAT]  # type: ignore[valid-type]
    prompts: list[ImportedPrompt] = Field(max_length=MAX_IMPORT)


class ImportedItemOut(BaseModel):
    """What became of one prompt of the document."""

    index: int = Field(description="Its place among the file's prompts (or CSV rows), from 0")
    row: int | None = Field(None, description="CSV: its row in the file, the header being row 1")
    id: int | None = Field(description="The stored prompt it created or updated; null when refused")
    uid: UUID | None
    outcome: Literal["created", "updated", "unchanged", "refused"]
    reason: str | None = Field(None, description="Why it was refused")


class ImportResultOut(BaseModel):
    """How an import went: prompts created, changed (a new version), already up to date, refused."""

    created: int
    updated: int
    unchanged: int
    refused: int
    prompts: list[ImportedItemOut] = Field(description="Each prompt of the document, in its order")

    @classmethod
    def of(cls, result: ImportResult) -> ImportResultOut:
        """The API view of a domain import result."""
        return cls(
            created=result.created,
            updated=result.updated,
            unchanged=result.unchanged,
            refused=result.refused,
            prompts=[ImportedItemOut(**vars(item)) for item in result.items],
        )
