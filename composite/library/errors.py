"""Domain errors: raised by the shared queries, rendered as JSON by the API and as pages by the site."""

from __future__ import annotations


class DomainError(Exception):
    """A request the rules refuse; ``status`` is the HTTP status both apps answer with."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """The thing does not exist, or the caller may not know that it does."""

    status = 404


class Forbidden(DomainError):
    """The caller is known but may not do this."""

    status = 403


class Unauthorized(DomainError):
    """The caller must identify themselves first."""

    status = 401


class Conflict(DomainError):
    """The request clashes with what exists (a taken username)."""

    status = 409


class UnsupportedMediaType(DomainError):
    """The body is in a format this request does not read."""

    status = 415


class TooManyAttempts(DomainError):
    """Too many failed attempts; try again after ``retry_after`` seconds."""

    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Invalid(DomainError):
    """Input breaks a rule; ``errors`` maps each field to what is wrong with it."""

    status = 422

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {problem}" for field, problem in errors.items()))
        self.errors = errors


class Busy(TooManyAttempts):
    """The server is too busy for this now (not the caller's fault); retry after ``retry_after``."""

    status = 503
