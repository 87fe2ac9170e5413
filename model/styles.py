"""Writing-style variants MNIST lacks: the slashed zero and the continental one.

MNIST's writers were American: its zeros are never slashed and its ones are
mostly bare bars. Many people draw ``Ø`` and a ``1`` with a long up-stroke
flag, and a plain MNIST net reads those as 8 and 7. These functions add that
one stroke to a share of the training zeros and ones (the label is kept), so
the network learns both styles. Pure NumPy; applied once before training.
"""

from __future__ import annotations

import numpy as np

_YY, _XX = np.mgrid[0:28, 0:28].astype(np.float32) + 0.5


def _segment(x0: float, y0: float, x1: float, y1: float, width: float) -> np.ndarray:
    """An anti-aliased line of ``width`` pixels from (x0, y0) to (x1, y1) with round ends, as (28, 28)."""
    dx, dy = x1 - x0, y1 - y0
    length2 = max(dx * dx + dy * dy, 1e-6)
    t = np.clip(((_XX - x0) * dx + (_YY - y0) * dy) / length2, 0.0, 1.0)
    dist = np.hypot(_XX - (x0 + t * dx), _YY - (y0 + t * dy))
    return np.clip(width / 2.0 + 0.5 - dist, 0.0, 1.0)


def _ink_box(img: np.ndarray) -> tuple[float, float, float, float] | None:
    rows = np.flatnonzero((img > 0.5).any(axis=1))
    cols = np.flatnonzero((img > 0.5).any(axis=0))
    if len(rows) < 2 or len(cols) < 1:
        return None
    return float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1)


def stroke_width(img: np.ndarray) -> float:
    """Rough stroke width in pixels: ink mass over the length of its skeleton (approximated by rows and columns crossed)."""
    mass = float(img.sum())
    strong = img > 0.5
    runs = max(1, int(strong.any(axis=1).sum() + strong.any(axis=0).sum()))
    return float(np.clip(mass / runs * 1.2, 1.2, 4.0))


def slash_zero(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A zero with a diagonal slash from below-left to above-right, overshooting a little."""
    box = _ink_box(img)
    if box is None:
        return img
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    half_h = (y1 - y0) / 2.0 * rng.uniform(0.9, 1.4)
    half_w = (x1 - x0) / 2.0 * rng.uniform(0.8, 2.0)
    if rng.random() < 0.2:  # some slash the other way
        half_w = -half_w
    line = _segment(cx - half_w, cy + half_h, cx + half_w, cy - half_h, stroke_width(img) * rng.uniform(0.8, 1.1))
    return np.maximum(img, line.astype(img.dtype))


def flag_one(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A one with the continental up-stroke: from its top, down and to the left."""
    box = _ink_box(img)
    if box is None:
        return img
    x0, y0, x1, y1 = box
    top_row = int(y0)
    cols = np.flatnonzero(img[top_row] > 0.5)
    tx, ty = float(cols.mean()) + 0.5, y0 + 0.5
    height = y1 - y0
    length = height * rng.uniform(0.25, 0.55)
    angle = np.radians(rng.uniform(15.0, 45.0))  # below the horizontal, towards the left
    line = _segment(tx, ty, tx - length * np.cos(angle), ty + length * np.sin(angle), stroke_width(img) * rng.uniform(0.8, 1.1))
    return np.maximum(img, line.astype(img.dtype))


def add_style_variants(x: np.ndarray, labels: np.ndarray, seed: int, fraction: float = 0.35) -> np.ndarray:
    """Return a copy of float images (N, 28, 28[, 1]) where ``fraction`` of the zeros are
    slashed and ``fraction`` of the ones are flagged. ``labels`` are integers.

    A changed digit is normalised again (20×20 box, centre of mass) as a
    drawing with that extra stroke would be: an overshooting slash makes the
    oval smaller, a flag makes the one wider.
    """
    from .preprocess import EmptyInputError, image_to_tensor

    out = x.copy()
    flat = out.reshape(-1, 28, 28)
    rng = np.random.default_rng(seed)
    for digit, change in ((0, slash_zero), (1, flag_one)):
        idx = np.flatnonzero(labels == digit)
        chosen = idx[rng.random(len(idx)) < fraction]
        for i in chosen:
            try:
                flat[i] = image_to_tensor(change(flat[i], rng))
            except EmptyInputError:
                continue
    return out
