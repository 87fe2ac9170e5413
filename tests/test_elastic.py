"""Elastic distortion of MNIST images: a smooth random field of the size asked for, resampled right."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from digitscope.model.augment import PRESETS, _bilinear, augment_batch, elastic_warp  # noqa: E402

SEED = tf.constant([5, 6], tf.int64)


def _ramp(n: int) -> np.ndarray:
    """Images whose value is the column's x coordinate / 27 (so a sample's value tells where it came from)."""
    return np.broadcast_to(np.arange(28, dtype=np.float32)[None, None, :, None] / 27.0, (n, 28, 28, 1)).copy()


def test_bilinear_sampling_shifts_by_whole_and_half_pixels():
    x = np.random.default_rng(0).random((3, 28, 28, 1)).astype(np.float32)
    grid_y, grid_x = np.meshgrid(np.arange(28, dtype=np.float32), np.arange(28, dtype=np.float32), indexing="ij")
    ys = np.broadcast_to(grid_y, (3, 28, 28))
    xs = np.broadcast_to(grid_x + 1.0, (3, 28, 28))  # each pixel takes its right neighbour's value
    out = _bilinear(tf.constant(x), tf.constant(ys), tf.constant(xs)).numpy()
    np.testing.assert_allclose(out[:, :, :27], x[:, :, 1:], atol=1e-6)
    np.testing.assert_allclose(out[:, :, 27], 0.0, atol=1e-6)  # from outside the frame: blank
    half = _bilinear(tf.constant(x), tf.constant(ys), tf.constant(xs - 0.5)).numpy()
    np.testing.assert_allclose(half[:, :, :27], (x[:, :, :27] + x[:, :, 1:]) / 2, atol=1e-6)


def test_a_zero_field_leaves_images_as_they_are():
    x = np.random.default_rng(1).random((4, 28, 28, 1)).astype(np.float32)
    np.testing.assert_allclose(elastic_warp(tf.constant(x), SEED, 0.0, 4.0).numpy(), x, atol=1e-6)
    per_image = elastic_warp(tf.constant(x), SEED, tf.constant([0.0, 1.5, 0.0, 1.5]), 4.0).numpy()
    np.testing.assert_allclose(per_image[[0, 2]], x[[0, 2]], atol=1e-6)
    assert not np.allclose(per_image[1], x[1], atol=1e-3) and not np.allclose(per_image[3], x[3], atol=1e-3)


@pytest.mark.parametrize("rms", [0.5, 1.5])
def test_the_field_is_as_large_as_asked_and_smooth(rms):
    x = _ramp(64)
    out = elastic_warp(tf.constant(x), SEED, rms, 4.0).numpy()[:, 6:22, 6:22, 0]  # away from the clipped border
    dx = out * 27.0 - np.arange(6, 22, dtype=np.float32)[None, None, :]
    assert 0.8 * rms < np.sqrt(np.mean(dx**2)) < 1.2 * rms
    step = np.sqrt(np.mean(np.diff(dx, axis=2) ** 2))  # neighbours move together: a wobble, not noise
    assert step < 0.35 * rms


def test_elastic_preset_is_deterministic_and_keeps_images_valid():
    x = np.zeros((16, 28, 28, 1), np.float32)
    x[:, 6:22, 13:15] = 1.0
    cfg = PRESETS["elastic"]
    assert cfg.elastic_px > 0
    out = augment_batch(tf.constant(x), SEED, cfg).numpy()
    again = augment_batch(tf.constant(x), SEED, cfg).numpy()
    np.testing.assert_array_equal(out, again)
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    assert not np.allclose(out, augment_batch(tf.constant(x), SEED, PRESETS["drawn"]).numpy())
    assert (out.reshape(16, -1).sum(1) > 5).all(), "no digit is wiped out"


@pytest.mark.parametrize("augment, variants", [("drawn", True), ("elastic", True), ("mild", False)])
def test_a_run_records_the_augmentation_it_trained_with(tiny_mnist, tmp_path, augment, variants):
    import json

    from digitscope.model.cli import main

    out = tmp_path / "m.keras"
    argv = ["train", "--mnist", str(tiny_mnist), "--epochs", "1", "--limit", "64", "--augment", augment, "-o", str(out)]
    assert main(argv) == 0
    config = json.loads(out.with_suffix(".json").read_text())["config"]
    assert (config["style_variants"] > 0) is variants, "elastic is drawn plus the field: slashed zeros and flagged ones too"
    assert (config["augment_config"]["elastic_px"] > 0) is (augment == "elastic")
