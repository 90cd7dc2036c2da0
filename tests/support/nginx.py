"""nginx for the tests: render the templates as the official image does, run real nginx.

The official nginx image renders ``/etc/nginx/templates/*.template`` into
``/etc/nginx/conf.d/`` with GNU envsubst, given the list of every variable defined in
the container's environment: ``$NAME`` and ``${NAME}`` are replaced when NAME is
defined, everything else (nginx's own ``$host``, ``$uri``, ...) is left as it is.
``render`` does the same in Python; the tests compare it with envsubst itself.

``Nginx`` runs Debian's nginx unprivileged from a temporary prefix: its own main
configuration (modelled on the image's), pid, logs and temp paths, loopback ports.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "nginx" / "templates"
TLS_SCRIPT = ROOT / "nginx" / "docker-entrypoint.d" / "40-composite-tls.sh"
TEMPLATE_SUFFIX = ".template"

# What the official image itself puts in the environment, besides what compose adds.
IMAGE_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOSTNAME": "0123456789ab",
    "HOME": "/root",
    "NGINX_VERSION": "1.28.0",
    "NJS_VERSION": "0.8.10",
    "NJS_RELEASE": "1~bookworm",
    "PKG_RELEASE": "1~bookworm",
    "DYNPKG_RELEASE": "1~bookworm",
}

_REFERENCE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_BRACED = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def find_nginx() -> str | None:
    """Path of the nginx binary, or None when it is not installed."""
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )


def require_tool(tool: str, path: str | None) -> str:
    """The tool's path; skip when it is missing, unless REQUIRE_NGINX makes that a failure."""
    if path:
        return path
    if os.environ.get("REQUIRE_NGINX"):
        pytest.fail(f"{tool} is not installed, and REQUIRE_NGINX is set: these tests must run")
    pytest.skip(f"{tool} is not installed (Debian: apt-get install nginx gettext-base openssl)")


def render(text: str, env: Mapping[str, str]) -> str:
    """Substitute $NAME and ${NAME} for every NAME defined in env, as the image's envsubst does."""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return env[name] if name in env else match.group(0)

    return _REFERENCE.sub(substitute, text)


def template_variables(template_dir: Path = TEMPLATES) -> set[str]:
    """Every ${NAME} the templates use: each must be defined where they are rendered."""
    names: set[str] = set()
    for template in template_dir.rglob(f"*{TEMPLATE_SUFFIX}"):
        names.update(_BRACED.findall(template.read_text()))
    return names


def output_path(template: Path, template_dir: Path, output_dir: Path) -> Path:
    """Where the image writes a template's rendering: same relative path, suffix removed."""
    relative = template.relative_to(template_dir).as_posix()
    return output_dir / relative[: -len(TEMPLATE_SUFFIX)]


def render_templates(env: Mapping[str, str], output_dir: Path, template_dir: Path = TEMPLATES) -> list[Path]:
    """Render every template into output_dir (subdirectories kept); return the files written."""
    written = []
    for template in sorted(template_dir.rglob(f"*{TEMPLATE_SUFFIX}")):
        target = output_path(template, template_dir, output_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(render(template.read_text(), env).encode())
        written.append(target)
    return written


def envsubst_templates(
    env: Mapping[str, str], output_dir: Path, envsubst: str, template_dir: Path = TEMPLATES
) -> list[Path]:
    """Render with GNU envsubst given the list of every defined variable, as the image does."""
    shell_format = " ".join(f"${{{name}}}" for name in env)
    written = []
    for template in sorted(template_dir.rglob(f"*{TEMPLATE_SUFFIX}")):
        target = output_path(template, template_dir, output_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        with template.open("rb") as source, target.open("wb") as sink:
            subprocess.run([envsubst, shell_format], stdin=source, stdout=sink, env=dict(env), check=True)
        written.append(target)
    return written


def run_tls_script(env: Mapping[str, str], conf_dir: Path, *, sourced: bool = False) -> str:
    """Run the image's entrypoint step that turns HTTPS off without a certificate; return its output."""
    script = f'. "{TLS_SCRIPT}"; echo "still running"' if sourced else f'"{TLS_SCRIPT}"'
    result = subprocess.run(
        ["sh", "-ec", script],
        env={**env, "NGINX_ENVSUBST_OUTPUT_DIR": str(conf_dir), "PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout + result.stderr


def make_self_signed(
    directory: Path, names: Iterable[str] = ("DNS:localhost", "IP:127.0.0.1")
) -> tuple[Path, Path]:
    """A throw-away certificate and key (PEM) made with openssl, as docs/deployment.md shows."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "fullchain.pem", directory / "privkey.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", str(key), "-out", str(cert),
            "-subj", "/CN=localhost", "-addext", f"subjectAltName={','.join(names)}",
        ],
        capture_output=True,
        check=True,
    )  # fmt: skip
    return cert, key


def main_config(prefix: Path) -> str:
    """A main nginx.conf shaped like the official image's, with every path under prefix."""
    # As root, workers would drop to "nobody" and lose access to the private temp dir.
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = prefix / "temp"
    return f"""{user}worker_processes 1;
daemon off;
pid {prefix / "nginx.pid"};
error_log {prefix / "logs" / "error.log"} notice;

events {{
    worker_connections 256;
}}

http {{
    types {{
        text/html html;
        text/css css;
        application/javascript js;
        application/json json;
        image/svg+xml svg;
    }}
    default_type application/octet-stream;
    access_log {prefix / "logs" / "access.log"};
    sendfile on;
    keepalive_timeout 65;
    client_body_temp_path {temp / "client_body"};
    proxy_temp_path {temp / "proxy"};
    fastcgi_temp_path {temp / "fastcgi"};
    uwsgi_temp_path {temp / "uwsgi"};
    scgi_temp_path {temp / "scgi"};

    include conf.d/*.conf;
}}
"""


def port_of(listen: str) -> tuple[str, int]:
    """Host and port of a listen value such as 127.0.0.1:8080."""
    host, _, port = listen.rpartition(":")
    return host or "127.0.0.1", int(port)


class Nginx:
    """Real nginx from a temporary prefix: rendered templates, unprivileged, loopback only."""

    def __init__(self, binary: str, prefix: Path, env: Mapping[str, str]) -> None:
        self.binary = binary
        self.prefix = prefix
        self.conf_dir = prefix / "conf.d"
        self.conf = prefix / "nginx.conf"
        self.env = dict(env)
        self.proc: subprocess.Popen[bytes] | None = None

    def prepare(self, *, tls_step: bool = True) -> Nginx:
        """Do what the image's entrypoint does: render the templates, then the TLS step."""
        for directory in (self.conf_dir, self.prefix / "logs", self.prefix / "temp"):
            directory.mkdir(parents=True, exist_ok=True)
        self.conf.write_text(main_config(self.prefix))
        render_templates(self.env, self.conf_dir)
        if tls_step:
            run_tls_script(self.env, self.conf_dir)
        return self

    def command(self, *extra: str) -> list[str]:
        """The nginx command line for this prefix."""
        error_log = str(self.prefix / "logs" / "error.log")
        return [self.binary, "-p", f"{self.prefix}/", "-c", str(self.conf), "-e", error_log, *extra]

    def test(self) -> subprocess.CompletedProcess[str]:
        """Run nginx -t on the configuration; the caller checks status and output."""
        return subprocess.run(self.command("-t"), capture_output=True, text=True, timeout=30, check=False)

    def start(self, timeout: float = 10.0) -> Nginx:
        """Start nginx in the foreground and wait until every listen port accepts connections."""
        with (self.prefix / "logs" / "stderr.log").open("wb") as stderr:
            self.proc = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL, stderr=stderr)
        listens = [self.env[name] for name in ("NGINX_HTTP_PORT", "NGINX_HTTPS_PORT") if name in self.env]
        if not (self.conf_dir / "tls.conf").exists():
            listens = listens[:1]
        deadline = time.monotonic() + timeout
        for listen in listens:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"nginx exited with {self.proc.returncode}:\n{self.log()}")
                try:
                    socket.create_connection(port_of(listen), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"nginx not listening on {listen}:\n{self.log()}") from None
                    time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop nginx (SIGQUIT: graceful) and wait for it."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGQUIT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def log(self) -> str:
        """nginx's error log and stderr so far."""
        parts = [self.prefix / "logs" / "error.log", self.prefix / "logs" / "stderr.log"]
        return "\n".join(p.read_text(errors="replace") for p in parts if p.exists())


def loopback_env(
    backend_port: int,
    frontend_port: int,
    http_listen: str,
    https_listen: str,
    cert: Path,
    key: Path,
    **overrides: str,
) -> dict[str, str]:
    """Template variables for nginx in front of python app.py, everything on loopback."""
    return {
        "BACKEND_HOST": "127.0.0.1",
        "BACKEND_PORT": str(backend_port),
        "FRONTEND_HOST": "127.0.0.1",
        "FRONTEND_PORT": str(frontend_port),
        "NGINX_RESOLVER": "127.0.0.1",
        "NGINX_HTTP_PORT": http_listen,
        "NGINX_HTTPS_PORT": https_listen,
        "NGINX_SSL_CERTIFICATE": str(cert),
        "NGINX_SSL_CERTIFICATE_KEY": str(key),
        "NGINX_HTTPS_REDIRECT": "false",
        "NGINX_BEHIND_PROXY": "false",
        "NGINX_ACCESS_LOG": "logs/access.log",  # relative: under the prefix nginx runs from
        **overrides,
    }
