"""Deployment: Dockerfile, compose files and nginx, validated without a Docker engine.

Compose v5 validates and resolves both compose files; hadolint lints the Dockerfiles; the
nginx templates are rendered as the official image renders them and tested with real
nginx, then run in front of the real ``python app.py`` on loopback ports.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from composite.config import ConfigError, Settings
from composite.library.healthcheck import target_host
from tests.support.deploy import (
    COMPOSE_FILES,
    ROOT,
    compose,
    compose_model,
    dockerfile_arg_defaults,
    dockerfile_env,
    dockerfile_instructions,
    dockerignore_excludes,
    hadolint,
)
from tests.support.nginx import (
    IMAGE_ENV,
    TEMPLATES,
    Nginx,
    envsubst_templates,
    find_nginx,
    loopback_env,
    make_self_signed,
    render,
    render_templates,
    require_tool,
    run_tls_script,
    template_variables,
)
from tests.support.process import ServerProcess, free_port, run_app
from tests.support.web import CSRF

DOCKERFILE = ROOT / "Dockerfile"
NGINX_DOCKERFILE = ROOT / "nginx" / "Dockerfile"
DOCKER_STOP_KILL_AFTER = 10.0  # seconds `docker stop` waits before SIGKILL
SECRET = "deployment-test-secret-key-0123456789abcdef"
BODY_LIMIT = 1024 * 1024


require = require_tool


@pytest.fixture(scope="module")
def nginx_bin() -> str:
    """Debian's nginx binary."""
    return require("nginx", find_nginx())


@pytest.fixture(scope="module")
def envsubst_bin() -> str:
    """GNU envsubst, the renderer the official nginx image uses."""
    return require("envsubst", shutil.which("envsubst"))


@pytest.fixture(scope="module")
def openssl_bin() -> str:
    """openssl, to make a self-signed certificate."""
    return require("openssl", shutil.which("openssl"))


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory, openssl_bin: str) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1, and its key."""
    return make_self_signed(tmp_path_factory.mktemp("certs"))


def image_env() -> dict[str, str]:
    """The environment the Dockerfile gives the app."""
    return dockerfile_env(DOCKERFILE.read_text())


def service_env(model: dict[str, Any], service: str) -> dict[str, str]:
    """A service's resolved environment, values as strings."""
    environment = model["services"][service].get("environment") or {}
    return {key: "" if value is None else str(value) for key, value in environment.items()}


def seconds(duration: str) -> float:
    """A compose duration such as 15s, 1m30s or 500ms in seconds."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", duration)
    assert parts, duration
    return sum(float(number) * units[unit] for number, unit in parts)


# --- Compose ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_compose_file_is_valid(name: str, tmp_path: Path) -> None:
    result = compose(ROOT / name, "config", "-q", home=tmp_path, env={"SERVICE_BASE64_64_SECRETKEY": SECRET})
    assert result.returncode == 0, result.stderr
    assert "warn" not in result.stderr.lower(), result.stderr


BREAKAGES = {
    "unknown key": ("    restart: unless-stopped\n", "    restart: unless-stopped\n    restarts: 3\n"),
    "bad duration": ("      interval: 10s\n", "      interval: ten seconds\n"),
    "undefined volume": ("      - app-data:/app/data\n", "      - app-dat:/app/data\n"),
    "unknown dependency": ("      app:\n        condition:", "      ap:\n        condition:"),
    "bad port": ('      - "${HTTP_PUBLISH_PORT:-80}:80"\n', '      - "80:99999"\n'),
}


@pytest.mark.parametrize(
    ("name", "breakage"),
    [
        (name, breakage)
        for name in COMPOSE_FILES
        for breakage, (old, _) in BREAKAGES.items()
        if old in (ROOT / name).read_text()
    ],
)
def test_broken_copy_of_compose_file_fails(name: str, breakage: str, tmp_path: Path) -> None:
    text = (ROOT / name).read_text()
    old, new = BREAKAGES[breakage]
    broken = tmp_path / name
    broken.write_text(text.replace(old, new, 1))
    intact = tmp_path / f"intact-{name}"
    intact.write_text(text)
    env = {"SERVICE_BASE64_64_SECRETKEY": SECRET}
    assert compose(intact, "config", "-q", home=tmp_path, env=env).returncode == 0
    result = compose(broken, "config", "-q", home=tmp_path, env=env)
    assert result.returncode != 0, f"{breakage} in {name} was accepted"


def test_compose_without_env_file_validates_and_env_file_cannot_override_container_facts(
    tmp_path: Path,
) -> None:
    copy = tmp_path / "docker-compose.yml"
    shutil.copy(ROOT / "docker-compose.yml", copy)
    assert compose(copy, "config", "-q", home=tmp_path).returncode == 0, "a missing .env must be fine"

    (tmp_path / ".env").write_text(
        f"SECRET_KEY={SECRET}\nAPP_ENV=development\nDATABASE_PATH=data/app.db\nBACKEND_PORT=13000\n"
        "LOG_LEVEL=debug\nFORWARDED_ALLOW_IPS=127.0.0.1\n"
    )
    app = service_env(compose_model(copy, home=tmp_path), "app")
    assert app["SECRET_KEY"] == SECRET
    assert app["LOG_LEVEL"] == "debug"
    # What the image, the volume, the healthcheck and nginx rely on is not .env's to change.
    assert app["APP_ENV"] == "production"
    assert app["DATABASE_PATH"] == "/app/data/app.db"
    assert app["BACKEND_PORT"] == "12000"
    # The proxy network, stated explicitly: never "*", never taken from .env.
    assert app["FORWARDED_ALLOW_IPS"] == "172.30.240.0/24"


def test_docker_compose_yml_runs_app_behind_nginx(tmp_path: Path) -> None:
    model = compose_model(ROOT / "docker-compose.yml", home=tmp_path)
    app, nginx = model["services"]["app"], model["services"]["nginx"]

    assert Path(app["build"]["context"]) == ROOT
    assert (
        app["build"]["args"]["PYTHON_IMAGE"]
        == dockerfile_arg_defaults(DOCKERFILE.read_text())["PYTHON_IMAGE"]
    )
    assert app["restart"] == "unless-stopped"
    assert app["healthcheck"]["test"] == ["CMD", "python", "-m", "composite.library.healthcheck"]
    assert set(app["networks"]["default"]["aliases"]) == {"backend", "frontend"}
    data = [v for v in app["volumes"] if v["target"] == "/app/data"]
    assert data
    assert data[0]["type"] == "volume"
    assert data[0]["source"] in model["volumes"]
    assert service_env(model, "app")["DATABASE_PATH"].startswith("/app/data/")
    published = {(p["target"], p["published"], p.get("host_ip")) for p in app["ports"]}
    assert published == {(12000, "12000", "127.0.0.1"), (12001, "12001", "127.0.0.1")}
    grace = seconds(app["stop_grace_period"])
    assert float(image_env()["SHUTDOWN_TIMEOUT"]) + 3 <= grace

    assert nginx["image"].startswith("nginx:")
    assert nginx["depends_on"]["app"]["condition"] == "service_healthy"
    assert {p["target"] for p in nginx["ports"]} == {80, 443}
    mounts = {v["target"]: v for v in nginx["volumes"]}
    assert Path(mounts["/etc/nginx/templates"]["source"]) == TEMPLATES
    assert mounts["/etc/nginx/templates"]["read_only"] is True
    assert "/docker-entrypoint.d/40-composite-tls.sh" in mounts
    assert "curl" in nginx["healthcheck"]["test"]
    assert "/nginx-health" in nginx["healthcheck"]["test"][-1]
    env = service_env(model, "nginx")
    assert (env["BACKEND_HOST"], env["FRONTEND_HOST"]) == ("backend", "frontend")
    assert env["NGINX_BEHIND_PROXY"] == "false"  # nginx is the edge here


def test_coolify_compose_is_one_stack_with_nginx_as_the_only_entry(tmp_path: Path) -> None:
    env = {"SERVICE_BASE64_64_SECRETKEY": SECRET, "SERVICE_FQDN_NGINX_80": "https://prompts.example.com"}
    model = compose_model(ROOT / "docker-compose.coolify.yml", home=tmp_path, env=env)
    services = model["services"]
    assert set(services) == {"app", "nginx"}
    for name, service in services.items():
        assert not service.get("ports"), f"{name} must not bind host ports under Coolify"
        assert service["healthcheck"]["test"][0] == "CMD", name
        assert service["restart"] == "unless-stopped", name
    app_env, nginx_env = service_env(model, "app"), service_env(model, "nginx")
    # Coolify routes the domain to nginx's port 80 and generates the secret.
    assert nginx_env["SERVICE_FQDN_NGINX_80"] == "https://prompts.example.com"
    assert nginx_env["NGINX_HTTP_PORT"] == "80"
    assert app_env["SECRET_KEY"] == SECRET
    raw = (ROOT / "docker-compose.coolify.yml").read_text()
    assert re.search(r"SECRET_KEY[=:] *\$\{SERVICE_(?:BASE64|PASSWORD)_64_[A-Z0-9]+\}", raw)
    assert nginx_env["NGINX_BEHIND_PROXY"] == "true"
    assert services["nginx"]["depends_on"]["app"]["condition"] == "service_healthy"
    data = [v for v in services["app"]["volumes"] if v["target"] == "/app/data"]
    assert data
    assert data[0]["type"] == "volume"
    assert data[0]["source"] in model["volumes"]
    # Coolify does not mount repository files by default: nginx's configuration is built in.
    assert Path(services["nginx"]["build"]["context"]) == ROOT / "nginx"
    assert not [v for v in services["nginx"].get("volumes", []) if v["type"] == "bind"]
    settings = Settings.from_env(app_env, dotenv_path=None)
    assert settings.production


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_env_example_lists_every_variable_the_compose_files_use(name: str) -> None:
    text = (ROOT / name).read_text()
    used = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", text))
    used |= set(re.findall(r"^\s*- (SERVICE_[A-Z0-9_]+)\s*$", text, re.MULTILINE))
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert used, name
    assert used <= listed, f"missing from .env.example: {sorted(used - listed)}"


def test_app_refuses_to_start_with_the_compose_environment_but_no_secret(tmp_path: Path) -> None:
    copy = tmp_path / "docker-compose.yml"
    shutil.copy(ROOT / "docker-compose.yml", copy)
    env = service_env(compose_model(copy, home=tmp_path), "app")
    assert "SECRET_KEY" not in env
    loopback = {
        "HOST": "127.0.0.1",
        "BACKEND_PORT": str(free_port()),
        "FRONTEND_PORT": str(free_port()),
        "DATABASE_PATH": str(tmp_path / "data" / "app.db"),
    }
    result = run_app(tmp_path, {**env, **loopback, "SECRET_KEY": ""})
    assert result.returncode == 2, result.stderr
    assert "SECRET_KEY" in result.stderr


# --- Dockerfile ------------------------------------------------------------------------


@pytest.mark.parametrize("dockerfile", [DOCKERFILE, NGINX_DOCKERFILE], ids=["app", "nginx"])
def test_hadolint_reports_nothing(dockerfile: Path, tmp_path: Path) -> None:
    result = hadolint(dockerfile, home=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "", result.stdout


def test_hadolint_fails_a_broken_copy(tmp_path: Path) -> None:
    text = DOCKERFILE.read_text()
    broken = tmp_path / "Dockerfile"
    broken.write_text(text.replace('CMD ["python", "app.py"]', "CMD python app.py"))
    assert broken.read_text() != text
    result = hadolint(broken, home=tmp_path)
    assert result.returncode != 0
    assert "DL3025" in result.stdout


def test_dockerfile_shape() -> None:
    instructions = dockerfile_instructions(DOCKERFILE.read_text())
    keywords = [keyword for keyword, _ in instructions]
    args = dockerfile_arg_defaults(DOCKERFILE.read_text())
    assert instructions[0] == ("ARG", f"PYTHON_IMAGE={args['PYTHON_IMAGE']}")
    assert re.fullmatch(r"python:3\.11-slim(-\w+)?", args["PYTHON_IMAGE"])
    assert ("FROM", "${PYTHON_IMAGE}") in instructions

    def index(keyword: str, fragment: str) -> int:
        return next(i for i, (k, rest) in enumerate(instructions) if k == keyword and fragment in rest)

    # Dependencies are installed before the code arrives, so code changes reuse that layer.
    assert index("COPY", "requirements.lock") < index("RUN", "-r requirements.lock") < index("COPY", "app.py")
    assert index("RUN", "-r requirements.lock") < index("COPY", "composite")
    user = dict(instructions)["USER"]
    assert re.fullmatch(r"[1-9]\d*(:\d+)?", user)
    assert not user.startswith("0")
    assert dict(instructions)["VOLUME"] == '["/app/data"]'
    assert dict(instructions)["EXPOSE"].split() == ["12000", "12001"]
    assert keywords.index("USER") > index("RUN", "chown")
    assert f"chown {user}" in dict((k, r) for k, r in instructions if "chown" in r)["RUN"]
    healthcheck = dict(instructions)["HEALTHCHECK"]
    assert healthcheck.endswith('CMD ["python", "-m", "composite.library.healthcheck"]')
    assert instructions[-1] == ("CMD", '["python", "app.py"]')
    assert "ENTRYPOINT" not in keywords  # python itself is PID 1 and gets SIGTERM


def test_image_environment_is_production_and_needs_a_real_secret() -> None:
    env = image_env()
    assert env["APP_ENV"] == "production"
    assert env["DATABASE_PATH"].startswith("/app/data/")
    assert (env["BACKEND_PORT"], env["FRONTEND_PORT"]) == ("12000", "12001")
    assert float(env["SHUTDOWN_TIMEOUT"]) <= DOCKER_STOP_KILL_AFTER - 3
    with pytest.raises(ConfigError) as refused:
        Settings.from_env(env, dotenv_path=None)
    assert refused.value.variable == "SECRET_KEY"
    with pytest.raises(ConfigError):
        Settings.from_env({**env, "SECRET_KEY": "too-short"}, dotenv_path=None)
    settings = Settings.from_env({**env, "SECRET_KEY": SECRET}, dotenv_path=None)
    assert settings.production
    assert not settings.load_examples
    assert not settings.test_endpoints


def test_dockerignore_sends_only_what_the_image_copies() -> None:
    ignore = (ROOT / ".dockerignore").read_text()
    sources = [
        part
        for keyword, rest in dockerfile_instructions(DOCKERFILE.read_text())
        if keyword == "COPY"
        for part in rest.split()[:-1]
        if not part.startswith("--")
    ]
    assert sources == ["requirements.lock", "app.py", "composite/"]
    code = [p.relative_to(ROOT).as_posix() for p in (ROOT / "composite").rglob("*.py")]
    for path in ["app.py", "requirements.lock", *code]:
        assert not dockerignore_excludes(ignore, path), path
    for path in [
        ".git/HEAD",
        ".venv/bin/python",
        "data/app.db",
        "data/app.db.wal",
        ".env",
        "tests/test_deployment.py",
        "docs/deployment.md",
        "nginx/certs/privkey.pem",
        "composite/__pycache__/main.cpython-311.pyc",
        "composite/library/backend/__pycache__/app.cpython-311.pyc",
    ]:
        assert dockerignore_excludes(ignore, path), path
    nginx_ignore = (ROOT / "nginx" / ".dockerignore").read_text()
    assert dockerignore_excludes(nginx_ignore, "certs/privkey.pem")
    assert not dockerignore_excludes(nginx_ignore, "templates/default.conf.template")
    assert not dockerignore_excludes(nginx_ignore, "docker-entrypoint.d/40-composite-tls.sh")


def test_stop_finishes_before_docker_kills_with_the_image_shutdown_timeout(tmp_path: Path) -> None:
    timeout = image_env()["SHUTDOWN_TIMEOUT"]
    server = ServerProcess(tmp_path, env={"TEST_ENDPOINTS": "true", "SHUTDOWN_TIMEOUT": timeout}).start()

    def hang() -> None:
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(f"{server.backend}/api/_sleep?seconds=30", timeout=40)

    request = threading.Thread(target=hang, daemon=True)
    request.start()
    time.sleep(0.5)
    started = time.monotonic()
    server.signal(signal.SIGTERM)
    try:
        status = server.wait(DOCKER_STOP_KILL_AFTER + 5)
    finally:
        server.stop()  # only acts if it is still running
    elapsed = time.monotonic() - started
    assert elapsed < DOCKER_STOP_KILL_AFTER - 1, f"took {elapsed:.1f}s: docker would have killed it"
    assert elapsed >= float(timeout) - 0.5, "the request in flight was given its time"
    # uvicorn re-raises the SIGTERM it caught once it has shut down: Docker shows 143.
    assert status in (0, -signal.SIGTERM), server.log()
    assert "database closed" in server.log()


def test_as_pid_1_sigterm_stops_the_process_cleanly(tmp_path: Path) -> None:
    # In the container python is PID 1 (exec-form CMD): signals reach it only through the
    # handlers it installs, as docker stop's SIGTERM does. Reproduce that in a PID namespace.
    unshare = shutil.which("unshare")
    probe = unshare and subprocess.run([unshare, "--pid", "--fork", "true"], capture_output=True, check=False)
    if not probe or probe.returncode != 0:
        pytest.skip("cannot create a PID namespace here (needs root and util-linux unshare)")
    server = ServerProcess(tmp_path, env={"SHUTDOWN_TIMEOUT": image_env()["SHUTDOWN_TIMEOUT"]})
    log = server.stderr_path.open("wb")
    outer = subprocess.Popen(
        [unshare, "--pid", "--fork", "--kill-child", sys.executable, str(ROOT / "app.py")],
        cwd=tmp_path,
        env=server.env,
        stdout=log,
        stderr=log,
    )
    try:
        server.proc = outer
        server.wait_ready()
        children = Path(f"/proc/{outer.pid}/task/{outer.pid}/children").read_text().split()
        assert len(children) == 1
        status = Path(f"/proc/{children[0]}/status").read_text()
        assert re.search(r"^NSpid:\s+\d+\s+1$", status, re.MULTILINE), "the app is PID 1 in its namespace"
        started = time.monotonic()
        os.kill(int(children[0]), signal.SIGTERM)
        assert outer.wait(DOCKER_STOP_KILL_AFTER + 5) == 0, server.log()
        assert time.monotonic() - started < DOCKER_STOP_KILL_AFTER - 1
        assert "database closed" in server.log()
    finally:
        if outer.poll() is None:
            outer.kill()
            outer.wait()
        log.close()


# --- Health check ----------------------------------------------------------------------


def healthcheck(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``python -m composite.library.healthcheck`` as the container does."""
    return subprocess.run(
        [sys.executable, "-m", "composite.library.healthcheck"],
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", ""), **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_target_host_reaches_wildcard_listeners_on_loopback() -> None:
    assert target_host("0.0.0.0") == "127.0.0.1"
    assert target_host("") == "127.0.0.1"
    assert target_host("::") == "::1"
    assert target_host("127.0.0.1") == "127.0.0.1"
    assert target_host("[::1]") == "::1"


# --- nginx: rendering and nginx -t -----------------------------------------------------


def compose_nginx_env(name: str, tmp_path: Path) -> dict[str, str]:
    """What the nginx container's environment is under a compose file, image defaults included."""
    model = compose_model(ROOT / name, home=tmp_path, env={"SERVICE_BASE64_64_SECRETKEY": SECRET})
    return {**IMAGE_ENV, **service_env(model, "nginx")}


def test_render_substitutes_only_defined_variables() -> None:
    text = "a ${A} $A ${B} $B $host ${host_x} ${A}x $Ax ${A\n$$A\n"
    assert render(text, {"A": "1", "Ax": "2"}) == "a 1 1 ${B} $B $host ${host_x} 1x 2 ${A\n$1\n"


def test_rendering_is_byte_identical_to_envsubst(
    tmp_path: Path, envsubst_bin: str, certificate: tuple[Path, Path]
) -> None:
    environments = {name: compose_nginx_env(name, tmp_path) for name in COMPOSE_FILES}
    environments["loopback"] = {
        **IMAGE_ENV,
        **loopback_env(12000, 12001, "127.0.0.1:8080", "127.0.0.1:8443", *certificate),
    }
    tricky = "printf '%s' \"$x\" & a\\b ${NOT_THERE}"
    environments["tricky values"] = {**environments["loopback"], "BACKEND_HOST": tricky, "host": "X"}
    for label, env in environments.items():
        ours = render_templates(env, tmp_path / label / "python")
        theirs = envsubst_templates(env, tmp_path / label / "envsubst", envsubst_bin)
        assert (
            [p.name for p in ours]
            == [p.name for p in theirs]
            == [
                "composite-site.inc",
                "default.conf",
                "tls.conf",
            ]
        )
        for mine, reference in zip(ours, theirs, strict=True):
            assert mine.read_bytes() == reference.read_bytes(), f"{label}: {mine.name} differs"


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_compose_defines_every_template_variable(name: str, tmp_path: Path) -> None:
    env = compose_nginx_env(name, tmp_path)
    needed = template_variables()
    assert {"BACKEND_HOST", "BACKEND_PORT", "FRONTEND_PORT", "NGINX_SSL_CERTIFICATE"} <= needed
    assert needed <= set(env), f"undefined in {name}: {sorted(needed - set(env))}"
    for output in render_templates(env, tmp_path / "out"):
        assert "${" not in output.read_text(), output.name
    # nginx's own variables must survive: none of them may be named like an env variable.
    nginx_variables = set(re.findall(r"\$([a-z_][a-z0-9_]*)", "".join(
        p.read_text() for p in TEMPLATES.glob("*.template")
    )))  # fmt: skip
    assert "host" in nginx_variables
    assert not nginx_variables & set(env)


def test_loopback_rendering_passes_nginx_t(
    tmp_path: Path, nginx_bin: str, certificate: tuple[Path, Path]
) -> None:
    env = loopback_env(
        free_port(), free_port(), f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}", *certificate
    )
    nginx = Nginx(nginx_bin, tmp_path, env).prepare()
    assert (nginx.conf_dir / "tls.conf").exists(), "the HTTPS server stays on with a certificate"
    result = nginx.test()
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
    assert "[warn]" not in result.stderr, result.stderr


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_compose_rendering_passes_nginx_t(name: str, tmp_path: Path, nginx_bin: str) -> None:
    # The upstream names are resolved per request, so this works outside the compose network;
    # no certificate exists here, so the entrypoint step turns HTTPS off as in a fresh install.
    nginx = Nginx(nginx_bin, tmp_path, compose_nginx_env(name, tmp_path)).prepare()
    assert not (nginx.conf_dir / "tls.conf").exists()
    result = nginx.test()
    assert result.returncode == 0, result.stderr
    assert "[warn]" not in result.stderr, result.stderr
    assert "proxy_pass $composite_backend" in (nginx.conf_dir / "composite-site.inc").read_text()


def test_tls_step_turns_https_off_only_without_a_certificate(
    tmp_path: Path, nginx_bin: str, certificate: tuple[Path, Path]
) -> None:
    missing = tmp_path / "nowhere" / "fullchain.pem"
    env = loopback_env(12000, 12001, f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}", missing, missing)
    env["NGINX_HTTPS_REDIRECT"] = "true"
    nginx = Nginx(nginx_bin, tmp_path / "without", env).prepare(tls_step=False)
    # Without the step, nginx would not start at all.
    refused = nginx.test()
    assert refused.returncode != 0
    assert "[emerg]" in refused.stderr
    output = run_tls_script(env, nginx.conf_dir)
    assert "HTTPS off" in output
    assert "NGINX_HTTPS_REDIRECT is on" in output
    assert not (nginx.conf_dir / "tls.conf").exists()
    assert nginx.test().returncode == 0

    # With a certificate the HTTPS server stays, whether the step is run or sourced.
    cert, key = certificate
    with_cert = {**env, "NGINX_SSL_CERTIFICATE": str(cert), "NGINX_SSL_CERTIFICATE_KEY": str(key)}
    conf_dir = tmp_path / "with" / "conf.d"
    render_templates(with_cert, conf_dir)
    for sourced in (False, True):
        output = run_tls_script(with_cert, conf_dir, sourced=sourced)
        assert "HTTPS on" in output
        assert (conf_dir / "tls.conf").exists()
    assert "still running" in output, "sourced, the step must not end the entrypoint"
    assert os.access(ROOT / "nginx" / "docker-entrypoint.d" / "40-composite-tls.sh", os.X_OK)


# --- nginx in front of the real process, end to end ------------------------------------


class Site:
    """The real app behind two real nginx instances (edge, and behind a trusted proxy)."""

    def __init__(self, app: ServerProcess, edge: Nginx, proxied: Nginx, ca: Path) -> None:
        self.app = app
        self.edge = edge
        self.proxied = proxied
        self.http = f"http://{edge.env['NGINX_HTTP_PORT']}"
        self.https = f"https://localhost:{edge.env['NGINX_HTTPS_PORT'].rpartition(':')[2]}"
        self.proxied_http = f"http://{proxied.env['NGINX_HTTP_PORT']}"
        self.ca = ca

    def client(self, local_address: str = "127.0.0.2") -> httpx.Client:
        """A client whose connections come from local_address, trusting the test certificate."""
        context = ssl.create_default_context(cafile=str(self.ca))
        transport = httpx.HTTPTransport(local_address=local_address, verify=context)
        return httpx.Client(transport=transport, timeout=10)


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, nginx_bin: str, certificate: tuple[Path, Path]
) -> Iterator[Site]:
    """python app.py (test endpoints on) behind nginx.

    It trusts nginx on loopback, and 127.0.0.3, the proxy the "behind a proxy" tests put
    in front of nginx (each hop of X-Forwarded-For must be trusted to reach the client).
    """
    app = ServerProcess(
        tmp_path_factory.mktemp("app"),
        env={"TEST_ENDPOINTS": "true", "FORWARDED_ALLOW_IPS": "127.0.0.1,127.0.0.3"},
    )
    edge_env = loopback_env(
        app.backend_port,
        app.frontend_port,
        f"127.0.0.1:{free_port()}",
        f"127.0.0.1:{free_port()}",
        *certificate,
    )
    proxied_env = {
        **edge_env,
        "NGINX_HTTP_PORT": f"127.0.0.1:{free_port()}",
        "NGINX_HTTPS_PORT": f"127.0.0.1:{free_port()}",
        "NGINX_BEHIND_PROXY": "true",
        "NGINX_HTTPS_REDIRECT": "true",
    }
    edge = Nginx(nginx_bin, tmp_path_factory.mktemp("edge"), edge_env)
    proxied = Nginx(nginx_bin, tmp_path_factory.mktemp("proxied"), proxied_env)
    try:
        app.start()
        edge.prepare().start()
        proxied.prepare().start()
        yield Site(app, edge, proxied, certificate[0])
    finally:
        edge.stop()
        proxied.stop()
        app.stop()


def test_api_and_pages_reach_their_applications_through_nginx(site: Site) -> None:
    with site.client() as client:
        health = client.get(f"{site.http}/api/health")
        assert health.status_code == 200
        body = health.json()
        assert isinstance(body.pop("disk_free_bytes"), int)
        assert body.pop("status") in ("ok", "degraded")  # degraded on a nearly full test disk
        assert body == {"database": "ok", "app": "backend", "last_backup_age_seconds": None}
        spec = client.get(f"{site.http}/api/openapi.json")
        assert spec.status_code == 200
        assert "/api/health" in spec.json()["paths"]

        home = client.get(f"{site.http}/")
        assert home.status_code == 200
        assert "text/html" in home.headers["content-type"]
        assert client.get(f"{site.http}/healthz").json()["app"] == "frontend"
        assert client.get(f"{site.http}/nginx-health").text == "ok\n"

        # /api without the slash is the API's too; a path that only starts alike is the site's.
        bare = client.get(f"{site.http}/api")
        assert bare.status_code == 404
        assert bare.json() == {"detail": "Not Found"}
        alike = client.get(f"{site.http}/apiary")
        assert alike.status_code == 404
        assert "text/html" in alike.headers["content-type"]
        assert client.get(f"{site.http}/api/nowhere").json() == {"detail": "Not Found"}


def test_static_files_are_versioned_and_cached_for_good(site: Site) -> None:
    with site.client() as client:
        page = client.get(f"{site.http}/")
        href = re.search(r'href="(/static/style\.css\?v=[0-9a-f]+)"', page.text)
        assert href is not None, page.text[:500]
        versioned = client.get(f"{site.http}{href.group(1)}")
        plain = client.get(f"{site.http}/static/style.css")
    assert versioned.status_code == plain.status_code == 200
    assert (
        versioned.content
        == (ROOT / "composite" / "library" / "frontend" / "static" / "style.css").read_bytes()
    )
    # The URL changes with the file, so a year is safe; nginx adds nothing of its own.
    assert versioned.headers.get_list("cache-control") == ["public, max-age=31536000, immutable"]
    assert "immutable" not in plain.headers.get("cache-control", "")
    assert page.headers["cache-control"] == "public, no-cache"


@pytest.mark.parametrize("path", ["/api/users", "/login"])
def test_body_over_the_limit_is_refused_by_nginx(site: Site, path: str) -> None:
    with site.client() as client:
        too_big = client.post(f"{site.http}{path}", content=b"x" * (2 * BODY_LIMIT))
        just_over = client.post(f"{site.http}{path}", content=b"x" * (BODY_LIMIT + 1))
    for refused in (too_big, just_over):
        assert refused.status_code == 413
        # nginx's own error page, not the application's JSON or HTML answer.
        assert "text/html" in refused.headers["content-type"]
        assert "<center>nginx</center>" in refused.text


IMPORTS = [("/api/import", "application/json"), ("/account/import", "text/html")]


@pytest.mark.parametrize(("path", "kind"), IMPORTS)
def test_an_import_past_the_body_limit_reaches_the_application(site: Site, path: str, kind: str) -> None:
    # Anonymous: the application's own refusal (large bodies are for verified credentials
    # only), not nginx's 413, so nginx let the body through.
    with site.client() as client:
        answer = client.post(f"{site.http}{path}", content=b" " * (4 * BODY_LIMIT))
    assert answer.status_code == 413, answer.text[:300]
    assert kind in answer.headers["content-type"]
    assert "<center>nginx</center>" not in answer.text
    assert "with valid credentials" in answer.text


def test_an_import_past_the_body_limit_with_a_token_is_read_by_the_application(site: Site) -> None:
    with site.client() as client:
        name = "importer"
        client.post(f"{site.http}/api/users", json={"username": name, "password": "password123"})
        token = client.post(
            f"{site.http}/api/tokens", json={"username": name, "password": "password123"}
        ).json()["token"]
        answer = client.post(
            f"{site.http}/api/import",
            content=b" " * (4 * BODY_LIMIT),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
    # Four MiB of spaces is no JSON document: the application read it all and says so.
    assert answer.status_code in (400, 422), answer.text[:300]
    assert "application/json" in answer.headers["content-type"]


def test_body_at_the_limit_reaches_the_application(site: Site) -> None:
    # An endpoint that reads its body: one that answers without reading it would have its
    # connection reset under nginx's upload, which nginx reports as 502.
    with site.client() as client:
        at_limit = client.post(
            f"{site.http}/api/users",
            content=b" " * BODY_LIMIT,
            headers={"Content-Type": "application/json"},
        )
    assert at_limit.status_code == 422, at_limit.text
    assert "application/json" in at_limit.headers["content-type"]


@pytest.mark.parametrize("path", ["/", "/static/style.css", "/api/openapi.json"])
def test_text_responses_are_gzipped(site: Site, path: str) -> None:
    with site.client() as client:
        zipped = client.get(f"{site.http}{path}", headers={"Accept-Encoding": "gzip"})
        plain = client.get(f"{site.http}{path}", headers={"Accept-Encoding": "identity"})
        with client.stream("GET", f"{site.http}{path}", headers={"Accept-Encoding": "gzip"}) as raw:
            compressed = b"".join(raw.iter_raw())
    assert zipped.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers.get("vary", "")
    assert "content-encoding" not in plain.headers
    assert zipped.content == plain.content
    assert gzip.decompress(compressed) == plain.content
    assert len(compressed) < len(plain.content)


def echo(client: httpx.Client, base: str, **headers: str) -> dict[str, dict[str, str]]:
    """What each application saw of a request sent through nginx."""
    seen = {}
    for app, path in (("backend", "/api/_echo"), ("frontend", "/_echo")):
        response = client.get(f"{base}{path}", headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["app"] == app
        seen[app] = response.json()
    return seen


def test_request_id_passes_through_nginx_to_both_apps_and_into_every_log(site: Site) -> None:
    with site.client() as client:
        given = client.get(f"{site.http}/api/health", headers={"X-Request-ID": "through-nginx-1"})
        made = client.get(f"{site.http}/healthz")
        forged = client.get(f"{site.http}/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert given.headers["x-request-id"] == "through-nginx-1"
    # Without a usable id of the client's, nginx makes one (32 hex digits) and the app keeps it.
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
    assert re.fullmatch(r"[0-9a-f]{32}", forged.headers["x-request-id"])
    time.sleep(0.3)
    nginx_log = (site.edge.prefix / "logs" / "access.log").read_text()
    for response in (given, made, forged):
        request_id = response.headers["x-request-id"]
        assert f"request_id={request_id} " in nginx_log
        assert f"request_id={request_id}" in site.app.log()


def test_both_apps_see_the_client_nginx_forwarded_over_http(site: Site) -> None:
    with site.client("127.0.0.2") as client:
        seen = echo(client, site.http, Host="prompts.example.test")
        # A client's own claims are not passed on by nginx at the edge.
        forged = echo(client, site.http, **{"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"})
    for app in ("backend", "frontend"):
        assert seen[app]["client"] == "127.0.0.2", seen
        assert seen[app]["scheme"] == "http", seen
        assert seen[app]["host"] == "prompts.example.test", seen
        assert forged[app]["client"] == "127.0.0.2", forged
        assert forged[app]["scheme"] == "http", forged


def test_both_apps_see_https_through_the_tls_server(site: Site) -> None:
    with site.client("127.0.0.2") as client:
        seen = echo(client, site.https)
        health = client.get(f"{site.https}/api/health")
    assert health.status_code == 200
    port = site.https.rpartition(":")[2]
    for app in ("backend", "frontend"):
        assert seen[app] == {
            "app": app,
            "client": "127.0.0.2",
            "scheme": "https",
            "host": f"localhost:{port}",
        }


def test_behind_a_trusted_proxy_its_forwarded_headers_are_kept(site: Site) -> None:
    with site.client("127.0.0.3") as client:
        seen = echo(
            client,
            site.proxied_http,
            **{
                "X-Forwarded-For": "203.0.113.9",
                "X-Forwarded-Proto": "https",
                "Host": "prompts.example.test",
            },
        )
        # The proxy said http, and the redirect switch is on: nginx sends the client to https.
        redirect = client.get(f"{site.proxied_http}/some/page?q=1", headers={"Host": "prompts.example.test"})
        health = client.get(f"{site.proxied_http}/nginx-health")
    for app in ("backend", "frontend"):
        assert seen[app]["client"] == "203.0.113.9", seen
        assert seen[app]["scheme"] == "https", seen
        assert seen[app]["host"] == "prompts.example.test", seen
    assert redirect.status_code == 301
    assert redirect.headers["location"] == "https://prompts.example.test/some/page?q=1"
    assert health.status_code == 200


def test_container_healthcheck_checks_both_ports(site: Site) -> None:
    ports = {"BACKEND_PORT": str(site.app.backend_port), "FRONTEND_PORT": str(site.app.frontend_port)}
    healthy = healthcheck({"HOST": "0.0.0.0", **ports})
    assert healthy.returncode == 0, healthy.stderr
    assert healthy.stdout.count("ok: ") == 2

    # The website port answering with the API (404 on /healthz) is not healthy.
    wrong = healthcheck({**ports, "FRONTEND_PORT": ports["BACKEND_PORT"]})
    assert wrong.returncode == 1
    assert "/healthz: answered 404" in wrong.stderr
    nothing = healthcheck({**ports, "BACKEND_PORT": str(free_port())})
    assert nothing.returncode == 1
    assert "/api/health: ConnectionRefusedError" in nothing.stderr


def test_nginx_limits_password_checks_per_client_address(site: Site) -> None:
    # Addresses of their own: this budget is nginx's, shared by every test using the site.
    with site.client("127.0.0.20") as flooder, site.client("127.0.0.21") as other:
        assert all(flooder.get(f"{site.http}/login").status_code == 200 for _ in range(30))  # GETs are free
        statuses = [
            flooder.post(f"{site.http}{path}", json={}).status_code
            for _ in range(8)
            for path in ("/login", "/register", "/api/tokens", "/api/users")
        ]
        refused = flooder.post(f"{site.http}/api/tokens", json={})
        assert other.post(f"{site.http}/api/tokens", json={}).status_code == 422
    # The burst of 20 passes to the applications, then nginx answers before they see it.
    assert 429 not in statuses[:20], statuses
    assert statuses[-1] == 429, statuses
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "60"
    assert "Too many attempts" in refused.text


def test_website_refuses_cross_site_posts_through_nginx(site: Site) -> None:
    for base in (site.http, site.https):
        with site.client("127.0.0.22") as client:
            page = client.get(f"{base}/login")
            token = CSRF.search(page.text)
            assert token
            form = {"csrf_token": token.group(1), "username": "nobody", "password": "wrong-password"}
            # The Origin a browser sends for this very page: the host as the client typed it.
            own = urlsplit(base)
            same = client.post(f"{base}/login", data=form, headers={"Origin": f"{own.scheme}://{own.netloc}"})
            cross = client.post(f"{base}/login", data=form, headers={"Origin": "https://evil.example"})
            fetch = client.post(f"{base}/login", data=form, headers={"Sec-Fetch-Site": "cross-site"})
        assert same.status_code == 422, same.text[:300]  # past the check: a wrong password
        for refused in (cross, fetch):
            assert refused.status_code == 403
            assert "came from another site" in refused.text


def test_only_the_import_paths_wait_long_for_their_answer() -> None:
    # An import answers once the whole file is stored; nginx's 60 s default would turn a
    # large one into a 504 while it completes. Every other path keeps the default.
    text = (ROOT / "nginx" / "templates" / "composite-site.inc.template").read_text()
    blocks = dict(re.findall(r"location = (\S+) \{(.*?)\}", text, flags=re.DOTALL))
    waits = {path: re.search(r"proxy_read_timeout (\d+)s;", body) for path, body in blocks.items()}
    assert {path for path, wait in waits.items() if wait} == {"/api/import", "/account/import"}
    assert all(int(wait.group(1)) >= 600 for wait in waits.values() if wait)
    assert "proxy_read_timeout" not in text.split("location", 1)[0]  # none for the whole server


def test_the_systemd_unit_restarts_the_process_on_a_fatal_exit() -> None:
    # The compose files' restart policy is checked with each file above; a real process
    # exiting EXIT_FATAL on an invalidated database is tests/test_disk_space.py.
    from composite.server.run import EXIT_FATAL, EXIT_USAGE

    text = (ROOT / "docs" / "deployment.md").read_text()
    unit = text.split("/etc/systemd/system/prompts.service", 1)[1].split("```ini", 1)[1].split("```", 1)[0]
    service = dict(
        line.split("=", 1)
        for line in unit.split("[Service]", 1)[1].split("[", 1)[0].splitlines()
        if "=" in line
    )
    assert service["Restart"] in ("on-failure", "always")
    prevented = {int(code) for code in service.get("RestartPreventExitStatus", "").split()}
    assert EXIT_FATAL not in prevented
    assert EXIT_USAGE in prevented  # a configuration error is not restarted in a loop
