"""Static files under URLs that carry a digest of their content, cached for good.

``url_for("static", filename=...)`` adds ``?v=<digest>``, so an upgrade that changes a
file changes its URL and no browser or proxy keeps serving the old CSS or JavaScript.
A request naming the current digest is answered ``immutable`` for a year; any other
(an old page, a hand-typed URL) gets the file with a short public lifetime.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from flask import Flask, Response, request

IMMUTABLE = "public, max-age=31536000, immutable"


class StaticVersions:
    """The content digest of each static file, read once per file (each time in debug)."""

    def __init__(self, folder: Path, *, reread: bool) -> None:
        self.folder = folder.resolve()
        self.reread = reread
        self._digests: dict[str, str | None] = {}

    def digest(self, filename: str) -> str | None:
        """A short digest of the file's bytes, or None when there is no such file."""
        if filename in self._digests and not self.reread:
            return self._digests[filename]
        path = (self.folder / filename).resolve()
        digest = None
        if path.is_relative_to(self.folder) and path.is_file():
            digest = hashlib.blake2b(path.read_bytes(), digest_size=6).hexdigest()
        self._digests[filename] = digest
        return digest

    def add_version(self, endpoint: str, values: dict[str, Any]) -> None:
        """url_defaults hook: put the file's digest in every static URL."""
        if endpoint == "static" and "filename" in values and "v" not in values:
            digest = self.digest(values["filename"])
            if digest:
                values["v"] = digest

    def mark_immutable(self, response: Response) -> Response:
        """after_request hook: a static file asked for by its current digest never changes."""
        if request.endpoint == "static" and response.status_code == 200:
            filename = (request.view_args or {}).get("filename", "")
            if request.args.get("v") and request.args.get("v") == self.digest(filename):
                response.headers["Cache-Control"] = IMMUTABLE
        return response


def install(app: Flask, *, debug: bool) -> None:
    """Version the app's static URLs and cache the files they name for good."""
    assert app.static_folder is not None
    versions = StaticVersions(Path(app.static_folder), reread=debug)
    app.url_defaults(versions.add_version)
    app.after_request(versions.mark_immutable)
