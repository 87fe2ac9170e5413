"""Labelling the drawing on the canvas into My drawings, from the main window."""

from __future__ import annotations

import json

from helpers import loop, vertical_stroke
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest


def test_digit_key_adds_the_drawing_and_clears_the_canvas(qtbot, window, data_dir):
    window.canvas.set_drawing(vertical_stroke())
    strokes = window.canvas.drawing().strokes
    window.canvas.setFocus()
    QTest.keyClick(window.canvas, Qt.Key.Key_1)
    files = window.store.files(1)
    assert len(files) == 1 and files[0].parent == data_dir / "my-drawings" / "1"
    doc = json.loads(files[0].read_text())
    assert doc["label"] == 1 and [[tuple(p) for p in s] for s in doc["strokes"]] == [[tuple(p) for p in s] for s in strokes]
    assert window.canvas.is_empty(), "ready for the next drawing"
    assert "My drawings: 1" in window.drawings_count.text()
    assert "as a 1" in window.statusBar().currentMessage()
    window.canvas.undo_stack.undo()
    assert not window.canvas.is_empty(), "undo brings the drawing back"


def test_thats_a_buttons_label_and_an_empty_canvas_adds_nothing(qtbot, window):
    window.label_buttons[0].click()
    assert sum(window.store.counts().values()) == 0
    assert "Draw a 0 first" in window.statusBar().currentMessage()
    window.canvas.set_drawing(loop())
    window.label_buttons[0].click()
    assert window.store.counts()[0] == 1


def test_a_failing_save_keeps_the_drawing_on_the_canvas(qtbot, window, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: shown.append(a[2]))

    def full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(window.store, "add", full)
    window.canvas.set_drawing(loop())
    assert window.label_drawing(0) is None
    assert shown and "No space left" in shown[0]
    assert not window.canvas.is_empty()


def test_my_drawings_dialog_from_the_menu_follows_labelling(qtbot, window):
    window.canvas.set_drawing(loop())
    window.label_drawing(0)
    dialog = window.show_my_drawings()
    assert dialog.list.count() == 1
    window.canvas.set_drawing(vertical_stroke())
    window.label_drawing(1)
    assert dialog.list.count() == 2, "the open dialog shows a drawing labelled meanwhile"
    dialog.list.selectAll()
    dialog.confirm = lambda text: True
    dialog.delete_selected()
    assert sum(window.store.counts().values()) == 0
    assert "My drawings: 0" in window.drawings_count.text(), "the window's count follows the dialog"
