"""``digitscope serve`` against hostile and broken clients: every probe of issue 17 as a test.

Deadlines are tested as mechanisms (a short deadline configured here, the state after
it passes); wall-clock figures belong to ``benchmarks/serve_load.py``. The test that
pushes memory runs the server in a subprocess under ``RLIMIT_AS``.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import resource
import select
import socket
import struct
import subprocess
import sys
import threading
import time

import pytest
from digitscope import __version__
from digitscope.model import serve
from digitscope.model.examples import example_drawing
from digitscope.model.serve import DigitServer, HostCheck, host_name
from PIL import Image, ImageDraw
from helpers import http_call

LOCAL = "127.0.0.1"
JSON = {"Content-Type": "application/json"}


# ----------------------------------------------------------------------------- helpers


@pytest.fixture
def make_server(bundled_predictor):
    """Servers on a free loopback port, stopped after the test."""
    servers: list[DigitServer] = []

    def make(predictor=None, host: str = LOCAL, **options) -> DigitServer:
        options.setdefault("timeout_s", 5.0)
        srv = DigitServer((host, 0), predictor or bundled_predictor, **options)
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()  # quick to stop
        servers.append(srv)
        return srv

    yield make
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def drawing_body(digit: int = 3) -> bytes:
    return json.dumps(example_drawing(digit).to_json()).encode()


def post_head(length: int | str, host: str = LOCAL, ctype: str = "application/json") -> bytes:
    return f"POST /predict HTTP/1.1\r\nHost: {host}\r\nContent-Type: {ctype}\r\nContent-Length: {length}\r\n\r\n".encode()


def exchange(srv: DigitServer, payload: bytes, shut: bool = True, timeout: float = 10) -> bytes:
    """Send raw bytes, read until the server closes (it may close before it has read them all)."""
    with socket.create_connection(srv.server_address[:2], timeout=timeout) as s:
        try:
            s.sendall(payload)
            if shut:
                s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        return read_to_close(s)


def parse(data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lower-case names) and body of the first response in ``data``."""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def post(srv: DigitServer, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, dict, http.client.HTTPResponse]:
    return http_call(srv, "POST", "/predict", body, headers or JSON, timeout=30)


def wait_for(condition, seconds: float = 10.0) -> bool:
    """Poll a state (not a timing assertion): True once ``condition()`` holds."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def big_png(side: int = 4096) -> bytes:
    """A ~80 KB RGBA PNG of a 7: a small file, ``side``² pixels."""
    im = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    s = side / 4096
    ImageDraw.Draw(im).line([(1200 * s, 800 * s), (2900 * s, 800 * s), (1800 * s, 3300 * s)], fill=(0, 0, 0, 255), width=int(260 * s))
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


# ----------------------------------------------------------------------------- 3: any body error is an answer


@pytest.mark.parametrize("digits", [400, 5000])
def test_huge_json_integers_get_a_400_not_a_dropped_connection(make_server, capfd, digits):
    srv = make_server()
    body = b'{"width": 280, "height": 280, "pen_width": 20, "strokes": [[[' + b"9" * digits + b", 1], [2, 3]]]}"
    status, doc, _ = post(srv, body)
    assert status == 400 and doc["error"].startswith("bad drawing")
    assert "set_int_max_str_digits" not in doc["error"]
    assert "Traceback" not in capfd.readouterr().err


@pytest.mark.parametrize("error", [KeyError("x"), TypeError("t"), OverflowError("o"), IndexError("i"), RecursionError()])
def test_any_error_from_parsing_a_body_is_a_400(make_server, monkeypatch, capfd, error):
    def parse_drawing(body):
        raise error

    monkeypatch.setattr(serve, "parse_drawing", parse_drawing)
    status, doc, _ = post(make_server(), drawing_body())
    assert status == 400 and doc["error"].startswith("bad drawing")
    assert "Traceback" not in capfd.readouterr().err


def test_a_bug_is_a_500_answer_logged_once(make_server, monkeypatch, capfd):
    def drawing_to_tensor(drawing):
        raise AttributeError("a bug")

    monkeypatch.setattr(serve, "drawing_to_tensor", drawing_to_tensor)
    srv = make_server()
    for _ in range(3):
        status, doc, _ = post(srv, drawing_body())
        assert status == 500 and doc == {"error": "internal error (AttributeError)"}
    err = capfd.readouterr().err
    assert err.count("Traceback") == 1 and "AttributeError: a bug" in err
    assert post(srv, b"{", JSON)[0] == 400, "and it serves on"


def test_running_out_of_memory_is_a_503(make_server, monkeypatch):
    def drawing_to_tensor(drawing):
        raise MemoryError

    monkeypatch.setattr(serve, "drawing_to_tensor", drawing_to_tensor)
    status, doc, resp = post(make_server(), drawing_body())
    assert status == 503 and "memory" in doc["error"] and resp.getheader("Retry-After") == "1"


def test_an_unreadable_image_is_named_without_python_internals(make_server):
    status, doc, _ = post(make_server(), b"hello", {"Content-Type": "image/png"})
    assert status == 400 and doc["error"].startswith("cannot read the image: not an image")
    assert "0x" not in doc["error"] and "BytesIO" not in doc["error"]


def test_a_client_sending_a_refused_body_still_reads_the_answer(make_server):
    """413 goes out before the body is read. A client that goes on sending it must not meet a
    reset (which would discard the answer): the server drains it, bounded, before closing."""
    srv = make_server(max_bytes=1000)
    body = b"x" * 4_000_000  # far more than the socket buffers hold
    for _ in range(3):
        with socket.create_connection(srv.server_address[:2], timeout=10) as s:
            s.sendall(post_head(len(body)))
            try:
                s.sendall(body)
            except OSError as exc:
                pytest.fail(f"the server reset the connection while the body was sent: {exc!r}")
            s.shutdown(socket.SHUT_WR)
            status, headers, doc = parse(read_to_close(s))
        assert status == 413 and headers.get("connection") == "close", (status, headers)
        assert "too large" in json.loads(doc)["error"]
    assert wait_for(lambda: srv.open_connections == 0), "the draining thread has ended"


# ----------------------------------------------------------------------------- 4: memory and work in flight


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


def _memory_kb(pid: int) -> dict[str, int]:
    with open(f"/proc/{pid}/status") as fh:
        return {k: int(v.split()[0]) for k, _, v in (line.partition(":") for line in fh) if k in ("VmRSS", "VmHWM")}


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads the server's memory from /proc")
def test_six_4096_pixel_images_at_once_stay_within_600_mb():
    png = big_png()
    assert len(png) < 200_000
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.Popen([sys.executable, "-m", "digitscope", "serve", "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, preexec_fn=_limit_memory)
    try:
        line = proc.stdout.readline()
        port = int(line.split("http://127.0.0.1:")[1].split()[0])

        def one(body: bytes, ctype: str) -> tuple[int, dict]:
            conn = http.client.HTTPConnection(LOCAL, port, timeout=60)
            conn.request("POST", "/predict", body=body, headers={"Content-Type": ctype})
            resp = conn.getresponse()
            return resp.status, json.loads(resp.read())

        assert one(drawing_body(), "application/json")[0] == 200  # warm: the baseline includes a served request
        base = _memory_kb(proc.pid)["VmRSS"]
        answers: list[tuple[int, dict]] = []
        threads = [threading.Thread(target=lambda: answers.append(one(png, "image/png"))) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        growth_mb = (_memory_kb(proc.pid)["VmHWM"] - base) / 1024
        assert [status for status, _ in answers] == [200] * 6, answers
        assert all(doc["digit"] == 7 for _, doc in answers)
        assert growth_mb < 600, f"six 4096² PNGs at once grew the server by {growth_mb:.0f} MB"
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert "Traceback" not in err


class GatedPredictor:
    """The real model, held at a gate: a request that is being worked on, for as long as a test wants."""

    name = "gated"

    def __init__(self, real) -> None:
        self.real = real
        self.entered = threading.Event()
        self.release = threading.Event()

    def predict(self, x):
        self.entered.set()
        self.release.wait(30)
        return self.real.predict(x)


def test_requests_beyond_the_workers_get_503_with_retry_after(make_server, bundled_predictor):
    gated = GatedPredictor(bundled_predictor)
    srv = make_server(gated, workers=1, queue_wait_s=0.1)
    first: list[int] = []
    worker = threading.Thread(target=lambda: first.append(post(srv, drawing_body(5))[0]))
    worker.start()
    try:
        assert gated.entered.wait(10)
        status, doc, resp = post(srv, drawing_body(5))
        assert status == 503 and "busy" in doc["error"] and resp.getheader("Retry-After") == "1"
    finally:
        gated.release.set()
        worker.join(30)
    assert first == [200]
    assert post(srv, drawing_body(5))[0] == 200, "the worker is free again"


def test_connections_beyond_the_limit_get_503_and_a_closed_one_frees_its_place(make_server):
    srv = make_server(max_connections=2)
    idle = [socket.create_connection(srv.server_address[:2]) for _ in range(2)]
    try:
        assert wait_for(lambda: srv.open_connections == 2)
        status, headers, body = parse(exchange(srv, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
        assert status == 503 and headers["retry-after"] == "1" and "busy" in json.loads(body)["error"]
        idle.pop().close()
        assert wait_for(lambda: srv.open_connections == 1)
        assert parse(exchange(srv, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))[0] == 200
    finally:
        for s in idle:
            s.close()


# ----------------------------------------------------------------------------- 9: slow clients


def drip(sock: socket.socket, data: bytes, every: float) -> bytes:
    """Send ``data`` a byte at a time; return the server's first answer (b"" if it never came)."""
    for byte in data:
        try:
            sock.sendall(bytes([byte]))
        except OSError:
            break
        if select.select([sock], [], [], every)[0]:
            return read_to_close(sock)
    return b""


def read_to_close(sock: socket.socket) -> bytes:
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except ConnectionResetError:  # the server closed on bytes it had not read: what came before stands
        pass
    return b"".join(chunks)


@pytest.mark.parametrize("part", ["headers", "body"])
def test_the_deadline_is_for_the_whole_request_not_each_read(make_server, part):
    srv = make_server(timeout_s=0.5)
    body = b"[" * 500
    head = post_head(len(body))
    with socket.create_connection(srv.server_address[:2], timeout=10) as s:
        if part == "body":
            s.sendall(head)
        # A byte every 0.05 s: each read is quick, so a per-read timeout never fires; the
        # request would take 25 s or more, 50 times the deadline.
        answer = drip(s, (head if part == "headers" else b"") + body, every=0.05)
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert json.loads(parse(answer)[2]) == {"error": "the request did not arrive within 0.5 s"}
    assert wait_for(lambda: srv.open_connections == 0), "its thread has ended"


def test_a_short_body_on_an_open_connection_gets_408(make_server):
    srv = make_server(timeout_s=0.3)
    status, headers, body = parse(exchange(srv, post_head(100) + b"{", shut=False))
    assert status == 408 and headers["connection"] == "close" and "did not arrive" in json.loads(body)["error"]


def test_an_idle_connection_is_closed_without_an_answer(make_server):
    srv = make_server(timeout_s=0.3)
    assert exchange(srv, b"", shut=False) == b""
    # Idle after a keep-alive answer: that answer, then the close, nothing more.
    status, headers, body = parse(exchange(srv, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", shut=False))
    assert status == 200 and "connection" not in headers and len(body) == int(headers["content-length"])


def test_clients_that_go_away_leave_no_tracebacks(make_server, capfd):
    srv = make_server(timeout_s=2.0)
    socks = []
    for i in range(20):
        s = socket.create_connection(srv.server_address[:2], timeout=10)
        # Half stop in the middle of a body, half send a whole request and do not wait for it.
        s.sendall(post_head(1000) + b"{" if i % 2 else post_head(len(drawing_body())) + drawing_body())
        socks.append(s)
    assert wait_for(lambda: srv.open_connections == 20)
    for s in socks:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset
        s.close()
    assert wait_for(lambda: srv.open_connections == 0)
    err = capfd.readouterr().err
    assert "Traceback" not in err and "BrokenPipe" not in err and "ConnectionReset" not in err


def test_deadline_input_counts_one_deadline_across_reads():
    a, b = socket.socketpair()
    with a, b:
        reader = serve._DeadlineInput(a)
        reader.arm(0.2)
        b.sendall(b"x")
        assert reader.readinto(bytearray(10)) == 1 and reader.received == 1
        reader.deadline = time.monotonic() - 1  # the deadline has passed: no read waits any more
        b.sendall(b"y")
        with pytest.raises(TimeoutError):
            reader.readinto(bytearray(10))


# ----------------------------------------------------------------------------- 13: HTTP details


@pytest.mark.parametrize("length", ["1_1_8", "+118", "0x76", "١١٨", "118, 5", "1" * 20, ""])
def test_malformed_content_lengths_get_400(make_server, length):
    body = b"x" * 118
    status, headers, _ = parse(exchange(make_server(), post_head(length) + body))
    assert status == 400 and headers["connection"] == "close"


def test_conflicting_content_lengths_get_400_and_equal_ones_are_one(make_server):
    srv = make_server()
    body = drawing_body()
    two = (
        f"POST /predict HTTP/1.1\r\nHost: {LOCAL}\r\nContent-Type: application/json\r\n"
        "Content-Length: {}\r\nContent-Length: {}\r\n\r\n"
    )
    assert parse(exchange(srv, two.format(len(body), 5).encode() + body))[0] == 400
    assert parse(exchange(srv, two.format(len(body), len(body)).encode() + body))[0] == 200


def test_a_body_on_a_get_is_read_and_dropped(make_server):
    get = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nhello"
    data = exchange(make_server(), get + b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert data.count(b"HTTP/1.1 200 OK") == 2, data


@pytest.mark.parametrize(
    ("path", "status", "allow"), [("/health", 200, None), ("/", 200, None), ("/predict", 405, "POST"), ("/nowhere", 404, None)]
)
def test_head_gets_the_get_headers_without_a_body(make_server, path, status, allow):
    srv = make_server()
    data = exchange(srv, f"HEAD {path} HTTP/1.1\r\nHost: {LOCAL}\r\nConnection: close\r\n\r\n".encode())
    got, headers, body = parse(data)
    assert got == status and body == b"" and headers.get("allow") == allow
    if status == 200:
        conn = http.client.HTTPConnection(*srv.server_address[:2], timeout=10)
        conn.request("GET", path)
        assert headers["content-length"] == str(len(conn.getresponse().read()))
        conn.close()


def test_the_server_header_names_no_python(make_server):
    _, headers, _ = parse(exchange(make_server(), b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
    assert headers["server"] == f"digitscope/{__version__}"


def test_an_unknown_method_gets_json(make_server):
    status, _, body = parse(exchange(make_server(), b"BREW /predict HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
    assert status == 501 and "BREW" in json.loads(body)["error"]


# ----------------------------------------------------------------------------- 13: Host check (DNS rebinding)


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("127.0.0.1", 200), ("127.0.0.1:{port}", 200), ("localhost", 200), ("LocalHost:{port}", 200), ("localhost.", 200),
        ("127.0.0.2", 200), ("[::1]", 200), ("[::1]:{port}", 200),
        ("evil.example", 403), ("evil.example:{port}", 403), ("127.0.0.1.nip.io", 403), ("localhost.evil.example", 403),
        ("10.0.0.1", 403), ("::1", 403), ("[::1", 403), ("localhost:http", 403), ("", 403),
    ],
)
def test_the_host_header_is_checked_against_the_bound_address(make_server, host, status):
    srv = make_server()
    request = f"GET /health HTTP/1.1\r\nHost: {host.format(port=srv.server_address[1])}\r\n\r\n".encode()
    got, _, body = parse(exchange(srv, request))
    assert got == status, body
    if status == 403:
        assert "--allow-host" in json.loads(body)["error"]


def test_a_missing_or_doubled_host(make_server):
    srv = make_server()
    assert parse(exchange(srv, b"GET /health HTTP/1.1\r\n\r\n"))[0] == 400
    assert parse(exchange(srv, b"GET /health HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\n\r\n"))[0] == 400
    assert parse(exchange(srv, b"GET /health HTTP/1.0\r\n\r\n"))[0] == 200, "HTTP/1.0 has no Host"


def test_allowed_host_names(make_server):
    srv = make_server(allow_hosts=["Digits.Example"])
    for host, status in (("digits.example:8000", 200), ("digits.example", 200), ("other.example", 403), ("localhost", 200)):
        assert parse(exchange(srv, f"GET /health HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()))[0] == status, host
    srv = make_server(allow_hosts=["*"])
    assert parse(exchange(srv, b"GET /health HTTP/1.1\r\nHost: anything.example\r\n\r\n"))[0] == 200


def test_host_policy_for_other_addresses():
    anywhere = HostCheck.for_address("0.0.0.0")
    assert anywhere.any_name and anywhere.allows("mybox.lan:8000"), "bound to every address on purpose: any name"
    named = HostCheck.for_address("0.0.0.0", ["mybox.lan"])
    assert named.allows("mybox.lan") and named.allows("192.168.1.5:8000") and not named.allows("evil.example")
    lan = HostCheck.for_address("192.168.1.5", ["mybox.lan"])
    assert lan.allows("192.168.1.5") and not lan.allows("192.168.1.6") and lan.allows("[::1]:1")
    assert HostCheck.for_address("127.0.0.2").bound.is_loopback
    assert [host_name(h) for h in ("A.b:80", "[::1]:9", "x:", "a:b:c", "[::1]x")] == ["a.b", "::1", "x", None, None]


# ----------------------------------------------------------------------------- 13: addresses and the command line


def test_every_loopback_address_is_loopback(make_server):
    srv = make_server(host="127.0.0.2")
    assert srv.is_loopback and srv.url.startswith("http://127.0.0.2:")


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback here")
def test_an_ipv6_address_is_served(make_server):
    srv = make_server(host="::1")
    port = srv.server_address[1]
    assert srv.is_loopback and srv.url == f"http://[::1]:{port}"
    conn = http.client.HTTPConnection("::1", port, timeout=10)
    conn.request("POST", "/predict", body=drawing_body(6), headers=JSON)
    resp = conn.getresponse()
    assert resp.status == 200 and json.loads(resp.read())["digit"] == 6
    conn.close()


def test_a_port_out_of_range_is_a_usage_error():
    run = subprocess.run([sys.executable, "-m", "digitscope", "serve", "--port", "70000"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "--port: must be 0–65535, got 70000" in run.stderr and "Traceback" not in run.stderr
    with pytest.raises(ValueError, match="0–65535"):
        DigitServer((LOCAL, 70000), None)


def test_the_serve_command_on_another_loopback_address_gives_no_warning():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.Popen([sys.executable, "-m", "digitscope", "serve", "--host", "127.0.0.2", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert "on http://127.0.0.2:" in line, line
        port = int(line.split("http://127.0.0.2:")[1].split()[0])
        conn = http.client.HTTPConnection("127.0.0.2", port, timeout=10)
        conn.request("GET", "/health")
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert "other machines can reach it" not in err
