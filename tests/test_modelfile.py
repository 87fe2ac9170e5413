"""Model files: checked loading with clear errors, atomic saving with metadata."""

from __future__ import annotations

import json
import zipfile

import pytest
from digitscope.model.modelfile import (
    ModelFileError,
    bundled_model_path,
    load_keras_model,
    read_metadata,
    save_model,
)


def test_bundled_model_and_metadata_ship():
    path = bundled_model_path()
    assert path.is_file()
    meta = read_metadata(path)
    assert meta["test_accuracy"] >= 0.994
    assert len(meta["per_class_accuracy"]) == 10
    for key in ("epochs", "date", "command", "versions", "mnist_sha256"):
        assert key in meta


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="not found"):
        load_keras_model(tmp_path / "none.keras")


def test_corrupt_file(tmp_path):
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(ModelFileError, match="not a zip"):
        load_keras_model(bad)


def test_truncated_model_file(tmp_path):
    data = bundled_model_path().read_bytes()
    bad = tmp_path / "truncated.keras"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError):
        load_keras_model(bad)


def test_zip_that_is_not_a_model(tmp_path):
    bad = tmp_path / "other.keras"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(ModelFileError, match="not a Keras model"):
        load_keras_model(bad)


def test_wrong_shaped_model(tmp_path):
    import keras

    wrong = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(), keras.layers.Dense(10)])
    path = tmp_path / "wrong.keras"
    wrong.save(path)
    with pytest.raises(ModelFileError, match=r"input is \(32, 32, 3\)"):
        load_keras_model(path)
    wrong = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(7)])
    wrong.save(path)
    with pytest.raises(ModelFileError, match="expected 10 classes"):
        load_keras_model(path)


def test_save_writes_model_and_metadata(tmp_path):
    import keras
    from digitscope.model.architecture import build_cnn

    model = build_cnn()
    model.compile("adam", "categorical_crossentropy")
    path = save_model(model, tmp_path / "m.keras", {"test_accuracy": 0.5})
    loaded = load_keras_model(path)
    assert [w.shape for w in loaded.get_weights()] == [w.shape for w in model.get_weights()]
    assert json.loads((tmp_path / "m.json").read_text())["test_accuracy"] == 0.5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.keras"]
    del keras


def test_failed_save_leaves_previous_model_intact(tmp_path, monkeypatch):
    from digitscope.model.architecture import build_cnn

    target = tmp_path / "m.keras"
    target.write_bytes(bundled_model_path().read_bytes())
    before = target.read_bytes()
    model = build_cnn()

    def disk_full(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(type(model), "save", disk_full)
    with pytest.raises(OSError, match="No space"):
        save_model(model, target, {})
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.keras"]
