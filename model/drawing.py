"""Vector drawings and the drawing file format.

The format is a contract shared by the CLI, the app and other tools::

    {"width": W, "height": H, "pen_width": P, "strokes": [[[x, y], ...], ...]}

Coordinates are canvas pixels, x to the right, y down. Any other key
(``"label"``, ``"format"``, ``"version"``...) is allowed and ignored on read.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .files import atomic_write_bytes

#: Coordinates beyond this magnitude are treated as corrupt rather than drawn.
MAX_COORDINATE = 1e6
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
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise DrawingError(f"{name} must be a number, got {value!r}")
            if not math.isfinite(value) or value <= 0 or value > MAX_COORDINATE:
                raise DrawingError(f"{name} must be a positive finite number, got {value!r}")
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
            raise DrawingError(f"stroke {index}, point {j}: expected [x, y], got {point!r}")
        x, y = point
        for v in (x, y):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise DrawingError(f"stroke {index}, point {j}: coordinates must be numbers, got {point!r}")
            if not math.isfinite(v):
                raise DrawingError(f"stroke {index}, point {j}: non-finite coordinate {point!r}")
            if abs(v) > MAX_COORDINATE:
                raise DrawingError(f"stroke {index}, point {j}: coordinate {v!r} is out of range (|v| > {MAX_COORDINATE:g})")
        points.append((float(x), float(y)))
    return points


def parse_drawing(text: str | bytes) -> Drawing:
    """Parse drawing-format JSON text."""
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DrawingError(f"not valid JSON: {exc}") from None
    return Drawing.from_json(doc)


def load_drawing(path: str | Path) -> Drawing:
    """Read a drawing file; raise :class:`DrawingError` naming the problem."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise DrawingError(f"cannot read {path}: {exc.strerror or exc}") from None
    return parse_drawing(data)


def save_drawing(drawing: Drawing, path: str | Path, **extra: Any) -> None:
    """Write a drawing file atomically (a failed write leaves any old file intact)."""
    text = json.dumps(drawing.to_json(**extra), separators=(",", ":"))
    atomic_write_bytes(Path(path), text.encode("utf-8") + b"\n")
