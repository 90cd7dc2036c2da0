"""Debian's Chromium for the browser tests: where it is, how it starts here, and when to skip."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Headless as root on a closed network: without the background-networking flags Chromium's
# own connections are refused by the hundred.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> Path:
    """Chromium's path; skip without it, unless REQUIRE_BROWSER (CI) makes that a failure."""
    if not CHROMIUM.exists():
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"REQUIRE_BROWSER is set but {CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package to run the browser test")
    return CHROMIUM


def sign_up(page: Any, frontend: str, username: str, password: str = "correct horse battery") -> None:
    """Create an account through the register form in a Playwright page (which logs it in)."""
    page.goto(f"{frontend}/register")
    fill_sign_up(page, username, password)


def fill_sign_up(page: Any, username: str, password: str = "correct horse battery") -> None:
    """Fill and send the register form already open in the page."""
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Password again").fill(password)
    page.get_by_role("button", name="Create account").click()
