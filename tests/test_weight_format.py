"""The CNN's weight format: a CNN saved by the installed Keras is read in NumPy with TensorFlow
and Keras blocked from importing; a file that looks like the CNN but cannot be read so says
why on stderr, in one line, before Keras loads it."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from digitscope.model.preprocess import drawing_to_tensor
import helpers
from helpers import assert_f32_close, loop, seven

WARNING = "looks like the Digitscope CNN but cannot be read without TensorFlow"

#: Run in a fresh interpreter: TensorFlow and Keras cannot be imported, then the file is read.
READ_BLOCKED = textwrap.dedent(
    """
    import importlib.abc, sys
    import numpy as np

    class Blocked(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("tensorflow", "keras", "tf_keras"):
                raise ImportError(f"{name} is blocked in this test")
            return None

    sys.meta_path.insert(0, Blocked())
    from digitscope.model.inference import load_predictor

    model, images, out = sys.argv[1:]
    predictor = load_predictor(model)
    x = np.load(images)
    np.savez(out, probabilities=predictor.probabilities(x), single=predictor.predict(x[0]).probabilities,
             is_cnn=predictor.is_cnn, loaded_keras=predictor._model is not None,
             imported=[m for m in ("tensorflow", "keras") if sys.modules.get(m) is not None])
    """
)


@pytest.fixture(scope="module")
def random_cnn():
    return helpers.random_cnn(11)


@pytest.fixture(scope="module")
def images():
    drawn = np.stack([drawing_to_tensor(seven()), drawing_to_tensor(loop())])
    return np.concatenate([drawn, np.random.default_rng(13).uniform(0, 1, (3, 28, 28)).astype(np.float32)])


@pytest.fixture(scope="module")
def expected(random_cnn, images):
    return np.asarray(random_cnn(images[..., None], training=False))


@pytest.fixture(scope="module")
def saved(random_cnn, tmp_path_factory) -> Path:
    """The CNN as the installed Keras saves it."""
    path = tmp_path_factory.mktemp("cnn") / "cnn.keras"
    random_cnn.save(path)
    return path


def rewritten(src: Path, dst: Path, weights=None, config=None) -> Path:
    """A copy of a ``.keras`` file with its weights file and/or config changed."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            data = zin.read(name)
            if name == "model.weights.h5" and weights is not None:
                data = weights(data)
            if name == "config.json" and config is not None:
                doc = json.loads(data)
                config(doc)
                data = json.dumps(doc).encode()
            zout.writestr(name, data)
    return dst


def keras_2_13_layout(data: bytes) -> bytes:
    """The weights as Keras 2.13's ``.keras`` files lay them out (``_layer_checkpoint_dependencies/``
    for ``layers/``): the installed Keras still reads them, Digitscope's reader does not."""
    out = io.BytesIO()
    with h5py.File(io.BytesIO(data), "r") as src, h5py.File(out, "w") as dst:
        def copy(name: str, obj) -> None:
            if name.startswith("layers"):
                name = "_layer_checkpoint_dependencies" + name[len("layers"):]
            if isinstance(obj, h5py.Dataset):
                dst.create_dataset(name, data=obj[()])
            else:
                dst.require_group(name)

        src.visititems(copy)
    return out.getvalue()


def read_blocked(model: Path, images: np.ndarray, tmp_path: Path) -> tuple[dict, str]:
    np.save(tmp_path / "images.npy", images)
    r = subprocess.run(
        [sys.executable, "-c", READ_BLOCKED, str(model), str(tmp_path / "images.npy"), str(tmp_path / "out.npz")],
        capture_output=True, text=True, timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert r.returncode == 0, r.stderr
    with np.load(tmp_path / "out.npz") as out:
        return {k: out[k] for k in out.files}, r.stderr


@pytest.mark.parametrize("saver", ["keras", "digitscope"])
def test_a_cnn_saved_by_the_installed_keras_is_read_without_tensorflow(saver, random_cnn, images, expected, saved, tmp_path):
    import keras

    if saver == "keras":
        path = saved
    else:  # the app's own save (uncompiled copy, metadata beside it)
        from digitscope.model.modelfile import save_model

        path = save_model(random_cnn, tmp_path / "saved.keras", {"architecture": "mnist-cnn"})
    with zipfile.ZipFile(path) as z:
        assert json.loads(z.read("metadata.json"))["keras_version"] == keras.__version__
    out, err = read_blocked(path, images, tmp_path)
    assert out["is_cnn"] and not out["loaded_keras"] and out["imported"].size == 0
    assert WARNING not in err, err
    assert_f32_close(out["probabilities"], expected)
    assert_f32_close(out["single"], expected[0])


def test_weights_laid_out_otherwise_say_so_and_go_to_keras(saved, images, expected, tmp_path, capsys):
    from digitscope.model.inference import load_predictor

    path = rewritten(saved, tmp_path / "keras-2.13.keras", weights=keras_2_13_layout)
    predictor = load_predictor(path)
    lines = [line for line in capsys.readouterr().err.splitlines() if WARNING in line]
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"digitscope: warning: {path} ")
    assert "its weights are not laid out as this version reads them (_layer_checkpoint_dependencies/conv2d/vars/0" in lines[0]
    assert "loading it with Keras instead" in lines[0]
    assert predictor._model is not None, "Keras loaded it"
    assert predictor.is_cnn, "and the CNN's weights are taken from the Keras model"
    assert_f32_close(predictor.probabilities(images), expected)


def _activation_as_object(config: dict) -> None:
    relu = {"module": "keras.activations", "class_name": "function", "config": "relu", "registered_name": "function"}
    config["config"]["layers"][1]["config"]["activation"] = relu


def _kernel_size_as_number(config: dict) -> None:
    config["config"]["layers"][1]["config"]["kernel_size"] = 3


@pytest.mark.parametrize(
    "change, why",
    [
        (_activation_as_object, 'layer conv1 has activation {"class_name": "function"'),
        (_kernel_size_as_number, "layer conv1 has kernel_size 3, the CNN's [3, 3]"),
    ],
)
def test_a_config_this_version_does_not_know_says_so(change, why, saved, images, expected, tmp_path, capsys):
    """The same CNN, its config written as another Keras might: Keras reads it alike."""
    from digitscope.model.inference import load_predictor

    predictor = load_predictor(rewritten(saved, tmp_path / "other.keras", config=change))
    lines = [line for line in capsys.readouterr().err.splitlines() if WARNING in line]
    assert len(lines) == 1 and f"its config.json is not the CNN's as this version knows it ({why}" in lines[0], lines
    assert predictor._model is not None
    assert_f32_close(predictor.probabilities(images), expected)


def test_the_warning_comes_before_keras_is_needed(saved, tmp_path):
    """With TensorFlow blocked the fallback fails, but the reason was said first."""
    path = rewritten(saved, tmp_path / "keras-2.13.keras", weights=keras_2_13_layout)
    np.save(tmp_path / "images.npy", np.zeros((1, 28, 28), np.float32))
    r = subprocess.run(
        [sys.executable, "-c", READ_BLOCKED, str(path), str(tmp_path / "images.npy"), str(tmp_path / "out.npz")],
        capture_output=True, text=True, timeout=300,
    )
    assert r.returncode != 0
    lines = r.stderr.splitlines()
    first = next(i for i, line in enumerate(lines) if WARNING in line)
    assert any("is blocked in this test" in line for line in lines[first + 1 :]), r.stderr


def test_models_that_are_not_the_cnn_are_not_warned_about(tmp_path, capsys):
    import keras
    from digitscope.model.cnn_file import cnn_unread_reason, read_model_file
    from digitscope.model.inference import load_predictor
    from digitscope.model.modelfile import bundled_model_path

    assert cnn_unread_reason(read_model_file(bundled_model_path())) is None
    tanh = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10, activation="tanh")])
    tanh.save(tmp_path / "tanh.keras")
    predictor = load_predictor(tmp_path / "tanh.keras")
    assert not predictor.is_cnn and predictor._model is not None
    assert WARNING not in capsys.readouterr().err
