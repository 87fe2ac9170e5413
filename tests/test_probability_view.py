"""The probability bars as they reach the screen: heights, the top bar's colour, two models side by side."""

from __future__ import annotations

import numpy as np
from digitscope.app.views.probabilities import BAR, OTHER_TOP, TOP, ProbabilityView
from helpers import column_height, painted, shown


def test_bars_are_painted_at_their_digits_with_their_heights(qtbot):
    view = shown(qtbot, ProbabilityView(), 420, 360)
    probs = np.zeros(10)
    probs[3], probs[7] = 0.8, 0.2
    view.show_probabilities(probs)
    rgb, to_pixel = painted(view)
    top, other = TOP.color().getRgb()[:3], BAR.color().getRgb()[:3]
    full = to_pixel(0, 0)[1] - to_pixel(0, 1)[1]  # pixels from 0 to 100 %
    for digit, p, colour in ((3, 0.8, top), (7, 0.2, other)):
        col = to_pixel(digit, 0)[0]
        assert abs(column_height(rgb, col, colour) - p * full) <= 2, f"bar {digit}"
    for digit in (0, 5, 9):  # no bar where the probability is 0
        assert column_height(rgb, to_pixel(digit, 0)[0], other) == 0
        assert column_height(rgb, to_pixel(digit, 0)[0], top) == 0


def test_a_second_model_gets_its_own_bars_beside_and_they_go_again(qtbot):
    view = shown(qtbot, ProbabilityView(), 420, 360)
    mine, theirs = np.eye(10)[2] * 0.9, np.eye(10)[6] * 0.6
    view.show_probabilities(mine, theirs, "other")
    rgb, to_pixel = painted(view)
    full = to_pixel(0, 0)[1] - to_pixel(0, 1)[1]
    assert abs(column_height(rgb, to_pixel(2 - 0.2, 0)[0], TOP.color().getRgb()[:3]) - 0.9 * full) <= 2
    assert abs(column_height(rgb, to_pixel(6 + 0.2, 0)[0], OTHER_TOP.color().getRgb()[:3]) - 0.6 * full) <= 2
    view.show_probabilities(mine)
    rgb, to_pixel = painted(view)
    assert column_height(rgb, to_pixel(6 + 0.2, 0)[0], OTHER_TOP.color().getRgb()[:3]) == 0
    assert abs(column_height(rgb, to_pixel(2, 0)[0], TOP.color().getRgb()[:3]) - 0.9 * full) <= 2


def test_new_answers_repaint_their_text_and_never_relayout_the_window(qtbot):
    """A QLabel's new text asks the window for a layout pass, which repaints a main window's whole
    central widget: the digit and its caption must change without one."""
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QMainWindow

    class Layouts(QObject):
        count = 0

        def eventFilter(self, obj, event):
            if event.type() == QEvent.Type.LayoutRequest:
                Layouts.count += 1
            return False

    window = QMainWindow()
    view = ProbabilityView()
    window.setCentralWidget(view)
    shown(qtbot, window, 420, 480)
    qtbot.wait(50)  # the first layout passes
    spy = Layouts()
    for widget in [window, view, *view.findChildren(QObject)]:
        widget.installEventFilter(spy)
    before = view.digit_label.grab().toImage()
    for k, p in enumerate((0.91, 0.52, 0.77, 0.64)):
        view.show_probabilities(np.eye(10)[(3 * k + 1) % 10] * p)
        qtbot.wait(5)
    assert view.digit_label.text() == "0" and view.caption.text() == "64.0% sure"
    assert Layouts.count == 0
    after = view.digit_label.grab().toImage()
    assert after != before  # the new digit was painted
    dark = [after.pixelColor(x, y).lightness() < 128 for x in range(after.width()) for y in range(after.height())]
    assert 0.01 < np.mean(dark) < 0.5  # a glyph, not a blank or filled box


def test_a_caption_too_long_for_its_box_is_elided_and_whole_in_its_tooltip(qtbot):
    view = shown(qtbot, ProbabilityView(), 300, 360)
    long = "the model failed: " + "a very long reason " * 8
    view.show_message(long)
    assert view.caption.text() == long and view.caption.toolTip() == long
    assert view.caption.accessibleName() == long
    view.show_message("Draw a digit")
    assert view.caption.toolTip() == ""


def test_a_text_line_without_a_colour_paints_in_its_windows_palette(qtbot):
    """The map-detail caption has no colour of its own: it follows the palette it is shown in."""
    from digitscope.app.views.text_line import TextLine
    from PySide6.QtGui import QColor, QPalette
    from PySide6.QtWidgets import QVBoxLayout, QWidget

    dark = QWidget()
    palette = dark.palette()
    palette.setColor(QPalette.ColorRole.Window, QColor("#101010"))
    palette.setColor(QPalette.ColorRole.WindowText, QColor("#f0f0f0"))
    line = TextLine("max 0.873")
    dark.setPalette(palette)
    QVBoxLayout(dark).addWidget(line)
    shown(qtbot, dark, 200, 60)
    image = line.grab().toImage()
    lightness = [image.pixelColor(x, y).lightness() for x in range(image.width()) for y in range(image.height())]
    assert min(lightness) < 40 and max(lightness) > 200  # light text on the dark window
