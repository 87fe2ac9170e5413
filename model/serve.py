"""``digitscope serve``: a small local HTTP API that reads digits.

Endpoints (JSON responses, UTF-8):

- ``POST /predict`` with a drawing (``Content-Type: application/json``, the
  drawing file format) or an image file (``image/png``, ``image/jpeg``, any
  ``image/*`` Pillow reads, or ``application/octet-stream``) →
  ``{"digit": 7, "confidence": 0.998, "probabilities": [... 10 ...], "is_digit": true}``
  (``is_digit``: the model's verdict, false for a letter or a scribble; ``digit`` is
  then the network's best guess; null if the model has no verdict).
  The preprocessing is exactly the app's and ``digitscope predict``'s.
- ``GET /health`` → ``{"status": "ok", "model": "<file name>"}``.
- TensorFlow Serving's REST API (:mod:`.tf_serving`): ``POST /v1/models/digitscope:predict``
  with ``{"instances": [...]}`` (28×28×1 tensors) → ``{"predictions": [[...10...], ...]}``,
  ``GET /v1/models/digitscope`` (status) and ``GET /v1/models/digitscope/metadata``.
- ``GET /`` → the list of endpoints. ``HEAD`` works for every GET endpoint.

Every answer is JSON, errors as ``{"error": "..."}``: 400 malformed request,
JSON, drawing or image; 403 a ``Host`` this server does not answer to (against
DNS rebinding); 404 unknown path; 405 wrong method; 408 the request did not
arrive whole within ``timeout`` seconds; 411 no Content-Length; 413 body or
image too large; 415 unsupported content type; 422 a drawing or image with no
digit in it; 500 a bug here (logged once); 503 busy (with ``Retry-After``).

Limits: bodies are capped (``max_bytes``) and read only after the check (a refused one
is drained for up to ``LINGER_S`` after the answer, so the client still reads it); images
are capped in pixels before they are decoded, and reduced to the size the
pipeline needs as they are read (:func:`~.preprocess.load_image_gray`); at most
``workers`` requests are decoded and predicted at once (the others wait up to
``queue_wait_s``, then get 503); at most ``max_connections`` connections are
open (one more gets 503). The API has no authentication. No Qt, no TensorFlow.
"""

from __future__ import annotations

import io
import ipaddress
import json
import os
import re
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

from .. import __version__
from .drawing import DrawingError, parse_drawing
from . import tf_serving
from .preprocess import MAX_IMAGE_PIXELS, EmptyInputError, ImageTooLargeError, drawing_to_tensor, image_to_tensor, load_image_gray

DEFAULT_PORT = 8000
MAX_BYTES = 1_000_000
MAX_PIXELS = MAX_IMAGE_PIXELS  # the one limit of every image path
TIMEOUT_S = 10.0  # for a whole request: request line, headers and body
MAX_CONNECTIONS = 64
WORKERS = os.cpu_count() or 1  # requests decoded and predicted at once
QUEUE_WAIT_S = 10.0  # how long a request waits for a worker before it gets 503
RETRY_AFTER_S = 1
MAX_LINE = 65536  # request line, as http.server
LINGER_S = 2.0  # how long a connection closed after an answer drains what the client still sends
LINGER_BYTES = 64 << 20
MAX_MESSAGE = 200  # characters of an exception's text that reach a client
IMAGE_TYPES = ("image/", "application/octet-stream")
SERVER_NAME = f"digitscope/{__version__}"
ROUTES = {"/predict": ("POST",), "/health": ("GET", "HEAD"), "/": ("GET", "HEAD")}

_DIGITS = re.compile(r"[0-9]{1,15}")
_OBJECT_REPR = re.compile(r"<[^<>]* at 0x[0-9a-fA-F]+>")


class RequestError(Exception):
    """A client error (or 503 busy): HTTP status, a message for the client, extra headers."""

    def __init__(self, status: HTTPStatus, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


def busy(message: str) -> RequestError:
    """503 with ``Retry-After``."""
    return RequestError(HTTPStatus.SERVICE_UNAVAILABLE, message, {"Retry-After": str(RETRY_AFTER_S)})


# ----------------------------------------------------------------------------- bodies


def read_body_tensor(content_type: str, body: bytes, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """The 28×28 tensor for a request body, or :class:`RequestError` saying what is wrong."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "application/json":
        return _drawing_tensor(body)
    if kind.startswith(IMAGE_TYPES):
        return _image_tensor(body, max_pixels)
    raise RequestError(
        HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
        f"unsupported Content-Type {kind or '(none)'!r}: send application/json (a drawing) or an image",
    )


def _drawing_tensor(body: bytes) -> np.ndarray:
    try:
        drawing = parse_drawing(body)
    except MemoryError:
        raise busy("out of memory reading the drawing: try again") from None
    except Exception as exc:  # noqa: BLE001 (whatever parsing a body raises is about the body)
        raise RequestError(HTTPStatus.BAD_REQUEST, f"bad drawing: {_reason(exc)}") from None
    return _tensor(drawing_to_tensor, drawing, "drawing")


def _image_tensor(body: bytes, max_pixels: int) -> np.ndarray:
    """The shared image loader: the pixel limit checked before decoding, large images reduced as read."""
    try:
        gray = load_image_gray(body, max_pixels)
    except ImageTooLargeError as exc:
        raise RequestError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, str(exc)) from None
    except MemoryError:
        raise busy("out of memory decoding the image: try again") from None
    except Exception as exc:  # noqa: BLE001 (a decoder's error is about the body)
        if "not enough memory" in str(exc):  # the loader's word for MemoryError: here, other requests' memory
            raise busy("out of memory decoding the image: try again") from None
        text = _reason(exc)
        raise RequestError(HTTPStatus.BAD_REQUEST, text if text.startswith("cannot ") else f"cannot use the image: {text}") from None
    return _tensor(image_to_tensor, gray, "image")


def _tensor(fn: Callable[[Any], np.ndarray], value: Any, what: str) -> np.ndarray:
    try:
        return fn(value)
    except EmptyInputError as exc:
        raise RequestError(HTTPStatus.UNPROCESSABLE_ENTITY, str(exc)) from None
    except MemoryError:
        raise busy(f"out of memory reading the {what}: try again") from None
    except (ValueError, ArithmeticError, RecursionError) as exc:
        raise RequestError(HTTPStatus.BAD_REQUEST, f"cannot use the {what}: {_reason(exc)}") from None


def _reason(exc: BaseException) -> str:
    """A short, client-safe description of what was wrong with a body."""
    if isinstance(exc, RecursionError):
        return "JSON nested too deeply"
    text = str(exc)
    if isinstance(exc, OverflowError) or "max_str_digits" in text or "Exceeds the limit" in text:
        return "a number is too large"
    if isinstance(exc, DrawingError):
        return text[:MAX_MESSAGE]
    text = _OBJECT_REPR.sub("the request body", text).strip() or type(exc).__name__
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


# ----------------------------------------------------------------------------- Host check


@dataclass(frozen=True)
class HostCheck:
    """Which ``Host`` headers are answered: a defence against DNS rebinding, where a web
    page reaches a local server under the page's own name."""

    bound: ipaddress.IPv4Address | ipaddress.IPv6Address
    names: frozenset[str]
    any_name: bool

    @classmethod
    def for_address(cls, bound_ip: str, allow_hosts: Iterable[str] = ()) -> HostCheck:
        """Loopback: ``localhost``, loopback IPs and ``allow_hosts``. Another address (other
        machines are meant to reach it): any name, unless ``allow_hosts`` lists them.
        ``"*"`` in ``allow_hosts``: any name."""
        names = {n.strip().lower().rstrip(".") for n in allow_hosts}
        bound = ipaddress.ip_address(bound_ip.split("%", 1)[0])
        any_name = "*" in names or (not names and not bound.is_loopback)
        return cls(bound, frozenset(names | {"localhost"}), any_name)

    def allows(self, header: str) -> bool:
        """True when a request with this ``Host`` header value may be answered."""
        name = host_name(header)
        if name is None:
            return False
        if self.any_name or name in self.names:
            return True
        try:
            ip = ipaddress.ip_address(name)
        except ValueError:
            return False
        return ip.is_loopback or ip == self.bound or self.bound.is_unspecified


def host_name(header: str) -> str | None:
    """The name (or IP, without brackets) in a ``Host`` value, lower case; None if malformed."""
    value = header.strip().lower()
    if value.startswith("["):
        name, bracket, rest = value[1:].partition("]")
        if not bracket:
            return None
    elif value.count(":") > 1:  # an IPv6 address without brackets
        return None
    else:
        name, sep, port = value.partition(":")
        rest = sep + port
    if rest and not (rest.startswith(":") and _DIGITS.fullmatch(rest[1:] or "0")):
        return None
    name = name.rstrip(".")
    return name or None


# ----------------------------------------------------------------------------- the connection


class _DeadlineInput(io.RawIOBase):
    """A socket's input where every read ends by one deadline (a whole request's)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.deadline = float("inf")
        self.received = 0

    def arm(self, seconds: float) -> None:
        """Start a request: it must arrive within ``seconds`` from now."""
        self.deadline = time.monotonic() + seconds
        self.received = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request deadline passed")
        self.sock.settimeout(left)
        n = self.sock.recv_into(buffer)
        self.received += n
        return n


class _Handler(BaseHTTPRequestHandler):
    server: DigitServer
    protocol_version = "HTTP/1.1"
    default_request_version = "HTTP/1.0"  # so even a garbled request line gets a status line

    def setup(self) -> None:
        super().setup()
        # Replies go out as two writes (headers, body): without this, Nagle's algorithm
        # holds the body until the client's delayed ACK, ~40 ms a request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rfile.close()  # socketserver's reader: ours keeps one deadline per request
        self._input = _DeadlineInput(self.connection)
        self.rfile = io.BufferedReader(self._input)
        self._replied = False

    def version_string(self) -> str:
        return SERVER_NAME

    def finish(self) -> None:
        super().finish()
        if self.close_connection and self._replied:
            _linger(self.connection)

    # ------------------------------------------------------------------ one request

    def handle_one_request(self) -> None:
        """Read and answer one request, which must arrive whole within ``timeout_s``.

        Every failure ends as a JSON answer or a quiet close: 408 for a request that was
        begun but not finished in time, nothing for an idle connection or a client gone."""
        self._input.arm(self.server.timeout_s)
        self._replied = False
        self.raw_requestline = b""
        self.requestline, self.command, self.request_version = "", "", self.default_request_version
        try:
            self._read_and_answer()
        except TimeoutError:
            self.close_connection = True
            if self._begun():
                self._answer_quietly(HTTPStatus.REQUEST_TIMEOUT, f"the request did not arrive within {self.server.timeout_s:g} s")
        except ConnectionError:  # the client went away
            self.close_connection = True
        except Exception as exc:  # noqa: BLE001 (a bug here: 500, logged once, and serve on)
            self.close_connection = True
            self.server.log_internal_error(exc)
            self._answer_quietly(HTTPStatus.INTERNAL_SERVER_ERROR, f"internal error ({type(exc).__name__})")

    def _read_and_answer(self) -> None:
        self.raw_requestline = self.rfile.readline(MAX_LINE + 1)
        if len(self.raw_requestline) > MAX_LINE:
            self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
            return
        if not self.raw_requestline:
            self.close_connection = True
            return
        if not self.parse_request():  # it has answered
            return
        try:
            self._check_host()
            if not hasattr(self, f"do_{self.command}"):
                self.close_connection = True  # its body, if any, cannot be framed
                raise RequestError(HTTPStatus.NOT_IMPLEMENTED, f"unknown method {self.command[:20]!r}")
            self._route()
        except RequestError as exc:
            self._error(exc.status, str(exc), exc.headers)
        self.wfile.flush()

    def _begun(self) -> bool:
        """True when some of the current request has arrived (so it gets a 408)."""
        if self.raw_requestline or self._input.received:
            return True
        try:
            return bool(self.rfile.peek(1))  # bytes buffered with the previous request
        except OSError:
            return False

    def _answer_quietly(self, status: HTTPStatus, message: str) -> None:
        if self._replied:
            return
        try:
            self._error(status, message)
        except OSError:
            pass

    def _check_host(self) -> None:
        hosts = self.headers.get_all("Host") or []
        if len(hosts) > 1:
            self.close_connection = True
            raise RequestError(HTTPStatus.BAD_REQUEST, "more than one Host header")
        if not hosts:
            if self.request_version == "HTTP/1.1":
                self.close_connection = True
                raise RequestError(HTTPStatus.BAD_REQUEST, "an HTTP/1.1 request needs a Host header")
            return
        if not self.server.host_check.allows(hosts[0]):
            self.close_connection = True
            raise RequestError(
                HTTPStatus.FORBIDDEN,
                f"this server does not answer to Host {hosts[0][:100]!r} (digitscope serve --allow-host NAME allows a name)",
            )

    # ------------------------------------------------------------------ routes

    def _route(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/predict" and self.command == "POST":
            self._predict()
            return
        if path.startswith(tf_serving.PREFIX):
            self._tf_serving(path)
            return
        self._discard_body()
        methods = ROUTES.get(path)
        if methods is None:
            raise RequestError(HTTPStatus.NOT_FOUND, f"no such endpoint: {path[:200]}")
        if self.command not in methods:
            raise RequestError(
                HTTPStatus.METHOD_NOT_ALLOWED,
                f"{self.command} is not supported for {path}: use {' or '.join(methods)}",
                {"Allow": ", ".join(methods)},
            )
        if path == "/health":
            self._send(HTTPStatus.OK, {"status": "ok", "model": self.server.model_name})
        else:
            self._send(HTTPStatus.OK, {
                "service": "digitscope",
                "endpoints": {
                    "POST /predict": "a drawing (application/json) or an image (image/png, image/jpeg...)",
                    "GET /health": "liveness and the model's name",
                    f"POST /v1/models/{tf_serving.MODEL_NAME}:predict": "TensorFlow Serving's predict: {\"instances\": [28x28x1 tensors]}",
                    f"GET /v1/models/{tf_serving.MODEL_NAME}": "TensorFlow Serving's model status",
                    f"GET /v1/models/{tf_serving.MODEL_NAME}/metadata": "TensorFlow Serving's model metadata (the signature)",
                },
                "max_bytes": self.server.max_bytes,
            })

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _route

    def _predict(self) -> None:
        body = self._read_body()
        doc = self.server.run_work(self.server.answer, self.headers.get("Content-Type", ""), body)
        self._send(HTTPStatus.OK, doc)

    def _tf_serving(self, path: str) -> None:
        """TensorFlow Serving's endpoints (any Content-Type: its clients often send none)."""
        try:
            where = tf_serving.route(path)
        except tf_serving.ServingError as exc:
            self._discard_body()
            raise RequestError(exc.status, str(exc)) from None
        methods = ("GET", "HEAD") if where.method == "GET" else (where.method,)
        if self.command not in methods:
            self._discard_body()
            raise RequestError(HTTPStatus.METHOD_NOT_ALLOWED, f"{self.command} is not supported for {path[:200]}: use "
                               f"{' or '.join(methods)}", {"Allow": ", ".join(methods)})
        if where.action == "predict":
            doc = self.server.run_work(self.server.answer_tf_serving, self._read_body())
        else:
            self._discard_body()
            doc = tf_serving.status_doc() if where.action == "status" else tf_serving.metadata_doc()
        self._send(HTTPStatus.OK, doc)

    # ------------------------------------------------------------------ body

    def _body_length(self) -> int | None:
        """The declared body length (None: none declared), or :class:`RequestError`."""
        if self.headers.get("Transfer-Encoding", "").strip().lower() not in ("", "identity"):
            raise RequestError(HTTPStatus.LENGTH_REQUIRED, "chunked bodies are not accepted: send Content-Length")
        fields = self.headers.get_all("Content-Length")
        if not fields:
            return None
        values = {v.strip() for field in fields for v in field.split(",")}
        if len(values) != 1 or not _DIGITS.fullmatch(next(iter(values))):
            shown = ", ".join(fields)[:100]
            raise RequestError(HTTPStatus.BAD_REQUEST, f"bad Content-Length {shown!r}: one number of bytes, digits only")
        return int(values.pop())

    def _read_body(self) -> bytes:
        try:
            length = self._body_length()
        except RequestError:
            self.close_connection = True
            raise
        if length is None:
            self.close_connection = True
            raise RequestError(HTTPStatus.LENGTH_REQUIRED, "Content-Length is required")
        if length > self.server.max_bytes:
            self.close_connection = True  # the body is never read
            raise RequestError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body of {length:,} bytes is too large (max {self.server.max_bytes:,})"
            )
        body = self.rfile.read(length)
        if len(body) < length:
            self.close_connection = True
            raise RequestError(HTTPStatus.BAD_REQUEST, f"body ended after {len(body)} of {length} bytes")
        return body

    def _discard_body(self) -> None:
        """Read and drop the body of a request that is answered without it (bounded)."""
        try:
            length = self._body_length() or 0
        except RequestError:
            length = -1
        if 0 <= length <= self.server.max_bytes:
            if len(self.rfile.read(length)) < length:
                self.close_connection = True
        else:
            self.close_connection = True

    # ------------------------------------------------------------------ replies

    def _error(self, status: HTTPStatus, message: str, headers: dict[str, str] | None = None) -> None:
        self._send(status, {"error": message}, headers)

    def _send(self, status: HTTPStatus, doc: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        """A JSON answer (headers only for HEAD)."""
        data = json.dumps(doc).encode("utf-8")
        self._replied = True
        self.connection.settimeout(self.server.timeout_s)  # a client that does not read
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own errors (bad request line, headers too long...) as JSON too."""
        self.close_connection = True
        if code == HTTPStatus.HTTP_VERSION_NOT_SUPPORTED:  # a malformed request: the client's fault
            code, message = HTTPStatus.BAD_REQUEST, f"unsupported HTTP version: {message or ''}".strip()
        self._answer_quietly(HTTPStatus(code), message or HTTPStatus(code).phrase)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)


# ----------------------------------------------------------------------------- the server


class DigitServer(ThreadingHTTPServer):
    """The HTTP server, holding one loaded model (its NumPy forward pass is thread-safe)."""

    daemon_threads = True
    request_queue_size = 64

    def __init__(
        self,
        address: tuple[str, int],
        predictor: Any,
        max_bytes: int = MAX_BYTES,
        max_pixels: int = MAX_PIXELS,
        timeout_s: float = TIMEOUT_S,
        verbose: bool = False,
        *,
        allow_hosts: Iterable[str] = (),
        max_connections: int = MAX_CONNECTIONS,
        workers: int = WORKERS,
        queue_wait_s: float = QUEUE_WAIT_S,
    ) -> None:
        host, port = address
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be 0–65535, got {port}")
        self.address_family = address_family(host)
        super().__init__((host, port), _Handler)
        self.predictor = predictor
        self.model_name = getattr(getattr(predictor, "path", None), "name", None) or str(getattr(predictor, "name", "model"))
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels
        self.timeout_s = timeout_s
        self.verbose = verbose
        self.host_check = HostCheck.for_address(self.server_address[0], allow_hosts)
        self.max_connections = max_connections
        self.queue_wait_s = queue_wait_s
        self._work = threading.BoundedSemaphore(workers)
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="digitscope-work")
        self._lock = threading.Lock()
        self._open = 0
        self._logged: set[tuple[str, str]] = set()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    @property
    def is_loopback(self) -> bool:
        """True when only this machine can reach the server (127.0.0.0/8, ::1)."""
        return self.host_check.bound.is_loopback

    @property
    def open_connections(self) -> int:
        with self._lock:
            return self._open

    # ------------------------------------------------------------------ limits

    def process_request(self, request: Any, client_address: Any) -> None:
        """A thread for the connection, or 503 and close when ``max_connections`` are open."""
        with self._lock:
            admitted = self._open < self.max_connections
            if admitted:
                self._open += 1
        if not admitted:
            _refuse_busy(request)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._release()

    def _release(self) -> None:
        with self._lock:
            self._open -= 1

    def run_work(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` on one of ``workers`` threads, or 503 after ``queue_wait_s`` without one.

        The decoding happens on these few long-lived threads only, so the memory the
        allocator keeps after a large image is bounded by their number, not the clients'."""
        if not self._work.acquire(timeout=self.queue_wait_s):
            raise busy(f"busy: no free worker for {self.queue_wait_s:g} s; try again")
        try:
            return self._pool.submit(fn, *args).result()
        finally:
            self._work.release()

    def answer(self, content_type: str, body: bytes) -> dict[str, Any]:
        """The JSON answer to a ``POST /predict`` body, or :class:`RequestError`."""
        tensor = read_body_tensor(content_type, body, self.max_pixels)
        prediction = self._run_model(self.predictor.predict, tensor)
        probs = [round(float(p), 6) for p in prediction.probabilities]
        return {"digit": prediction.digit, "confidence": round(prediction.confidence, 6), "probabilities": probs,
                "is_digit": prediction.is_digit}

    def answer_tf_serving(self, body: bytes) -> dict[str, Any]:
        """The JSON answer to a TensorFlow Serving ``:predict`` body, or :class:`RequestError`."""
        try:
            request = tf_serving.parse_predict(body)
        except tf_serving.ServingError as exc:
            raise RequestError(exc.status, str(exc)) from None
        except MemoryError:
            raise busy("out of memory reading the request: try again") from None
        # in batches of 32: the convolutions' im2col buffers of 256 images would take 170 MB a request
        probabilities = self._run_model(lambda images: self.predictor.probabilities(images, batch_size=32), request.images)
        return tf_serving.predict_doc(probabilities, request.columnar)

    def _run_model(self, fn: Callable[[np.ndarray], Any], images: np.ndarray) -> Any:
        """``fn(images)``: out of memory → 503; any other failure is a bug here → 500, logged, and serve on."""
        try:
            return fn(images)
        except MemoryError:
            raise busy("out of memory: try again") from None
        except Exception as exc:  # noqa: BLE001 (a failed forward pass is our fault: 500, and serve on)
            self.log_internal_error(exc)
            raise RequestError(HTTPStatus.INTERNAL_SERVER_ERROR, f"the model failed: {type(exc).__name__}") from None

    def server_close(self) -> None:
        super().server_close()
        self._pool.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ errors

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away or stalled is no error; anything else is logged once."""
        exc = sys.exc_info()[1]
        if not isinstance(exc, (ConnectionError, TimeoutError)) and exc is not None:
            self.log_internal_error(exc)

    def log_internal_error(self, exc: BaseException) -> None:
        """A bug: its traceback on stderr the first time it happens here, then one line (verbose)."""
        frames = traceback.extract_tb(exc.__traceback__)
        key = (type(exc).__name__, f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "")
        with self._lock:
            first = key not in self._logged
            self._logged.add(key)
        if first:
            print(f"digitscope serve: internal error (logged once): {type(exc).__name__}: {exc}", file=sys.stderr)
            traceback.print_exception(exc, file=sys.stderr)
        elif self.verbose:
            print(f"digitscope serve: internal error again: {type(exc).__name__}: {exc}", file=sys.stderr)

    def start_background(self) -> threading.Thread:
        """Serve from a daemon thread (tests, benchmarks); ``shutdown()`` stops it."""
        thread = threading.Thread(target=self.serve_forever, name="digitscope-serve", daemon=True)
        thread.start()
        return thread


def address_family(host: str) -> socket.AddressFamily:
    """IPv6 for an IPv6 address (``::1``), else what the name resolves to first."""
    try:
        return socket.AF_INET6 if ipaddress.ip_address(host.split("%", 1)[0]).version == 6 else socket.AF_INET
    except ValueError:
        pass
    if not host:
        return socket.AF_INET
    return socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)[0][0]


def _linger(sock: socket.socket) -> None:
    """Close after an answer without losing it: closing on bytes not read (a refused body)
    makes the kernel send a reset, which can discard the answer before the client reads it.
    So stop sending, then drain what the client still sends, bounded in time and bytes."""
    try:
        sock.shutdown(socket.SHUT_WR)
        deadline, drained = time.monotonic() + LINGER_S, 0
        while drained < LINGER_BYTES and (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            chunk = sock.recv(1 << 16)
            if not chunk:
                return
            drained += len(chunk)
    except OSError:
        pass


def _refuse_busy(sock: socket.socket) -> None:
    """503 on a connection over the limit, without blocking the accepting thread."""
    data = json.dumps({"error": "busy: too many open connections; try again"}).encode()
    head = (
        f"HTTP/1.1 503 Service Unavailable\r\nServer: {SERVER_NAME}\r\nContent-Type: application/json; charset=utf-8\r\n"
        f"Content-Length: {len(data)}\r\nRetry-After: {RETRY_AFTER_S}\r\nConnection: close\r\n\r\n"
    )
    try:
        sock.setblocking(False)
        try:
            sock.recv(MAX_LINE)  # what has arrived: closing on unread data would reset the answer away
        except OSError:
            pass
        sock.send(head.encode("ascii") + data)
    except OSError:
        pass
