"""View → How it reads your digit: the six stages, live, and step-throughs whose sums are the network's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from digitscope.app.views.pipeline_strip import KEYS
from digitscope.model.inference import Prediction
from helpers import approx_f32, assert_f32_close, loop, seven, wait_for_reading
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest


def read(qtbot, w, drawing) -> None:
    """Put ``drawing`` on the canvas and wait until the window shows its reading."""
    w.canvas.set_drawing(drawing)
    wait_for_reading(qtbot, w, prediction=True)


def click(widget, pos: QPointF) -> None:
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos.toPoint())


def hover(widget, pos: QPointF) -> None:
    """The pointer moves over ``widget`` with no button down (QTest.mouseMove only moves the
    cursor then, which the offscreen platform ignores)."""
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    event = QMouseEvent(QEvent.Type.MouseMove, pos, widget.mapToGlobal(pos), Qt.MouseButton.NoButton,
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


# --- independent arithmetic: plain loops over the reading's own tensor and the model's weights


def conv1_at(x: np.ndarray, weights, channel: int, r: int, c: int) -> float:
    k = weights.kernel1[:, :, 0, channel].astype(np.float64)
    total = sum(float(x[r + i, c + j]) * k[i, j] for i in range(3) for j in range(3))
    return max(0.0, total + float(weights.b1[channel]))


def conv1_maps(x: np.ndarray, weights) -> np.ndarray:
    out = np.zeros((26, 26, 32))
    for i in range(3):
        for j in range(3):
            out += x[i : i + 26, j : j + 26, None].astype(np.float64) * weights.kernel1[i, j, 0].astype(np.float64)
    return np.maximum(out + weights.b1, 0.0)


def conv2_at(a1: np.ndarray, weights, channel: int, r: int, c: int) -> float:
    k = np.asarray(weights.w2, np.float64).reshape(3, 3, 32, 64)[:, :, :, channel]  # Keras order: (kh, kw, cin)
    total = sum(float(a1[r + i, c + j, m]) * k[i, j, m] for i in range(3) for j in range(3) for m in range(32))
    return max(0.0, total + float(weights.b2[channel]))


@pytest.fixture
def view(qtbot, window):
    read(qtbot, window, seven())
    window.pipeline_action.trigger()
    v = window.pipeline_view
    qtbot.waitUntil(lambda: v.isVisible() and v.reading is window.latest, timeout=5000)
    return v


def test_the_menu_opens_all_six_stages_of_the_drawing(qtbot, window, view):
    assert window.pipeline_action.shortcut().toString() == "Ctrl+D"
    assert view.windowTitle() == "How it reads your digit"
    strip = view.strip
    pred = window.latest.prediction
    sizes = {"input": (28, 28), "conv1": (215, 107), "conv2": (199, 199), "pool": (103, 103), "dense": (8, 16)}
    for key, size in sizes.items():
        image = strip.images[key]
        assert image is not None and (image.width(), image.height()) == size, key
    assert not any(strip.notes.values())
    assert_f32_close(strip.probabilities, pred.probabilities)
    assert int(np.argmax(strip.probabilities)) == pred.digit == 7
    # the pooled maps and the dense units are really drawn (not left black)
    grabbed = strip.grab().toImage()
    for key in ("pool", "dense"):
        box = strip.boxes[key]
        colours = {grabbed.pixel(int(box.x() + box.width() * fx), int(box.y() + box.height() * fy))
                   for fx in np.linspace(0.05, 0.95, 12) for fy in np.linspace(0.05, 0.95, 12)}
        assert len(colours) > 3, key


def test_the_view_follows_the_drawing(qtbot, window, view):
    first = window.latest.prediction.probabilities
    window.canvas.undo_stack.undo()  # an empty canvas
    qtbot.waitUntil(lambda: view.reading is not None and view.reading.tensor is None, timeout=10000)
    assert view.strip.images["input"] is None and view.strip.probabilities is None
    assert view.strip.notes["input"] == "Draw a digit"
    assert view.panels["conv1"].step is None and "Draw a digit" in view.panels["conv1"].sums.message
    window.canvas.undo_stack.redo()
    qtbot.waitUntil(lambda: view.strip.probabilities is not None, timeout=10000)
    assert_f32_close(view.strip.probabilities, first)
    read(qtbot, window, loop())
    qtbot.waitUntil(lambda: view.reading is window.latest, timeout=5000)
    assert int(np.argmax(view.strip.probabilities)) == 0
    x = window.latest.tensor
    step = view.panels["conv1"].step
    assert step.value == approx_f32(conv1_at(x, window.predictor.weights, step.channel, step.row, step.col))


def test_clicking_a_stage_shows_its_detail_and_a_map_picks_it(qtbot, window, view):
    strip = view.strip
    for key in KEYS:
        panel = strip.panel(key)
        click(strip, QPointF(panel.center().x(), panel.top() + 8))  # on the title
        assert view.selected == key and strip.selected == key
        assert view.stack.currentWidget() is view.containers[key]
    click(strip, strip.tile_rect("conv2", 19).center())
    assert view.selected == "conv2" and strip.channels["conv2"] == 19
    assert view.panels["conv2"].channel == 19 and view.panels["conv2"].spin.value() == 19
    assert view.panels["conv2"].step.channel == 19
    click(strip, strip.tile_rect("pool", 42).center())
    assert view.selected == "pool" and view.panels["pool"].step.channel == 42
    click(strip, strip.tile_rect("conv1", 3).center())
    assert view.selected == "conv1" and view.panels["conv1"].step.channel == 3
    # the spin box picks a map too, and the strip marks it
    view.panels["conv1"].spin.setValue(30)
    assert view.panels["conv1"].step.channel == 30 and strip.channels["conv1"] == 30


POSITIONS = [(0, 0), (7, 11), (13, 4), (20, 20), (23, 2)]


def test_conv1_step_through_adds_up_to_the_activation(qtbot, window, view):
    view.select("conv1", 12)
    panel, reading, weights = view.panels["conv1"], window.latest, window.predictor.weights
    acts = reading.prediction.activations["conv1"]
    for r, c in POSITIONS + [(25, 25)]:
        panel.set_position(r, c)
        s = panel.step
        assert (s.channel, s.row, s.col) == (12, r, c)
        np.testing.assert_array_equal(s.patch, reading.tensor[r : r + 3, c : c + 3])
        np.testing.assert_array_equal(s.kernel, weights.kernel1[:, :, 0, 12])
        assert s.products.sum() + s.bias == pytest.approx(s.z)
        expected = conv1_at(reading.tensor, weights, 12, r, c)
        assert s.value == approx_f32(expected)
        assert s.value == approx_f32(float(acts[r, c, 12]))
        assert panel.sums.check(s.value, "")[0].startswith("✓")


def test_conv2_step_through_adds_up_to_the_activation(qtbot, window, view):
    view.select("conv2", 5)
    panel, reading, weights = view.panels["conv2"], window.latest, window.predictor.weights
    a1 = conv1_maps(reading.tensor, weights)  # conv1 from the tensor, not from the network
    acts = reading.prediction.activations
    for r, c in POSITIONS:
        for channel in (5, 40):
            panel.set_channel(channel)
            panel.set_position(r, c)
            s = panel.step
            expected = conv2_at(a1, weights, channel, r, c)
            assert s.value == approx_f32(expected)
            assert s.value == approx_f32(float(acts["conv2"][r, c, channel]))
            assert len(s.contributions) == 32 and s.total + s.bias == pytest.approx(s.z)
            np.testing.assert_allclose(s.patch, a1[r : r + 3, c : c + 3, s.source], atol=1e-5)
    # choosing which conv1 map to show changes the window's source, not the sum
    before = panel.step.value
    panel.combo.setCurrentIndex(1 + 7)
    assert panel.step.source == 7 and panel.step.value == before
    assert panel.source_caption.text() == "conv1 map 7 (of 32)"


def test_pool_step_through_takes_the_largest_of_four(qtbot, window, view):
    view.select("pool", 9)
    panel, reading, weights = view.panels["pool"], window.latest, window.predictor.weights
    acts = reading.prediction.activations
    a1 = conv1_maps(reading.tensor, weights)
    for r, c in [(0, 0), (3, 8), (6, 5), (11, 11)]:
        panel.set_position(r, c)
        s = panel.step
        conv2 = [conv2_at(a1, weights, 9, 2 * r + i, 2 * c + j) for i in range(2) for j in range(2)]
        assert s.value == approx_f32(max(conv2))
        assert s.value == float(acts["pool"][r, c, 9])
        i, j = s.argmax
        assert s.window[i, j] == s.value


def test_the_window_follows_the_cursor_and_the_buttons_slide_it(qtbot, window, view):
    view.select("conv1", 0)
    panel = view.panels["conv1"]
    # the pointer over input pixel (row 9, column 5): the window centres on it
    hover(panel.source, panel.source.widget_pos(QPointF(5.5, 9.5)))
    assert (panel.row, panel.col) == (8, 4) and panel.step.patch[1, 1] == window.latest.tensor[9, 5]
    hover(panel.output, panel.output.widget_pos(QPointF(20.5, 3.5)))
    assert (panel.row, panel.col) == (3, 20)
    panel.forward.click()
    assert (panel.row, panel.col) == (3, 21)
    panel.back.click()
    panel.back.click()
    assert (panel.row, panel.col) == (3, 19)
    panel.set_position(0, 25)
    panel.forward.click()
    assert (panel.row, panel.col) == (1, 0), "at the end of a row the window moves to the next"
    panel.play.click()
    assert panel.timer.isActive() and panel.play.text() == "❚❚ Pause"
    qtbot.waitUntil(lambda: (panel.row, panel.col) > (1, 2), timeout=3000)
    panel.play.click()
    assert not panel.timer.isActive()
    panel.play.click()
    view.close()
    assert not panel.timer.isActive(), "closing the view stops the animation"


def test_a_hidden_view_is_left_alone_and_catches_up_when_shown(qtbot, window, view):
    view.close()
    count = view.updates
    read(qtbot, window, loop())
    read(qtbot, window, seven(scale=0.8))
    assert view.updates == count and view.reading is not window.latest
    window.pipeline_action.trigger()
    assert view.isVisible() and view.reading is window.latest
    assert view.updates == count + 1


class OtherModel:
    """A model that is not the CNN: probabilities and what activations it chooses to report."""

    def __init__(self, path: Path, activations: tuple[str, ...]) -> None:
        self.path, self.name, self.metadata, self.weights = path, path.name, {}, None
        self.activations = activations

    def predict(self, x: np.ndarray) -> Prediction:
        rng = np.random.default_rng(0)
        acts = {"conv1": rng.random((26, 26, 32), dtype=np.float32), "conv2": rng.random((24, 24, 64), dtype=np.float32)}
        probs = np.full(10, 0.05, np.float32)
        probs[3] = 0.55
        return Prediction(probs, {k: v for k, v in acts.items() if k in self.activations})


@pytest.mark.parametrize("reported", [("conv1", "conv2"), ()])
def test_another_kind_of_model_gets_a_clear_message(qtbot, window, view, tmp_path, reported):
    window.session.use(OtherModel(tmp_path / "other.keras", reported))
    qtbot.waitUntil(lambda: view.reading is window.latest and view.reading.prediction is not None
                    and int(np.argmax(view.reading.prediction.probabilities)) == 3, timeout=10000)
    strip = view.strip
    for key in ("pool", "dense"):
        assert strip.images[key] is None and strip.notes[key] == "not available for this model"
    for key in ("conv1", "conv2"):
        assert (strip.images[key] is not None) == (key in reported)
    assert strip.images["input"] is not None and int(np.argmax(strip.probabilities)) == 3
    assert "other.keras" in view.status.text()
    for stage in ("conv1", "conv2", "pool", "dense", "softmax"):
        view.select(stage)
        panel = view.panels[stage]
        message = panel.sums.message if hasattr(panel, "sums") else panel.message
        assert "other.keras is not the digitscope CNN" in message, stage
        assert getattr(panel, "step", None) is None and getattr(panel, "data", None) is None
    view.select("input")
    assert view.panels["input"].tensor is not None
    view.repaint()  # painting the messages must not fail either


def test_an_empty_canvas_and_closing_the_window(qtbot, window):
    view = window.show_pipeline()
    assert view.strip.images["input"] is None
    view.select("dense")
    assert "Draw a digit" in view.panels["dense"].message
    window.close()
    assert not view.isVisible()


class SteppedClock:
    """``time.monotonic`` that moves only when told: a burst of readings is a burst however slow
    the machine (on a loaded CI machine 20 readings can take longer than READABLE_MS)."""

    def __init__(self) -> None:
        self.t = 1000.0

    def monotonic(self) -> float:
        return self.t

    def wait(self, qtbot, ms: int) -> None:
        qtbot.wait(ms)
        self.t += ms / 1000


def test_numbers_follow_live_readings_at_a_readable_rate_and_pointing_at_once(qtbot, window, view, monkeypatch):
    from digitscope.app.views import sums as sums_module
    from digitscope.app.views.sums import READABLE_MS

    clock = SteppedClock()
    monkeypatch.setattr(sums_module, "time", clock)
    view.select("conv1", 0)
    sums = view.panels["conv1"].sums
    clock.wait(qtbot, READABLE_MS + 20)  # what selecting started has landed...
    clock.t += (READABLE_MS + 20) / 1000  # ...longer than READABLE_MS ago
    repaints: list[float] = []
    sums.update = lambda: repaints.append(1)  # the rate's repaint requests (the painting itself is Qt's)
    reading = window.latest
    for _ in range(20):  # a stroke's worth of readings, faster than anyone reads
        view.show_reading(reading, window.predictor)
    assert len(repaints) == 1, "the first reading repaints at once, the next wait"
    assert sums.rate.timer.isActive()
    qtbot.waitUntil(lambda: len(repaints) == 2, timeout=READABLE_MS * 3)
    clock.wait(qtbot, READABLE_MS + 20)
    assert len(repaints) == 2, "one trailing repaint shows the latest numbers, then nothing"
    view.show_reading(reading, window.predictor)
    view.panels["conv1"].set_position(5, 6)  # a person pointing: at once
    assert len(repaints) == 4 and not sums.rate.timer.isActive()
    assert sums.step.row == 5 and sums.step.col == 6


@pytest.mark.parametrize("size", [(1088, 640), (1088, 720), (1300, 760), (1440, 860)])
def test_the_strip_and_the_detail_never_overlap(qtbot, window, view, size):
    """A strip asked to be shorter than its minimum overlapped the detail below it, whose top
    (buttons, map chooser) was then painted again with every reading."""
    view.resize(*size)
    qtbot.wait(20)
    strip, stack = view.strip.geometry(), view.stack.geometry()
    assert strip.height() >= view.strip.minimumHeight()
    assert strip.bottom() < stack.top() and view.status.geometry().bottom() < strip.top()
