"""The website's import of a realistic collection: 1,500 prompts as CSV and as an export, item by item."""

from __future__ import annotations

import io
import json
import re

from werkzeug.test import EnvironBuilder

from tests.library.frontend.conftest import AuthActions
from tests.support import corpus


def upload(browser: AuthActions, data: bytes, filename: str) -> str:
    """Upload a file through the account page's import form; return the page."""
    form = {"csrf_token": browser.csrf("/account"), "file": (io.BytesIO(data), filename)}
    # Built here to be closed here: the test client spools a large body to a file of its own.
    environ = EnvironBuilder(path="/account/import", method="POST", data=form).get_environ()
    try:
        response = browser.client.open(environ)
    finally:
        environ["wsgi.input"].close()
    assert response.status_code == 200, response.text[:500]
    return response.text


def test_a_csv_upload_of_1500_prompts_lists_the_refused_rows(alice: AuthActions) -> None:
    items = corpus.prompts(1500, seed=5)
    items[3] = {**items[3], "body": "   "}  # row 5
    data = corpus.csv_bytes(items, style="title")
    assert len(data) > 1024 * 1024  # past the site's limit for every other form
    page = upload(alice, data, "collection.csv")
    assert "Imported: 1499 new, 0 updated, 0 already up to date, 1 not imported." in page
    assert re.search(r"Row 5 \(“[^”]+”\): body: must be 1-50000 characters", page)  # named by its title


def test_an_export_uploaded_to_another_account_gives_identical_prompts(
    alice: AuthActions, bob: AuthActions
) -> None:
    page = upload(alice, corpus.export_bytes(corpus.prompts(1500, seed=6)), "backup.json")
    assert "Imported: 1500 new, 0 updated, 0 already up to date." in page
    exported = alice.client.get("/account/export").data
    assert len(exported) > 4_000_000
    assert "1500 new" in upload(bob, exported, "prompts-alice.json")
    assert "0 new, 0 updated, 1500 already up to date" in upload(alice, exported, "prompts-alice.json")

    def content(browser: AuthActions) -> list[tuple[str, ...]]:
        document = json.loads(browser.client.get("/account/export").data)
        fields = ("title", "body", "description", "visibility")
        return sorted((*(p[f] for f in fields), ",".join(p["tags"])) for p in document["prompts"])

    assert content(bob) == content(alice)
