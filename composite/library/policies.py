"""The site's Content-Security-Policy for each application, given to composite.server.headers."""

from __future__ import annotations

# The website uses only its own scripts, styles and images.
SITE_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self';"
    " form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
)
# JSON needs nothing; the interactive docs page loads Swagger UI from this port only
# (composite.library.backend.docs), its start-up included, so no inline script is allowed.
API_POLICY = "default-src 'none'; frame-ancestors 'none'"
DOCS_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def api_policy(path: str) -> str:
    """The API's policy: strict everywhere but on the documentation page."""
    return DOCS_POLICY if path.startswith("/api/docs") else API_POLICY


def site_policy(path: str) -> str:
    """The website's policy, the same for every page."""
    return SITE_POLICY
