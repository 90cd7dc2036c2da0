"""The lock pins every runtime requirement at the version requirements.txt asks for."""

from __future__ import annotations

import re

from tests.support.process import ROOT

PIN = re.compile(r"^([A-Za-z0-9_.\[\]-]+)==([^\s;]+)")


def pins(text: str) -> dict[str, str]:
    """Package name (normalised, extras dropped) to pinned version."""
    found = {}
    for line in text.splitlines():
        match = PIN.match(line.strip())
        if match:
            name = re.sub(r"\[.*\]", "", match[1]).lower().replace("_", "-")
            found[name] = match[2]
    return found


def test_every_requirement_is_locked_at_its_pinned_version() -> None:
    wanted = pins((ROOT / "requirements.txt").read_text())
    locked = pins((ROOT / "requirements.lock").read_text())
    assert wanted, "requirements.txt pins nothing"
    stale = {
        name: (version, locked.get(name)) for name, version in wanted.items() if locked.get(name) != version
    }
    assert not stale, f"run `make lock`: requirements.txt and requirements.lock differ on {stale}"
