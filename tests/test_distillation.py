"""Distillation: a student trained towards its teachers' reading learns what they read."""

from __future__ import annotations

import json

import numpy as np
import pytest
from digitscope.model.mnist import as_inputs, load_mnist, one_hot
from digitscope.model.training import DISTILL_TEMPERATURE, TrainConfig, _distilled, train_model


def _constant_teacher(digit: int, sure: float = 0.9):
    """A Keras model that reads every image as ``digit`` with probability ``sure``."""
    import keras

    rest = (1 - sure) / 9
    bias = np.log(np.full(10, rest, np.float32))
    bias[digit] = np.log(sure)
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax", kernel_initializer="zeros"),
    ])
    model.layers[-1].bias.assign(bias)
    return model


def test_the_targets_blend_labels_with_the_teachers_softened_mean_reading():
    images = np.zeros((3, 28, 28, 1), np.float32)
    labels = one_hot(np.array([1, 1, 1]))
    share = np.array([0.0, 0.5, 1.0], np.float32)
    targets = np.asarray(_distilled(images, labels, share, [_constant_teacher(3), _constant_teacher(5)]))
    p = np.full(10, 0.1 / 9) ** (1 / DISTILL_TEMPERATURE)
    three = p.copy()
    three[3] = 0.9 ** (1 / DISTILL_TEMPERATURE)
    five = p.copy()
    five[5] = 0.9 ** (1 / DISTILL_TEMPERATURE)
    reading = (three / three.sum() + five / five.sum()) / 2
    np.testing.assert_allclose(targets[0], labels[0], atol=1e-6)
    np.testing.assert_allclose(targets[1], 0.5 * labels[1] + 0.5 * reading, atol=1e-5)
    np.testing.assert_allclose(targets[2], reading, atol=1e-5)
    np.testing.assert_allclose(targets.sum(axis=1), 1.0, atol=1e-5)


def test_a_student_learns_its_teachers_reading_on_the_images_they_teach(tiny_mnist):
    from digitscope.model.architecture import build_cnn

    data = load_mnist(tiny_mnist)
    x, y = as_inputs(data.x_train), one_hot(data.y_train)
    labels = data.y_train
    taught = labels < 5  # a digit's images all taught or none: they look alike
    config = TrainConfig(epochs=8, batch_size=32, validation_split=0, augment=False, distill=1.0, weights_interval=0)
    model = train_model(x, y, config, model=build_cnn(), teachers=[_constant_teacher(3)], taught=taught).model
    read = np.asarray(model(x, training=False)).argmax(axis=1)
    # where taught, the teacher's 3; elsewhere the labels (the tiny set is easy to learn)
    assert np.mean(read[taught] == 3) > 0.9
    assert np.mean(read[~taught] == labels[~taught]) > 0.6
    assert np.mean(labels[taught] == 3) < 0.4  # the labels alone would not say 3


def test_teachers_need_a_share_of_the_target(tiny_mnist):
    data = load_mnist(tiny_mnist)
    x, y = as_inputs(data.x_train), one_hot(data.y_train)
    with pytest.raises(ValueError, match="distill"):
        train_model(x, y, TrainConfig(epochs=1, validation_split=0, distill=0.0), teachers=[_constant_teacher(3)])


def test_cli_train_with_teachers_records_them(tiny_mnist, tmp_path, capsys):
    from digitscope.model.cli import main
    from digitscope.model.files import sha256_file

    teacher = tmp_path / "teacher.keras"
    assert main(["train", "--mnist", str(tiny_mnist), "--epochs", "1", "--batch-size", "32", "--output", str(teacher),
                 "--weights-interval", "0"]) == 0
    out = tmp_path / "student.keras"
    code = main(["train", "--mnist", str(tiny_mnist), "--epochs", "1", "--batch-size", "32", "--output", str(out),
                 "--teachers", str(teacher), "--distill", "0.7", "--progress", "json", "--weights-interval", "0"])
    assert code == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["teachers"] == [{"file": str(teacher), "sha256": sha256_file(teacher)}]
    assert meta["config"]["distill"] == 0.7
    assert f"--teachers {teacher}" in meta["command"] and "--distill 0.7" in meta["command"]
    assert any(e["event"] == "teachers" for e in events)


def test_human_progress_names_the_teachers(tmp_path):
    import io

    from digitscope.model.progress import HumanProgress

    out = io.StringIO()
    HumanProgress(out)({"event": "teachers", "models": [{"file": str(tmp_path / "s1.keras"), "sha256": "ab"}], "distill": 0.5})
    assert "distilling s1.keras: their reading is 0.5 of each MNIST image's target" in out.getvalue()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--teachers", "missing.keras"], "no model file"),
        (["--architecture", "numpy", "--teachers", "{teacher}"], "cannot learn from --teachers"),
    ],
)
def test_cli_train_refuses_teachers_it_cannot_use(tiny_mnist, tmp_path, capsys, extra, message):
    from digitscope.model.cli import main

    teacher = tmp_path / "t.keras"
    teacher.write_bytes(b"not read before the check")
    argv = ["train", "--mnist", str(tiny_mnist), "--epochs", "1", "--output", str(tmp_path / "s.keras")]
    argv += [a.replace("{teacher}", str(teacher)) for a in extra]
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "s.keras").exists()
