"""The drawing canvas on screen: a stroke in progress repaints only around its new segment."""

from __future__ import annotations

import math

import numpy as np
from digitscope.app.canvas import DrawingCanvas
from helpers import shown
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QImage, QRegion
from PySide6.QtTest import QTest


def rendered(canvas: DrawingCanvas, region: QRect | None = None) -> np.ndarray:
    """The canvas painted into an image, the whole of it or only ``region`` (as a paint event would)."""
    image = QImage(canvas.size(), QImage.Format.Format_RGB32)
    image.fill(0xFF00FF)  # magenta: anything left unpainted shows
    if region is None:
        canvas.render(image)
    else:
        canvas.render(image, region.topLeft(), QRegion(region))  # the region lands where it lies
    return np.frombuffer(image.constBits(), np.uint32).reshape(image.height(), image.bytesPerLine() // 4)[:, : image.width()].copy()


def test_a_repainted_part_of_a_stroke_in_progress_matches_the_whole(qtbot):
    canvas = shown(qtbot, DrawingCanvas(), 320, 320)
    # a spiral that crosses itself: older segments pass through the newest one's neighbourhood
    pts = [canvas.to_widget(140 + r * math.cos(t), 140 + r * math.sin(t)).toPoint()
           for t, r in ((i * 0.35, 30 + 2.2 * i) for i in range(48))]
    pts += [canvas.to_widget(40 + 5 * i, 140).toPoint() for i in range(40)]  # straight across the spiral
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pts[0])
    for p in pts[1:]:
        QTest.mouseMove(canvas, p)
    assert canvas._current is not None and len(canvas._current) > 60, "still drawing"
    whole = rendered(canvas)
    assert (whole == (0xFF111111 & 0xFFFFFFFF)).sum() > 1000, "the stroke is on the canvas"
    for i in range(50, len(pts) - 1, 3):  # each as a mouse move would repaint it: around one new segment
        a, b = pts[i], pts[i + 1]
        margin = int(canvas.pen_width * canvas.square().width() / 280 / 2 + 3)
        region = QRect(a, b).normalized().adjusted(-margin, -margin, margin, margin)
        part = rendered(canvas, region)
        r = region.intersected(canvas.rect())
        np.testing.assert_array_equal(part[r.top(): r.bottom() + 1, r.left(): r.right() + 1],
                                      whole[r.top(): r.bottom() + 1, r.left(): r.right() + 1], err_msg=f"segment {i}")
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pts[-1])
