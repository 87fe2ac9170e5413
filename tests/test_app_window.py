"""The main window, driven with real mouse events (pytest-qt, offscreen)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from digitscope.app.window import MainWindow
from digitscope.model.drawing import Drawing
from digitscope.model.modelfile import bundled_model_path, metadata_path
from helpers import draw_strokes, loop, vertical_stroke, wait_for_reading
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel


def test_vertical_stroke_reads_as_one(qtbot, window):
    draw_strokes(qtbot, window, vertical_stroke().strokes)
    wait_for_reading(qtbot, window)
    assert window.latest.prediction.digit == 1
    assert window.probabilities.digit_label.text() == "1"


def test_loop_reads_as_zero(qtbot, window):
    draw_strokes(qtbot, window, loop().strokes)
    wait_for_reading(qtbot, window)
    assert window.latest.prediction.digit == 0


def test_unipen_drawings_read_as_their_labels(qtbot, window, unipen_rows):
    rows = unipen_rows[::500][:8]
    hits = 0
    for row in rows:
        window.canvas.clear()
        d = Drawing.from_json(row)
        window.canvas.set_pen_width(d.pen_width * 280 / max(d.width, d.height))
        scale = 280 / max(d.width, d.height)
        draw_strokes(qtbot, window, [[(x * scale, y * scale) for x, y in s] for s in d.strokes])
        wait_for_reading(qtbot, window)
        hits += window.latest.prediction.digit == row["label"]
    assert hits >= 7


def test_views_update_while_the_stroke_is_in_progress(qtbot, window):
    canvas = window.canvas
    pts = [canvas.to_widget(140, 40 + 5 * i).toPoint() for i in range(40)]
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pts[0])
    seen = []
    for p in pts[1:]:
        QTest.mouseMove(canvas, p)
        qtbot.wait(5)
        if window.latest is not None and window.latest.prediction is not None:
            seen.append(
                (
                    window.probabilities.bars.heights.copy(),
                    window.input_view.pixels.copy(),
                    window.maps["conv1"].image.pixels.copy(),
                    window.maps["conv2"].image.pixels.copy(),
                )
            )
    assert canvas.undo_stack.count() == 0, "the stroke is still in progress"
    first, last = seen[0], seen[-1]
    for a, b in zip(first, last):
        assert not np.array_equal(np.nan_to_num(a), np.nan_to_num(b)), "every view changed during the stroke"
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pts[-1])


def test_empty_canvas_shows_no_prediction(qtbot, window):
    wait_for_reading(qtbot, window)
    assert window.latest.prediction is None
    assert window.probabilities.digit_label.text() == "–"
    assert window.probabilities.probabilities is None
    assert "Draw a digit" in window.probabilities.caption.text()


def test_undo_redo_clear(qtbot, window):
    draw_strokes(qtbot, window, vertical_stroke().strokes + loop().strokes)
    assert len(window.canvas.strokes) == 2
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(window.canvas.strokes) == 1
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert len(window.canvas.strokes) == 2
    window.canvas.setFocus()
    QTest.keyClick(window.canvas, Qt.Key.Key_Escape)
    assert window.canvas.is_empty()
    wait_for_reading(qtbot, window)
    assert window.latest.prediction is None
    window.canvas.undo_stack.undo()
    assert len(window.canvas.strokes) == 2, "clear is undoable"


def test_eraser_removes_the_stroke_under_it(qtbot, window):
    draw_strokes(qtbot, window, [[(60.0, 60.0), (60.0, 220.0)], [(200.0, 60.0), (200.0, 220.0)]])
    window.eraser_button.setChecked(True)
    p = window.canvas.to_widget(60, 140).toPoint()
    QTest.mousePress(window.canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, p)
    QTest.mouseRelease(window.canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, p)
    assert len(window.canvas.strokes) == 1 and window.canvas.strokes[0][0][0] == pytest.approx(200, abs=1)
    window.canvas.undo_stack.undo()
    assert len(window.canvas.strokes) == 2


def test_save_open_round_trip_is_identical(qtbot, window, tmp_path):
    draw_strokes(qtbot, window, vertical_stroke().strokes + loop().strokes)
    before = window.canvas.drawing()
    path = tmp_path / "mine.json"
    assert window.files.save_drawing(path)
    window.canvas.clear()
    assert window.open_drawing(path)
    assert window.canvas.drawing() == before
    assert json.loads(path.read_text())["strokes"] == [[list(p) for p in s] for s in before.strokes]


def test_bad_drawing_file_leaves_canvas_untouched(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    messages = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a: messages.append(a[2]))
    draw_strokes(qtbot, window, vertical_stroke().strokes)
    before = window.canvas.drawing()
    bad = tmp_path / "bad.json"
    bad.write_text('{"width": 10, "height": 10, "pen_width": 1, "strokes": [[[1, "x"]]]}')
    assert not window.open_drawing(bad)
    assert window.canvas.drawing() == before
    assert "stroke 0, point 0" in messages[0]


def test_bad_model_file_keeps_the_previous_model(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    messages = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a: messages.append(a[2]))
    previous = window.predictor
    bad = tmp_path / "broken.keras"
    bad.write_bytes(b"garbage")
    with qtbot.waitSignal(window.loader.failed, timeout=30000):
        window.load_model(bad)
    assert window.predictor is previous
    assert "not a Keras model file" in messages[0]
    draw_strokes(qtbot, window, vertical_stroke().strokes)
    wait_for_reading(qtbot, window)
    assert window.latest.prediction.digit == 1, "the previous model still reads drawings"


def test_image_drag_and_drop(qtbot, window, tmp_path):
    from digitscope.model.preprocess import drawing_to_tensor
    from PIL import Image

    t = drawing_to_tensor(loop())
    path = tmp_path / "zero.png"
    Image.fromarray((255 - np.kron(t, np.ones((6, 6))) * 255).astype(np.uint8)).save(path)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    pos = QPointF(window.canvas.mapTo(window, QPoint(50, 50)))
    event = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    assert window.canvas.image_loaded()
    wait_for_reading(qtbot, window)
    assert window.latest.prediction.digit == 0


def test_pen_width_and_model_persist(qtbot, open_window, settings_file, tmp_path):
    other = tmp_path / "other.keras"  # a model of the person's choosing: the bundled one, copied
    shutil.copy(bundled_model_path(), other)
    shutil.copy(metadata_path(bundled_model_path()), metadata_path(other))
    w = open_window(settings_file)
    assert Path(w.predictor.path).resolve() == bundled_model_path().resolve()
    with qtbot.waitSignal(w.loader.loaded, timeout=60000):
        w.load_model(other)
    w.pen_slider.setValue(31)
    w.close()
    again = open_window(settings_file)  # the app started again, its settings read from the file
    assert again.canvas.pen_width == 31 and again.pen_slider.value() == 31
    assert Path(again.predictor.path).resolve() == other.resolve(), "the model chosen is loaded again"
    with qtbot.waitSignal(again.loader.loaded, timeout=60000):
        again.reset_model()
    again.close()
    third = open_window(settings_file)
    assert Path(third.predictor.path).resolve() == bundled_model_path().resolve(), "and so is the bundled one, once reset to"


def test_window_accepts_strokes_before_the_model_is_ready(qtbot, settings):
    w = MainWindow(settings=settings, bundled_model=bundled_model_path())
    qtbot.addWidget(w)
    w.show()  # no model loading started yet
    draw_strokes(qtbot, w, vertical_stroke().strokes)
    wait_for_reading(qtbot, w)
    assert w.predictor is None and w.latest.tensor is not None and w.latest.prediction is None
    assert "Loading" in w.probabilities.caption.text()
    with qtbot.waitSignal(w.loader.loaded, timeout=60000):
        w.start()
    wait_for_reading(qtbot, w)
    assert w.latest.prediction.digit == 1, "read as soon as the model is ready"
    w.close()


def test_feature_map_hover_and_click_enlarges(qtbot, window):
    draw_strokes(qtbot, window, loop().strokes)
    wait_for_reading(qtbot, window)
    view = window.maps["conv1"]
    # the centre of channel 9 (row 1, column 1 of the 8-wide mosaic)
    local = QPointF(1 * 27 + 13, 1 * 27 + 13)
    assert view.channel_at(local) == 9
    assert view.channel_at(QPointF(26.5, 5)) is None, "the gap between maps is no channel"
    assert view.describe(9).startswith("conv1 · channel 9")
    pos = view.image.widget_pos(local).toPoint()
    with qtbot.waitSignal(view.hovered, timeout=3000) as hover:
        QTest.mouseMove(view.image, pos)
    assert hover.args[0].startswith("conv1 · channel 9")
    with qtbot.waitSignal(view.mapClicked, timeout=3000) as blocker:
        QTest.mouseClick(view.image, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)
    assert blocker.args == ["conv1", 9]
    dialog = window.details[-1]
    assert dialog.channel == 9
    np.testing.assert_allclose(dialog.image.image, window.latest.prediction.activations["conv1"][:, :, 9])
    assert "kernel" in " ".join(w.text() for w in dialog.findChildren(QLabel))
    draw_strokes(qtbot, window, vertical_stroke().strokes)
    wait_for_reading(qtbot, window)
    np.testing.assert_allclose(dialog.image.image, window.latest.prediction.activations["conv1"][:, :, 9])


def test_export_png(qtbot, window, tmp_path):
    from PIL import Image

    draw_strokes(qtbot, window, vertical_stroke().strokes)
    path = tmp_path / "digit.png"
    assert window.files.export_png(path)
    pixels = np.asarray(Image.open(path).convert("L"))
    assert pixels.shape == (560, 560) and pixels.min() < 50 and np.median(pixels) > 200


def test_about_names_versions_and_model(qtbot, window, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "about", lambda parent, title, text: shown.append(text))
    about = next(a for a in window.findChildren(type(window.saliency_action)) if a.text() == "&About Digitscope")
    about.trigger()  # through the menu, as a person opens it
    assert len(shown) == 1
    text = shown[0]
    assert "Digitscope" in text and "MNIST test accuracy" in text
    for name in ("TensorFlow", "Keras", "Qt"):
        assert name in text


def test_a_failing_model_does_not_stop_live_reading(qtbot, window):
    class Broken:
        def predict(self, x):
            raise RuntimeError("boom")

    good = window.predictor
    window.worker.set_predictor(Broken())
    draw_strokes(qtbot, window, vertical_stroke().strokes)
    wait_for_reading(qtbot, window)
    assert window.latest.prediction is None and "boom" in window.latest.error
    assert "boom" in window.probabilities.caption.text()
    window.worker.set_predictor(good)
    draw_strokes(qtbot, window, loop().strokes)
    wait_for_reading(qtbot, window)
    assert window.latest.prediction is not None, "the reading thread still works"
