"""Drawings and images → the 28×28 MNIST-style tensor (LeCun's recipe).

The ink's bounding box is scaled to fit 20×20 with its aspect kept, rendered
anti-aliased, and placed in a 28×28 field so that its centre of mass is the
middle of pixel (14, 14), as MNIST placed it. Output: float32 (28, 28) in [0, 1], ink high on a zero
background. Pure NumPy + Pillow; no Qt, no TensorFlow.
"""

from __future__ import annotations

import io
import math
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageOps, UnidentifiedImageError

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


def drawings_to_tensors(drawings: Iterable[Drawing]) -> np.ndarray:
    """Drawings → their tensors, one (N, 28, 28) float32 array (N = 0: an empty one)."""
    tensors = [drawing_to_tensor(d) for d in drawings]
    return np.stack(tensors) if tensors else np.zeros((0, SIZE, SIZE), np.float32)


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
    if not math.isfinite(scale):  # a box of a few subnormal numbers
        raise EmptyInputError("the drawing is only a dot: draw a digit first")
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

#: The largest image read, in pixels (width × height), checked from the header before anything
#: is decoded. One limit for every path that reads images: ``predict``, the app and ``serve``.
MAX_IMAGE_PIXELS = 4096 * 4096
#: An image longer than this (pixels) on either side is shrunk as it is read, by a whole factor
#: (box averaging, both axes alike), to at most this size: the ink box is scaled to 20 pixels
#: anyway, and a large image then costs little memory. Smaller images are read as they are.
REDUCE_ABOVE = 1024
#: Rows of a large image converted at a time while it is reduced.
_STRIP_ROWS = 256
_INT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")

# Every image is checked against MAX_IMAGE_PIXELS, far below Pillow's own warning threshold.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

ImageSource = str | Path | bytes | BinaryIO


class ImageTooLargeError(ValueError):
    """An image with more than :data:`MAX_IMAGE_PIXELS` pixels (refused before decoding)."""


class ImageContentError(ValueError):
    """An image that decodes but holds no picture: no pixels, NaN or infinite values..."""


def load_image_gray(source: ImageSource, max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """Decode an image (a file path, the file's bytes, or a binary file object) to float32 grey
    in [0, 1], shrunk to at most :data:`REDUCE_ABOVE` pixels a side.

    Raises :class:`ImageTooLargeError` for more than ``max_pixels`` pixels (read from the header,
    before decoding) and ``ValueError`` with the reason for anything else that cannot be read.
    Transparency is composited onto the colour that contrasts with the opaque pixels, so both
    dark ink and light ink on a transparent background survive.
    """
    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as im:
            check_image_size(im.size, max_pixels)
            _draft(im)
            ImageOps.exif_transpose(im, in_place=True)
            return image_to_gray(im)
    except Image.DecompressionBombError as exc:  # Pillow's own, higher limit, checked in Image.open
        found = re.search(r"\((\d+) pixels\)", str(exc))
        pixels = f"{int(found.group(1)):,} pixels" if found else "too many pixels"
        raise ImageTooLargeError(f"the image of {pixels} is too large (the limit is {max_pixels:,} pixels)") from None
    except (ImageTooLargeError, ImageContentError):
        raise
    except UnidentifiedImageError:
        raise ValueError("cannot read the image: not an image, or in a format Pillow cannot read") from None
    except MemoryError:
        raise ValueError("cannot read the image: not enough memory") from None
    except OSError as exc:
        raise ValueError(f"cannot read the image: {exc.strerror or exc}") from None
    except Exception as exc:  # noqa: BLE001 (Pillow raises many kinds (SyntaxError, struct.error, ...) on broken files)
        raise ValueError(f"cannot read the image: {str(exc) or type(exc).__name__}") from None


def check_image_size(size: tuple[int, int], max_pixels: int = MAX_IMAGE_PIXELS) -> None:
    """Raise :class:`ImageTooLargeError` (or ``ValueError`` for an empty image) for a size that cannot be read."""
    width, height = size
    if width * height > max_pixels:
        raise ImageTooLargeError(f"the image of {width}×{height} pixels is too large (the limit is {max_pixels:,} pixels)")
    if width < 1 or height < 1:
        raise ImageContentError(f"the image has no pixels ({width}×{height})")


def _draft(im: Image.Image) -> None:
    """Let a large JPEG decode straight to grey at 1/2, 1/4 or 1/8 scale (no smaller than needed)."""
    factor = _reduction(im.size)
    if factor > 1 and im.format in ("JPEG", "MPO"):
        im.draft("L", (-(-im.width // factor), -(-im.height // factor)))


def _reduction(size: tuple[int, int]) -> int:
    """The whole factor that brings the longer side to at most :data:`REDUCE_ABOVE`."""
    return max(1, -(-max(size) // REDUCE_ABOVE))


def image_to_gray(im: Image.Image) -> np.ndarray:
    """A Pillow image (any mode) as float32 grey in [0, 1]; an image larger than
    :data:`REDUCE_ABOVE` a side is shrunk by a whole factor first (see :func:`load_image_gray`).

    16- and 32-bit integer images are scaled by 65535 when a value exceeds 255, else by 255.
    Floating-point images (mode ``F``, e.g. TIFF) are taken as [0, 1] when every value lies in
    [0, 1], and as [0, 255] otherwise; other values, NaN or infinities raise :class:`ImageContentError`.
    """
    factor = _reduction(im.size)
    if factor > 1:
        return _reduced_gray(im, factor)
    if im.mode in _INT_MODES or im.mode == "F":
        return _numeric_gray(np.asarray(im), im.mode)
    if _has_alpha(im):
        rgba = np.asarray(im.convert("RGBA"), dtype=np.float32) / 255.0
        alpha = rgba[..., 3]
        grey = rgba[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        return _composite(grey * alpha, alpha) if alpha.min() < 1.0 else grey.astype(np.float32)
    return np.asarray(im.convert("L"), dtype=np.float32) / 255.0


def _has_alpha(im: Image.Image) -> bool:
    return im.mode in _ALPHA_MODES or (im.mode == "P" and "transparency" in im.info)


def _reduced_gray(im: Image.Image, factor: int) -> np.ndarray:
    """:func:`image_to_gray` of ``im`` box-reduced by ``factor``, a strip of rows at a time, so
    that nothing but the decoded image itself is ever held at full size."""
    rows = factor * max(1, _STRIP_ROWS // factor)  # whole reduction blocks: the same as reducing it all
    strips = [_reduced_strip(im.crop((0, y, im.width, min(y + rows, im.height))), factor) for y in range(0, im.height, rows)]
    values = np.concatenate([v for v, _ in strips])
    if im.mode in _INT_MODES or im.mode == "F":
        return _numeric_gray(values, im.mode)
    if strips[0][1] is None:
        return values
    alpha = np.concatenate([a for _, a in strips])
    return _composite(values, alpha) if alpha.min() < 1.0 else values


def _reduced_strip(strip: Image.Image, factor: int) -> tuple[np.ndarray, np.ndarray | None]:
    """One strip reduced: (values, None) for numeric modes, (grey, None) for opaque images, and
    (grey × alpha, alpha) in [0, 1] for transparent ones. Averaging the premultiplied grey and the
    alpha, then compositing, equals compositing then averaging: the backdrop is one colour."""
    if strip.mode in _INT_MODES or strip.mode == "F":
        band = strip if strip.mode in ("F", "I") else strip.convert("I")
        return np.asarray(band.reduce(factor), dtype=np.float64), None
    if not _has_alpha(strip):
        return np.asarray(strip.convert("L").reduce(factor), dtype=np.float32) / 255.0, None
    rgba = strip if strip.mode in ("RGBA", "LA") else strip.convert("RGBA")
    alpha = rgba.getchannel("A")
    premultiplied = ImageChops.multiply(rgba.convert("L"), alpha).reduce(factor)
    scale = np.float32(1.0 / 255.0)
    return np.asarray(premultiplied, dtype=np.float32) * scale, np.asarray(alpha.reduce(factor), dtype=np.float32) * scale


def _composite(premultiplied: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Grey (premultiplied by alpha) over the backdrop that contrasts with the opaque pixels."""
    weight = float(alpha.sum())
    opaque_mean = float(premultiplied.sum() / weight) if weight > 0 else 0.0
    backdrop = 0.0 if opaque_mean > 0.5 else 1.0
    return (premultiplied + backdrop * (1.0 - alpha)).astype(np.float32)


def _numeric_gray(values: np.ndarray, mode: str) -> np.ndarray:
    """Integer or floating-point pixel values scaled to [0, 1] (see :func:`image_to_gray`)."""
    arr = np.asarray(values, dtype=np.float64)
    if mode != "F":
        top = 65535.0 if arr.max() > 255 else 255.0
    elif not np.isfinite(arr).all():
        raise ImageContentError("the image has non-finite pixels (NaN or infinity)")
    else:
        lo, hi = float(arr.min()), float(arr.max())
        if lo < 0 or hi > 255:
            raise ImageContentError(
                f"a floating-point image must hold values in [0, 1] or [0, 255], not {lo:g} to {hi:g}"
            )
        top = 1.0 if hi <= 1.0 else 255.0
    return (arr / top).astype(np.float32)


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


def load_image_tensor(source: ImageSource) -> np.ndarray:
    """Read an image (path, bytes or binary file) and return its 28×28 tensor."""
    return image_to_tensor(load_image_gray(source))
