"""Retrain's "What it learns" (filters and a probe digit, live, then scrubbed) and its lesson presets."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import dialog_for, loop

from digitscope.app.views.learning import kernel_mosaic
from digitscope.app.views.pixel_image import grey
from digitscope.model.preprocess import drawing_to_tensor
from digitscope.model.presets import PRESETS

pytestmark = pytest.mark.usefixtures("no_modal_questions")


def test_a_run_from_scratch_shows_the_filters_and_the_canvas_digit_learning(qtbot, window, tiny_mnist):
    window.canvas.set_drawing(loop())
    probe = drawing_to_tensor(window.canvas.drawing())
    dialog = dialog_for(window, tiny_mnist, epochs=2, batch=16)
    dialog.scratch.setChecked(True)
    frames_seen: list[dict] = []
    dialog.train_button.click()
    probe_file = dialog.probe_file
    assert probe_file is not None and probe_file.is_file(), "the canvas's drawing is written for the train process"
    assert "--probe" in dialog.arguments(dialog.output) and str(probe_file) in dialog.arguments(dialog.output)
    np.testing.assert_array_equal(dialog.learning.probe_input.pixels, grey(probe))
    assert "your drawing" in dialog.learning.note.text()
    dialog.run.event.connect(lambda e: frames_seen.append(e) if e.get("event") == "weights" else None)
    with qtbot.waitSignal(dialog.run.finished, timeout=240000) as done:
        pass
    assert done.args[0] == "done", done.args[1]
    assert not probe_file.exists(), "the probe file goes with the run"
    frames = dialog.learning.frames
    assert len(frames) >= 2 and frames[0].step == 0 and frames[-1].step > 0
    assert not np.allclose(frames[0].conv1, frames[-1].conv1), "from scratch, the filters change as it learns"
    assert dialog.learning.slider.isEnabled() and dialog.learning.slider.value() == len(frames) - 1
    dialog.learning.slider.setValue(0)
    assert "before training" in dialog.learning.frame_label.text()
    np.testing.assert_array_equal(dialog.learning.conv1.pixels, kernel_mosaic(frames[0].conv1)[0])
    dialog.discard()


def test_the_overfitting_preset_sets_what_it_runs_and_gives_your_settings_back(qtbot, window, tiny_mnist):
    dialog = dialog_for(window, tiny_mnist, epochs=3, batch=64)
    own_request = dialog.request(dialog.models_dir / "x.keras")
    dialog.presets.choose("overfitting")
    preset = PRESETS["overfitting"]
    request = dialog.request(dialog.models_dir / "x.keras")
    assert (request.limit, request.validation_split, request.epochs, request.augment) == (
        preset.limit, preset.validation_split, preset.epochs, "off")
    assert request.init_model is None and request.drawings is None and request.architecture == "cnn"
    assert request.mnist == own_request.mnist, "the MNIST file stays the person's"
    assert dialog.epochs.value() == preset.epochs and not dialog.epochs.isEnabled() and not dialog.network.isEnabled()
    assert dialog.presets.summary.isVisible() or "500" in dialog.presets.summary.text()
    assert "500 MNIST images" in dialog.presets.summary.text()
    dialog.presets.choose(None)
    assert dialog.epochs.isEnabled() and dialog.network.isEnabled()
    back = dialog.request(dialog.models_dir / "x.keras")
    assert back.limit is None and back.init_model == own_request.init_model


def test_the_curves_parting_is_marked_and_explained(qtbot, window, tiny_mnist):
    dialog = dialog_for(window, tiny_mnist)
    dialog._on_event({"event": "start", "epochs": 6, "steps_per_epoch": 4, "train_samples": 500, "val_samples": 2000})
    val_losses = [0.8, 0.4, 0.3, 0.33, 0.36, 0.4]
    for epoch, (acc, val, vloss) in enumerate(zip([0.6, 0.9, 0.97, 0.99, 1.0, 1.0], [0.8, 0.9, 0.92, 0.92, 0.92, 0.915], val_losses), 1):
        dialog._on_event({"event": "epoch", "epoch": epoch, "loss": 1 - acc, "accuracy": acc, "val_loss": vloss,
                          "val_accuracy": val, "seconds": 1.0})
    note = dialog.parting_note.text()
    assert "500 training images" in note and "by heart" in note
    assert dialog.parted_line.isVisible() and dialog.parted_line.value() == 3
