"""The interactive API documentation: Swagger UI served from this port, no outside host.

The Swagger UI files come pinned from a PyPI package (swagger-ui-bundle-v2), so the page
works offline and loads nothing a CDN could change. The page starts Swagger UI from a
static script, which lets its Content-Security-Policy (policies.DOCS_POLICY) forbid inline
scripts.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, HTMLResponse
from swagger_ui_bundle import swagger_ui_path

DOCS_PATH = "/api/docs"
ASSETS_PATH = f"{DOCS_PATH}/static"
# Only the files the page uses: the package also holds source maps and a demo page.
ASSETS: dict[str, tuple[Path, str]] = {
    "swagger-ui-bundle.js": (Path(str(swagger_ui_path)) / "swagger-ui-bundle.js", "text/javascript"),
    "swagger-ui.css": (Path(str(swagger_ui_path)) / "swagger-ui.css", "text/css"),
    "favicon-32x32.png": (Path(str(swagger_ui_path)) / "favicon-32x32.png", "image/png"),
    "docs.js": (Path(__file__).parent / "static" / "docs.js", "text/javascript"),
}
ASSET_MAX_AGE = 86_400


def docs_page(title: str, openapi_url: str) -> str:
    """The documentation page: Swagger UI's files and the document it shows, no inline script."""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{escape(title)} - Swagger UI</title>
<link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui.css">
<link rel="icon" type="image/png" href="{ASSETS_PATH}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{escape(openapi_url)}"></div>
<script src="{ASSETS_PATH}/swagger-ui-bundle.js"></script>
<script src="{ASSETS_PATH}/docs.js"></script>
</body>
</html>
"""


def docs_router(title: str, openapi_url: str) -> APIRouter:
    """Routes for the documentation page and its files, left out of the OpenAPI document."""
    page = docs_page(title, openapi_url)
    docs = APIRouter(include_in_schema=False)

    @docs.get(DOCS_PATH)
    def read_docs() -> HTMLResponse:
        """The interactive documentation page."""
        return HTMLResponse(page)

    @docs.get(f"{ASSETS_PATH}/{{name}}")
    def read_docs_asset(name: str) -> FileResponse:
        """One of the documentation page's files, cached by browsers for a day."""
        if name not in ASSETS:
            raise HTTPException(404, "no such file")
        path, media_type = ASSETS[name]
        return FileResponse(
            path,
            media_type=f"{media_type}; charset=utf-8" if media_type.startswith("text/") else media_type,
            headers={"Cache-Control": f"public, max-age={ASSET_MAX_AGE}"},
        )

    return docs
