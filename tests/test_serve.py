"""``digitscope serve``: a real HTTP client on loopback, good and bad requests."""

from __future__ import annotations

import http.client
import io
import json
import os
import random
import socket
import subprocess
import sys

import numpy as np
import pytest
from digitscope.model.drawing import save_drawing
from digitscope.model.examples import example_drawing, example_drawings
from digitscope.model.preprocess import drawing_to_tensor
from PIL import Image
from helpers import http_call, serving


@pytest.fixture(scope="module")
def server(bundled_predictor):
    with serving(bundled_predictor, max_bytes=200_000, max_pixels=2000 * 2000, timeout_s=2.0) as srv:
        yield srv


def drawing_body(digit: int) -> bytes:
    return json.dumps(example_drawing(digit).to_json()).encode()


def png_of(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray((array * 255).astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def test_drawings_are_read_like_the_app_reads_them(server, bundled_predictor):
    for digit, drawing in example_drawings().items():
        status, doc, _ = http_call(server, "POST", "/predict", drawing_body(digit), {"Content-Type": "application/json"})
        assert status == 200, doc
        expected = bundled_predictor.predict(drawing_to_tensor(drawing)).probabilities
        assert doc["digit"] == digit
        np.testing.assert_allclose(doc["probabilities"], expected, atol=1e-5)
        assert doc["confidence"] == pytest.approx(max(doc["probabilities"]), abs=1e-6)
        assert doc["is_digit"] is True, f"the example {digit} must read as a digit"


def test_a_letter_is_no_digit(server):
    from helpers import letter_h

    body = json.dumps(letter_h().to_json()).encode()
    status, doc, _ = http_call(server, "POST", "/predict", body, {"Content-Type": "application/json"})
    assert status == 200 and doc["is_digit"] is False
    assert set(doc) == {"digit", "confidence", "probabilities", "is_digit"}


def test_images_of_either_polarity_are_read(server):
    t = drawing_to_tensor(example_drawing(4))
    big = np.kron(t, np.ones((4, 4), np.float32))
    for img, ctype in ((big, "image/png"), (1.0 - big, "application/octet-stream")):
        status, doc, _ = http_call(server, "POST", "/predict", png_of(img), {"Content-Type": ctype})
        assert status == 200, doc
        assert doc["digit"] == 4


def test_health_and_index(server):
    status, doc, _ = http_call(server, "GET", "/health")
    assert status == 200 and doc == {"status": "ok", "model": "digitscope-cnn.keras"}
    status, doc, _ = http_call(server, "GET", "/")
    assert status == 200 and "POST /predict" in doc["endpoints"]


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "says"),
    [
        ("POST", "/predict", b"{not json", {"Content-Type": "application/json"}, 400, "not valid JSON"),
        ("POST", "/predict", b'{"width": 10}', {"Content-Type": "application/json"}, 400, "missing key"),
        ("POST", "/predict", b"[" * 100_000 + b"]" * 100_000, {"Content-Type": "application/json"}, 400, ""),
        ("POST", "/predict", json.dumps({"width": 280, "height": 280, "pen_width": 20, "strokes": [[[1, "x"]]]}).encode(),
         {"Content-Type": "application/json"}, 400, "coordinates must be numbers"),
        ("POST", "/predict", json.dumps({"width": 280, "height": 280, "pen_width": 20, "strokes": []}).encode(),
         {"Content-Type": "application/json"}, 422, "empty"),
        ("POST", "/predict", b"\x89PNG\r\n\x1a\n broken", {"Content-Type": "image/png"}, 400, "cannot read the image"),
        ("POST", "/predict", b"hello", {"Content-Type": "text/plain"}, 415, "unsupported Content-Type"),
        ("POST", "/predict", b"hello", {}, 415, "unsupported Content-Type"),
        ("GET", "/predict", None, {}, 405, "use POST"),
        ("POST", "/health", b"", {}, 405, "use GET"),
        ("DELETE", "/predict", None, {}, 405, "not supported"),
        ("GET", "/nowhere", None, {}, 404, "no such endpoint"),
    ],
)
def test_bad_requests_get_a_clear_4xx(server, method, path, body, headers, status, says):
    got, doc, _ = http_call(server, method, path, body, headers)
    assert got == status
    assert says in doc["error"]


def test_a_blank_image_has_no_digit(server):
    status, doc, _ = http_call(server, "POST", "/predict", png_of(np.zeros((50, 50), np.float32)), {"Content-Type": "image/png"})
    assert status == 422 and "no ink" in doc["error"]


def test_oversized_bodies_are_refused_unread(server):
    status, doc, resp = http_call(server, "POST", "/predict", b"x" * 300_000, {"Content-Type": "application/json"})
    assert status == 413 and "too large" in doc["error"]
    assert resp.getheader("Connection") == "close"


def test_images_with_too_many_pixels_are_refused_before_decoding(server):
    buf = io.BytesIO()
    Image.new("L", (3000, 3000), 0).save(buf, format="PNG")  # small file, 9 M pixels
    status, doc, _ = http_call(server, "POST", "/predict", buf.getvalue(), {"Content-Type": "image/png"})
    assert status == 413 and "3000×3000" in doc["error"]


def raw_exchange(server, payload: bytes) -> bytes:
    with socket.create_connection(server.server_address[:2], timeout=5) as s:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_missing_length_bad_length_and_truncated_bodies(server):
    no_length = b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\r\n{}"
    assert raw_exchange(server, no_length).startswith(b"HTTP/1.1 411")
    assert raw_exchange(server, b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -5\r\n\r\n").startswith(b"HTTP/1.1 400")
    assert raw_exchange(server, b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{}").startswith(b"HTTP/1.1 400")
    assert raw_exchange(server, b"GARBAGE\r\n\r\n").startswith(b"HTTP/1.1 400")
    assert raw_exchange(server, b"POST /predict HTTP/9.9\r\nContent-Length: 0\r\n\r\n").startswith(b"HTTP/1.1 400")


def test_a_stalled_client_gets_408_and_others_are_served(bundled_predictor):
    with serving(bundled_predictor, timeout_s=0.5) as srv:
        with socket.create_connection(srv.server_address[:2], timeout=10) as stalled:
            stalled.sendall(b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n{")
            status, _, _ = http_call(srv, "POST", "/predict", drawing_body(2), {"Content-Type": "application/json"})
            assert status == 200, "another client is served while one stalls"
            data = b""  # the connection stays open: only the server's deadline ends it, with a 408
            while chunk := stalled.recv(65536):
                data += chunk
            assert data.startswith(b"HTTP/1.1 408") and data.endswith(b'"the request did not arrive within 0.5 s"}'), data


def test_the_server_survives_random_malformed_requests(server):
    rng = random.Random(7)
    valid = drawing_body(3)
    statuses = []
    for i in range(200):
        kind = i % 4
        if kind == 0:
            body = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 400)))
            ctype = rng.choice(["application/json", "image/png", "application/octet-stream"])
        elif kind == 1:  # a valid drawing, cut or corrupted at a random place
            cut = rng.randint(0, len(valid) - 1)
            body = valid[:cut] + bytes([rng.getrandbits(8)]) + valid[cut + 1 : cut + rng.randint(0, 50)]
            ctype = "application/json"
        elif kind == 2:  # valid JSON of the wrong shape
            body = json.dumps(rng.choice([[], {}, 1, "x", None, {"width": -1, "height": 1, "pen_width": 1, "strokes": [[]]},
                                          {"width": 1e308, "height": 1, "pen_width": 1, "strokes": [[[0, 0], [1, 1]]]},
                                          {"width": 280, "height": 280, "pen_width": 20, "strokes": [[[0, 0]]] * 3}])).encode()
            ctype = "application/json"
        else:
            pixels = np.asarray(np.random.default_rng(i).random((rng.randint(1, 60), rng.randint(1, 60))), np.float32)
            body = png_of(pixels)[: rng.randint(8, 200)]
            ctype = "image/png"
        status, doc, _ = http_call(server, "POST", "/predict", body, {"Content-Type": ctype})
        assert status < 500, (status, doc, body[:80])
        statuses.append(status)
    assert http_call(server, "GET", "/health")[0] == 200
    assert statuses.count(200) < len(statuses), "the inputs really were malformed"


def test_the_serve_command_answers_on_loopback(tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.Popen([sys.executable, "-m", "digitscope", "serve", "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert "serving digitscope-cnn.keras on http://127.0.0.1:" in line, line + proc.stderr.read()
        port = int(line.split("http://127.0.0.1:")[1].split()[0])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        path = tmp_path / "seven.json"
        save_drawing(example_drawing(7), path)
        conn.request("POST", "/predict", body=path.read_bytes(), headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        assert resp.status == 200 and json.loads(resp.read())["digit"] == 7
    finally:
        proc.terminate()
        proc.wait(10)
