"""``composite serve --ssl-certfile/--ssl-keyfile`` on the real command, with a certificate made now."""

from __future__ import annotations

import ssl
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.server.test_cli import APPS, STOPPED, WHO, Served, run_serve
from tests.support.process import free_port


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, made by openssl."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def _get_when_ready(url: str, verify: ssl.SSLContext, served: Served) -> httpx.Response:
    deadline = time.monotonic() + 20
    while True:
        try:
            return httpx.get(url, verify=verify, timeout=2)
        except httpx.ConnectError:
            if served.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(served.log()) from None
            time.sleep(0.1)


def test_every_port_speaks_tls_verified_against_the_certificate(
    tmp_path: Path, certificate: tuple[Path, Path]
) -> None:
    cert, key = certificate
    api, web = free_port(), free_port()
    config = tmp_path / "composite.toml"
    config.write_text(f'ssl-certfile = "{cert}"\nssl_keyfile = "{key}"\n')
    served = Served(
        tmp_path,
        "--config",
        str(config),
        "--mount",
        f"{api}={WHO}",
        "--mount",
        f"{web}={APPS}.prefixed:web",
    )
    trusted = ssl.create_default_context(cafile=str(cert))
    try:
        assert _get_when_ready(f"https://127.0.0.1:{api}/who", trusted, served).json() == {"who": "second"}
        assert httpx.get(f"https://127.0.0.1:{web}/pages/1", verify=trusted).json()["link"] == "/pages/1"
        with pytest.raises(httpx.ConnectError):  # the system's CAs do not know it: it really is TLS
            httpx.get(f"https://127.0.0.1:{api}/who")
    finally:
        assert served.stop() in STOPPED


def test_the_key_may_be_in_the_certificate_file(tmp_path: Path, certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    both = tmp_path / "both.pem"
    both.write_text(cert.read_text() + key.read_text())
    port = free_port()
    served = Served(tmp_path, "--ssl-certfile", str(both), "--mount", f"{port}={WHO}")
    try:
        trusted = ssl.create_default_context(cafile=str(cert))
        assert _get_when_ready(f"https://127.0.0.1:{port}/who", trusted, served).status_code == 200
    finally:
        assert served.stop() in STOPPED


def test_unusable_certificates_are_one_line_and_status_2(
    tmp_path: Path, certificate: tuple[Path, Path]
) -> None:
    cert, key = certificate
    mount = f"{free_port()}={WHO}"
    missing = run_serve(tmp_path, "--ssl-certfile", str(tmp_path / "none.pem"), "--mount", mount)
    no_key = run_serve(tmp_path, "--ssl-certfile", str(cert), "--mount", mount)
    key_alone = run_serve(tmp_path, "--ssl-keyfile", str(key), "--mount", mount)
    assert missing.stderr == f"error: ssl: no such file {tmp_path / 'none.pem'}\n"
    assert no_key.stderr.startswith(f"error: ssl: cannot use certificate {cert}: ")
    assert key_alone.stderr == "error: ssl-keyfile: needs ssl-certfile, the certificate it belongs to\n"
    for result in (missing, no_key, key_alone):
        assert result.returncode == 2, result.stderr
        assert len(result.stderr.splitlines()) == 1, result.stderr
