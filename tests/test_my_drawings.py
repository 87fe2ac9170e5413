"""My drawings: the store on disk (model/my_drawings.py) and the Model → My drawings… dialog."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from digitscope.app.my_drawings_dialog import (
    ALL,
    EMPTY_TEXT,
    MyDrawingsDialog,
    drawing_thumbnail,
)
from digitscope.model.drawing import Drawing, load_drawing
from digitscope.model.my_drawings import (
    DrawingStore,
    drawings_to_inputs,
    holdout_split,
    load_labelled,
)
from helpers import loop, vertical_stroke
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QMessageBox


def label_field(path: Path) -> int:
    return json.loads(path.read_text(encoding="utf-8"))["label"]


# ---------------------------------------------------------------------- store


def test_add_counts_and_files(tmp_path):
    store = DrawingStore(tmp_path / "mine")
    a = store.add(vertical_stroke(), 1)
    b = store.add(vertical_stroke(), 1)
    c = store.add(loop(), 0)
    assert a.parent == tmp_path / "mine" / "1" and c.parent == tmp_path / "mine" / "0"
    assert a != b and a.is_file() and b.is_file()
    assert label_field(a) == 1 and label_field(c) == 0
    assert load_drawing(a).strokes == vertical_stroke().strokes
    assert store.counts() == {0: 1, 1: 2, **{d: 0 for d in range(2, 10)}}
    assert store.files(1) == sorted([a, b]) and store.files(0) == [c]
    assert store.files() == [c, *sorted([a, b])]  # grouped by digit
    assert store.label_of(a) == 1


def test_add_rejects_a_non_digit_label(tmp_path):
    store = DrawingStore(tmp_path)
    for bad in (10, -1, 2.5, True):
        with pytest.raises(ValueError):
            store.add(vertical_stroke(), bad)
    assert store.files() == []


def test_relabel_moves_the_file_and_updates_its_label(tmp_path):
    store = DrawingStore(tmp_path)
    old = store.add(loop(), 6)
    new = store.relabel(old, 0)
    assert not old.exists()
    assert new == tmp_path / "0" / old.name and new.is_file()
    assert label_field(new) == 0
    assert load_drawing(new).strokes == loop().strokes
    assert store.counts()[6] == 0 and store.counts()[0] == 1
    assert store.relabel(new, 0) == new and new.is_file()  # same digit: nothing moves


def test_delete_removes_the_file(tmp_path):
    store = DrawingStore(tmp_path)
    keep, gone = store.add(loop(), 0), store.add(loop(), 0)
    store.delete(gone)
    assert not gone.exists() and keep.exists()
    assert store.files() == [keep]
    store.delete(gone)  # already gone: no error


def test_load_labelled_skips_a_corrupt_file_and_names_it(tmp_path):
    store = DrawingStore(tmp_path)
    one, zero = store.add(vertical_stroke(), 1), store.add(loop(), 0)
    (tmp_path / "3").mkdir()
    broken = tmp_path / "3" / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    wrong = tmp_path / "3" / "wrong.json"
    wrong.write_text('{"width": 280}', encoding="utf-8")
    data = load_labelled(tmp_path)
    assert sorted(data.paths) == sorted([one, zero])
    assert dict(zip(data.paths, data.labels)) == {one: 1, zero: 0}
    assert len(data) == 2
    skipped = dict(data.skipped)
    assert set(skipped) == {broken, wrong}
    assert "JSON" in skipped[broken] and "missing" in skipped[wrong]


def test_drawings_to_inputs_shapes_and_skips_an_empty_drawing(tmp_path):
    store = DrawingStore(tmp_path)
    store.add(vertical_stroke(), 1)
    store.add(loop(), 0)
    empty = store.add(Drawing(280, 280, 18, []), 5)
    x, y, clean = drawings_to_inputs(store.load())
    assert x.shape == (2, 28, 28, 1) and x.dtype == np.float32
    assert sorted(y.tolist()) == [0, 1] and y.tolist() == clean.labels
    assert 0.0 <= x.min() and x.max() <= 1.0 and x.sum() > 0
    assert [p for p, _ in clean.skipped] == [empty]


def synthetic(n_per_digit: int, start: int = 0) -> tuple[list[Path], list[int]]:
    paths = [Path(f"{d}/drawing-{d}-{i:04d}.json") for d in range(10) for i in range(start, start + n_per_digit)]
    return paths, [int(p.parent.name) for p in paths]


def test_holdout_split_holds_out_about_the_fraction_of_each_digit():
    paths, labels = synthetic(60)
    train, held = holdout_split(paths, 0.25)
    assert sorted(train.tolist() + held.tolist()) == list(range(len(paths)))
    for digit in range(10):
        n = sum(labels[i] == digit for i in held)
        assert 6 <= n <= 26, (digit, n)  # about 15 of 60
    assert holdout_split(paths, 0.25)[1].tolist() == held.tolist()  # deterministic
    assert holdout_split(paths, 0.0)[1].size == 0
    with pytest.raises(ValueError):
        holdout_split(paths, 1.0)


def test_holdout_split_is_stable_as_drawings_are_added():
    """A drawing once held out stays held out: otherwise the "held-out" score would be
    measured on drawings the model was trained on in an earlier run."""
    paths, labels = synthetic(10)
    held_before = {paths[i] for i in holdout_split(paths, 0.2)[1]}
    assert held_before
    for step in range(10, 40):  # one more drawing of every digit at a time
        more, more_labels = synthetic(1, start=step)
        paths, labels = paths + more, labels + more_labels
        held_now = {paths[i] for i in holdout_split(paths, 0.2)[1]}
        moved = held_before - held_now
        assert not moved, f"after adding drawings, {sorted(map(str, moved))} moved to the training side"
        held_before = held_now


# ---------------------------------------------------------------------- dialog


@pytest.fixture
def store(tmp_path) -> DrawingStore:
    s = DrawingStore(tmp_path / "mine")
    for _ in range(3):
        s.add(vertical_stroke(), 1)
    for _ in range(2):
        s.add(loop(), 0)
    s.add(loop(rx=40), 7)
    return s


@pytest.fixture
def make_dialog(qtbot):
    def make(store: DrawingStore, **kwargs) -> MyDrawingsDialog:
        dialog = MyDrawingsDialog(store, **kwargs)
        qtbot.addWidget(dialog)
        dialog.show()
        return dialog

    return make


def select(dialog: MyDrawingsDialog, paths: list[Path]) -> None:
    dialog.list.clearSelection()
    wanted = {str(p) for p in paths}
    for i in range(dialog.list.count()):
        item = dialog.list.item(i)
        if item.data(Qt.ItemDataRole.UserRole) in wanted:
            item.setSelected(True)
    assert sorted(dialog.selected_paths()) == sorted(paths)


def button_text(dialog: MyDrawingsDialog, ident: int) -> str:
    return dialog.filter_group.button(ident).text()


def test_dialog_shows_counts_and_filters_by_digit(make_dialog, store):
    dialog = make_dialog(store)
    assert button_text(dialog, ALL) == "All (6)"
    assert [button_text(dialog, d) for d in (0, 1, 5, 7)] == ["0 (2)", "1 (3)", "5 (0)", "7 (1)"]
    assert dialog.total_label.text() == "6 drawings"
    assert dialog.list.count() == 6 and dialog.list.isVisible() and not dialog.empty_label.isVisible()
    dialog.show_digit(1)
    assert dialog.list.count() == 3
    assert {p.parent.name for p in map(Path, (dialog.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(3)))} == {"1"}
    assert not dialog.delete_button.isEnabled() and not dialog.move_button.isEnabled()
    dialog.show_digit(None)
    assert dialog.list.count() == 6


def test_empty_store_shows_a_helpful_message(make_dialog, tmp_path):
    dialog = make_dialog(DrawingStore(tmp_path / "none"))
    assert dialog.empty_label.isVisible() and dialog.empty_label.text() == EMPTY_TEXT
    assert not dialog.list.isVisible() and button_text(dialog, ALL) == "All (0)"


def test_thumbnail_is_black_ink_on_white():
    image = drawing_thumbnail(vertical_stroke(), 64).toImage()
    assert image.pixelColor(32, 32).lightness() < 60  # on the stroke (x = 140 of 280)
    assert image.pixelColor(10, 32) == QColor("#ffffff")


def test_move_to_digit_relabels_the_file(qtbot, make_dialog, store):
    dialog = make_dialog(store)
    (seven,) = store.files(7)
    select(dialog, [seven])
    dialog.target.setCurrentText("3")
    with qtbot.waitSignal(dialog.changed, timeout=1000):
        qtbot.mouseClick(dialog.move_button, Qt.MouseButton.LeftButton)
    moved = store.root / "3" / seven.name
    assert not seven.exists() and moved.is_file() and label_field(moved) == 3
    assert store.files(3) == [moved]
    assert button_text(dialog, 7) == "7 (0)" and button_text(dialog, 3) == "3 (1)"


def test_delete_key_removes_the_selected_file(qtbot, make_dialog, store):
    asked = []
    dialog = make_dialog(store, confirm=lambda q: asked.append(q) or True)
    zero = store.files(0)[0]
    select(dialog, [zero])
    with qtbot.waitSignal(dialog.changed, timeout=1000):
        qtbot.keyClick(dialog.list, Qt.Key.Key_Delete)
    assert not zero.exists() and len(store.files()) == 5
    assert asked == []  # one drawing: no question
    assert dialog.list.count() == 5 and button_text(dialog, 0) == "0 (1)"


def test_deleting_several_asks_first(qtbot, make_dialog, store):
    answer = [False]
    dialog = make_dialog(store, confirm=lambda q: answer[0])
    ones = store.files(1)
    select(dialog, ones)
    with qtbot.assertNotEmitted(dialog.changed):
        qtbot.mouseClick(dialog.delete_button, Qt.MouseButton.LeftButton)
    assert all(p.exists() for p in ones)
    answer[0] = True
    with qtbot.waitSignal(dialog.changed, timeout=1000):
        qtbot.mouseClick(dialog.delete_button, Qt.MouseButton.LeftButton)
    assert not any(p.exists() for p in ones) and store.counts()[1] == 0


def test_default_confirmation_is_a_message_box(qtbot, make_dialog, store, monkeypatch):
    questions = []

    def question(parent, title, text, *args, **kwargs):
        questions.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", question)
    dialog = make_dialog(store)
    select(dialog, store.files(0))
    dialog.delete_selected()
    assert questions == ["Delete 2 drawings? This cannot be undone."]
    assert store.counts()[0] == 0


def test_a_corrupt_file_is_listed_and_can_be_deleted(qtbot, make_dialog, store):
    broken = store.root / "4" / "broken.json"
    broken.parent.mkdir()
    broken.write_text("{not json", encoding="utf-8")
    dialog = make_dialog(store)
    assert button_text(dialog, 4) == "4 (1)" and dialog.list.count() == 7
    (item,) = [dialog.list.item(i) for i in range(7) if dialog.list.item(i).data(Qt.ItemDataRole.UserRole) == str(broken)]
    assert item.text() == "broken" and "unreadable" in item.toolTip()
    select(dialog, [broken])
    with qtbot.assertNotEmitted(dialog.changed):
        assert dialog.move_selected(2) == 0  # cannot be relabelled: said so, no crash
    assert broken.exists() and "broken.json" in dialog.status.text()
    select(dialog, [broken])
    with qtbot.waitSignal(dialog.changed, timeout=1000):
        assert dialog.delete_selected() == 1
    assert not broken.exists() and dialog.list.count() == 6
