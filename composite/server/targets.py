"""Applications named as text: ``[asgi:|wsgi:]package.module:attribute`` or ``...:factory()``.

Used by ``composite serve --mount PORT=TARGET`` and by ``[[mount]]`` tables in a config
file. Every failure is a ``TargetError`` whose message is one line for the operator.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

KINDS = ("asgi", "wsgi")


class TargetError(ValueError):
    """A mount's target cannot be loaded as an application; the message says why."""


@dataclass(frozen=True)
class Target:
    """Where an application lives and, when forced, whether it speaks ASGI or WSGI."""

    module: str
    attribute: str
    call: bool = False
    kind: str | None = None

    def __str__(self) -> str:
        prefix = f"{self.kind}:" if self.kind else ""
        return f"{prefix}{self.module}:{self.attribute}{'()' if self.call else ''}"


def parse_target(text: str) -> Target:
    """Parse ``[asgi:|wsgi:]module:attribute[()]``."""
    kind = None
    rest = text.strip()
    for candidate in KINDS:
        if rest.startswith(candidate + ":"):
            kind, rest = candidate, rest[len(candidate) + 1 :]
            break
    module, sep, attribute = rest.partition(":")
    call = attribute.endswith("()")
    attribute = attribute.removesuffix("()")
    if (
        not sep
        or not module
        or not attribute
        or not _is_dotted_name(module)
        or not _is_dotted_name(attribute)
    ):
        raise TargetError(f"{text!r} is not a target: expected [asgi:|wsgi:]package.module:attribute[()]")
    return Target(module, attribute, call, kind)


def _is_dotted_name(text: str) -> bool:
    return all(part.isidentifier() for part in text.split("."))


def load_application(target: Target, app_dir: str | None = None) -> tuple[Callable[..., Any], str]:
    """Import the target and return the application with its kind, ``"asgi"`` or ``"wsgi"``."""
    if app_dir is not None and app_dir not in sys.path:
        sys.path.insert(0, app_dir)
    try:
        module = importlib.import_module(target.module)
    except ModuleNotFoundError as exc:
        if exc.name and (target.module == exc.name or target.module.startswith(exc.name + ".")):
            raise TargetError(
                f"no module named {target.module!r} (looked in {app_dir or 'the path'})"
            ) from None
        raise TargetError(f"cannot import {target.module}: {exc}") from None
    except Exception as exc:
        raise TargetError(f"cannot import {target.module}: {type(exc).__name__}: {exc}") from None
    app: Any = module
    for part in target.attribute.split("."):
        try:
            app = getattr(app, part)
        except AttributeError:
            raise TargetError(f"module {target.module} has no attribute {target.attribute!r}") from None
    if target.call:
        if not callable(app):
            raise TargetError(f"{target} : {target.attribute} is not callable")
        try:
            app = app()
        except Exception as exc:
            raise TargetError(f"{target} failed: {type(exc).__name__}: {exc}") from None
    kind = target.kind or detect_kind(app)
    if kind is None:
        raise TargetError(f"{target} is not an ASGI or WSGI application (got {type(app).__name__})")
    return app, kind


def detect_kind(app: Any) -> str | None:
    """``"asgi"`` for an async (scope, receive, send) callable, ``"wsgi"`` for (environ, start_response)."""
    if inspect.isclass(app) or not callable(app):
        return None
    function = app if inspect.isfunction(app) or inspect.ismethod(app) else type(app).__call__
    if inspect.iscoroutinefunction(function):
        return "asgi"
    try:
        parameters = inspect.signature(app).parameters.values()
    except (TypeError, ValueError):
        return None
    positional = [
        p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
    ]
    if any(p.kind is p.VAR_POSITIONAL for p in positional) or len(positional) == 2:
        return "wsgi"
    return None
