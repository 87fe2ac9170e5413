"""The window's "not a digit" state: the big digit gives way to words, the bars grey out, the
best guess stays small; and its return to a digit as the drawing goes on. Driven with real
mouse events and read by the bundled model and its own verdict."""

from __future__ import annotations

import math

import numpy as np
import pytest
from digitscope.app.verdict_text import NOT_A_DIGIT, verdict_lines
from digitscope.app.views.probabilities import BAR, MUTED, TOP, ProbabilityView
from digitscope.model.drawing import Drawing
from digitscope.model.preprocess import drawing_to_tensor
from helpers import column_height, draw_strokes, painted, seven, shown, wait_for_reading
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest


def line(a: tuple[float, float], b: tuple[float, float], n: int = 12) -> list[tuple[float, float]]:
    return [(a[0] + (b[0] - a[0]) * t / (n - 1), a[1] + (b[1] - a[1]) * t / (n - 1)) for t in range(n)]


#: An H in three strokes: no digit (the network still calls it a 4, nearly sure).
H = [line((80, 50), (80, 230)), line((200, 50), (200, 230)), line((80, 140), (200, 140))]
#: A zero drawn in one stroke, anticlockwise from its upper right; the first ``C_POINTS`` of it
#: are a C, a letter that looks like no digit (the whole sweep from 16 to 30 of its 40 points is).
ZERO = [
    (140 + 60 * math.cos(math.radians(-50 - 380 * t / 39)), 140 + 90 * math.sin(math.radians(-50 - 380 * t / 39))) for t in range(40)
]
C_POINTS = 24


def rgb(brush) -> tuple[int, int, int]:
    return brush.color().getRgb()[:3]


def verdict_of(predictor, strokes, pen: float) -> bool:
    """The bundled verdict on these strokes, read outside the window (to check a drawing first)."""
    return predictor.predict(drawing_to_tensor(Drawing(280, 280, pen, [list(s) for s in strokes]))).is_digit


def bar_colours(view: ProbabilityView) -> tuple[int, int, int]:
    """Pixels of the top bar in its digit colour, in the no-digit grey, and of the other bars' colour."""
    image, to_pixel = painted(view)
    top = int(np.argmax(view.probabilities))
    col = to_pixel(top, 0)[0]
    return column_height(image, col, rgb(TOP)), column_height(image, col, rgb(MUTED)), column_height(image, col, rgb(BAR))


def assert_not_a_digit(window) -> None:
    pred = window.latest.prediction
    view = window.probabilities
    assert pred is not None and pred.is_digit is False
    assert view.digit_label.text() == NOT_A_DIGIT and not view.is_digit
    guess = f"best guess {pred.digit} · {100 * pred.confidence:.0f}%"
    assert view.caption.text() == guess  # the network's pick, still there, small
    top_coloured, grey, _ = bar_colours(view)
    assert top_coloured == 0 and grey > 20, "the top bar is grey, not blue"


def assert_a_digit(window, digit: int) -> None:
    pred = window.latest.prediction
    view = window.probabilities
    assert pred is not None and pred.is_digit is True and pred.digit == digit
    assert view.digit_label.text() == str(digit) and view.is_digit
    assert view.caption.text().endswith("% sure")
    top_coloured, grey, _ = bar_colours(view)
    assert top_coloured > 20 and grey == 0, "the top bar is blue again"


@pytest.fixture
def pen(window):
    return window.canvas.pen_width


def test_an_h_is_no_digit_then_a_seven_is_a_seven_again(qtbot, window, bundled_predictor, pen):
    assert verdict_of(bundled_predictor, H, pen) is False
    draw_strokes(qtbot, window, H)
    wait_for_reading(qtbot, window)
    assert len(window.canvas.strokes) == 3
    assert_not_a_digit(window)
    assert window.probabilities.bars.muted
    window.clear_action.trigger()
    wait_for_reading(qtbot, window)
    assert window.probabilities.digit_label.text() == "–" and window.probabilities.is_digit
    draw_strokes(qtbot, window, seven().strokes)
    wait_for_reading(qtbot, window)
    assert_a_digit(window, 7)
    assert not window.probabilities.bars.muted


def test_read_in_the_gui_process_too_an_h_is_no_digit(qtbot, open_window):
    w = open_window(reading_process=False)
    assert not w.worker.use_process
    draw_strokes(qtbot, w, H)
    wait_for_reading(qtbot, w)
    assert_not_a_digit(w)
    w.close()


def test_a_c_is_no_digit_while_the_stroke_goes_round_and_a_zero_when_it_closes(qtbot, window, bundled_predictor, pen):
    # the drawing is judged so outside the window too: the states below are the verdict's, not luck
    assert verdict_of(bundled_predictor, [ZERO[:C_POINTS]], pen) is False
    assert verdict_of(bundled_predictor, [ZERO], pen) is True
    canvas = window.canvas
    points = [canvas.to_widget(x, y).toPoint() for x, y in ZERO]
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[0])
    for p in points[1:C_POINTS]:
        QTest.mouseMove(canvas, p)
    wait_for_reading(qtbot, window)
    assert canvas.undo_stack.count() == 0, "the stroke is still in progress"
    assert_not_a_digit(window)
    for p in points[C_POINTS:]:
        QTest.mouseMove(canvas, p)
    wait_for_reading(qtbot, window)
    assert canvas.undo_stack.count() == 0, "still the same stroke"
    assert_a_digit(window, 0)  # a digit again before the pen is lifted
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[-1])
    wait_for_reading(qtbot, window)
    assert_a_digit(window, 0)


def test_the_how_it_reads_view_says_it_is_no_digit_and_then_a_digit(qtbot, window, pen):
    window.pipeline_action.trigger()
    view = window.pipeline_view
    qtbot.waitUntil(view.isVisible, timeout=5000)
    draw_strokes(qtbot, window, H)
    wait_for_reading(qtbot, window)
    qtbot.waitUntil(lambda: view.reading is window.latest, timeout=5000)
    pred = window.latest.prediction
    assert view.answer.text() == (f"That doesn't look like a digit: the network still picks {pred.digit} "
                                  f"({100 * pred.confidence:.0f}%), as it must pick one of ten.")
    assert not view.strip.is_digit
    view.select("softmax")
    assert view.panels["softmax"].static_key() == (pred.digit, False)
    window.clear_action.trigger()
    draw_strokes(qtbot, window, seven().strokes)
    wait_for_reading(qtbot, window)
    qtbot.waitUntil(lambda: view.reading is window.latest, timeout=5000)
    assert view.answer.text().startswith("The network reads a 7 (") and NOT_A_DIGIT not in view.answer.text()
    assert view.strip.is_digit
    assert view.panels["softmax"].static_key() == (7, True)


def test_about_tells_the_verdict(qtbot, window, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    shown_text: list[str] = []
    monkeypatch.setattr(QMessageBox, "about", lambda parent, title, text: shown_text.append(text))
    window.show_about()
    text = shown_text[0]
    verdict = window.predictor.verdict
    assert f"Verdict: {verdict.kind}, threshold {verdict.threshold:.3g}" in text
    assert window.predictor.verdict_note in text


def test_about_lines_for_a_verdict_with_figures_and_for_none():
    class Verdict:
        kind, threshold = "detector", 1.25
        info = {"flagged": {"letters": 0.934, "digits": 0.005}, "trained_on": {"digits": 60000, "letters": 1200}}

    class Model:
        verdict, verdict_note = Verdict(), "its own"

    lines = verdict_lines(Model())
    assert lines[0] == "Verdict: detector, threshold 1.25 (its own)"
    Model.verdict_note = "the bundled model's (this model has none of its own)"
    Verdict.info = {**Verdict.info, "flag_share": 0.005, "calibration_digits": [15000, 3891]}
    assert verdict_lines(Model())[0] == f"Verdict: detector, threshold 1.25 ({Model.verdict_note})"
    assert "Threshold: flags 0.5% of 15,000 + 3,891 digits held out" in verdict_lines(Model())
    from digitscope.app.about import about_text

    Model.metadata, Model.path = {}, "other.keras"
    assert Model.verdict_note in about_text(Model())
    assert "Flagged as no digit: letters 93%, digits 0.5%" in lines
    assert "Trained on: digits 60,000, letters 1,200" in lines
    Model.verdict, Model.verdict_note = None, "none: this model has no verdict"
    assert verdict_lines(Model()) == ["Verdict: none (this model has no verdict)"]


# --- the view alone


def test_the_view_shows_no_digit_and_comes_back(qtbot):
    view = shown(qtbot, ProbabilityView(), 420, 360)
    probs = np.zeros(10)
    probs[4], probs[1] = 0.97, 0.03
    view.show_probabilities(probs, is_digit=False)
    assert view.digit_label.text() == NOT_A_DIGIT and view.caption.text() == "best guess 4 · 97%"
    top_coloured, grey, _ = bar_colours(view)
    assert top_coloured == 0 and grey > 100
    image, to_pixel = painted(view)
    assert column_height(image, to_pixel(1, 0)[0], rgb(BAR)) == 0, "the other bars are grey too"
    assert column_height(image, to_pixel(1, 0)[0], rgb(MUTED)) > 0
    # the words fit their box, smaller than the digit, and are painted
    label = view.digit_label
    assert label.toolTip() == "" and label.paint_font.pixelSize() < label.font().pixelSize()
    glyphs = label.grab().toImage()
    dark = [glyphs.pixelColor(x, y).lightness() < 160 for x in range(glyphs.width()) for y in range(glyphs.height())]
    assert 0.01 < np.mean(dark) < 0.4
    view.show_probabilities(probs, is_digit=True)
    assert view.digit_label.text() == "4" and view.caption.text() == "97.0% sure"
    assert label.paint_font is None, "the digit in its own large font again"
    top_coloured, grey, _ = bar_colours(view)
    assert top_coloured > 100 and grey == 0
    view.show_probabilities(probs, is_digit=None)  # no verdict: a digit, as before verdicts
    assert view.digit_label.text() == "4"


def test_no_digit_with_a_second_model_beside_and_a_message_after(qtbot):
    from digitscope.app.views.probabilities import OTHER_TOP

    view = shown(qtbot, ProbabilityView(), 420, 360)
    mine, theirs = np.eye(10)[4] * 0.9, np.eye(10)[6] * 0.6
    view.show_probabilities(mine, theirs, "other.keras", is_digit=False)
    assert view.caption.text() == "best guess 4 · 90% · other.keras: 6 (60.0%)"
    image, to_pixel = painted(view)
    assert column_height(image, to_pixel(4 - 0.2, 0)[0], rgb(MUTED)) > 0
    assert column_height(image, to_pixel(4 - 0.2, 0)[0], rgb(TOP)) == 0
    assert column_height(image, to_pixel(6 + 0.2, 0)[0], rgb(OTHER_TOP)) > 0, "the other model's bars keep their colour"
    view.show_message("Draw a digit")
    assert view.digit_label.text() == "–" and view.is_digit and view.digit_label.paint_font is None


def test_about_credits_the_data_the_model_and_its_verdict_learnt_from():
    from digitscope.app.about import about_text

    class Verdict:
        kind, threshold, info = "network", 3.0, {"letters_file": "letters.jsonl"}

    class Model:
        path, metadata, verdict, verdict_note = "m.keras", {}, None, "none: this model has no verdict"

    assert "MNIST" in about_text(Model()) and "UNIPEN" not in about_text(Model())
    Model.metadata = {"pen_data": {"file": "unipen-dev.jsonl", "drawings": 10}}
    assert "UNIPEN" in about_text(Model()) and "CC BY 4.0" in about_text(Model())
    Model.metadata, Model.verdict, Model.verdict_note = {}, Verdict(), "the bundled model's"
    assert "UNIPEN" in about_text(Model()), "the verdict in use learnt from UNIPEN's letters"
