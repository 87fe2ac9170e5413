"""The three architectures: the NumPy network's backpropagation, training each through the
same run as the CLI, and reading the Dense ones back without TensorFlow."""

from __future__ import annotations

import json

import numpy as np
import pytest
from digitscope.model.mnist import as_inputs, load_mnist, one_hot
from digitscope.model.numpy_net import MlpParams, backprop, forward, train_numpy_net
from digitscope.model.training import TrainConfig, TrainingCancelled


def test_backprop_matches_finite_differences():
    rng = np.random.default_rng(3)
    p = MlpParams.initial(hidden=5, seed=1)
    p = MlpParams(*(a.astype(np.float64) + rng.normal(0, 0.1, a.shape) for a in p.as_list()))
    x = rng.random((4, 784))
    y = np.eye(10)[[1, 3, 3, 7]]
    w = np.array([1.0, 2.0, 0.5, 1.0])
    grads, loss, _ = backprop(p, x, y, w)

    def loss_at() -> float:
        return backprop(p, x, y, w)[1]

    for param, grad in zip(p.as_list(), grads):
        for index in [tuple(rng.integers(0, s) for s in param.shape) for _ in range(4)]:
            old = param[index]
            param[index] = old + 1e-6
            up = loss_at()
            param[index] = old - 1e-6
            down = loss_at()
            param[index] = old
            assert grad[index] == pytest.approx((up - down) / 2e-6, rel=1e-4, abs=1e-8)


def test_numpy_network_learns_and_reports_like_the_cnn(tiny_mnist):
    data = load_mnist(tiny_mnist)
    x, y = as_inputs(data.x_train), one_hot(data.y_train)
    events: list[dict] = []
    config = TrainConfig(epochs=15, batch_size=16, learning_rate=0.5, validation_split=0.25, batch_event_interval=0)
    params, history, seconds = train_numpy_net(x, y, config, hidden=16, progress=events.append)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "epoch" and "batch" in kinds
    assert [e["epoch"] for e in history] == list(range(1, 16)) and seconds > 0
    assert history[-1]["loss"] < 0.5 * history[0]["loss"]
    _, probs = forward(params, as_inputs(data.x_test).reshape(-1, 784))
    assert (probs.argmax(axis=1) == data.y_test).mean() > 0.9
    again, _, _ = train_numpy_net(x, y, config, hidden=16)
    np.testing.assert_array_equal(again.w1, params.w1)  # seeded: the same run twice


def test_numpy_training_cancels(tiny_mnist):
    data = load_mnist(tiny_mnist)
    calls = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(TrainingCancelled):
        train_numpy_net(as_inputs(data.x_train), one_hot(data.y_train), TrainConfig(epochs=50, batch_size=8), should_stop=stop)
    assert len(calls) == 4


@pytest.mark.parametrize("architecture, parameters", [("dense", 50_890), ("numpy", 50_890)])
def test_cli_trains_each_architecture_into_a_model_file(architecture, parameters, tiny_mnist, tmp_path, capsys):
    import keras
    from digitscope.model.cli import main
    from digitscope.model.inference import load_predictor

    out = tmp_path / f"{architecture}.keras"
    code = main(
        ["train", "--architecture", architecture, "--mnist", str(tiny_mnist), "--epochs", "2", "-o", str(out), "--progress", "json"]
    )
    assert code == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["event"] for e in events if e["event"] == "epoch"] == ["epoch", "epoch"]
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["architecture"] == {"dense": "keras-dense", "numpy": "numpy-mlp"}[architecture]
    assert meta["parameters"] == parameters and len(meta["history"]) == 2
    predictor = load_predictor(out)  # read in NumPy: no Keras model loaded
    assert predictor.dense is not None and predictor.weights is None and predictor._model is None
    assert predictor.parameter_count == parameters
    x = as_inputs(load_mnist(tiny_mnist).x_test)
    reference = np.asarray(keras.saving.load_model(out).predict(x, verbose=0))
    np.testing.assert_allclose(predictor.probabilities(x), reference, atol=1e-5)
    assert predictor.predict(x[0]).activations["hidden1"].shape == (64,)


def test_cnn_metadata_counts_its_parameters(tiny_mnist, tmp_path, capsys):
    from digitscope.model.cli import main

    out = tmp_path / "cnn.keras"
    assert main(["train", "--mnist", str(tiny_mnist), "--epochs", "1", "--limit", "64", "-o", str(out)]) == 0
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["architecture"] == "mnist-cnn" and meta["parameters"] == 1_199_882


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--architecture", "numpy", "--init-model", "ASSET"], "starts from scratch"),
        (["--architecture", "dense", "--init-model", "ASSET"], "fine-tune it with --architecture cnn"),
        (["--architecture", "dense", "--train-layers", "dense"], "for the CNN only"),
    ],
)
def test_impossible_combinations_are_clear_errors(argv, message, tiny_mnist, tmp_path, capsys):
    from digitscope.model.cli import main
    from digitscope.model.modelfile import bundled_model_path

    argv = [str(bundled_model_path()) if a == "ASSET" else a for a in argv]
    out = tmp_path / "never.keras"
    assert main(["train", "--mnist", str(tiny_mnist), "-o", str(out), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_weight_readers_tell_the_networks_apart(tmp_path):
    import keras
    from digitscope.model.architecture import build_dense
    from digitscope.model.cnn_file import read_cnn_weights, read_dense_weights
    from digitscope.model.modelfile import bundled_model_path

    assert read_dense_weights(bundled_model_path()) is None
    dense = build_dense()
    dense.save(tmp_path / "dense.keras")
    layers = read_dense_weights(tmp_path / "dense.keras")
    assert [(k.shape, act) for k, _, act in layers] == [((784, 64), "relu"), ((64, 10), "softmax")]
    assert read_cnn_weights(tmp_path / "dense.keras") is None
    # a Dense network that does not end in 10 softmax outputs is left to Keras
    odd = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10, activation="tanh")])
    odd.save(tmp_path / "odd.keras")
    assert read_dense_weights(tmp_path / "odd.keras") is None


def test_the_numpy_network_learns_smoothed_labels_too(tiny_mnist, tmp_path):
    """``--label-smoothing`` holds for the network trained without TensorFlow as for the CNN:
    with a share 0.5, a training image's label is best read at 1 − 0.45 = 0.55."""
    from digitscope.model.cli import main
    from digitscope.model.inference import load_predictor

    x = as_inputs(load_mnist(tiny_mnist).x_train)[:64]
    sure = {}
    for smoothing in ("0", "0.5"):
        out = tmp_path / f"numpy-{smoothing}.keras"
        argv = ["train", "--architecture", "numpy", "--mnist", str(tiny_mnist), "--limit", "64", "--epochs", "60"]
        assert main([*argv, "--validation-split", "0", "--label-smoothing", smoothing, "-o", str(out)]) == 0
        sure[smoothing] = float(np.median(load_predictor(out).probabilities(x).max(axis=1)))
    assert sure["0"] > 0.9, sure
    assert 0.4 < sure["0.5"] < 0.7, sure
