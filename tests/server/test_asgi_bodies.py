"""An ASGI mount gets its request body as it arrives, as under uvicorn: ``composite serve`` as a real process.

The application (``tests/server/apps/uploads.py``) is written as a third party would: it
answers before reading, streams an upload to a temporary file, reports progress while the
upload runs. Raw sockets send bodies in part, slowly or not at all; curl sends
``Expect: 100-continue`` as it does for any upload over a megabyte.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.server.test_cli import APPS, Served
from tests.server.test_protocol import read_head, read_response
from tests.support.client import status_of
from tests.support.process import free_port

CURL = "/usr/bin/curl"
MIB = 1024 * 1024


@dataclass
class Ports:
    """The running process and its mounts: the same FastAPI app under three body limits, and flaskr."""

    served: Served
    limited: int  # the default body limit, 1 MiB
    large: int  # body-limit=64m
    unlimited: int  # body-limit=off
    wsgi: int  # flaskr, body limit 1 MiB


@pytest.fixture(scope="module")
def ports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ports]:
    """One ``composite serve`` for the whole module."""
    limited, large, unlimited, wsgi = free_port(), free_port(), free_port(), free_port()
    served = Served(
        tmp_path_factory.mktemp("asgi-bodies"),
        "--mount",
        f"{limited}={APPS}.uploads:app,name=limited",
        "--mount",
        f"{large}={APPS}.uploads:app,name=large,body-limit=64m",
        "--mount",
        f"{unlimited}={APPS}.uploads:app,name=unlimited,body-limit=off",
        "--mount",
        f"{wsgi}={APPS}.flaskr:create_app(),name=flaskr",
    )
    try:
        served.wait_ready(limited, large, unlimited, wsgi)
        yield Ports(served, limited, large, unlimited, wsgi)
    finally:
        served.stop()


def connect(port: int, timeout: float = 10.0) -> socket.socket:
    """A connection to a loopback port."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(timeout)
    return sock


def request_head(path: str, *headers: str) -> bytes:
    """A POST's request line and headers."""
    return "".join([f"POST {path} HTTP/1.1\r\nHost: t\r\n", *(f"{h}\r\n" for h in headers), "\r\n"]).encode()


def closed_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the server closes the connection within seconds, reading and dropping what comes."""
    sock.settimeout(seconds)
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        pass
    return True


def send_chunk(sock: socket.socket, data: bytes) -> None:
    """One chunk of a chunked body."""
    sock.sendall(b"%x\r\n%s\r\n" % (len(data), data))


@pytest.mark.parametrize("mount", ["limited", "large", "unlimited"])
def test_an_early_answer_comes_before_the_body_and_the_rest_is_never_a_request(
    ports: Ports, mount: str
) -> None:
    port = getattr(ports, mount)
    # The rest of the body looks like requests: it must be read as the body it was declared as.
    smuggled = b"GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n"
    body = (smuggled * (614_400 // len(smuggled) + 1))[:614_400]
    with connect(port) as sock:
        sock.sendall(request_head("/early", f"Content-Length: {len(body)}"))
        started = time.monotonic()
        answer = read_response(sock)  # with no byte of the body sent
        assert status_of(answer) == 200
        assert json.loads(answer.partition(b"\r\n\r\n")[2]) == {"ok": True}
        assert time.monotonic() - started < 2, "the answer waited for the body"
        sock.sendall(body)
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        answer = read_response(sock)
        assert status_of(answer) == 200
        assert json.loads(answer.partition(b"\r\n\r\n")[2]) == {"ok": True}
    # Also with part of the body sent, on a connection of its own.
    with connect(port) as sock:
        sock.sendall(request_head("/early", "Content-Length: 614400") + b"x" * 1000)
        assert status_of(read_response(sock)) == 200
    time.sleep(0.2)
    assert "/smuggled" not in ports.served.log()


def peak_rss_growth(pid: int, run) -> tuple[int, object]:
    """How far the process's resident memory rose above where it was while run() ran: bytes, run's result."""
    status = Path(f"/proc/{pid}/status")

    def read(field: str) -> int:
        line = next(ln for ln in status.read_text().splitlines() if ln.startswith(field + ":"))
        return int(line.split()[1]) * 1024

    Path(f"/proc/{pid}/clear_refs").write_text("5")  # the peak (VmHWM) starts again from now
    before = read("VmRSS")
    result = run()
    return read("VmHWM") - before, result


@pytest.mark.parametrize("mount", ["large", "unlimited"])
def test_a_50_mb_upload_streams_to_disk_in_flat_memory(ports: Ports, mount: str, tmp_path: Path) -> None:
    upload = tmp_path / "upload.bin"
    data = hashlib.shake_256(b"upload").digest(50_000_000)
    upload.write_bytes(data)
    expected = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    del data
    url = f"http://127.0.0.1:{getattr(ports, mount)}/store"

    def post() -> dict[str, object]:
        command = [CURL, "-sS", "--fail", "-H", "Content-Type: application/octet-stream"]
        result = subprocess.run(
            [*command, "--data-binary", f"@{upload}", url], capture_output=True, timeout=120, check=True
        )
        return json.loads(result.stdout)

    grew, answer = peak_rss_growth(ports.served.proc.pid, post)
    assert answer == expected
    # Before: the whole body in memory first (twice: read, then handed on), about 100 MB.
    assert grew < 16 * MIB, f"the server grew by {grew / MIB:.1f} MiB"


def curl(url: str, upload: Path, *headers: str) -> tuple[int, int, bytes]:
    """POST a file with curl: the status, the bytes curl sent of the body, and the answer's body."""
    command = [CURL, "-sS", "-o", "-", "-w", "\n%{http_code} %{size_upload}", "--data-binary", f"@{upload}"]
    for header in headers:
        command += ["-H", header]
    result = subprocess.run([*command, url], capture_output=True, timeout=120, check=True)
    body, _, summary = result.stdout.rpartition(b"\n")
    status, sent = summary.split()
    return int(status), int(float(sent)), body


def test_curl_expecting_100_continue_gets_an_early_401_without_sending_and_the_body_when_admitted(
    ports: Ports, tmp_path: Path
) -> None:
    small, big = tmp_path / "small.bin", tmp_path / "big.bin"
    small.write_bytes(b"s" * 600_000)
    big_data = hashlib.shake_256(b"big").digest(20 * MIB)
    big.write_bytes(big_data)
    expect = "Expect: 100-continue"  # curl sends it by itself past 1 MiB; said for the small one too
    for port, upload in ((ports.limited, small), (ports.large, big), (ports.unlimited, big)):
        status, sent, body = curl(f"http://127.0.0.1:{port}/private", upload, expect)
        assert (status, sent) == (401, 0), body  # before: 100 Continue, the whole body, then 401
        assert json.loads(body) == {"detail": "sign in first"}
    token = "Authorization: Bearer right"
    status, sent, body = curl(f"http://127.0.0.1:{ports.large}/private", big, expect, token)
    assert (status, sent) == (200, len(big_data))
    assert json.loads(body) == {"size": len(big_data), "sha256": hashlib.sha256(big_data).hexdigest()}
    status, sent, body = curl(f"http://127.0.0.1:{ports.limited}/private", small, expect, token)
    assert (status, sent, json.loads(body)["size"]) == (200, 600_000, 600_000)
    # Declared past the limit: 413 before any 100, so nothing is sent.
    status, sent, body = curl(f"http://127.0.0.1:{ports.limited}/private", big, expect, token)
    assert (status, sent) == (413, 0)
    assert b"larger than the limit of 1 MiB" in body


def test_expect_100_continue_over_raw_sockets(ports: Ports) -> None:
    expect = "Expect: 100-continue"
    # Declared past the limit: the 413 is the first thing the client hears, and the end.
    with connect(ports.limited) as sock:
        sock.sendall(request_head("/store", f"Content-Length: {2 * MIB}", expect))
        answer = read_response(sock)
        assert status_of(answer) == 413, answer[:100]
        assert closed_within(sock, 5)
    # Read by the application: 100 Continue first, then the answer once the body is in.
    with connect(ports.limited) as sock:
        sock.sendall(request_head("/store", "Content-Length: 5", expect))
        assert read_head(sock) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"hello")
        answer = read_response(sock)
        assert json.loads(answer.partition(b"\r\n\r\n")[2])["size"] == 5
    # Answered without asking for the body: the client may send it late or never, so what
    # follows cannot be told from a next request; the connection closes after the answer.
    for port in (ports.limited, ports.unlimited):
        with connect(port) as sock:
            sock.sendall(request_head("/private", "Content-Length: 600000", expect))
            answer = read_response(sock)
            assert status_of(answer) == 401
            assert b"\r\nconnection: close\r\n" in answer.lower()
            assert closed_within(sock, 5)


def test_upload_progress_is_answered_while_a_chunked_body_arrives_and_cut_off_past_the_limit(
    ports: Ports,
) -> None:
    with connect(ports.limited) as sock:
        sock.sendall(request_head("/progress/", "Transfer-Encoding: chunked"))
        send_chunk(sock, b"p" * 300_000)
        head = read_head(sock)
        assert status_of(head) == 200  # before: nothing until the whole body was in
        assert b"\r\nconnection: close\r\n" in head.lower()  # answered before the body's end
        seen = head.partition(b"\r\n\r\n")[2]
        while b"300000" not in seen:
            seen += sock.recv(65536)
        sent = 300_000
        # Past the 1 MiB limit: the response already started, so it cannot become a 413;
        # the connection ends instead, the response left incomplete for the client to see.
        try:
            for _ in range(4):
                send_chunk(sock, b"p" * 300_000)
                sent += 300_000
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert closed_within(sock, 5)
    # Within the limit, the whole exchange completes.
    with connect(ports.limited) as sock:
        sock.sendall(request_head("/progress/", "Transfer-Encoding: chunked"))
        for _ in range(3):
            send_chunk(sock, b"q" * 100_000)
        sock.sendall(b"0\r\n\r\n")
        received = b""
        while not received.endswith(b"0\r\n\r\n"):
            chunk = sock.recv(65536)
            assert chunk, received
            received += chunk
        assert b"done\n" in received
    log = ports.served.log()
    assert "Traceback" not in log
    assert "without completing response" not in log


def test_a_chunked_body_past_the_limit_gets_413_while_the_application_reads_it(ports: Ports) -> None:
    with connect(ports.limited) as sock:
        sock.sendall(request_head("/store", "Transfer-Encoding: chunked"))
        try:
            for _ in range(8):
                send_chunk(sock, b"c" * 200_000)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = read_response(sock)
        assert status_of(answer) == 413
        assert b"larger than the limit of 1 MiB" in answer
    assert "Traceback" not in ports.served.log()


def test_slow_bodies_are_cut_off_on_asgi_and_wsgi_mounts_and_an_early_answer_is_not_left_open(
    ports: Ports,
) -> None:
    # The protocol's deadline: BODY_TIMEOUT (20 s) plus a second per 4096 bytes received.
    outcomes: dict[str, tuple[bytes, float]] = {}

    def dribble(name: str, port: int, head: bytes, byte: bytes) -> None:
        with connect(port, timeout=40) as sock:
            sock.sendall(head)
            started = time.monotonic()
            answer = b""
            try:
                while not answer and time.monotonic() - started < 40:
                    sock.sendall(byte)
                    sock.settimeout(1)
                    with contextlib.suppress(TimeoutError):
                        answer = sock.recv(65536)
            except (BrokenPipeError, ConnectionResetError):
                pass
            outcomes[name] = (answer, time.monotonic() - started)

    def answered_then_stalled() -> None:
        with connect(ports.limited, timeout=40) as sock:
            sock.sendall(request_head("/early", "Content-Length: 614400") + b"x" * 1000)
            answer = read_response(sock)
            started = time.monotonic()
            closed = closed_within(sock, 40)
            outcomes["early"] = (answer if closed else b"left open", time.monotonic() - started)

    sized, chunked = "Content-Length: 100000", "Transfer-Encoding: chunked"
    dribbles = [
        ("asgi", ports.limited, request_head("/slow", sized), b"x"),
        ("chunked", ports.limited, request_head("/slow", chunked), b"1\r\nx\r\n"),
        ("wsgi", ports.wsgi, request_head("/echo-length", sized), b"x"),
    ]
    threads = [threading.Thread(target=dribble, args=args) for args in dribbles]
    threads.append(threading.Thread(target=answered_then_stalled))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for name in ("asgi", "chunked", "wsgi"):
        answer, took = outcomes[name]
        assert answer.startswith(b"HTTP/1.1 408 "), (name, answer[:100])
        assert 15 < took < 30, (name, took)
    answer, took = outcomes["early"]
    assert status_of(answer) == 200
    assert took < 25  # closed by the keep-alive or the body deadline, not held for ever


def test_a_refused_body_still_being_sent_does_not_reset_its_answer(ports: Ports) -> None:
    # What nginx does with an upload it spooled: the whole body, at once, then read the answer.
    # The server answers 413 on the headers; had it closed with the body unread, the kernel
    # would reset the connection and the client (nginx) would lose the 413 and say 502.
    with connect(ports.limited) as sock:
        sock.sendall(request_head("/store", f"Content-Length: {4 * MIB}"))
        time.sleep(0.3)  # the 413 is sent and the server is closing
        sock.sendall(b" " * (4 * MIB))  # no reset: the rest is read and dropped
        answer = read_response(sock)
        assert status_of(answer) == 413, answer[:100]
        assert closed_within(sock, 5)


def test_a_lingering_connection_is_closed_after_a_bound(ports: Ports) -> None:
    # A client that goes on sending a refused body for ever is not read for ever.
    with connect(ports.limited) as sock:
        sock.sendall(request_head("/store", f"Content-Length: {64 * MIB}"))
        assert status_of(read_response(sock)) == 413
        started = time.monotonic()
        assert not sent_until_refused(sock, seconds=30)
        assert time.monotonic() - started < 20


def sent_until_refused(sock: socket.socket, seconds: float) -> bool:
    """Send for seconds; whether the server took it all (False: it reset or closed first)."""
    started = time.monotonic()
    try:
        while time.monotonic() - started < seconds:
            sock.sendall(b" " * 65536)
            time.sleep(0.01)
    except (BrokenPipeError, ConnectionResetError):
        return False
    return True
