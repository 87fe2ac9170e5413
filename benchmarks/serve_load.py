"""`digitscope serve` under load on loopback: requests per second, latency, malformed requests.

    python benchmarks/serve_load.py [--seconds 10] [--clients 4] [--malformed 1000] [--slow 50] [--images 6]

Starts the real ``digitscope serve`` process on a free loopback port, then:

1. ``--clients`` threads, each with its own keep-alive connection, POST
   unipen-dev drawings (real pen digits, in the drawing format) for
   ``--seconds``; prints requests per second, p50/p95/p99 latency and the
   accuracy of the answers (bounded: loopback only, a fixed duration); then the
   same drawings, preprocessed, as TensorFlow Serving requests
   (``POST /v1/models/digitscope:predict``, one instance each) for as long;
2. sends ``--malformed`` malformed requests of many kinds (random bytes, cut
   or corrupted drawings, JSON of the wrong shape, broken images, wrong
   content types, bad or missing lengths, oversized bodies, garbage request
   lines) on fresh connections, and counts the answers by status;
3. opens ``--slow`` connections that send a byte a second (slow clients) and
   times when the server's request deadline ends them (408);
4. POSTs ``--images`` 4096×4096 RGBA PNGs (~80 kB each) at once and reports
   the server's memory growth (VmHWM) and the time they took;
5. checks the server still answers ``/health`` and its process is alive.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "unipen-dev.jsonl"


def start_server() -> tuple[subprocess.Popen, int]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.Popen([sys.executable, "-m", "digitscope", "serve", "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    line = proc.stdout.readline()
    if "http://127.0.0.1:" not in line:
        raise SystemExit(f"the server did not start: {line}{proc.stderr.read()}")
    return proc, int(line.split("http://127.0.0.1:")[1].split()[0])


def read_digit(doc: dict) -> int:
    """The digit of an answer: ``/predict``'s, or the top one of TensorFlow Serving's first prediction."""
    return doc["digit"] if "digit" in doc else int(np.argmax(doc["predictions"][0]))


def load(port: int, bodies: list[tuple[bytes, int]], seconds: float, clients: int, path: str = "/predict") -> tuple[list[float], int, int]:
    latencies: list[float] = []
    right = wrong = 0
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(seed: int) -> None:
        nonlocal right, wrong
        rng = random.Random(seed)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, r, w = [], 0, 0
        while time.monotonic() < stop:
            body, label = rng.choice(bodies)
            t = time.perf_counter()
            conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            doc = json.loads(resp.read())
            mine.append(time.perf_counter() - t)
            if resp.status == 200 and read_digit(doc) == label:
                r += 1
            else:
                w += 1
        conn.close()
        with lock:
            latencies.extend(mine)
            right += r
            wrong += w

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, right, wrong


def malformed_requests(n: int, valid: bytes, seed: int = 0) -> list[bytes]:
    """Raw HTTP requests, each malformed in one of many ways."""
    rng = random.Random(seed)

    def post(body: bytes, ctype: str | None = "application/json", length: str | None = None) -> bytes:
        head = "POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        if ctype:
            head += f"Content-Type: {ctype}\r\n"
        head += f"Content-Length: {len(body) if length is None else length}\r\n" if length != "none" else ""
        return head.encode() + b"\r\n" + body

    def png_fragment() -> bytes:
        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(np.random.default_rng(rng.getrandbits(32)).integers(0, 255, (rng.randint(1, 64),) * 2, np.uint8)).save(buf, "PNG")
        data = bytearray(buf.getvalue()[: rng.randint(0, len(buf.getvalue()) - 1)])
        if data and rng.random() < 0.5:
            data[rng.randrange(len(data))] ^= 0xFF
        return bytes(data)

    kinds = [
        lambda: post(bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 2000))),
                     rng.choice(["application/json", "image/png", "application/octet-stream"])),
        lambda: post(valid[: rng.randint(0, len(valid) - 1)]),
        lambda: post(valid.replace(b"[", b"{", rng.randint(1, 5))),
        lambda: post(json.dumps(rng.choice([[], {}, 0, None, "7", {"width": 0, "height": 1, "pen_width": 1, "strokes": []},
                                            {"width": 280, "height": 280, "pen_width": -3, "strokes": [[[1, 2]]]},
                                            {"width": 280, "height": 280, "pen_width": 20, "strokes": [[[1, 2, 3]]]},
                                            {"width": 280, "height": 280, "pen_width": 20, "strokes": [[["1", 2]]]},
                                            {"width": 280, "height": 280, "pen_width": 20, "strokes": [[[1e300, 2]]]},
                                            {"width": 280, "height": 280, "pen_width": 20, "strokes": "abc"}])).encode()),
        lambda: post(b"[" * rng.randint(1000, 200_000)),
        lambda: post(png_fragment(), "image/png"),
        lambda: post(b"hello", rng.choice(["text/plain", "multipart/form-data", None, "application/xml"])),
        lambda: post(valid, length=rng.choice(["-1", "abc", "99999999999", "none", str(len(valid) + 500)])),
        lambda: post(b"x" * 1_100_000),
        lambda: rng.choice([b"GARBAGE\r\n\r\n", b"GET\r\n\r\n", b"POST /predict HTTP/9.9\r\n\r\n", b"\x00\x01\x02\r\n\r\n",
                            b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", b"POST /predict HTTP/1.1\r\n" + b"X: y\r\n" * 200 + b"\r\n"]),
        lambda: rng.choice([b"PUT /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n",
                            b"GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                            b"POST /health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}",
                            b"GET /health HTTP/1.1\r\nHost: evil.example\r\n\r\n", b"GET /health HTTP/1.1\r\n\r\n"]),
    ]
    return [rng.choice(kinds)() for _ in range(n)]


def send_raw(port: int, payload: bytes) -> str:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=15) as s:
            try:
                s.sendall(payload)
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # the server may close early (e.g. 413 before the body): read its answer
            data = b""
            while chunk := s.recv(65536):
                data += chunk
    except ConnectionResetError:
        return "reset"
    except OSError as exc:
        return f"error {exc}"
    return data[9:12].decode("ascii", "replace") if data.startswith(b"HTTP/") else ("closed" if not data else "garbled")


def slow_clients(port: int, n: int, every: float = 1.0, limit: float = 60.0) -> tuple[list[float], int]:
    """``n`` connections sending a request a byte every ``every`` s: the seconds until each is
    answered or closed, and how many were still open after ``limit`` s."""
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
        s.setblocking(False)
        socks.append(s)
    t0 = time.monotonic()
    ended: dict[int, float] = {}
    while len(ended) < n and time.monotonic() - t0 < limit:
        for i, s in enumerate(socks):
            if i in ended:
                continue
            try:
                s.recv(65536)
                ended[i] = time.monotonic() - t0
                continue
            except BlockingIOError:
                pass
            except OSError:
                ended[i] = time.monotonic() - t0
                continue
            try:
                s.send(b"[")
            except OSError:
                ended[i] = time.monotonic() - t0
        time.sleep(min(every, 0.05))
    for s in socks:
        s.close()
    return sorted(ended.values()), n - len(ended)


def large_images(proc: subprocess.Popen, port: int, n: int) -> tuple[float, float, Counter]:
    """``n`` 4096² RGBA PNGs at once: the server's memory growth (MB, VmHWM), seconds, statuses."""
    from PIL import Image, ImageDraw

    im = Image.new("RGBA", (4096, 4096), (0, 0, 0, 0))
    ImageDraw.Draw(im).line([(1200, 800), (2900, 800), (1800, 3300)], fill=(0, 0, 0, 255), width=260)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    png = buf.getvalue()

    def memory_kb(key: str) -> int:
        with open(f"/proc/{proc.pid}/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith(key + ":"))

    base = memory_kb("VmRSS")
    statuses: list[int] = []

    def one() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        conn.request("POST", "/predict", body=png, headers={"Content-Type": "image/png"})
        resp = conn.getresponse()
        resp.read()
        statuses.append(resp.status)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return (memory_kb("VmHWM") - base) / 1024, time.perf_counter() - t0, Counter(statuses)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--malformed", type=int, default=1000)
    ap.add_argument("--slow", type=int, default=50, help="slow clients (0: skip)")
    ap.add_argument("--images", type=int, default=6, help="4096² PNGs at once (0: skip; reads /proc)")
    args = ap.parse_args()
    if not DATA.is_file():
        print(f"skipped: needs {DATA}")
        return 0
    rows = [json.loads(line) for line in DATA.read_text().splitlines()]
    bodies = [(json.dumps({k: r[k] for k in ("width", "height", "pen_width", "strokes")}).encode(), r["label"]) for r in rows]
    from digitscope.model.drawing import Drawing
    from digitscope.model.preprocess import drawings_to_tensors

    tensors = drawings_to_tensors([Drawing.from_json(json.loads(b)) for b, _ in bodies])
    serving = [(json.dumps({"instances": [np.round(t, 4)[..., None].tolist()]}).encode(), label)
               for t, (_, label) in zip(tensors, bodies)]
    proc, port = start_server()
    try:
        for what, path, requests in (("unipen-dev drawings to /predict", "/predict", bodies),
                                     ("the same, preprocessed, to TF Serving's /v1/models/digitscope:predict",
                                      "/v1/models/digitscope:predict", serving)):
            latencies, right, wrong = load(port, requests, args.seconds, args.clients, path)
            ms = np.array(latencies) * 1000
            print(f"load: {args.clients} keep-alive clients, {args.seconds:.0f} s, {what} "
                  f"(mean {np.mean([len(b) for b, _ in requests]) / 1000:.1f} kB)")
            print(f"  {len(ms)} requests, {len(ms) / args.seconds:.0f} requests/s; latency p50 {np.percentile(ms, 50):.1f} ms, "
                  f"p95 {np.percentile(ms, 95):.1f} ms, p99 {np.percentile(ms, 99):.1f} ms; answers right {right}, wrong {wrong} "
                  f"({100 * right / max(1, right + wrong):.2f} %)")
        outcomes = Counter(send_raw(port, req) for req in malformed_requests(args.malformed, bodies[0][0]))
        if args.slow:
            ended, still_open = slow_clients(port, args.slow)
            print(f"slow clients: {args.slow} sending a byte a second; ended by the server after "
                  f"{ended[0] if ended else float('nan'):.1f}–{ended[-1] if ended else float('nan'):.1f} s; "
                  f"still open after 60 s: {still_open}")
        if args.images and os.path.exists(f"/proc/{proc.pid}/status"):
            growth, seconds, statuses = large_images(proc, port, args.images)
            print(f"large images: {args.images} × 4096² RGBA PNG at once: server memory +{growth:.0f} MB (VmHWM), "
                  f"{seconds:.1f} s; " + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())))
        alive = proc.poll() is None
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/health")
        healthy = conn.getresponse().status == 200
        server_errors = sum(v for k, v in outcomes.items() if k.startswith("5"))
        print(f"malformed: {args.malformed} requests → " + ", ".join(f"{k}: {v}" for k, v in sorted(outcomes.items())))
        print(f"  server process alive: {alive}; /health afterwards: {'200' if healthy else 'FAILED'}; 5xx answers: {server_errors}")
        return 0 if alive and healthy and server_errors == 0 else 1
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    sys.exit(main())
