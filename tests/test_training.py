"""Training: a short run on a tiny synthetic set learns, reports progress, writes a loadable model."""

from __future__ import annotations

import json

import numpy as np
import pytest
from digitscope.model.mnist import as_inputs, load_mnist, one_hot
from digitscope.model.training import TrainConfig, TrainingCancelled, train_model


def test_one_epoch_lowers_the_loss(tiny_mnist):
    from digitscope.model.architecture import build_cnn

    data = load_mnist(tiny_mnist)
    x, y = as_inputs(data.x_train), one_hot(data.y_train)
    model = build_cnn()

    def loss() -> float:
        p = np.asarray(model(x, training=False))
        return float(-np.mean(np.log(np.clip((p * y).sum(axis=1), 1e-7, 1.0))))

    before = loss()
    events: list[dict] = []
    result = train_model(x, y, TrainConfig(epochs=1, batch_size=32, validation_split=0.25), model=model, progress=events.append)
    after = loss()
    assert after < 0.9 * before
    events = [e for e in events if e["event"] != "weights"]  # the kernels as they learn: see test_weights_event.py
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "epoch" and "batch" in kinds
    assert events[-1]["val_accuracy"] is not None
    assert result.history == [events[-1]]


def test_augmentation_keeps_images_valid():
    import tensorflow as tf
    from digitscope.model.augment import augment_batch

    x = np.zeros((16, 28, 28, 1), np.float32)
    x[:, 6:22, 13:15] = 1.0
    out = augment_batch(tf.constant(x), tf.constant([3, 4], tf.int64)).numpy()
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    assert not np.allclose(out, x), "augmentation changes the images"
    assert (out.reshape(16, -1).sum(1) > 5).all(), "no digit is wiped out"
    again = augment_batch(tf.constant(x), tf.constant([3, 4], tf.int64)).numpy()
    np.testing.assert_array_equal(out, again)


def test_image_augmentation_leaves_unmasked_images_as_they_are():
    import tensorflow as tf
    from digitscope.model.augment import AugmentConfig
    from digitscope.model.training import _augment

    x = np.zeros((8, 28, 28, 1), np.float32)
    x[:, 6:22, 13:15] = 1.0
    mask = tf.constant([1, 0] * 4, tf.float32)
    out = _augment(tf.constant(x), mask, tf.constant([1, 2], tf.int64), AugmentConfig(probability=1.0)).numpy()
    np.testing.assert_array_equal(out[1::2], x[1::2])
    assert all(not np.allclose(out[i], x[i]) for i in range(0, 8, 2))


def test_cancel_stops_and_raises(tiny_mnist):
    data = load_mnist(tiny_mnist)
    batches = []

    def progress(event):
        if event["event"] == "batch":
            batches.append(event)

    with pytest.raises(TrainingCancelled):
        train_model(
            as_inputs(data.x_train),
            one_hot(data.y_train),
            TrainConfig(epochs=5, batch_size=16, batch_event_interval=0),
            progress=progress,
            should_stop=lambda: len(batches) >= 2,
        )
    assert len(batches) == 2


def test_cli_train_writes_model_and_metadata(tiny_mnist, tmp_path, capsys):
    from digitscope.model.cli import main
    from digitscope.model.inference import load_predictor

    out = tmp_path / "tiny.keras"
    code = main(["train", "--mnist", str(tiny_mnist), "--epochs", "1", "--batch-size", "32", "--output", str(out), "--progress", "json"])
    assert code == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["event"] for e in events if e["event"] not in ("batch", "weights")] == ["start", "epoch", "evaluated", "verdict", "saved"]
    verdict_event = next(e for e in events if e["event"] == "verdict")
    meta = json.loads(out.with_suffix(".json").read_text())
    # the bundled verdict judges the image alone: the new model keeps it, measured again on MNIST test
    assert verdict_event["kept"] and set(verdict_event["flagged"]) == {"mnist test"}
    assert meta["verdict"]["kind"] == "network" and meta["verdict"]["info"]["flagged"] == verdict_event["flagged"]
    assert meta["epochs"] == 1 and "--epochs 1" in meta["command"]
    assert 0.0 <= meta["test_accuracy"] <= 1.0 and len(meta["per_class_accuracy"]) == 10
    assert load_predictor(out).predict(np.zeros((28, 28), np.float32)).probabilities.shape == (10,)


def test_cli_train_failure_keeps_previous_model(tiny_mnist, tmp_path, capsys, monkeypatch):
    from digitscope.model import training
    from digitscope.model.cli import main

    out = tmp_path / "m.keras"
    out.write_bytes(b"previous model")

    def crash(*args, **kwargs):
        raise RuntimeError("worker died")

    monkeypatch.setattr(training, "train_model", crash)
    assert main(["train", "--mnist", str(tiny_mnist), "--output", str(out)]) == 2
    assert out.read_bytes() == b"previous model"
    assert "worker died" in capsys.readouterr().err


def test_label_smoothing_keeps_the_network_from_being_sure(tiny_mnist):
    """With a share s of each target spread over the ten digits, the best reading of a training
    image gives its label 1 − 0.9 s: the network learns to stop short of certainty."""
    from digitscope.model.architecture import build_cnn

    data = load_mnist(tiny_mnist)
    x, y = as_inputs(data.x_train)[:64], one_hot(data.y_train)[:64]
    sure = {}
    for smoothing in (0.0, 0.5):
        model = build_cnn()
        config = TrainConfig(epochs=12, batch_size=16, validation_split=0, augment=False, label_smoothing=smoothing)
        train_model(x, y, config, model=model)
        sure[smoothing] = float(np.median(np.asarray(model(x, training=False)).max(axis=1)))
    assert sure[0.0] > 0.9, sure
    assert 0.4 < sure[0.5] < 0.7, sure
