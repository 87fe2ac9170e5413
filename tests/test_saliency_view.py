"""View → Show saliency: which ink drove the answer, over the strokes, live."""

from __future__ import annotations

import numpy as np
from digitscope.app.views.pixel_image import to_qimage
from digitscope.app.views.saliency import AGAINST, FOR, saliency_rgba
from helpers import seven, wait_for_reading
from PySide6.QtGui import QColor


def orange_pixels(widget) -> int:
    img = widget.grab().toImage()
    count = 0
    for x in range(0, img.width(), 3):
        for y in range(0, img.height(), 3):
            c = QColor(img.pixel(x, y))
            count += c.red() > 150 and c.green() < 140 and c.blue() < 90
    return count


def test_saliency_overlays_the_strokes_and_follows_the_drawing(qtbot, settings, open_window):
    w = open_window(settings)
    w.canvas.set_drawing(seven())
    wait_for_reading(qtbot, w, prediction=True)
    assert w.canvas.overlay is None and orange_pixels(w.canvas) == 0
    w.saliency_action.trigger()
    qtbot.waitUntil(lambda: w.canvas.overlay is not None, timeout=10000)
    reading = w.latest
    assert reading.saliency is not None and reading.saliency.shape == (28, 28)
    x, y, width, height = w.canvas.overlay[1]
    X, Y, W, H = reading.placement.canvas_rect()
    assert X <= x and Y <= y and x + width <= X + W + 1e-6 and y + height <= Y + H + 1e-6 and width * height < 0.8 * W * H
    assert orange_pixels(w.canvas) > 20, "the ink is coloured by its saliency"
    # cut down to what shows, it paints what the whole 28×28 overlay does (but for rounding)
    cropped = w.canvas.grab().toImage()
    w.canvas.set_overlay(to_qimage(saliency_rgba(reading.saliency)), reading.placement.canvas_rect())  # the whole 28×28
    whole = w.canvas.grab().toImage()
    a, b = (np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine()).astype(int) for img in (cropped, whole))
    differ = np.abs(a - b)  # the cut-down overlay's pixel grid may sit up to half a screen pixel off
    assert (differ > 8).mean() < 0.005 and differ.max() <= 48
    # the overlay follows the drawing: undo empties the canvas and removes it
    w.canvas.undo_stack.undo()
    qtbot.waitUntil(lambda: w.canvas.overlay is None, timeout=10000)
    w.canvas.undo_stack.redo()
    qtbot.waitUntil(lambda: w.canvas.overlay is not None, timeout=10000)
    w.saliency_action.trigger()
    assert w.canvas.overlay is None and not w.session.saliency
    w.close()


def test_the_choice_is_remembered(qtbot, settings_file, open_window):
    w = open_window(settings_file)
    w.set_saliency(True)
    w.close()
    again = open_window(settings_file)  # the app started again, its settings read from the file
    assert again.saliency_action.isChecked() and again.session.saliency
    again.close()


def test_colours_for_and_against():
    rgba = saliency_rgba(np.array([[1.0, -0.25, 0.0]]))
    assert tuple(rgba[0, 0, :3]) == FOR and rgba[0, 0, 3] == 255
    assert tuple(rgba[0, 1, :3]) == AGAINST and 0 < rgba[0, 1, 3] < 255
    assert rgba[0, 2, 3] == 0
    assert not saliency_rgba(np.zeros((2, 2))).any()


def test_a_drawing_far_larger_than_the_canvas_gets_its_overlay_cheaply(qtbot, settings, open_window):
    from digitscope.model.drawing import Drawing

    w = open_window(settings)
    w.set_saliency(True)
    huge = Drawing(280, 280, 900, [[(3000.0 * x, 3000.0 * y) for x, y in s] for s in seven().strokes])
    w.canvas.set_drawing(huge)
    qtbot.waitUntil(lambda: w.canvas.overlay is not None, timeout=10000)
    x, y, width, height = w.canvas.overlay[1]
    assert width > 20 * 280, "the overlay lies far beyond the canvas"
    w.canvas.repaint()  # scaled only where it shows: not millions of pixels (this took seconds when it was)
    w.close()
