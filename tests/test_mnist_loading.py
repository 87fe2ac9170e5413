"""MNIST loading follows keras.datasets.mnist.load_data(path=...) semantics, without downloading in tests."""

from __future__ import annotations

import numpy as np
import pytest
from digitscope.model.mnist import ENV_VAR, MnistUnavailable, as_inputs, find_mnist, load_mnist, one_hot


def test_named_file_is_used(tiny_mnist):
    data = load_mnist(tiny_mnist)
    assert data.x_train.shape == (256, 28, 28) and data.path == tiny_mnist


def test_environment_variable_is_used(tiny_mnist, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tiny_mnist))
    assert find_mnist() == tiny_mnist


def test_keras_cache_is_used(tiny_mnist, tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    home = tmp_path / "kerashome"
    (home / "datasets").mkdir(parents=True)
    (home / "datasets" / "mnist.npz").write_bytes(tiny_mnist.read_bytes())
    monkeypatch.setenv("KERAS_HOME", str(home))
    assert load_mnist(download=False).x_test.shape == (64, 28, 28)


def test_named_missing_file_is_an_error_not_a_download(tmp_path):
    with pytest.raises(MnistUnavailable, match="not found"):
        load_mnist(tmp_path / "missing.npz")


def test_no_file_and_no_download_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty"))
    with pytest.raises(MnistUnavailable, match="--mnist"):
        load_mnist(download=False)


def test_wrong_file_is_rejected(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, x_train=np.zeros((3, 5, 5)), y_train=np.zeros(3), x_test=np.zeros((1, 5, 5)), y_test=np.zeros(1))
    with pytest.raises(MnistUnavailable, match="28, 28"):
        load_mnist(bad)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(MnistUnavailable, match="cannot read"):
        load_mnist(junk)


def test_inputs_and_one_hot():
    x = as_inputs(np.array([[[0, 255] * 14] * 28], np.uint8))
    assert x.shape == (1, 28, 28, 1) and x.dtype == np.float32 and x.max() == 1.0
    y = one_hot(np.array([3, 0]))
    assert y.tolist()[0][3] == 1.0 and y.sum() == 2.0


def test_shared_mnist_is_standard(mnist_path):
    data = load_mnist(mnist_path)
    assert data.x_train.shape == (60000, 28, 28) and data.x_test.shape == (10000, 28, 28)
    assert np.bincount(data.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
