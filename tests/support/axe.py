"""axe-core, the accessibility checker, from npm: where it is installed and when to skip."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# .ci/run installs the version pinned in .ci/axe/package.json (and its lock) here.
AXE_DIR = Path(__file__).resolve().parents[2] / ".ci" / "axe"
AXE_JS = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"


def require_axe() -> str:
    """axe-core's script; skip without it, unless REQUIRE_BROWSER (CI) makes that a failure."""
    path = Path(os.environ.get("AXE_CORE_JS") or AXE_JS)
    if not path.is_file():
        install = "run `npm ci --prefix .ci/axe`"
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"REQUIRE_BROWSER is set but axe-core is missing at {path}: {install}")
        pytest.skip(f"axe-core is missing at {path}: {install}, or set AXE_CORE_JS")
    return path.read_text(encoding="utf-8")
