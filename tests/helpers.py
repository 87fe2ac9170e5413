"""Drawings made by the tests, a widget put on screen, and float32 tolerances."""

from __future__ import annotations

import math

import numpy as np
import pytest
from digitscope.model.drawing import Drawing

#: How closely two float32 results of one computation agree when they are reached by different
#: routes (NumPy vs Keras, another BLAS kernel, thread count or CPU): a few float32 ulps of the
#: largest terms summed, never bit for bit. Loose enough for any x86-64 CPU, tight enough that a
#: wrong weight, bias, channel or index (errors of 1e-2 and more) still fails.
F32_RTOL = 1e-4
F32_ATOL = 1e-5


def assert_f32_close(actual, expected) -> None:
    """Arrays equal within float32 arithmetic's reach (see :data:`F32_RTOL`)."""
    np.testing.assert_allclose(actual, expected, rtol=F32_RTOL, atol=F32_ATOL)


def approx_f32(expected):
    """``pytest.approx`` for a float32 result (see :data:`F32_RTOL`)."""
    return pytest.approx(expected, rel=F32_RTOL, abs=F32_ATOL)


def vertical_stroke(width: float = 280, height: float = 280, pen: float = 18) -> Drawing:
    return Drawing(width, height, pen, [[(140.0, 50.0 + 4 * i) for i in range(46)]])


def loop(cx: float = 140, cy: float = 140, rx: float = 60, ry: float = 90, pen: float = 18, size: float = 280) -> Drawing:
    pts = [(cx + rx * math.sin(t / 40 * 2 * math.pi), cy - ry * math.cos(t / 40 * 2 * math.pi)) for t in range(41)]
    return Drawing(size, size, pen, [pts])


def seven(scale: float = 1.0, dx: float = 0.0, dy: float = 0.0, pen: float = 18.0, size: float = 280.0) -> Drawing:
    pts = [(80, 60), (200, 60), (180, 110), (150, 170), (130, 230)]
    return Drawing(size, size, pen * scale, [[(x * scale + dx, y * scale + dy) for x, y in pts]])


def transformed(d: Drawing, scale: float, dx: float, dy: float, canvas: float) -> Drawing:
    return Drawing(
        canvas, canvas, d.pen_width * scale, [[(x * scale + dx, y * scale + dy) for x, y in s] for s in d.strokes]
    )


def shown(qtbot, widget, width: int, height: int):
    """``widget`` at ``width``×``height``, shown and on screen (closed when the test ends)."""
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    return widget
