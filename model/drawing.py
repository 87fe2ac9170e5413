"""Vector drawings and the drawing file format.

The format is a contract shared by the CLI, the app and other tools::

    {"width": W, "height": H, "pen_width": P, "strokes": [[[x, y], ...], ...]}

Coordinates are canvas pixels, x to the right, y down. Any other key
(``"label"``, ``"format"``, ``"version"``...) is allowed and ignored on read.
"""

from __future__ import annotations

import json
import math
import os
import reprlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .files import atomic_write_bytes

#: Coordinates beyond this magnitude are treated as corrupt rather than drawn.
MAX_COORDINATE = 1e6
#: The largest drawing file (or text) read, in bytes, checked before reading: the app's drawings
#: are a few kilobytes, and the parsed JSON takes about 40 times its size in memory.
MAX_DRAWING_BYTES = 5_000_000
FORMAT_NAME = "digitscope-drawing"
FORMAT_VERSION = 1

Point = tuple[float, float]
Stroke = list[Point]


class DrawingError(ValueError):
    """A drawing (or drawing file) that cannot be used, with the reason."""


@dataclass
class Drawing:
    """Strokes on a canvas of ``width`` × ``height`` pixels, drawn with ``pen_width``."""

    width: float
    height: float
    pen_width: float
    strokes: list[Stroke] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name in ("width", "height", "pen_width"):
            _number(getattr(self, name), name)
        self.strokes = [_check_stroke(s, i) for i, s in enumerate(self.strokes)]

    @classmethod
    def trusted(cls, width: float, height: float, pen_width: float, strokes: list[Stroke]) -> Drawing:
        """A drawing from values already known to be valid (e.g. the app's own canvas),
        skipping the per-point checks: the canvas builds one on every mouse move."""
        drawing = cls.__new__(cls)
        drawing.width, drawing.height, drawing.pen_width, drawing.strokes = width, height, pen_width, strokes
        return drawing

    @property
    def is_empty(self) -> bool:
        """True when there is no point to draw."""
        return not any(self.strokes)

    def to_json(self, **extra: Any) -> dict[str, Any]:
        """The drawing as a JSON-ready dict; ``extra`` keys (e.g. ``label``) are added."""
        doc: dict[str, Any] = {"format": FORMAT_NAME, "version": FORMAT_VERSION}
        doc.update(extra)
        doc.update(
            width=self.width,
            height=self.height,
            pen_width=self.pen_width,
            strokes=[[[x, y] for x, y in stroke] for stroke in self.strokes],
        )
        return doc

    @classmethod
    def from_json(cls, doc: Any) -> Drawing:
        """Build a drawing from a parsed JSON document, saying what is wrong if it is malformed."""
        if not isinstance(doc, dict):
            raise DrawingError("a drawing must be a JSON object with width, height, pen_width and strokes")
        missing = [k for k in ("width", "height", "pen_width", "strokes") if k not in doc]
        if missing:
            raise DrawingError(f"missing key(s): {', '.join(missing)}")
        strokes = doc["strokes"]
        if not isinstance(strokes, list):
            raise DrawingError("strokes must be a list of strokes, each a list of [x, y] points")
        return cls(doc["width"], doc["height"], doc["pen_width"], strokes)


def _check_stroke(stroke: Any, index: int) -> Stroke:
    if not isinstance(stroke, (list, tuple)):
        raise DrawingError(f"stroke {index} must be a list of [x, y] points")
    points: Stroke = []
    for j, point in enumerate(stroke):
        if not isinstance(point, (list, tuple)) or len(point) != 2:
            raise DrawingError(f"stroke {index}, point {j}: expected [x, y], got {_short(point)}")
        x, y = (_coordinate(v, point, f"stroke {index}, point {j}") for v in point)
        points.append((x, y))
    return points


def _coordinate(value: Any, point: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DrawingError(f"{where}: coordinates must be numbers, got {_short(point)}")
    number = _float(value)
    if number is not None and not math.isfinite(number):
        raise DrawingError(f"{where}: non-finite coordinate {_short(point)}")
    if number is None or abs(number) > MAX_COORDINATE:
        raise DrawingError(f"{where}: coordinate out of range (|v| > {MAX_COORDINATE:g}): {_short(value)}")
    return number


def _number(value: Any, name: str) -> float:
    """A size field (width, height, pen_width) as a float in (0, MAX_COORDINATE], or DrawingError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DrawingError(f"{name} must be a number, got {_short(value)}")
    number = _float(value)
    if number is None or not math.isfinite(number) or not 0 < number <= MAX_COORDINATE:
        raise DrawingError(f"{name} must be a positive finite number up to {MAX_COORDINATE:g}, got {_short(value)}")
    return number


def _float(value: int | float) -> float | None:
    """``float(value)``, or None for an integer beyond the float range (309+ digits)."""
    try:
        return float(value)
    except OverflowError:
        return None


def _digits(value: int) -> int:
    """How many decimal digits an integer has (about, for one beyond Python's str() limit)."""
    try:
        return len(str(abs(value)))
    except ValueError:
        return int(abs(value).bit_length() * math.log10(2)) + 1


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 40


def _short(value: Any) -> str:
    """A repr for error messages, cut short (a malformed file can hold megabytes in one value)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**40:
        return f"an integer of {_digits(value):,} digits"
    return _REPR.repr(value)


def decode_json(text: str | bytes) -> Any:
    """Parse JSON text, raising :class:`DrawingError` with a clear reason for anything malformed:
    invalid UTF-8, bad syntax, nesting too deep for Python, an integer of too many digits."""
    try:
        return json.loads(text)
    except RecursionError:
        raise DrawingError("not valid JSON for a drawing: nested too deeply") from None
    except UnicodeDecodeError as exc:
        raise DrawingError(f"not UTF-8 text: the byte at offset {exc.start} cannot be decoded") from None
    except json.JSONDecodeError as exc:
        raise DrawingError(f"not valid JSON: {exc}") from None
    except ValueError:  # Python's limit on the digits of an integer read from text
        raise DrawingError(f"a number has more than {sys.get_int_max_str_digits():,} digits") from None


def parse_drawing(text: str | bytes) -> Drawing:
    """Parse drawing-format JSON text; raise :class:`DrawingError` naming the problem."""
    if len(text) > MAX_DRAWING_BYTES:
        raise DrawingError(_too_large(None))
    return Drawing.from_json(decode_json(text))


def load_drawing(path: str | Path) -> Drawing:
    """Read a drawing file; raise :class:`DrawingError` naming the problem. A file over
    :data:`MAX_DRAWING_BYTES` is refused before it is read."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > MAX_DRAWING_BYTES:
                raise DrawingError(_too_large(size))
            data = fh.read(MAX_DRAWING_BYTES + 1)  # a pipe or device reports no size
    except OSError as exc:
        raise DrawingError(f"cannot read {path}: {exc.strerror or exc}") from None
    return parse_drawing(data)


def _too_large(size: int | None) -> str:
    what = f"{size:,} bytes" if size is not None else f"more than {MAX_DRAWING_BYTES:,} bytes"
    return f"too large for a drawing: {what} (the limit is {MAX_DRAWING_BYTES:,} bytes)"


def save_drawing(drawing: Drawing, path: str | Path, **extra: Any) -> None:
    """Write a drawing file atomically (a failed write leaves any old file intact)."""
    text = json.dumps(drawing.to_json(**extra), separators=(",", ":"))
    atomic_write_bytes(Path(path), text.encode("utf-8") + b"\n")
