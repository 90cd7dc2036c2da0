"""Health check for the container: exit 0 when both ports answer their health endpoints.

``python -m composite.library.healthcheck`` GETs the API's ``/api/health`` on BACKEND_PORT and the
website's ``/healthz`` on FRONTEND_PORT, as the server sees them in its environment (HOST,
BACKEND_PORT, FRONTEND_PORT), and exits 1 if either does not answer 200 in time. Standard
library only, so that it runs in a slim image without curl.
"""

from __future__ import annotations

import http.client
import os
import sys
from collections.abc import Mapping

TIMEOUT_SECONDS = 2.0
CHECKS = (
    ("BACKEND_PORT", 12000, "/api/health"),
    ("FRONTEND_PORT", 12001, "/healthz"),
)
WILDCARDS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1", "[::]": "::1"}


def target_host(listen_host: str) -> str:
    """The address that reaches, from the same machine, a server listening on listen_host."""
    host = listen_host.strip()
    return WILDCARDS.get(host, host.strip("[]"))


def probe(host: str, port: int, path: str, timeout: float = TIMEOUT_SECONDS) -> str | None:
    """GET path; None when it answers 200, otherwise what went wrong."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"User-Agent": "composite-healthcheck"})
        response = connection.getresponse()
        response.read()
    except (OSError, http.client.HTTPException) as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        connection.close()
    if response.status != 200:
        return f"answered {response.status}"
    return None


def main(environ: Mapping[str, str] | None = None) -> int:
    """Check both ports; print one line per check and return the exit status."""
    env = os.environ if environ is None else environ
    host = target_host(env.get("HOST", ""))
    shown_host = f"[{host}]" if ":" in host else host
    status = 0
    for variable, default, path in CHECKS:
        raw = env.get(variable, "").strip() or str(default)
        if not raw.isdigit():
            print(f"unhealthy: {variable}={raw!r} is not a port", file=sys.stderr)
            status = 1
            continue
        url = f"http://{shown_host}:{raw}{path}"
        problem = probe(host, int(raw), path)
        if problem is None:
            print(f"ok: {url}")
        else:
            print(f"unhealthy: {url}: {problem}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
