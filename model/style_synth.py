"""A synthesiser of the well-known writing variants of each digit, as vector drawings.

MNIST's writers were American school children and clerks; other writers draw
styles it lacks: zeros with a stroke through them in any direction (Ø, ϕ, θ),
the continental one with a long up-stroke flag and a foot, the crossed seven,
a five whose top bar is a separate stroke lifted off the body, fours written
open or in one stroke, eights with a small or open top loop, nines with a
straight or a curled stem. Each variant here is a parametric pen path in a
unit box (x right, y down, the digit 1 tall), its proportions drawn at random
within the range people write them; :mod:`.stroke_augment` then varies slant,
proportions, wobble, pen lifts and weight, and the result is rendered by the
app's own drawing pipeline.

Real drawings can be given a variant too (:func:`restyle`): a stroke through a
zero, a flag or a foot on a one, a bar across a seven, added where the writer
would put it. How far those strokes reach is a :class:`Reach`: the CNN's
(:data:`READING`) or the verdict's, which goes further (:data:`VERDICT`).
Pure NumPy; deterministic for a seed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .curves import arc, bezier, joined, polyline
from .drawing import Drawing
from .stroke_augment import StrokeAugmentConfig, augment_drawing

Strokes = list[np.ndarray]
Variant = Callable[[np.random.Generator], Strokes]

#: The canvas the synthesised drawings are made on, sized as the unipen drawings are:
#: the digit's longer side 70 % of the canvas, the pen 10 % of the digit's height.
CANVAS = 280.0
HEIGHT = 196.0
PEN_SHARE = 0.1


@dataclass(frozen=True)
class Reach:
    """How far the regional strokes may reach, for the crossed zero and the flagged one."""

    #: Share of crossed zeros that are round (small and round, as some writers slash them).
    zero_round: float
    #: A crossed zero's stroke reaches up to this many times the loop's radius from its centre.
    zero_stroke: float
    #: A continental one's long flag: up to this share of the stem, at up to this many degrees
    #: below the horizontal.
    flag_length: float
    flag_angle: float
    #: The same for a real drawing given a variant (:func:`restyle`): the stroke through a
    #: zero, in radii; the flag on a one, as a share of its height, and its angle.
    restyle_stroke: float
    restyle_flag_length: float
    restyle_flag_angle: float


#: The CNN's: the forms as most writers draw them. Further, a slashed zero and a Λ-like one
#: pull the CNN's boundaries away from MNIST's eights and sevens (measured: MNIST test and the
#: MNIST PNGs both lower).
READING = Reach(0.0, 1.6, 0.8, 65.0, 1.5, 0.5, 60.0)
#: The verdict's: a digit is a digit however far its strokes reach, so the verdict also sees
#: round zeros slashed far past the loop and one-flags nearly as long and as steep as the stem.
VERDICT = Reach(0.4, 2.3, 0.95, 75.0, 2.3, 0.9, 75.0)


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _sign(rng: np.random.Generator) -> float:
    return 1.0 if rng.random() < 0.5 else -1.0


def _through(cx: float, cy: float, angle_deg: float, half: float) -> np.ndarray:
    """A straight stroke of length 2·half through (cx, cy) at ``angle_deg`` (0 = horizontal)."""
    a = np.radians(angle_deg)
    d = np.array([np.cos(a), np.sin(a)]) * half
    return polyline((cx - d[0], cy - d[1]), (cx + d[0], cy + d[1]), n=16)


# ----------------------------------------------------------------------------- 0


def _oval(rng: np.random.Generator, round_: bool = False) -> tuple[np.ndarray, float, float]:
    """A zero's loop and its radii; ``round_``: a circle, begun anywhere."""
    if round_:
        rx = ry = _u(rng, 0.3, 0.45)
        start = _u(rng, 0, 360)
    else:
        rx, ry = _u(rng, 0.2, 0.34), _u(rng, 0.42, 0.5)
        start = -90 + _u(rng, -40, 40)
    sweep = _sign(rng) * _u(rng, 335, 385)  # a small gap or overlap where it closes
    return arc(0.5, 0.5, rx, ry, start, start + sweep, 48), rx, ry


def zero_plain(rng: np.random.Generator) -> Strokes:
    return [_oval(rng)[0]]


def zero_crossed(rng: np.random.Generator, reach: Reach = READING) -> Strokes:
    """A zero, oval or round, with a straight stroke through it in any direction: Ø (diagonal),
    ϕ (vertical, beyond the loop), θ (a bar inside, or beyond)."""
    loop, rx, ry = _oval(rng, round_=reach.zero_round > 0 and rng.random() < reach.zero_round)
    angle = _u(rng, 0, 180)
    # how far the stroke reaches, as a share of the loop's radius along that direction
    a = np.radians(angle)
    radius = 1.0 / np.hypot(np.cos(a) / rx, np.sin(a) / ry)
    half = radius * (_u(rng, 0.55, 1.0) if rng.random() < 0.3 else _u(rng, 1.0, reach.zero_stroke))
    bar = _through(0.5 + _u(rng, -0.04, 0.04), 0.5 + _u(rng, -0.05, 0.05), angle, half)
    if rng.random() < 0.5:
        bar = bar[::-1]
    return [loop, bar]


# ----------------------------------------------------------------------------- 1


def _stem(rng: np.random.Generator) -> tuple[tuple[float, float], tuple[float, float]]:
    lean = _u(rng, -0.12, 0.12)
    return (0.5 + lean, 0.0), (0.5 - lean, 1.0)


def one_plain(rng: np.random.Generator) -> Strokes:
    top, bottom = _stem(rng)
    return [polyline(top, bottom, n=20)]


def _flag(rng: np.random.Generator, top: tuple[float, float], long: bool, reach: Reach) -> tuple[float, float]:
    """Where the up-stroke starts: below and left of the top; the continental flag is long and steep."""
    length = _u(rng, 0.3, reach.flag_length) if long else _u(rng, 0.12, 0.3)
    angle = np.radians(_u(rng, 30, reach.flag_angle) if long else _u(rng, 15, 55))  # below the horizontal
    return top[0] - length * np.cos(angle), top[1] + length * np.sin(angle)


def one_flagged(rng: np.random.Generator, reach: Reach = READING) -> Strokes:
    """A one with an up-stroke flag, short or long (continental), drawn without lifting the pen."""
    top, bottom = _stem(rng)
    start = _flag(rng, top, rng.random() < 0.6, reach)
    return [polyline(start, top, bottom, n=16)]


def one_footed(rng: np.random.Generator, reach: Reach = READING) -> Strokes:
    """A one with a foot (a horizontal base), with or without a flag."""
    top, bottom = _stem(rng)
    stem = polyline(_flag(rng, top, rng.random() < 0.5, reach), top, bottom, n=16) if rng.random() < 0.8 else polyline(top, bottom, n=20)
    half = _u(rng, 0.12, 0.3)
    shift = _u(rng, -0.06, 0.06)
    foot = polyline((bottom[0] - half + shift, bottom[1]), (bottom[0] + half + shift, bottom[1] + _u(rng, -0.03, 0.03)), n=12)
    return [stem, foot]


# ----------------------------------------------------------------------------- 2


def _two_top(rng: np.random.Generator) -> np.ndarray:
    r = _u(rng, 0.24, 0.32)
    return arc(0.5, 0.05 + r, r, _u(rng, 0.22, 0.32), _u(rng, 180, 215), _u(rng, 370, 395), 28)


def two_plain(rng: np.random.Generator) -> Strokes:
    top = _two_top(rng)
    corner = (_u(rng, 0.15, 0.3), _u(rng, 0.92, 1.0))
    end = (_u(rng, 0.7, 0.88), _u(rng, 0.9, 1.0))
    return [joined(top, polyline(tuple(top[-1]), corner, end, n=14))]


def two_looped(rng: np.random.Generator) -> Strokes:
    """A two with a small loop where the diagonal meets the base."""
    top = _two_top(rng)
    r = _u(rng, 0.05, 0.18)
    cx, cy = _u(rng, 0.22, 0.32), 1.0 - r
    down = polyline(tuple(top[-1]), (cx + r * 0.7, cy - r * 0.7), n=14)
    loop = arc(cx, cy, r * 1.1, r, -45, -45 - 300, 16)
    base = polyline(tuple(loop[-1]), (_u(rng, 0.72, 0.9), _u(rng, 0.92, 1.0)), n=10)
    return [joined(top, down, loop, base)]


# ----------------------------------------------------------------------------- 3


def three_round(rng: np.random.Generator) -> Strokes:
    mid = _u(rng, 0.42, 0.52)
    upper = arc(0.47, mid / 2, _u(rng, 0.2, 0.28), mid / 2, _u(rng, 200, 235), 450, 26)
    lower_r = (1.0 - mid) / 2
    lower = arc(0.47, mid + lower_r, _u(rng, 0.24, 0.32), lower_r, 270, _u(rng, 480, 510), 28)
    if rng.random() < 0.25:  # two strokes: the pen lifted in the middle
        return [upper, lower]
    return [joined(upper, lower)]


def three_flat_top(rng: np.random.Generator) -> Strokes:
    """A three whose top is a straight bar and a diagonal (as in Ʒ)."""
    mid = _u(rng, 0.4, 0.5)
    right = _u(rng, 0.7, 0.82)
    top = polyline((_u(rng, 0.18, 0.3), 0.0), (right, 0.0), (_u(rng, 0.4, 0.5), mid), n=12)
    lower_r = (1.0 - mid) / 2
    lower = arc(0.47, mid + lower_r, _u(rng, 0.24, 0.32), lower_r, 270, _u(rng, 480, 510), 28)
    return [joined(top, lower)]


# ----------------------------------------------------------------------------- 4


def four_closed(rng: np.random.Generator) -> Strokes:
    stem_x = _u(rng, 0.55, 0.7)
    bar_y = _u(rng, 0.58, 0.72)
    arm = polyline(
        (stem_x + _u(rng, -0.08, 0.02), _u(rng, 0.0, 0.1)),
        (_u(rng, 0.1, 0.22), bar_y),
        (_u(rng, 0.8, 0.92), bar_y + _u(rng, -0.03, 0.03)),
        n=14,
    )
    stem = polyline((stem_x, _u(rng, 0.0, 0.25)), (stem_x - _u(rng, -0.04, 0.06), 1.0), n=16)
    return [arm, stem]


def four_open(rng: np.random.Generator) -> Strokes:
    """A four with an open top: an L and a separate stem, parallel."""
    stem_x = _u(rng, 0.58, 0.72)
    bar_y = _u(rng, 0.5, 0.68)
    left_x = _u(rng, 0.15, 0.3)
    arm = polyline((left_x + _u(rng, -0.02, 0.1), 0.0), (left_x, bar_y), (_u(rng, 0.8, 0.95), bar_y + _u(rng, -0.03, 0.03)), n=14)
    stem = polyline((stem_x, _u(rng, -0.05, 0.1)), (stem_x - _u(rng, -0.04, 0.06), 1.0), n=16)
    return [arm, stem]


def four_one_stroke(rng: np.random.Generator) -> Strokes:
    """A four in one stroke: down, across, up to the top of the stem, and down it."""
    stem_x = _u(rng, 0.58, 0.72)
    bar_y = _u(rng, 0.5, 0.68)
    left_x = _u(rng, 0.12, 0.3)
    over = _u(rng, 0.0, 0.15)
    path = polyline(
        (left_x + _u(rng, -0.02, 0.15), 0.0), (left_x, bar_y), (stem_x + over, bar_y),
        (stem_x + _u(rng, -0.03, 0.03), _u(rng, 0.0, 0.1)), (stem_x - _u(rng, -0.04, 0.06), 1.0), n=12,
    )
    return [path]


# ----------------------------------------------------------------------------- 5


def _five_body(rng: np.random.Generator) -> tuple[np.ndarray, tuple[float, float]]:
    """The stem and the belly, from the top of the stem; returns the path and the stem's top."""
    top = (_u(rng, 0.22, 0.36), _u(rng, 0.0, 0.06))
    neck = (top[0] - _u(rng, 0.0, 0.06), _u(rng, 0.38, 0.5))
    ry = (1.0 - neck[1]) / 2 + 0.02
    belly = arc(0.5, 1.0 - ry, _u(rng, 0.25, 0.32), ry, 235, _u(rng, 470, 500), 28)
    return joined(polyline(top, tuple(belly[0]), n=10), belly), top


def five_joined(rng: np.random.Generator) -> Strokes:
    """A five in one stroke: the bar from right to left, down the stem, round the belly."""
    body, top = _five_body(rng)
    bar = polyline((_u(rng, 0.7, 0.85), top[1] + _u(rng, -0.04, 0.02)), top, n=10)
    return [joined(bar, body)]


def five_bar_after(rng: np.random.Generator) -> Strokes:
    """A five whose top bar is a second stroke, touching the stem or lifted off it."""
    body, top = _five_body(rng)
    lifted = rng.random() < 0.6
    dx = _u(rng, 0.04, 0.16) if lifted else _u(rng, -0.03, 0.02)
    dy = -_u(rng, 0.03, 0.14) if lifted else _u(rng, -0.02, 0.02)
    start = (top[0] + dx, top[1] + dy)
    bar = polyline(start, (start[0] + _u(rng, 0.35, 0.55), start[1] + _u(rng, -0.05, 0.04)), n=10)
    return [body, bar]


# ----------------------------------------------------------------------------- 6


def six(rng: np.random.Generator) -> Strokes:
    r = _u(rng, 0.2, 0.28)
    cy = 1.0 - r
    start = (_u(rng, 0.55, 0.78), 0.0)
    left = (0.5 - r * 1.05, cy)
    if rng.random() < 0.5:
        stem = bezier(start, (start[0] - 0.25, 0.08), (left[0] - 0.02, cy - 0.35), left)
    else:
        stem = polyline(start, left, n=16)
    loop = arc(0.5, cy, r, r * _u(rng, 0.85, 1.05), 180, _u(rng, -170, -140), 30)
    return [joined(stem, loop)]


# ----------------------------------------------------------------------------- 7


def _seven_path(rng: np.random.Generator) -> tuple[np.ndarray, tuple[float, float], tuple[float, float]]:
    left = (_u(rng, 0.1, 0.25), _u(rng, -0.02, 0.06))
    corner = (_u(rng, 0.78, 0.9), 0.0)
    foot = (_u(rng, 0.2, 0.55), 1.0)
    points = [left, corner, foot]
    if rng.random() < 0.25:  # a serif: a short tick down at the start of the bar
        points.insert(0, (left[0] - 0.02, left[1] + _u(rng, 0.1, 0.2)))
    return polyline(*points, n=14), corner, foot


def seven_plain(rng: np.random.Generator) -> Strokes:
    return [_seven_path(rng)[0]]


def seven_crossed(rng: np.random.Generator) -> Strokes:
    """A seven with a bar across its stem (some almost a Z with a bar)."""
    path, corner, foot = _seven_path(rng)
    y = _u(rng, 0.45, 0.62)
    x = corner[0] + (foot[0] - corner[0]) * y
    half = _u(rng, 0.12, 0.26)
    return [path, _through(x + _u(rng, -0.06, 0.06), y, _u(rng, -12, 12), half)]


# ----------------------------------------------------------------------------- 8


def eight_one_stroke(rng: np.random.Generator) -> Strokes:
    """A figure eight in one stroke; the top loop may be small, or left open."""
    t0 = _u(rng, 0.0, 0.9) if rng.random() < 0.35 else 0.0  # > 0: the top loop is left open
    t = np.linspace(t0, 2 * np.pi - (_u(rng, 0.0, 0.6) if t0 else 0.0), 72)
    cross = _u(rng, 0.3, 0.52)  # where the loops meet; small values make a small top loop
    top_w, bottom_w = _u(rng, 0.13, 0.24), _u(rng, 0.2, 0.28)
    y = 0.5 - 0.5 * np.cos(t)  # 0 at the top, 1 at the bottom
    y = np.where(y < 0.5, y / 0.5 * cross, cross + (y - 0.5) / 0.5 * (1.0 - cross))
    width = np.where(y < cross, top_w, bottom_w)
    x = 0.5 + _sign(rng) * width * np.sin(2 * t)
    return [np.column_stack([x, y])]


def eight_two_loops(rng: np.random.Generator) -> Strokes:
    """An eight of two loops, one on the other (drawn as two strokes)."""
    cross = _u(rng, 0.36, 0.5)
    top = arc(0.5 + _u(rng, -0.04, 0.04), cross / 2, _u(rng, 0.12, 0.22), cross / 2, -90, -90 + _sign(rng) * 360, 32)
    br = (1.0 - cross) / 2
    bottom = arc(0.5, cross + br, _u(rng, 0.2, 0.28), br, -90, -90 + _sign(rng) * 360, 36)
    return [top, bottom]


# ----------------------------------------------------------------------------- 9


def nine(rng: np.random.Generator) -> Strokes:
    """A loop and a stem: straight, slanted, or curled to the left at the foot (as in g), the
    curl short or sweeping far left; one stroke or two."""
    r = _u(rng, 0.14, 0.28)
    ry = _u(rng, 0.13, 0.26)
    cx, cy = 0.5, ry
    right = cx + r
    loop = arc(cx, cy, r, ry, _u(rng, -10, 10), -360 + _u(rng, -20, 10), 32)
    foot_x = right - _u(rng, -0.05, 0.2)
    if rng.random() < 0.45:
        bottom = _u(rng, 0.85, 1.0)
        hook = (foot_x - _u(rng, 0.15, 0.7), _u(rng, 0.65, 1.0))
        stem = bezier((right, cy), (right + _u(rng, -0.05, 0.05), 0.6), (foot_x, bottom + 0.1), hook)
    else:
        stem = polyline((right, cy), (foot_x, 1.0), n=16)
    if rng.random() < 0.3:
        return [loop, stem]
    return [joined(loop, stem)]


#: The variants of each digit, by name; the synthesiser draws them in equal shares.
VARIANTS: dict[int, dict[str, Variant]] = {
    0: {"plain": zero_plain, "crossed": zero_crossed},
    1: {"plain": one_plain, "flagged": one_flagged, "footed": one_footed},
    2: {"plain": two_plain, "looped": two_looped},
    3: {"round": three_round, "flat top": three_flat_top},
    4: {"closed": four_closed, "open": four_open, "one stroke": four_one_stroke},
    5: {"joined": five_joined, "bar after": five_bar_after},
    6: {"plain": six},
    7: {"plain": seven_plain, "crossed": seven_crossed},
    8: {"one stroke": eight_one_stroke, "two loops": eight_two_loops},
    9: {"plain": nine},
}
#: The variants whose strokes a :class:`Reach` bounds (they take it as a second argument).
_REACHING = frozenset({zero_crossed, one_flagged, one_footed})


def to_drawing(strokes: Strokes) -> Drawing:
    """Unit-box strokes on the synthesiser's canvas, the digit ``HEIGHT`` tall and centred."""
    pts = np.concatenate(strokes)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    scale = HEIGHT / max(float((hi - lo).max()), 1e-6)
    centre = (lo + hi) / 2.0
    out = [[(float(x), float(y)) for x, y in (s - centre) * scale + CANVAS / 2] for s in strokes]
    return Drawing.trusted(CANVAS, CANVAS, PEN_SHARE * HEIGHT, out)


def synth_drawing(
    digit: int, variant: str, rng: np.random.Generator, augment: StrokeAugmentConfig | None = StrokeAugmentConfig(),
    reach: Reach = READING,
) -> Drawing:
    """One drawing of ``digit`` in ``variant`` (a key of ``VARIANTS[digit]``), varied by ``augment``."""
    make = VARIANTS[digit][variant]
    drawing = to_drawing(make(rng, reach) if make in _REACHING else make(rng))
    return augment_drawing(drawing, rng, augment) if augment is not None else drawing


def synth_tensors(
    count: int, seed: int, augment: StrokeAugmentConfig = StrokeAugmentConfig(), reach: Reach = READING
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` synthesised digits as 28×28 tensors (N, 28, 28) float32 and their labels (N,) int64:
    the digits in equal shares, each digit's variants in equal shares."""
    from .preprocess import EmptyInputError, drawing_to_tensor

    rng = np.random.default_rng(seed)
    images = np.zeros((count, 28, 28), np.float32)
    labels = np.arange(count, dtype=np.int64) % 10
    for i, digit in enumerate(labels):
        names = list(VARIANTS[int(digit)])
        while True:
            try:
                images[i] = drawing_to_tensor(synth_drawing(int(digit), names[int(rng.integers(len(names)))], rng, augment, reach))
                break
            except EmptyInputError:  # an augmented path shrunk to a dot: draw another
                continue
    return images, labels


# ----------------------------------------------------------------------------- real drawings


def _box(drawing: Drawing) -> tuple[np.ndarray, np.ndarray]:
    pts = np.concatenate([np.asarray(s, dtype=float).reshape(-1, 2) for s in drawing.strokes if len(s)])
    return pts.min(axis=0), pts.max(axis=0)


def _crossings(drawing: Drawing, y: float) -> list[float]:
    """The x of every place the strokes cross the horizontal line at ``y``."""
    xs: list[float] = []
    for s in drawing.strokes:
        p = np.asarray(s, dtype=float).reshape(-1, 2)
        for (x0, y0), (x1, y1) in zip(p[:-1], p[1:]):
            if (y0 - y) * (y1 - y) <= 0 and y0 != y1:
                xs.append(x0 + (x1 - x0) * (y - y0) / (y1 - y0))
    return xs


def _with(drawing: Drawing, strokes: list[np.ndarray], prepend_first: np.ndarray | None = None) -> Drawing:
    old = [list(s) for s in drawing.strokes if len(s)]
    if prepend_first is not None:
        old[0] = [(float(x), float(y)) for x, y in prepend_first] + old[0]
    new = old + [[(float(x), float(y)) for x, y in s] for s in strokes]
    return Drawing.trusted(drawing.width, drawing.height, drawing.pen_width, new)


def restyle(drawing: Drawing, label: int, rng: np.random.Generator, reach: Reach = READING) -> Drawing:
    """``drawing`` of ``label`` given another regional variant where one exists: a stroke through
    a zero (any direction), a flag and or a foot on a one, a bar across a seven. Other digits,
    and drawings that already have more than one stroke, come back unchanged."""
    if label not in (0, 1, 7) or drawing.is_empty or len([s for s in drawing.strokes if len(s)]) > 1:
        return drawing
    lo, hi = _box(drawing)
    (w, h), centre = hi - lo, (lo + hi) / 2
    if label == 0:
        angle = _u(rng, 0, 180)
        a = np.radians(angle)
        radius = 1.0 / np.hypot(np.cos(a) / max(w / 2, 1e-6), np.sin(a) / max(h / 2, 1e-6))
        return _with(drawing, [_through(centre[0], centre[1], angle, radius * _u(rng, 0.6, reach.restyle_stroke))])
    if label == 1:
        first = np.asarray(drawing.strokes[0], dtype=float)
        top = first[np.argmin(first[:, 1])]
        strokes = []
        flag = None
        if rng.random() < 0.75:
            length = h * _u(rng, 0.15, reach.restyle_flag_length)
            angle = np.radians(_u(rng, 15, reach.restyle_flag_angle))
            start = top + length * np.array([-np.cos(angle), np.sin(angle)])
            flag = polyline(tuple(start), tuple(top), n=8)[:-1]
        if flag is None or rng.random() < 0.5:
            bottom = first[np.argmax(first[:, 1])]
            half = h * _u(rng, 0.12, 0.3)
            strokes.append(polyline((bottom[0] - half, bottom[1]), (bottom[0] + half, bottom[1]), n=10))
        starts_on_top = np.argmin(first[:, 1]) < len(first) / 4
        if flag is not None and starts_on_top:
            return _with(drawing, strokes, prepend_first=flag)
        return _with(drawing, strokes + ([flag] if flag is not None else []))
    y = lo[1] + h * _u(rng, 0.42, 0.62)
    xs = _crossings(drawing, y)
    if not xs:
        return drawing
    x = float(np.mean(xs))
    return _with(drawing, [_through(x, y, _u(rng, -12, 12), max(w, h) * _u(rng, 0.12, 0.25))])
