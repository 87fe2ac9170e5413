"""The CNN's one forward pass (``inference.cnn_stages``): the single-sample, batch and saliency
paths all agree with Keras's own outputs, for random weights (not the bundled model's)."""

from __future__ import annotations

import numpy as np
import pytest
from digitscope.model.architecture import MAP_SHAPES
from digitscope.model.preprocess import drawing_to_tensor
import helpers
from helpers import assert_f32_close, loop, seven, vertical_stroke

STAGES = ("conv1", "conv2", "pool", "dense")


@pytest.fixture(scope="module")
def random_cnn():
    return helpers.random_cnn(7)


@pytest.fixture(scope="module")
def images():
    """Drawings (blank margins: constant conv maps, ties in the pooling) and noise (no ties)."""
    drawn = [drawing_to_tensor(d) for d in (seven(), loop(), vertical_stroke(), seven(0.8, 30, 20))]
    noise = np.random.default_rng(9).uniform(0, 1, (3, 28, 28)).astype(np.float32)
    return np.concatenate([np.stack(drawn), noise])


@pytest.fixture(scope="module")
def keras_outputs(random_cnn, images):
    """Keras's activations of every stage and its probabilities, for ``images``."""
    import keras

    probe = keras.Model(random_cnn.inputs, [random_cnn.get_layer(n).output for n in (*STAGES, "probabilities")])
    outs = [np.asarray(a) for a in probe(images[..., None], training=False)]
    return dict(zip((*STAGES, "probabilities"), outs))


@pytest.fixture(scope="module")
def weights(random_cnn):
    from digitscope.model.inference import CnnWeights

    w = CnnWeights.from_keras(random_cnn)
    assert w is not None
    return w


def test_the_batch_pass_equals_keras_at_every_stage(weights, images, keras_outputs):
    from digitscope.model.inference import cnn_stages

    stages = cnn_stages(weights, images)
    for name in STAGES:
        assert getattr(stages, name).shape == keras_outputs[name].shape, name
        assert_f32_close(getattr(stages, name), keras_outputs[name])
    z = stages.logits - stages.logits.max(1, keepdims=True)
    assert_f32_close(np.exp(z) / np.exp(z).sum(1, keepdims=True), keras_outputs["probabilities"])


def test_the_single_sample_path_is_the_batch_pass(random_cnn, weights, images, keras_outputs):
    from digitscope.model.inference import Predictor, cnn_forward

    predictor = Predictor(random_cnn)
    assert predictor.is_cnn
    for i, x in enumerate(images):
        probs, acts = cnn_forward(weights, x)
        pred = predictor.predict(x)
        assert_f32_close(probs, keras_outputs["probabilities"][i])
        assert_f32_close(pred.probabilities, probs)
        for name in STAGES:
            assert acts[name].shape == keras_outputs[name].shape[1:]
            assert_f32_close(acts[name], keras_outputs[name][i])
        for name, shape in MAP_SHAPES.items():
            assert pred.activations[name].shape == shape
    assert_f32_close(predictor.probabilities(images, batch_size=3), keras_outputs["probabilities"])


def test_single_sample_activations_are_not_the_reused_buffers(weights, images):
    """The im2col buffers are reused call after call: what a prediction holds must not change."""
    from digitscope.model.inference import cnn_forward

    _, first = cnn_forward(weights, images[0])
    kept = {k: v.copy() for k, v in first.items()}
    cnn_forward(weights, images[1])
    for name, value in kept.items():
        np.testing.assert_array_equal(first[name], value, err_msg=name)


def test_float64_logits_follow_the_float32_pass(weights, images):
    from digitscope.model.inference import cnn_stages
    from digitscope.model.saliency import cnn_logits

    z64 = cnn_logits(weights, images[0].astype(np.float64))
    assert z64.dtype == np.float64
    assert_f32_close(z64, cnn_stages(weights, images[:1]).logits[0])


def keras_gradient_x_input(model, x: np.ndarray, digit: int) -> np.ndarray:
    """Gradient × input of ``digit``'s logit (the probabilities layer before its softmax), by tf.GradientTape."""
    import keras
    import tensorflow as tf

    dense = keras.Model(model.inputs, model.get_layer("dense").output)
    kernel, bias = model.get_layer("probabilities").get_weights()
    t = tf.constant(x[None, :, :, None])
    with tf.GradientTape() as tape:
        tape.watch(t)
        logit = (tf.matmul(dense(t, training=False), kernel) + bias)[0, digit]
    return (tape.gradient(logit, t).numpy() * x[None, :, :, None])[0, :, :, 0]


@pytest.mark.parametrize("index", range(7))
def test_saliency_is_the_gradient_tensorflow_computes(random_cnn, weights, images, index):
    """Against TensorFlow's own backpropagation (tests/test_saliency.py checks the bundled model
    against finite differences). The drawings get a faint noise: in a blank margin or solid ink
    pooling windows tie, and any share of the gradient among the tied is a valid one (ours is
    even, TensorFlow's all to the first)."""
    from digitscope.model.inference import cnn_forward
    from digitscope.model.saliency import gradient_x_input

    x = images[index]
    if index < 4:
        x = np.clip(x + np.random.default_rng(index).uniform(0, 0.01, x.shape), 0, 1).astype(np.float32)
    _, acts = cnn_forward(weights, x)
    top, top_digit = gradient_x_input(weights, x)
    other_digit = (top_digit + 3) % 10
    for digit, reuse in ((top_digit, None), (other_digit, acts)):
        ours, k = gradient_x_input(weights, x, digit if reuse is not None else None, reuse)
        assert k == digit
        expected = keras_gradient_x_input(random_cnn, x, digit)
        assert np.abs(expected).max() > 1e-3, "a map worth comparing"
        assert_f32_close(ours, expected)
    assert_f32_close(top, gradient_x_input(weights, x, top_digit)[0])


def test_the_predictor_asks_one_backend(random_cnn, weights, images):
    import keras
    from digitscope.model.inference import CnnBackend, DenseBackend, DenseWeights, KerasBackend, Predictor

    cnn = Predictor(weights=weights)
    assert isinstance(cnn.backend, CnnBackend) and cnn.is_cnn
    assert cnn.weights is cnn.cnn_weights is cnn.numpy_weights is weights and cnn.dense is None
    assert cnn.parameter_count == random_cnn.count_params()

    rng = np.random.default_rng(3)
    layers = [(rng.normal(0, 0.05, (784, 16)), rng.normal(0, 0.1, 16), "relu"), (rng.normal(0, 0.3, (16, 10)), np.zeros(10), "softmax")]
    dense = Predictor(dense=DenseWeights(layers))
    assert isinstance(dense.backend, DenseBackend) and not dense.is_cnn
    assert dense.weights is None and dense.dense is dense.dense_weights is dense.numpy_weights
    assert dense.predict(images[0]).activations["hidden1"].shape == (16,)
    assert_f32_close(dense.probabilities(images)[0], dense.predict(images[0]).probabilities)

    flat = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    other = Predictor(flat)
    assert isinstance(other.backend, KerasBackend) and not other.is_cnn
    assert other.weights is None and other.dense is None and other.numpy_weights is None
    assert other.parameter_count == 7850
    assert_f32_close(other.probabilities(images)[2], other.predict(images[2]).probabilities)
