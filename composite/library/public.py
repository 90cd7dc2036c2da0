"""The site on one public port, split by path exactly as the project's nginx does.

For platforms that route one domain to one port of one container with no nginx in
between (Coolify's Nixpacks build, a bare VM): ``/api`` and ``/api/...`` go to the API,
everything else to the website, with the compression nginx would have added
(nginx/templates/composite-site.inc.template states the same policy).
"""

from __future__ import annotations

from starlette.middleware.gzip import GZipMiddleware

from composite.server import Mount, PortRouter
from composite.server.pathsplit import PathSplit

API_PREFIX = "/api"
GZIP_MIN_LENGTH = 256  # nginx: gzip_min_length 256
GZIP_LEVEL = 5  # nginx: gzip_comp_level 5


def public_mount(
    router: PortRouter, port: int, backend: str = "backend", frontend: str = "frontend"
) -> Mount:
    """A mount on ``port`` serving the router's backend under /api and its frontend elsewhere."""
    split = PathSplit([(API_PREFIX, router.served_app(backend))], default=router.served_app(frontend))
    app = GZipMiddleware(split, minimum_size=GZIP_MIN_LENGTH, compresslevel=GZIP_LEVEL)
    return Mount("public", port, app)
