"""Drawings and images → the 28×28 MNIST-style tensor (LeCun's recipe).

The ink's bounding box is scaled to fit 20×20 with its aspect kept, rendered
anti-aliased, and placed in a 28×28 field so that its centre of mass is the
middle of pixel (14, 14), as MNIST placed it. Output: float32 (28, 28) in [0, 1], ink high on a zero
background. Pure NumPy + Pillow; no Qt, no TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError

from .drawing import Drawing

SIZE = 28
BOX = 20
#: Where the centre of mass goes, in pixel-edge coordinates (pixel i spans [i, i+1)): the middle
#: of pixel 14, as in MNIST, whose whole-pixel shifts put it in [14, 15) (mean 14.49 over its
#: training set).
CENTRE = 14.5
SUPERSAMPLE = 8
#: Side of the render field (output pixels): the 20×20 ink box plus a margin;
#: the centre-of-mass crop reads zeros beyond it.
_FIELD = 24
#: Turns sharper than this (degrees) get a round join; gentler ones need none.
_JOIN_ANGLE = 12.0
#: Points closer than this (output pixels) to the previous kept point are skipped.
_MIN_STEP = 0.35
#: Image pixels fainter than this (after normalisation) do not count for the ink box.
INK_THRESHOLD = 0.2


class EmptyInputError(ValueError):
    """The input holds no ink (or only a degenerate dot): there is no digit to read."""


@dataclass(frozen=True)
class Placement:
    """Where the 28×28 tensor lies on the drawing's canvas: tensor pixel edge
    coordinates (tx, ty) ↦ canvas (x0 + tx·unit, y0 + ty·unit)."""

    x0: float
    y0: float
    unit: float  # canvas pixels per tensor pixel

    def canvas_rect(self) -> tuple[float, float, float, float]:
        """The whole tensor on the canvas: (x, y, width, height)."""
        return self.x0, self.y0, SIZE * self.unit, SIZE * self.unit


def drawing_to_tensor(drawing: Drawing) -> np.ndarray:
    """Render a vector drawing as the 28×28 float32 tensor the network expects.

    The pen width is scaled with the drawing, so the stroke weight in the
    tensor is the one the user drew with. Raises :class:`EmptyInputError` for a
    drawing with no strokes or whose ink is a single dot.
    """
    return render_drawing(drawing)[0]


def render_drawing(drawing: Drawing) -> tuple[np.ndarray, Placement]:
    """:func:`drawing_to_tensor`, and where that tensor lies on the drawing's canvas
    (to draw something computed on the tensor, such as saliency, over the strokes)."""
    strokes = [np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in drawing.strokes if len(s)]
    if not strokes:
        raise EmptyInputError("the drawing is empty: draw a digit first")
    allpts = np.concatenate(strokes)
    lo, hi = allpts.min(axis=0), allpts.max(axis=0)
    extent = float((hi - lo).max())
    pen = float(drawing.pen_width)
    if extent < 0.5 * pen:
        raise EmptyInputError("the drawing is only a dot: draw a digit first")
    scale = BOX / (extent + pen)  # the box includes the stroke width
    centre = (lo + hi) / 2.0
    ss = SUPERSAMPLE
    field_px = _FIELD * ss
    offset = _FIELD / 2.0
    width = max(1, int(round(pen * scale * ss)))

    canvas = Image.new("L", (field_px, field_px), 0)
    draw = ImageDraw.Draw(canvas)
    radius = width / 2.0
    for pts in strokes:
        xy = _thin(((pts - centre) * scale + offset) * ss, _MIN_STEP * ss)
        if len(xy) > 1:
            draw.line([tuple(p) for p in xy.tolist()], fill=255, width=width)
        for x, y in xy[_round_joins(xy)].tolist():
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)

    coarse = np.asarray(canvas.reduce(ss), dtype=np.float32)
    cy, cx = _centre_of_mass(coarse)
    # Shift in supersampled pixels so the centre of mass lands on the tensor
    # centre, but never so far that ink leaves the 28×28 frame: a lopsided
    # shape (a heavy stroke and a faint far dot) stays whole, a little off-centre.
    rows, cols = _ink_span(np.asarray(canvas))
    left = _clamp_shift(int(round((cx - CENTRE) * ss)), cols, SIZE * ss)
    top = _clamp_shift(int(round((cy - CENTRE) * ss)), rows, SIZE * ss)
    crop = canvas.crop((left, top, left + SIZE * ss, top + SIZE * ss)).reduce(ss)
    tensor = np.asarray(crop, dtype=np.float32) * np.float32(1.0 / 255.0)
    # tensor pixel edge t ↦ field t + left/ss ↦ canvas (field - offset)/scale + centre
    placement = Placement(
        x0=float((left / ss - offset) / scale + centre[0]), y0=float((top / ss - offset) / scale + centre[1]), unit=1.0 / scale
    )
    return tensor, placement


def _ink_span(canvas: np.ndarray) -> tuple[tuple[int, int], tuple[int, int]]:
    """First and one-past-last inked (row, column) of a rendered canvas."""
    rows = np.flatnonzero(canvas.any(axis=1))
    cols = np.flatnonzero(canvas.any(axis=0))
    return (int(rows[0]), int(rows[-1]) + 1), (int(cols[0]), int(cols[-1]) + 1)


def _clamp_shift(start: int, span: tuple[int, int], window: int) -> int:
    """Move a crop window's ``start`` as little as needed for it to hold ``span``.

    When the span is wider than the window (it cannot be for a rendered
    drawing, whose ink box is 20 of 28 pixels), ``start`` is left as it is.
    """
    lo, hi = span
    if hi - lo > window:
        return start
    return min(max(start, hi - window), lo)


def _thin(xy: np.ndarray, min_step: float) -> np.ndarray:
    """Keep the first point of every ``min_step`` of arc length (and the last point)."""
    if len(xy) <= 2:
        return xy
    arc = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))])
    bucket = np.floor(arc / min_step)
    keep = np.flatnonzero(np.diff(bucket, prepend=-1.0) > 0)
    if keep[-1] != len(xy) - 1:
        keep = np.append(keep, len(xy) - 1)
    return xy[keep]


def _round_joins(xy: np.ndarray) -> np.ndarray:
    """Indices that need a round cap or join: both ends and every sharp turn.

    Pillow draws a wide polyline with mitre-less joins; a disc of the pen's
    width at each sharp turn rounds it, as a real pen would.
    """
    last = len(xy) - 1
    if last < 2:
        return np.array([0, last]) if last else np.array([0])
    d = np.diff(xy, axis=0)
    a, b = d[:-1], d[1:]
    cross = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    dot = (a * b).sum(axis=1)
    turn = np.abs(np.degrees(np.arctan2(cross, dot)))
    return np.concatenate([[0], np.flatnonzero(turn > _JOIN_ANGLE) + 1, [last]])


def _centre_of_mass(img: np.ndarray) -> tuple[float, float]:
    """Centre of mass (row, col) in pixel-edge coordinates: a lone pixel (r, c) → (r+.5, c+.5)."""
    total = float(img.sum())
    rows = img.sum(axis=1)
    cols = img.sum(axis=0)
    idx = np.arange(img.shape[0], dtype=np.float64) + 0.5
    jdx = np.arange(img.shape[1], dtype=np.float64) + 0.5
    return float(rows @ idx) / total, float(cols @ jdx) / total


def centre_of_mass(img: np.ndarray) -> tuple[float, float]:
    """Public form of the centre of mass (row, col), pixel-edge coordinates."""
    if float(img.sum()) <= 0:
        raise EmptyInputError("no ink")
    return _centre_of_mass(np.asarray(img, dtype=np.float64))


# ----------------------------------------------------------------------------- images


def load_image_gray(path: str | Path) -> np.ndarray:
    """Decode an image file (PNG, JPEG, ...) to float32 grey in [0, 1].

    Transparency is composited onto the colour that contrasts with the opaque
    pixels, so both dark ink and light ink on a transparent background survive.
    """
    try:
        with Image.open(path) as im:
            im = ImageOps.exif_transpose(im)
            return image_to_gray(im)
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValueError(f"cannot read image {path}: {exc}") from None


def image_to_gray(im: Image.Image) -> np.ndarray:
    """A Pillow image (any mode) as float32 grey in [0, 1]."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(im, dtype=np.float64)
        top = 65535.0 if arr.max() > 255 else 255.0
        return (arr / top).astype(np.float32)
    has_alpha = im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
    if has_alpha:
        rgba = np.asarray(im.convert("RGBA"), dtype=np.float32) / 255.0
        alpha = rgba[..., 3]
        grey = rgba[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        if alpha.min() < 1.0:
            weight = float(alpha.sum())
            opaque_mean = float((grey * alpha).sum() / weight) if weight > 0 else 0.0
            backdrop = 0.0 if opaque_mean > 0.5 else 1.0
            grey = grey * alpha + backdrop * (1.0 - alpha)
        return grey.astype(np.float32)
    return np.asarray(im.convert("L"), dtype=np.float32) / 255.0


def ink_is_dark(gray: np.ndarray) -> bool:
    """True when the image is dark ink on a light background (judged from its border)."""
    g = np.asarray(gray, dtype=np.float32)
    border = np.concatenate([g[0], g[-1], g[1:-1, 0], g[1:-1, -1]])
    return float(np.median(border)) > 0.5


def image_to_tensor(gray: np.ndarray) -> np.ndarray:
    """A grey image (any size, either polarity) → the 28×28 MNIST-style tensor."""
    g = np.asarray(gray, dtype=np.float32)
    if g.ndim != 2 or min(g.shape) < 1:
        raise ValueError(f"expected a 2-D grey image, got shape {g.shape}")
    if not np.all(np.isfinite(g)):
        raise ValueError("the image holds non-finite values")
    if ink_is_dark(g):
        g = 1.0 - g
    border = np.concatenate([g[0], g[-1], g[:, 0], g[:, -1]])
    background = float(np.median(border))
    peak = float(g.max())
    if peak - background < 0.1:
        raise EmptyInputError("the image has no ink")
    ink = np.clip((g - background) / (peak - background), 0.0, 1.0)
    ink[ink < 0.05] = 0.0  # scanner and JPEG noise
    rows = np.flatnonzero((ink >= INK_THRESHOLD).any(axis=1))
    cols = np.flatnonzero((ink >= INK_THRESHOLD).any(axis=0))
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    crop = ink[top:bottom, left:right]
    h, w = crop.shape
    # As MNIST was made: the box scaled to 20 on its longer side (area-averaged when shrinking),
    # then moved by whole pixels so its centre of mass is nearest the centre. An image already
    # in MNIST's form comes back as it is, with no resampling blur.
    scale = BOX / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if size != (w, h):
        resample = Image.Resampling.BOX if scale < 1.0 else Image.Resampling.BILINEAR
        crop = np.asarray(Image.fromarray(crop, mode="F").resize(size, resample=resample), dtype=np.float32)
    crop = np.clip(crop, 0.0, 1.0)
    h, w = crop.shape
    cy, cx = _centre_of_mass(crop)
    row = min(max(int(np.ceil(CENTRE - 0.5 - cy)), 0), SIZE - h)
    col = min(max(int(np.ceil(CENTRE - 0.5 - cx)), 0), SIZE - w)
    out = np.zeros((SIZE, SIZE), np.float32)
    out[row : row + h, col : col + w] = crop
    return out


def load_image_tensor(path: str | Path) -> np.ndarray:
    """Read an image file and return its 28×28 tensor."""
    return image_to_tensor(load_image_gray(path))
