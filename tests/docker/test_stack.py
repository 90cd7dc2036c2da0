"""The container deployment for real: the project's image and compose stack in a private Docker engine.

Run by ``make test-docker``, not by ``make test``. The image is built from the project's
Dockerfile on stand-in base images (test fixtures, see images.py) with the wheels served
from a local index; the stack is the project's docker-compose.yml plus
tests/docker/compose.test.yml (host network, loopback ports). Every check goes through
nginx. The tests run in order and share one stack.
"""

from __future__ import annotations

import ssl
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.docker.engine import Engine, or_unavailable
from tests.docker.images import package_index, provide_stand_ins, wheelhouse
from tests.docker.stack import Stack, free_ports
from tests.support.deploy import ROOT
from tests.support.nginx import make_self_signed

pytestmark = pytest.mark.docker

USER = "10001"  # the image's USER
STOP_DEADLINE = 10.0  # seconds: docker stop's default wait before SIGKILL
GRACEFUL = {0, 143}  # 0 as PID 1 (the kernel drops the re-raised SIGTERM), 143 by SIGTERM


@pytest.fixture(scope="module")
def stand_ins(engine: Engine, report: dict[str, str]) -> dict[str, str]:
    """The stand-in base images in the engine, by name (python, nginx)."""
    started = time.monotonic()
    tags = or_unavailable(lambda: provide_stand_ins(engine))
    report["stand-in base images (root filesystems, import, fixture builds)"] = (
        f"{time.monotonic() - started:.0f} s"
    )
    return tags


@pytest.fixture(scope="module")
def stack(
    engine: Engine,
    stand_ins: dict[str, str],
    report: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    """The project's image built and its stack up and healthy; taken down with its volume afterwards."""
    workdir = tmp_path_factory.mktemp("stack")
    make_self_signed(workdir / "certs")
    running = Stack(engine, workdir, *free_ports(4))
    try:
        started = time.monotonic()
        wheels = wheelhouse(ROOT / "requirements.lock")
        report["wheels for the image (cache or pip download)"] = f"{time.monotonic() - started:.0f} s"
        with package_index(wheels) as index_url:
            running.write_env(
                index_url=index_url,
                python_image=stand_ins["python"],
                nginx_image=stand_ins["nginx"],
                certs=workdir / "certs",
            )
            started = time.monotonic()
            running.compose("build", timeout=900)
            report["project image build"] = f"{time.monotonic() - started:.0f} s"
        started = time.monotonic()
        running.compose("up", "--detach", "--wait", "--no-build", timeout=300)
        report["compose up --wait (both healthy)"] = f"{time.monotonic() - started:.0f} s"
        yield running
    finally:
        running.compose("down", "--volumes", "--remove-orphans", "--timeout", "20", timeout=120, check=False)


@pytest.fixture(scope="module")
def prompt(stack: Stack) -> tuple[int, str]:
    """A public prompt created through the API behind nginx: its id and title."""
    username = f"docker{uuid.uuid4().hex[:8]}"
    credentials = {"username": username, "password": "password123"}
    with httpx.Client(base_url=stack.http, timeout=10) as client:
        created = client.post("/api/users", json=credentials)
        assert created.status_code == 201, created.text
        issued = client.post("/api/tokens", json=credentials)
        assert issued.status_code == 201, issued.text
        title = f"Container test {uuid.uuid4().hex[:8]}"
        response = client.post(
            "/api/prompts",
            headers={"Authorization": f"Bearer {issued.json()['token']}"},
            json={
                "title": title,
                "body": "Say hello to {{name}}",
                "tags": ["docker"],
                "visibility": "public",
            },
        )
    assert response.status_code == 201, response.text
    return response.json()["id"], title


def assert_prompt_on_website(stack: Stack, prompt: tuple[int, str]) -> None:
    """The prompt is on its page and in the home page's listing, through nginx."""
    prompt_id, title = prompt
    page = httpx.get(f"{stack.http}/prompts/{prompt_id}", timeout=10)
    assert page.status_code == 200, page.text[:500]
    assert title in page.text
    home = httpx.get(f"{stack.http}/", timeout=10)
    assert home.status_code == 200
    assert title in home.text
    api = httpx.get(f"{stack.http}/api/prompts/{prompt_id}", timeout=10)
    assert api.status_code == 200, api.text
    assert api.json()["title"] == title


def test_image_is_built_from_the_project_dockerfile(stack: Stack, report: dict[str, str]) -> None:
    """The app runs the image built from the Dockerfile: production settings, the non-root user."""
    app = stack.container("app")
    image = stack.inspect(app, "{{.Image}}")
    size = int(stack.engine.docker("image", "inspect", "--format", "{{.Size}}", image).stdout)
    report["project image size (on the stand-in python base)"] = f"{size / 1e6:.0f} MB"
    assert stack.engine.docker("image", "inspect", "--format", "{{.Config.User}}", image).stdout.strip() == (
        f"{USER}:{USER}"
    )
    env = stack.engine.docker("image", "inspect", "--format", "{{json .Config.Env}}", image).stdout
    assert "APP_ENV=production" in env
    assert stack.inspect(app, "{{json .Config.Cmd}}") == '["python","app.py"]'


def test_both_services_are_healthy(stack: Stack) -> None:
    """up --wait returned: the app's and nginx's own health checks pass."""
    for service in ("app", "nginx"):
        assert stack.inspect(stack.container(service), "{{.State.Health.Status}}") == "healthy", service


def test_app_runs_as_the_non_root_user(stack: Stack) -> None:
    """PID 1 of the app container and a command run in it are user 10001, not root."""
    app = stack.container("app")
    assert stack.engine.docker("exec", app, "id", "-u").stdout.strip() == USER
    status = stack.engine.docker("exec", app, "cat", "/proc/1/status").stdout
    uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]
    assert uids == [USER] * 4, status


def test_api_and_website_answer_through_nginx(stack: Stack) -> None:
    """nginx sends /api to the API port and the rest to the website port."""
    assert httpx.get(f"{stack.http}/nginx-health", timeout=10).text == "ok\n"
    health = httpx.get(f"{stack.http}/api/health", timeout=10)
    assert health.status_code == 200, health.text
    assert health.json()["database"] == "ok"
    assert httpx.get(f"{stack.http}/healthz", timeout=10).status_code == 200
    home = httpx.get(f"{stack.http}/", timeout=10)
    assert home.status_code == 200
    assert home.headers["content-type"].startswith("text/html")
    assert httpx.get(f"{stack.http}/api/prompts", timeout=10).status_code == 200


def test_nginx_rendered_the_templates_and_serves_https_with_the_mounted_certificate(stack: Stack) -> None:
    """The entrypoint rendered every template; with the certificate mounted, HTTPS is on."""
    nginx = stack.container("nginx")
    rendered = stack.engine.docker("exec", nginx, "ls", "/etc/nginx/conf.d").stdout.split()
    assert sorted(rendered) == ["composite-site.inc", "default.conf", "tls.conf"]
    assert "HTTPS on with certificate" in stack.engine.docker("logs", nginx).stdout
    trust = ssl.create_default_context(cafile=stack.workdir / "certs" / "fullchain.pem")
    with httpx.Client(verify=trust, timeout=10) as client:
        health = client.get(f"{stack.https}/api/health")
        assert health.status_code == 200, health.text
        assert client.get(f"{stack.https}/").status_code == 200


def test_prompt_created_through_the_api_appears_on_the_website(stack: Stack, prompt: tuple[int, str]) -> None:
    """One process, one database: what the API writes, the website shows."""
    assert_prompt_on_website(stack, prompt)


def test_prompt_survives_a_restart_of_the_app(stack: Stack, prompt: tuple[int, str]) -> None:
    """docker compose restart app: the database is closed cleanly and opened again."""
    before = stack.inspect(stack.container("app"), "{{.State.StartedAt}}")
    stack.compose("restart", "app", timeout=120)
    assert stack.inspect(stack.container("app"), "{{.State.StartedAt}}") != before
    stack.wait_for(f"{stack.http}/api/health")
    assert_prompt_on_website(stack, prompt)


def test_prompt_survives_down_and_up(stack: Stack, prompt: tuple[int, str]) -> None:
    """down removes the containers but keeps the named volume; up again finds the prompt."""
    stack.compose("down", "--timeout", "20", timeout=120)
    assert not stack.compose("ps", "--all", "--quiet").stdout.split()
    volumes = stack.engine.docker("volume", "ls", "--quiet").stdout.split()
    assert any(name.endswith("_app-data") for name in volumes), volumes
    stack.compose("up", "--detach", "--wait", "--no-build", timeout=300)
    assert_prompt_on_website(stack, prompt)


def test_docker_stop_ends_the_app_gracefully_within_ten_seconds(stack: Stack) -> None:
    """SIGTERM: the app finishes, closes the database and exits by itself, before docker's SIGKILL."""
    app = stack.container("app")
    started = time.monotonic()
    stack.engine.docker("stop", "--time", str(int(STOP_DEADLINE)), app, timeout=60)
    elapsed = time.monotonic() - started
    state = stack.inspect(app, "{{.State.ExitCode}} {{.State.OOMKilled}}")
    code, oom = state.split()
    assert int(code) in GRACEFUL, f"exit status {code} (137 means docker had to SIGKILL it)"
    assert oom == "false"
    assert elapsed < STOP_DEADLINE, f"docker stop took {elapsed:.1f} s"


def test_teardown_leaves_nothing(stack: Stack) -> None:
    """down --volumes removes the containers and the named volume; nothing listens on the test ports."""
    stack.compose("down", "--volumes", "--remove-orphans", "--timeout", "20", timeout=120)
    assert not stack.engine.docker("ps", "--all", "--quiet").stdout.split()
    assert not stack.engine.docker("volume", "ls", "--quiet").stdout.split()
    for port in (stack.backend_port, stack.frontend_port, stack.http_port, stack.https_port):
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
