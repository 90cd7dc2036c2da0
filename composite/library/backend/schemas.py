"""Request and response bodies of the API.

The limits come from composite.library.rules so that the OpenAPI schema documents them; the
domain checks them again, so a rule is enforced even where a schema cannot express it.
Every string field carries a length limit: besides bounding input, that makes pydantic
refuse lone surrogates (valid JSON escapes that DuckDB cannot store).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, NotRequired
from uuid import UUID

from pydantic import AfterValidator, BaseModel, Field
from typing_extensions import TypedDict

from composite.library import rules
from composite.library.export import EXPORT_VERSION
from composite.library.forks import ForkSource
from composite.library.history import PromptVersion, VersionDiff
from composite.library.import_files import EXPORT_FORMAT
from composite.library.labels import LABEL_MAX, LABEL_RE, MAX_LABELS, Label
from composite.library.placeholders import Placeholder, placeholders
from composite.library.prompts import CONTENT_DEFAULTS, Prompt
from composite.library.transfer import MAX_IMPORT, ImportResult

MAX_ID = 2**63 - 1  # ids are BIGINT
MAX_VERSION = 2**31 - 1  # version numbers are INTEGER
# Skipping k rows sorts k narrow rows: 100,000 keeps the deepest page a few tens of
# milliseconds at a million prompts; tag, author and q reach deeper ones.
MAX_OFFSET = 100_000
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
        description="The prompt text; {{name}}, ${name} and ${name:default} mark placeholders",
    ),
]
Description = Annotated[str, Field(max_length=rules.DESCRIPTION_MAX, pattern=NO_NUL)]
ModelHint = Annotated[
    str, Field(max_length=rules.MODEL_HINT_MAX, pattern=NO_NUL, examples=["any chat model"])
]
Tag = Annotated[str, Field(min_length=1, max_length=rules.TAG_MAX, pattern=rules.TAG_INPUT_RE.pattern)]
Tags = Annotated[
    list[Tag],
    Field(
        max_length=rules.TAGS_MAX,
        description=(
            f"At most {rules.TAGS_MAX} tags of 1-{rules.TAG_MAX} characters of a-z, 0-9, '-' and"
            " spaces; lower-cased, and spaces inside a tag become '-' ('Language Learning' is"
            " language-learning)"
        ),
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
    visibility: Visibility = Field(
        default=CONTENT_DEFAULTS["visibility"], description="Who may see it: private (only you) unless given"
    )


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


class PlaceholderOut(BaseModel):
    """A field the prompt asks to be filled in: {{name}}, ${name} or ${name:default}."""

    name: str = Field(description="As written, with runs of spaces made one: {{two words}} is 'two words'")
    default: str = Field(
        description="The value it starts with: the text after ':' in ${name:default}, else ''"
    )
    multiline: bool = Field(description="True when it stands on a line of its own or its default is long")

    @classmethod
    def of(cls, placeholder: Placeholder) -> PlaceholderOut:
        """The API view of a placeholder."""
        return cls(**vars(placeholder))


class _PromptKeyOut(BaseModel):
    id: int
    uid: UUID = Field(description="Stable across export and import")
    owner: str


class ForkSourceOut(BaseModel):
    """The prompt a fork was copied from."""

    id: int
    title: str
    owner: str


# Bases in this order put the key first, then the content, then the rest (as in the domain).
class PromptOut(PromptContentOut, _PromptKeyOut):
    """A prompt at its latest version."""

    version: int
    stars: int
    forks: int = Field(
        description="How many public copies were forked from it: the same for every caller;"
        " private forks, the caller's own included, are not counted"
    )
    forked_from: ForkSourceOut | None = Field(
        description="The prompt it was forked from; null when it is not a fork, or when the caller"
        " may not see that prompt (made private, or deleted)"
    )
    created_at: Timestamp
    updated_at: Timestamp
    placeholders: list[PlaceholderOut] = Field(
        description="The placeholders of the body, each name once, in order of first use; text in"
        " Markdown code and ${{ ... }} expressions is not a placeholder"
    )

    @classmethod
    def of(cls, prompt: Prompt, source: ForkSource | None) -> PromptOut:
        """The API view of a domain prompt, with its source as the caller may see it (None: not shown)."""
        return cls(
            **vars(prompt),
            forked_from=ForkSourceOut(**vars(source)) if source else None,
            placeholders=[PlaceholderOut.of(p) for p in placeholders(prompt.body)],
        )


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
    labels: list[str] = Field(default=[], description="The labels pointing at this version")

    @classmethod
    def of(cls, version: PromptVersion, labels: list[str] | None = None) -> VersionOut:
        """The API view of a domain version and the names of the labels pointing at it."""
        return cls(**vars(version), labels=labels or [])


class FieldChangeOut(BaseModel):
    """A one-line field that differs between two versions."""

    field: str
    old: str
    new: str


class DiffSegmentOut(TypedDict):
    """Part of a changed line: text the paired line has too ('equal'), or only this one has."""

    op: Literal["equal", "delete", "insert"]
    text: str


# The domain marks segments as it marks lines; the API names them.
SEGMENT_OPS = {" ": "equal", "-": "delete", "+": "insert"}


class DiffLineOut(TypedDict):
    """One line of the body: ' ' in both, '-' only in the old, '+' only in the new."""

    # A TypedDict, not a model: a diff has up to 100,000 lines, and validating plain
    # dicts costs a third of building a model object for each.
    op: Literal[" ", "-", "+"]
    text: str
    segments: NotRequired[
        Annotated[
            list[DiffSegmentOut],
            Field(
                description="Only on a removed line paired with an added one (or the reverse) that has"
                " enough in common with it: the line word by word, 'equal' parts in both lines, 'delete'"
                " parts only in the removed line, 'insert' parts only in the added one; the texts join"
                " into the line. Absent: the line is shown whole (unchanged, no partner, too different,"
                " or beyond the word budget, see words_exact)"
            ),
        ]
    ]


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
    words_exact: bool = Field(
        description="False when the changed lines were too many or too different to compare all of"
        " them word by word within the cost bound: those left are listed without segments"
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
            lines=[_line(n, op, text, diff.words.segments) for n, (op, text) in enumerate(diff.body.lines())],
            exact=diff.body.exact,
            words_exact=diff.words.exact,
        )


def _line(n: int, op: str, text: str, segments: dict[int, list[tuple[str, str]]]) -> dict[str, Any]:
    """One line of a diff (a DiffLineOut), with its segments if it was compared word by word."""
    if n not in segments:
        return {"op": op, "text": text}
    return {"op": op, "text": text, "segments": [{"op": SEGMENT_OPS[o], "text": t} for o, t in segments[n]]}


class StarsOut(BaseModel):
    """A prompt's star count."""

    stars: int


# labels --------------------------------------------------------------------------

LabelName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=LABEL_MAX,
        pattern=LABEL_RE.pattern,
        description=f"1-{LABEL_MAX} characters of a-z, 0-9 and '-'",
        examples=["production"],
    ),
]


class LabelSet(BaseModel):
    """Where a label points."""

    version: int = Field(ge=1, le=MAX_VERSION, description="A version of the prompt")


class LabelOut(BaseModel):
    """A label: a name pointing at one version of a prompt."""

    prompt_id: int
    name: str
    version: int
    updated_at: Timestamp = Field(description="When the label was last set or moved")

    @classmethod
    def of(cls, prompt_id: int, label: Label) -> LabelOut:
        """The API view of a domain label."""
        return cls(prompt_id=prompt_id, **vars(label))


class LabelledPromptOut(PromptOut):
    """A prompt at its latest version, or at the version a label points at, with its labels."""

    labels: dict[str, int] = Field(
        default={},
        description="Each label of the prompt and the version it points at (a label on a version"
        " saved while the prompt was private is shown to the owner only)",
    )
    label: str | None = Field(
        default=None,
        description="The label asked for with ?label=: the content, version and updated_at are"
        " then that version's; else null",
    )

    @classmethod
    def labelled(
        cls, prompt: Prompt, source: ForkSource | None, labels: list[Label], label: str | None
    ) -> LabelledPromptOut:
        """The API view of a prompt (at a label's version when ``label`` is given) and its labels."""
        # Built from the domain's own values: nothing to validate twice.
        return cls.of(prompt, source).model_copy(
            update={"labels": {item.name: item.version for item in labels}, "label": label}
        )


class TagOut(BaseModel):
    """A tag and how many public prompts carry it."""

    name: str
    count: int


# export and import ---------------------------------------------------------------


class _ExportKey(BaseModel):
    uid: UUID


class ExportedVersion(PromptContentOut):
    """An earlier version of an exported prompt, as it was saved."""

    version: int = Field(ge=1, le=MAX_VERSION)
    saved_at: Timestamp


class ExportedSource(BaseModel):
    """The prompt an exported one was forked from, when the exporter may still see it."""

    uid: UUID
    title: str
    owner: str


class ExportedPrompt(PromptContentOut, _ExportKey):
    """One prompt in an export document: its latest version, and what came before."""

    version: int = Field(ge=1, le=MAX_VERSION, description="The latest version's number")
    created_at: Timestamp
    updated_at: Timestamp = Field(description="When the latest version was saved")
    source: ExportedSource | None = Field(None, description="Absent unless a fork")
    labels: dict[str, int] = Field(
        default_factory=dict, max_length=MAX_LABELS, description="Each label and the version it points at"
    )
    history: list[ExportedVersion] = Field(
        default_factory=list, description="Every earlier version, oldest first (absent for version 1)"
    )


class ExportDocument(BaseModel):
    """All of a user's prompts, public and private, each with its history, labels and dates."""

    format: Literal[EXPORT_FORMAT] = EXPORT_FORMAT  # type: ignore[valid-type]
    version: int = EXPORT_VERSION
    exported_at: Timestamp
    owner: str
    prompts: list[ExportedPrompt]


class ImportedPrompt(BaseModel):
    """One prompt to import: matched to yours by uid, else by title and body.

    A prompt new to you gets the item's version, history, labels, dates and fork source
    back (as an export gives them); one you have already gets its content as a new version.
    """

    uid: UUID | None = None
    title: Title
    body: Body
    description: Description | None = None
    model_hint: ModelHint | None = None
    tags: Tags | None = None
    visibility: Visibility | None = None
    version: int | None = Field(None, ge=1, le=MAX_VERSION)
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None
    source: ExportedSource | None = None
    labels: dict[str, int] | None = Field(None, max_length=MAX_LABELS)
    history: list[ExportedVersion] | None = None


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
    reason: str | None = Field(
        None, description="Why it was refused; for an unchanged one that repeats an earlier one, which"
    )
    title: str | None = Field(None, description="A refused item's title as given (shortened), to name it")


class ImportResultOut(BaseModel):
    """How an import went: prompts created, changed (a new version), already up to date, refused."""

    created: int
    updated: int
    unchanged: int
    refused: int
    prompts: list[ImportedItemOut] = Field(description="Each prompt of the document, in its order")
    ignored_columns: list[str] = Field(
        default=[], description="CSV: the header's columns that no field reads (for_devs, contributor, ...)"
    )

    @classmethod
    def of(cls, result: ImportResult) -> ImportResultOut:
        """The API view of a domain import result."""
        return cls(
            created=result.created,
            updated=result.updated,
            unchanged=result.unchanged,
            refused=result.refused,
            prompts=[ImportedItemOut(**vars(item)) for item in result.items],
            ignored_columns=list(result.ignored_columns),
        )
