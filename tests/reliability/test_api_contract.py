"""The API holds its own contract: schemathesis against the real process's OpenAPI schema."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.client import register
from tests.support.process import ServerProcess

pytestmark = pytest.mark.slow

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)


def test_schemathesis_finds_no_5xx_and_no_schema_violation(tmp_path: Path) -> None:
    st = shutil.which("st", path=str(Path(sys.executable).parent))
    if st is None:
        pytest.fail("schemathesis is not installed: run `make test` (requirements-dev.txt)")
    server = ServerProcess(tmp_path, env={"LOG_LEVEL": "warning"}).start()
    try:
        token = register(server, "contract")
        # Something to read, star and version, so generated ids hit real rows too.
        for n in range(3):
            httpx.post(
                f"{server.backend}/api/prompts",
                headers={"Authorization": f"Bearer {token}"},
                json={
                    "title": f"Seed {n}",
                    "body": "Hello {{name}}",
                    "tags": ["seed"],
                    "visibility": "public",
                },
            )
        result = subprocess.run(
            [
                st,
                "run",
                f"{server.backend}/api/openapi.json",
                "--checks",
                CHECKS,
                "--header",
                f"Authorization: Bearer {token}",
                "--max-examples",
                "25",
                "--phases",
                "examples,coverage,fuzzing",
                # One worker: with several, schemathesis's coverage phase compiles code from
                # two threads at once and CPython 3.11 can fail inside it (a SystemError).
                "--workers",
                "1",
                "--seed",
                "1",
                "--request-timeout",
                "10",
                "--generation-database",
                "none",
                "--no-color",
                # Revoking arbitrary token ids would revoke the run's own token and leave
                # every later request unauthenticated; tests/backend covers revocation.
                "--exclude-path-regex",
                "^/api/tokens/",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            cwd=tmp_path,
        )
        summary = result.stdout[-6000:]
        assert result.returncode == 0, summary + result.stderr[-2000:]
        # Logging in with generated passwords can only fail; any other operation answering
        # nothing but 401/403 would mean the run's token stopped working.
        # Only the list under the 401 warning: other warnings list operations the same way.
        block = re.search(r"401 Unauthorized \(\d+ operations?\):\n((?:[ \t]+- .*\n)+)", result.stdout)
        unauthenticated = set(re.findall(r"- ([A-Z]+ /\S+)", block.group(1))) if block else set()
        assert unauthenticated <= {"POST /api/tokens"}, summary
        print("\n" + "\n".join(line for line in result.stdout.splitlines()[-12:] if line.strip()))
        assert "Traceback" not in server.log()
    finally:
        server.stop()
