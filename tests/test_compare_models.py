"""Model → Compare with model…: a second model's probabilities beside the current one's, live."""

from __future__ import annotations

import numpy as np
from digitscope.model.inference import CnnWeights, Predictor
from digitscope.model.modelfile import bundled_model_path
from digitscope.model.preprocess import drawing_to_tensor
from helpers import assert_f32_close, seven


def a_different_model(bundled_predictor) -> Predictor:
    """The bundled CNN with its last layer's biases pushed towards 1: another opinion."""
    w = bundled_predictor.weights
    layers = {"conv1": (w.kernel1, w.b1), "conv2": (w.w2.reshape(3, 3, 32, 64), w.b2), "dense": (w.w3, w.b3),
              "probabilities": (w.w4, w.b4 + np.eye(10, dtype=np.float32)[1] * 8)}
    return Predictor(weights=CnnWeights(layers))


def test_a_second_model_is_shown_beside_the_first_live(qtbot, window, bundled_predictor):
    other = a_different_model(bundled_predictor)
    window.session.set_second(other)
    window.canvas.set_drawing(seven())
    view = window.probabilities
    qtbot.waitUntil(lambda: view.other_probabilities is not None, timeout=10000)
    x = drawing_to_tensor(seven())
    assert_f32_close(view.probabilities, bundled_predictor.predict(x).probabilities)
    assert_f32_close(view.other_probabilities, other.predict(x).probabilities)
    assert not np.allclose(view.other_probabilities, view.probabilities)
    assert view.other_bars.isVisible() and "other model" in view.caption.text()
    window.stop_comparing()
    qtbot.waitUntil(lambda: view.other_probabilities is None, timeout=10000)
    assert not view.other_bars.isVisible()
    assert view.probabilities is not None


def test_compare_with_loads_the_file_in_the_background(qtbot, window):
    window.canvas.set_drawing(seven())
    window.compare_with(bundled_model_path())
    qtbot.waitUntil(lambda: window.session.second_predictor is not None, timeout=30000)
    qtbot.waitUntil(lambda: window.probabilities.other_probabilities is not None, timeout=10000)
    assert window.session.second_name == "digitscope-cnn.keras"
    assert "digitscope-cnn.keras" in window.probabilities.caption.text()
    assert window.stop_compare_action.isEnabled()


def test_a_broken_model_file_is_reported_and_nothing_changes(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: warnings.append(a))
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a model")
    window.compare_with(bad)
    qtbot.waitUntil(lambda: bool(warnings), timeout=30000)
    assert window.session.second_predictor is None
