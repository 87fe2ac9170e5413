"""What another writer, pen or tablet changes in a drawing, applied to its vectors.

A drawing keeps its strokes as vectors, so a variation can be made where the
writer makes it, before rendering: the slant and proportions of the whole
digit, a smooth wobble of the hand (elastic distortion), where each stroke is
put down after a pen lift, how the strokes start and end (hooks and tails cut),
the odd gap where the pen skipped, and the pen's width. The result is a
new :class:`~.drawing.Drawing`, rendered by the same pipeline as what the
user draws. Pure NumPy, deterministic for a generator's state.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .drawing import Drawing


@dataclass(frozen=True)
class StrokeAugmentConfig:
    """Ranges of the random changes. Lengths are shares of the digit's larger side."""

    rotation_deg: float = 12.0
    #: Slant: x moves by ``shear`` × (y from the centre), uniform in ±shear.
    shear: float = 0.3
    #: Width over height changes by a factor in [1 / (1 + aspect), 1 + aspect], log-uniform.
    aspect: float = 0.3
    #: Amplitude of the smooth displacement field (elastic distortion).
    elastic: float = 0.04
    #: Each stroke of a multi-stroke digit moves by up to this much (where the pen comes down again).
    stroke_shift: float = 0.035
    #: At most this share of a stroke's length is cut at either end.
    trim: float = 0.05
    #: Chance that a long stroke gets a small gap, as if the pen had skipped.
    gap: float = 0.06
    #: Pen width factor range, log-uniform.
    pen_low: float = 0.6
    pen_high: float = 1.7

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def augment_drawing(drawing: Drawing, rng: np.random.Generator, cfg: StrokeAugmentConfig = StrokeAugmentConfig()) -> Drawing:
    """A randomly changed copy of ``drawing`` (same canvas; never empty if the drawing is not)."""
    strokes = [np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in drawing.strokes if len(s)]
    if not strokes:
        return drawing
    allpts = np.concatenate(strokes)
    lo, hi = allpts.min(axis=0), allpts.max(axis=0)
    centre = (lo + hi) / 2.0
    size = max(float((hi - lo).max()), 1e-6)
    unit = [(s - centre) / size for s in strokes]

    unit = [_trim(s, rng, cfg.trim) for s in unit]
    if len(unit) > 1 and cfg.stroke_shift > 0:
        unit = [s + rng.uniform(-cfg.stroke_shift, cfg.stroke_shift, 2) for s in unit]
    unit = [piece for s in unit for piece in _maybe_gap(s, rng, cfg.gap)]
    field = _displacement_field(rng, cfg.elastic)
    matrix = _affine(rng, cfg)
    out = [((field(s)) @ matrix.T) * size + centre for s in unit]
    pen = drawing.pen_width * float(np.exp(rng.uniform(np.log(cfg.pen_low), np.log(cfg.pen_high))))
    return Drawing.trusted(drawing.width, drawing.height, pen, [[(float(x), float(y)) for x, y in s] for s in out])


def _affine(rng: np.random.Generator, cfg: StrokeAugmentConfig) -> np.ndarray:
    """Rotation @ slant @ aspect, as a 2×2 matrix acting on (x, y) columns."""
    angle = np.radians(rng.uniform(-cfg.rotation_deg, cfg.rotation_deg))
    shear = rng.uniform(-cfg.shear, cfg.shear)
    aspect = float(np.exp(rng.uniform(-np.log1p(cfg.aspect), np.log1p(cfg.aspect))))
    c, s = np.cos(angle), np.sin(angle)
    rotation = np.array([[c, -s], [s, c]])
    slant = np.array([[1.0, -shear], [0.0, 1.0]])  # y down: a positive shear leans the top to the right
    scale = np.diag([np.sqrt(aspect), 1.0 / np.sqrt(aspect)])
    return rotation @ slant @ scale


def _displacement_field(rng: np.random.Generator, amplitude: float) -> Any:
    """A smooth random field p ↦ p + d(p): three plane waves of about one cycle per digit, per axis."""
    if amplitude <= 0:
        return lambda p: p
    k = 3
    directions = rng.normal(size=(2, k, 2))
    directions /= np.linalg.norm(directions, axis=2, keepdims=True)
    freq = rng.uniform(0.5, 1.5, size=(2, k, 1)) * 2 * np.pi
    phase = rng.uniform(0, 2 * np.pi, size=(2, k))
    weight = rng.normal(0.0, amplitude / np.sqrt(k), size=(2, k))

    def apply(p: np.ndarray) -> np.ndarray:
        d = np.stack([(weight[a] * np.sin(p @ (directions[a] * freq[a]).T + phase[a])).sum(axis=1) for a in range(2)], axis=1)
        return p + d

    return apply


def _arc_length(s: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(s, axis=0).T))])


def _between(s: np.ndarray, arc: np.ndarray, a: float, b: float) -> np.ndarray:
    """The part of polyline ``s`` from arc length ``a`` to ``b`` (ends interpolated)."""
    inner = s[(arc > a) & (arc < b)]
    ends = np.column_stack([np.interp([a, b], arc, s[:, 0]), np.interp([a, b], arc, s[:, 1])])
    return np.vstack([ends[:1], inner, ends[1:]])


def _trim(s: np.ndarray, rng: np.random.Generator, share: float) -> np.ndarray:
    """Cut up to ``share`` of the stroke's length at each end (never a short stroke: a dot stays a dot)."""
    arc = _arc_length(s)
    total = arc[-1]
    if share <= 0 or len(s) < 3 or total < 0.25:
        return s
    a, b = rng.uniform(0, share, 2) * total
    return _between(s, arc, a, total - b)


def _maybe_gap(s: np.ndarray, rng: np.random.Generator, chance: float) -> list[np.ndarray]:
    """The stroke, or two pieces with a small gap between them (the pen skipped)."""
    arc = _arc_length(s)
    total = arc[-1]
    if chance <= 0 or total < 0.6 or rng.random() >= chance:
        return [s]
    middle = rng.uniform(0.3, 0.7) * total
    half = rng.uniform(0.015, 0.04)
    return [_between(s, arc, 0.0, middle - half), _between(s, arc, middle + half, total)]
