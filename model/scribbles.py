"""What a person draws to try the app that is no digit: scribbles, shapes, smileys, crossings-out.

Each kind is a parametric pen path in a unit box (x right, y down), drawn with a
random hand (proportions, stroke order and direction, wobble), then placed on
the synthesiser's canvas as :mod:`.style_synth` places its digits (longer side
196 px of 280, pen 10 % of the height) and varied by :mod:`.stroke_augment`.
Shapes that *are* a digit when drawn plainly (a lone circle is a 0, a lone bar
a 1) are left out on purpose. Pure NumPy; deterministic for a seed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .curves import arc, joined, polyline
from .drawing import Drawing
from .stroke_augment import StrokeAugmentConfig, augment_drawing
from .style_synth import to_drawing

Strokes = list[np.ndarray]
Kind = Callable[[np.random.Generator], Strokes]

#: Milder than the digits' augmentation: the shapes already vary a lot by themselves.
AUGMENT = StrokeAugmentConfig(rotation_deg=15.0, shear=0.2, aspect=0.25, elastic=0.03, gap=0.03)


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _maybe_reversed(rng: np.random.Generator, strokes: Strokes) -> Strokes:
    """Each stroke drawn either way, and the strokes in a random order."""
    out = [s[::-1] if rng.random() < 0.5 else s for s in strokes]
    order = rng.permutation(len(out))
    return [out[i] for i in order]


def _smooth_path(rng: np.random.Generator, knots: np.ndarray, n: int = 160) -> np.ndarray:
    """A smooth curve through ``knots`` (Catmull-Rom), ``n`` points."""
    p = np.vstack([knots[:1], knots, knots[-1:]])
    out = []
    per = max(2, n // max(len(knots) - 1, 1))
    t = np.linspace(0, 1, per, endpoint=False)[:, None]
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[i - 1], p[i], p[i + 1], p[i + 2]
        out.append(0.5 * (2 * p1 + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2 + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3))
    out.append(p[-2:-1])
    return np.vstack(out)


def scribble(rng: np.random.Generator) -> Strokes:
    """A tangle: one stroke wandering back and forth through many random points."""
    knots = rng.uniform(0.0, 1.0, (int(rng.integers(8, 16)), 2))
    return [_smooth_path(rng, knots, 220)]


def zigzag(rng: np.random.Generator) -> Strokes:
    """A zigzag of many teeth, horizontal or vertical."""
    teeth = int(rng.integers(5, 10))
    x = np.linspace(0, 1, teeth + 1)
    y = np.where(np.arange(teeth + 1) % 2 == 0, _u(rng, 0.0, 0.15), _u(rng, 0.35, 0.6)) + rng.normal(0, 0.03, teeth + 1)
    pts = np.column_stack([x, y])
    if rng.random() < 0.4:
        pts = pts[:, ::-1]
    return [polyline(*map(tuple, pts), n=8)]


def smiley(rng: np.random.Generator) -> Strokes:
    """A face: the outline, two eyes and a smile (any order)."""
    r = _u(rng, 0.44, 0.5)
    start = _u(rng, 0, 360)
    face = arc(0.5, 0.5, r, r * _u(rng, 0.9, 1.1), start, start + _u(rng, 340, 370), 48)
    ey, ex = _u(rng, 0.32, 0.42), _u(rng, 0.13, 0.2)
    er = _u(rng, 0.025, 0.06)
    eyes = [arc(0.5 + s * ex, ey, er, er, 0, 360, 12) for s in (-1, 1)]
    mouth = arc(0.5, _u(rng, 0.5, 0.58), _u(rng, 0.18, 0.27), _u(rng, 0.1, 0.18), _u(rng, 15, 35), _u(rng, 145, 165), 20)
    return _maybe_reversed(rng, [face, *eyes, mouth])


def star(rng: np.random.Generator) -> Strokes:
    """A five-pointed star in one stroke (the pentagram)."""
    a0 = -90 + _u(rng, -12, 12)
    ang = np.radians(a0 + 144 * np.arange(6))
    pts = np.column_stack([0.5 + 0.5 * np.cos(ang), 0.5 + 0.5 * np.sin(ang)]) + rng.normal(0, 0.02, (6, 2))
    return [polyline(*map(tuple, pts), n=10)]


def house(rng: np.random.Generator) -> Strokes:
    """A square with a roof, as a child draws it: in one stroke or box and roof apart."""
    top, eave = 0.0, _u(rng, 0.35, 0.5)
    left, right = _u(rng, 0.0, 0.1), _u(rng, 0.9, 1.0)
    peak = (_u(rng, 0.4, 0.6), top)
    box = polyline((left, eave), (left, 1.0), (right, 1.0), (right, eave), (left, eave), n=10)
    roof = polyline((left, eave), peak, (right, eave), n=10)
    if rng.random() < 0.5:
        return [joined(box, roof)]
    return _maybe_reversed(rng, [box, roof])


def x_mark(rng: np.random.Generator) -> Strokes:
    """Two crossing diagonals (an X mark or a cross), wide or narrow."""
    w = _u(rng, 0.6, 1.0)
    a = polyline((0.5 - w / 2, _u(rng, 0, 0.1)), (0.5 + w / 2, _u(rng, 0.9, 1.0)), n=16)
    b = polyline((0.5 + w / 2, _u(rng, 0, 0.1)), (0.5 - w / 2, _u(rng, 0.9, 1.0)), n=16)
    if rng.random() < 0.4:  # an upright cross (+), its bar anywhere from the middle up
        y = _u(rng, 0.3, 0.55)
        a = polyline((0.5, 0.0), (0.5 + _u(rng, -0.05, 0.05), 1.0), n=16)
        b = polyline((_u(rng, 0.0, 0.15), y), (_u(rng, 0.85, 1.0), y + _u(rng, -0.05, 0.05)), n=16)
    return _maybe_reversed(rng, [a, b])


def hash_mark(rng: np.random.Generator) -> Strokes:
    """A hash sign: two slanted verticals and two horizontals."""
    lean = _u(rng, 0.0, 0.15)
    strokes = []
    for x in (_u(rng, 0.25, 0.38), _u(rng, 0.62, 0.75)):
        strokes.append(polyline((x + lean, 0.0), (x - lean, 1.0), n=14))
    for y in (_u(rng, 0.25, 0.38), _u(rng, 0.6, 0.75)):
        strokes.append(polyline((0.0, y), (1.0, y + _u(rng, -0.05, 0.05)), n=14))
    return _maybe_reversed(rng, strokes)


def crossing_out(rng: np.random.Generator) -> Strokes:
    """Ink to strike something out: back-and-forth hatching in one stroke, or parallel bars."""
    rows = int(rng.integers(4, 8))
    ys = np.linspace(0.0, _u(rng, 0.5, 1.0), rows) + rng.normal(0, 0.02, rows)
    if rng.random() < 0.6:
        pts = [((0.0 if i % 2 == 0 else 1.0) + _u(rng, -0.05, 0.05), y) for i, y in enumerate(ys)]
        return [polyline(*pts, n=10)]
    return [polyline((_u(rng, 0, 0.1), y), (_u(rng, 0.9, 1.0), y + _u(rng, -0.04, 0.04)), n=12) for y in ys]


def spiral(rng: np.random.Generator) -> Strokes:
    """A spiral of two to four turns, either way."""
    turns = _u(rng, 2.0, 4.0)
    t = np.linspace(0, turns * 2 * np.pi, int(60 * turns))
    r = 0.5 * (t / t[-1]) ** _u(rng, 0.8, 1.2)
    sign = 1.0 if rng.random() < 0.5 else -1.0
    pts = np.column_stack([0.5 + r * np.cos(sign * t), 0.5 + r * np.sin(sign * t) * _u(rng, 0.8, 1.1)])
    return [pts if rng.random() < 0.7 else pts[::-1]]


def boxed_cross(rng: np.random.Generator) -> Strokes:
    """A square (or rectangle) with one or both diagonals."""
    w, h = _u(rng, 0.6, 1.0), _u(rng, 0.6, 1.0)
    x0, y0 = (1 - w) / 2, (1 - h) / 2
    box = polyline((x0, y0), (x0 + w, y0), (x0 + w, y0 + h), (x0, y0 + h), (x0, y0), n=10)
    strokes = [box, polyline((x0, y0), (x0 + w, y0 + h), n=16)]
    if rng.random() < 0.7:
        strokes.append(polyline((x0 + w, y0), (x0, y0 + h), n=16))
    return _maybe_reversed(rng, strokes)


def random_walk(rng: np.random.Generator) -> Strokes:
    """A jagged random walk: straight steps at random angles, one or two strokes."""
    strokes = []
    for _ in range(int(rng.integers(1, 3))):
        steps = int(rng.integers(8, 20))
        pts = np.cumsum(rng.normal(0, 1, (steps, 2)), axis=0)
        strokes.append(polyline(*map(tuple, pts), n=5))
    return strokes


#: The kinds, by name; :func:`scribble_drawings` draws them in equal shares.
KINDS: dict[str, Kind] = {
    "scribble": scribble,
    "zigzag": zigzag,
    "smiley": smiley,
    "star": star,
    "house": house,
    "x mark": x_mark,
    "hash": hash_mark,
    "crossing out": crossing_out,
    "spiral": spiral,
    "boxed cross": boxed_cross,
    "random walk": random_walk,
}


def scribble_drawing(kind: str, rng: np.random.Generator, augment: StrokeAugmentConfig | None = AUGMENT) -> Drawing:
    """One drawing of ``kind`` (a key of :data:`KINDS`), varied by ``augment`` (None: as generated)."""
    drawing = to_drawing(KINDS[kind](rng))
    return augment_drawing(drawing, rng, augment) if augment is not None else drawing


def scribble_drawings(count: int, seed: int, augment: StrokeAugmentConfig | None = AUGMENT) -> tuple[list[Drawing], list[str]]:
    """``count`` no-digit drawings, the kinds in equal shares (in turn), and each one's kind."""
    rng = np.random.default_rng(seed)
    names = list(KINDS)
    kinds = [names[i % len(names)] for i in range(count)]
    return [scribble_drawing(k, rng, augment) for k in kinds], kinds
