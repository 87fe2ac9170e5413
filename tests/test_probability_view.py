"""The probability bars as they reach the screen: heights, the top bar's colour, two models side by side."""

from __future__ import annotations

import numpy as np
from digitscope.app.views.probabilities import BAR, OTHER_TOP, TOP, ProbabilityView
from PySide6.QtCore import QPointF


def painted(qtbot, view: ProbabilityView) -> tuple[np.ndarray, callable]:
    """The plot's pixels (H, W, 3) and a map from data (x, y) to pixel (column, row)."""
    view.resize(420, 360)
    view.show()
    qtbot.waitExposed(view)
    image = view.plot.grab().toImage()
    rgb = np.array([[image.pixelColor(x, y).getRgb()[:3] for x in range(image.width())] for y in range(image.height())])
    vb = view.plot.getPlotItem().getViewBox()

    def to_pixel(x: float, y: float) -> tuple[int, int]:
        p = view.plot.mapFromScene(vb.mapViewToScene(QPointF(x, y)))
        return round(p.x()), round(p.y())

    return rgb, to_pixel


def column_height(rgb: np.ndarray, column: int, colour: tuple[int, int, int]) -> int:
    return int(np.sum(np.all(np.abs(rgb[:, column] - colour) <= 2, axis=1)))


def test_bars_are_painted_at_their_digits_with_their_heights(qtbot):
    view = ProbabilityView()
    qtbot.addWidget(view)
    probs = np.zeros(10)
    probs[3], probs[7] = 0.8, 0.2
    view.show_probabilities(probs)
    rgb, to_pixel = painted(qtbot, view)
    top, other = TOP.color().getRgb()[:3], BAR.color().getRgb()[:3]
    full = to_pixel(0, 0)[1] - to_pixel(0, 1)[1]  # pixels from 0 to 100 %
    for digit, p, colour in ((3, 0.8, top), (7, 0.2, other)):
        col = to_pixel(digit, 0)[0]
        assert abs(column_height(rgb, col, colour) - p * full) <= 2, f"bar {digit}"
    for digit in (0, 5, 9):  # no bar where the probability is 0
        assert column_height(rgb, to_pixel(digit, 0)[0], other) == 0
        assert column_height(rgb, to_pixel(digit, 0)[0], top) == 0


def test_a_second_model_gets_its_own_bars_beside_and_they_go_again(qtbot):
    view = ProbabilityView()
    qtbot.addWidget(view)
    mine, theirs = np.eye(10)[2] * 0.9, np.eye(10)[6] * 0.6
    view.show_probabilities(mine, theirs, "other")
    rgb, to_pixel = painted(qtbot, view)
    full = to_pixel(0, 0)[1] - to_pixel(0, 1)[1]
    assert abs(column_height(rgb, to_pixel(2 - 0.2, 0)[0], TOP.color().getRgb()[:3]) - 0.9 * full) <= 2
    assert abs(column_height(rgb, to_pixel(6 + 0.2, 0)[0], OTHER_TOP.color().getRgb()[:3]) - 0.6 * full) <= 2
    view.show_probabilities(mine)
    rgb, to_pixel = painted(qtbot, view)
    assert column_height(rgb, to_pixel(6 + 0.2, 0)[0], OTHER_TOP.color().getRgb()[:3]) == 0
    assert abs(column_height(rgb, to_pixel(2, 0)[0], TOP.color().getRgb()[:3]) - 0.9 * full) <= 2
