"""``digitscope serve``: a small local HTTP API that reads digits.

Endpoints (JSON responses, UTF-8):

- ``POST /predict`` with a drawing (``Content-Type: application/json``, the
  drawing file format) or an image file (``image/png``, ``image/jpeg``, any
  ``image/*`` Pillow reads, or ``application/octet-stream``) →
  ``{"digit": 7, "confidence": 0.998, "probabilities": [... 10 ...]}``.
  The preprocessing is exactly the app's and ``digitscope predict``'s.
- ``GET /health`` → ``{"status": "ok", "model": "<file name>"}``.
- ``GET /`` → the list of endpoints.

Bad input gets a 4xx with ``{"error": "..."}``: 400 malformed JSON, drawing or
image; 404 unknown path; 405 wrong method; 411 no Content-Length; 413 body or
image too large; 415 unsupported content type; 422 a drawing or image with no
digit in it. Bodies are capped (``max_bytes``, 1 MB by default) and read only
after the check, images are capped in pixels before they are decoded, and a
client that stalls is dropped after ``timeout`` seconds. No Qt, no TensorFlow.
"""

from __future__ import annotations

import io
import json
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

from .drawing import DrawingError, parse_drawing
from .preprocess import EmptyInputError, drawing_to_tensor, image_to_gray, image_to_tensor

DEFAULT_PORT = 8000
MAX_BYTES = 1_000_000
MAX_PIXELS = 4096 * 4096
TIMEOUT_S = 10.0
IMAGE_TYPES = ("image/", "application/octet-stream")


class RequestError(Exception):
    """A client error: HTTP status and a message for the client."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


def read_body_tensor(content_type: str, body: bytes, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """The 28×28 tensor for a request body, or :class:`RequestError` saying what is wrong."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "application/json":
        try:
            drawing = parse_drawing(body)
            return drawing_to_tensor(drawing)
        except EmptyInputError as exc:
            raise RequestError(HTTPStatus.UNPROCESSABLE_ENTITY, str(exc)) from None
        except DrawingError as exc:
            raise RequestError(HTTPStatus.BAD_REQUEST, f"bad drawing: {exc}") from None
        except RecursionError:
            raise RequestError(HTTPStatus.BAD_REQUEST, "bad drawing: JSON nested too deeply") from None
    if kind.startswith(IMAGE_TYPES):
        return _image_tensor(body, max_pixels)
    raise RequestError(
        HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
        f"unsupported Content-Type {kind or '(none)'!r}: send application/json (a drawing) or an image",
    )


def _image_tensor(body: bytes, max_pixels: int) -> np.ndarray:
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(body)) as im:
            width, height = im.size
            if width * height > max_pixels:
                raise RequestError(
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"image of {width}×{height} pixels is too large (max {max_pixels:,})"
                )
            gray = image_to_gray(ImageOps.exif_transpose(im))
    except RequestError:
        raise
    except Image.DecompressionBombError as exc:
        raise RequestError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"image too large: {exc}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise RequestError(HTTPStatus.BAD_REQUEST, f"cannot read the image: {exc}") from None
    try:
        return image_to_tensor(gray)
    except EmptyInputError as exc:
        raise RequestError(HTTPStatus.UNPROCESSABLE_ENTITY, str(exc)) from None
    except ValueError as exc:
        raise RequestError(HTTPStatus.BAD_REQUEST, f"cannot use the image: {exc}") from None


class _Handler(BaseHTTPRequestHandler):
    server: DigitServer
    protocol_version = "HTTP/1.1"
    default_request_version = "HTTP/1.0"  # so even a garbled request line gets a status line
    server_version = "digitscope"

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.timeout_s)
        # Replies go out as two writes (headers, body): without this, Nagle's algorithm
        # holds the body until the client's delayed ACK, ~40 ms a request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    # ------------------------------------------------------------------ routes

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        path = self.path.split("?", 1)[0]
        if path == "/health":
            self._send(HTTPStatus.OK, {"status": "ok", "model": self.server.model_name})
        elif path == "/":
            self._send(HTTPStatus.OK, {
                "service": "digitscope",
                "endpoints": {
                    "POST /predict": "a drawing (application/json) or an image (image/png, image/jpeg...)",
                    "GET /health": "liveness and the model's name",
                },
                "max_bytes": self.server.max_bytes,
            })
        elif path == "/predict":
            self._error(HTTPStatus.METHOD_NOT_ALLOWED, "use POST for /predict", allow="POST")
        else:
            self._error(HTTPStatus.NOT_FOUND, f"no such endpoint: {path}")

    def do_POST(self) -> None:  # noqa: N802
        path = self.path.split("?", 1)[0]
        if path != "/predict":
            self._discard_body()
            if path in ("/", "/health"):
                self._error(HTTPStatus.METHOD_NOT_ALLOWED, f"use GET for {path}", allow="GET")
            else:
                self._error(HTTPStatus.NOT_FOUND, f"no such endpoint: {path}")
            return
        try:
            body = self._read_body()
            tensor = read_body_tensor(self.headers.get("Content-Type", ""), body, self.server.max_pixels)
        except RequestError as exc:
            self._error(exc.status, str(exc))
            return
        try:
            prediction = self.server.predictor.predict(tensor)
        except Exception as exc:  # noqa: BLE001 (a failed forward pass is our fault: 500, and serve on)
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"the model failed: {type(exc).__name__}")
            return
        probs = [round(float(p), 6) for p in prediction.probabilities]
        self._send(HTTPStatus.OK, {"digit": prediction.digit, "confidence": round(prediction.confidence, 6), "probabilities": probs})

    def _other(self) -> None:
        self._discard_body()
        self._error(HTTPStatus.METHOD_NOT_ALLOWED, f"{self.command} is not supported", allow="GET, POST")

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _other  # noqa: N815

    # ------------------------------------------------------------------ body

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() not in ("", "identity"):
            self.close_connection = True
            raise RequestError(HTTPStatus.LENGTH_REQUIRED, "chunked bodies are not accepted: send Content-Length")
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            self.close_connection = True
            raise RequestError(HTTPStatus.LENGTH_REQUIRED, "Content-Length is required")
        try:
            length = int(length_text)
            if length < 0:
                raise ValueError
        except ValueError:
            self.close_connection = True
            raise RequestError(HTTPStatus.BAD_REQUEST, f"bad Content-Length {length_text!r}") from None
        if length > self.server.max_bytes:
            self.close_connection = True  # the body is never read
            raise RequestError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body of {length:,} bytes is too large (max {self.server.max_bytes:,})")
        body = self.rfile.read(length)
        if len(body) < length:
            self.close_connection = True
            raise RequestError(HTTPStatus.BAD_REQUEST, f"body ended after {len(body)} of {length} bytes")
        return body

    def _discard_body(self) -> None:
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if 0 <= length <= self.server.max_bytes:
            self.rfile.read(length)
        else:
            self.close_connection = True

    # ------------------------------------------------------------------ replies

    def _error(self, status: HTTPStatus, message: str, allow: str | None = None) -> None:
        self._send(status, {"error": message}, allow=allow)

    def _send(self, status: HTTPStatus, doc: dict[str, Any], allow: str | None = None) -> None:
        data = json.dumps(doc).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if allow:
            self.send_header("Allow", allow)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own errors (bad request line, headers too long...) as JSON too."""
        self.close_connection = True
        if code == HTTPStatus.HTTP_VERSION_NOT_SUPPORTED:  # a malformed request: the client's fault
            code, message = HTTPStatus.BAD_REQUEST, f"unsupported HTTP version: {message or ''}".strip()
        try:
            self._send(HTTPStatus(code), {"error": message or HTTPStatus(code).phrase})
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server naming)
        if self.server.verbose:
            super().log_message(format, *args)


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
    ) -> None:
        super().__init__(address, _Handler)
        self.predictor = predictor
        self.model_name = getattr(getattr(predictor, "path", None), "name", None) or str(getattr(predictor, "name", "model"))
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels
        self.timeout_s = timeout_s
        self.verbose = verbose

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start_background(self) -> threading.Thread:
        """Serve from a daemon thread (tests, benchmarks); ``shutdown()`` stops it."""
        thread = threading.Thread(target=self.serve_forever, name="digitscope-serve", daemon=True)
        thread.start()
        return thread
