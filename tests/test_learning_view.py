"""The Retrain dialog's "What it learns" view: frames shown live, kept bounded, scrubbed after the run."""

from __future__ import annotations

import numpy as np
import pytest
from digitscope.app.views.learning import MAX_FRAMES, LearningView, kernel_mosaic
from digitscope.app.mosaic import GAP_INDEX, LEVELS
from digitscope.model.learning_frames import LearningFrame


def frame(step: int, seed: int | None = None) -> LearningFrame:
    rng = np.random.default_rng(step if seed is None else seed)
    probs = rng.random(10).astype(np.float32)
    return LearningFrame(
        step=step, epoch=1 + step // 10, batch=step % 10, seconds=0.5 * step,
        conv1=rng.normal(0, 0.3, (3, 3, 32)).astype(np.float32),
        conv2=rng.normal(0, 0.1, (3, 3, 64)).astype(np.float32),
        probe_maps=rng.random((26, 26, 32)).astype(np.float32),
        probe_probabilities=probs / probs.sum(),
    )


def test_kernel_mosaic_is_a_symmetric_diverging_scale():
    k = np.zeros((3, 3, 32), np.float32)
    k[0, 0, 0], k[1, 1, 1] = 0.4, -0.4
    index, level = kernel_mosaic(k)
    assert level == pytest.approx(0.5)
    assert index.shape == (4 * 4 - 1, 8 * 4 - 1)
    tile = lambda c: index[(c // 8) * 4:(c // 8) * 4 + 3, (c % 8) * 4:(c % 8) * 4 + 3]  # noqa: E731
    mid = int(tile(2)[0, 0])
    assert abs(mid - (LEVELS - 1) // 2) <= 1, "zero weights sit in the middle of the scale"
    assert tile(0)[0, 0] > mid + 80 and tile(1)[1, 1] < mid - 80, "positive above, negative below, equally far"
    assert abs((int(tile(0)[0, 0]) - mid) - (mid - int(tile(1)[1, 1]))) <= 1
    assert index[3, 0] == GAP_INDEX


def test_frames_show_live_then_scrub(qtbot):
    view = LearningView()
    qtbot.addWidget(view)
    assert "Press Train" in view.note.text(), "before any run, its blank filters say what will fill them"
    view.start(np.zeros((28, 28), np.float32))
    assert not view.slider.isEnabled() and "Press Train" not in view.note.text()
    frames = [frame(i) for i in range(5)]
    for f in frames:
        view.add_frame(f)
    assert view.shown == 4 and "frame 5/5" in view.frame_label.text()
    np.testing.assert_array_equal(view.conv1.pixels, kernel_mosaic(frames[4].conv1)[0])
    view.finish()
    assert view.slider.isEnabled() and view.slider.maximum() == 4 and view.slider.value() == 4
    view.slider.setValue(1)
    assert view.shown == 1 and "frame 2/5" in view.frame_label.text()
    np.testing.assert_array_equal(view.conv1.pixels, kernel_mosaic(frames[1].conv1)[0])
    np.testing.assert_array_equal(view.conv2.pixels, kernel_mosaic(frames[1].conv2)[0])
    assert int(np.argmax(view.bars.values)) == int(np.argmax(frames[1].probe_probabilities))
    assert "before training" in (view.slider.setValue(0) or view.frame_label.text())

    view.start(np.ones((28, 28), np.float32))
    assert view.frames == [] and not view.slider.isEnabled(), "a new run forgets the last one"


def test_a_long_run_keeps_a_bounded_even_record(qtbot):
    view = LearningView()
    qtbot.addWidget(view)
    view.start(np.zeros((28, 28), np.float32))
    template = frame(0)
    total = 3 * MAX_FRAMES + 7
    for step in range(total):
        view.add_frame(LearningFrame(step, 1, step, float(step), template.conv1, template.conv2, template.probe_maps,
                                     template.probe_probabilities))
    assert len(view.frames) <= MAX_FRAMES
    assert f"/{len(view.frames)} " in view.frame_label.text() and view.shown == len(view.frames) - 1
    view.finish()
    steps = [f.step for f in view.frames]
    assert len(steps) <= MAX_FRAMES + 1
    assert steps[0] == 0 and steps[-1] == total - 1, "from the first weights to the final ones"
    gaps = np.diff(steps[:-1])
    assert gaps.min() >= 1 and gaps.max() == gaps.min(), "evenly thinned"
