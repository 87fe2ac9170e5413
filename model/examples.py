"""Built-in drawings of the ten digits, made from simple curves.

Used by ``Digitscope --self-test`` to check that a build reads every digit, and
handy for demos. They are drawn the way a person draws with a mouse on the
app's 280×280 canvas: one or a few strokes, a round pen about 20 px wide.
"""

from __future__ import annotations

import numpy as np

from .curves import arc as _arc
from .curves import polyline as _line
from .drawing import Drawing, Stroke

CANVAS = 280
PEN = 19.6


def _pts(xy: np.ndarray) -> Stroke:
    return [(round(float(x), 1), round(float(y), 1)) for x, y in xy]


def _strokes(digit: int) -> list[np.ndarray]:
    if digit == 0:
        return [_arc(140, 140, 62, 95, -90, 272, 60)]
    if digit == 1:
        return [_line((118, 75), (152, 42), (147, 238))]
    if digit == 2:
        return [np.vstack([_arc(140, 100, 58, 52, 195, 375), _line((196, 120), (78, 236), (210, 236))])]
    if digit == 3:
        return [np.vstack([_arc(135, 92, 55, 48, 210, 450), _arc(135, 185, 62, 52, 270, 505)])]
    if digit == 4:
        return [_line((160, 42), (70, 170), (215, 170)), _line((175, 95), (170, 240))]
    if digit == 5:
        return [np.vstack([_line((205, 45), (100, 45), (90, 128)), _arc(138, 172, 62, 58, 235, 505)])]
    if digit == 6:
        return [np.vstack([_line((190, 42), (125, 90), (85, 170)), _arc(140, 185, 58, 52, 180, 540)])]
    if digit == 7:
        return [_line((70, 48), (210, 48), (115, 240))]
    if digit == 8:
        t = np.radians(np.linspace(0, 360, 80))
        return [np.column_stack([140 + 55 * np.sin(2 * t), 140 - 95 * np.cos(t)])]
    if digit == 9:
        return [np.vstack([_arc(135, 92, 55, 50, 0, 360), _line((190, 92), (180, 240))])]
    raise ValueError(f"no example for {digit!r}: digits are 0-9")


def example_drawing(digit: int) -> Drawing:
    """A clean, legible drawing of ``digit`` (0-9)."""
    return Drawing(CANVAS, CANVAS, PEN, [_pts(s) for s in _strokes(digit)])


def example_drawings() -> dict[int, Drawing]:
    """All ten digits, by digit."""
    return {d: example_drawing(d) for d in range(10)}


def example_dataset(per_digit: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``per_digit`` jittered copies of each example (random rotation, shear, scale and
    pen width) as MNIST-style uint8 images (N, 28, 28) and their labels (N,).

    A tiny stand-in for MNIST where a real training run must be exercised without
    the data set (the self-test)."""
    from .preprocess import drawing_to_tensor

    rng = np.random.default_rng(seed)
    images, labels = [], []
    for digit in range(10):
        base = example_drawing(digit)
        for _ in range(per_digit):
            angle = np.radians(rng.uniform(-12, 12))
            shear = rng.uniform(-0.2, 0.2)
            sx, sy = rng.uniform(0.8, 1.15, size=2)
            m = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]) @ np.array(
                [[sx, shear], [0.0, sy]]
            )
            strokes = [_pts((np.asarray(s) - CANVAS / 2) @ m.T + CANVAS / 2) for s in base.strokes]
            drawing = Drawing(CANVAS, CANVAS, PEN * rng.uniform(0.7, 1.3), strokes)
            images.append(np.round(drawing_to_tensor(drawing) * 255).astype(np.uint8))
            labels.append(digit)
    return np.stack(images), np.asarray(labels, dtype=np.uint8)
