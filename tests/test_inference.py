"""Inference: the NumPy forward pass equals Keras's own, and activations make sense."""

from __future__ import annotations

import numpy as np
import pytest
from digitscope.model.preprocess import drawing_to_tensor
import helpers
from helpers import assert_f32_close, loop, seven, vertical_stroke


@pytest.fixture(scope="module")
def random_cnn():
    return helpers.random_cnn(1)


def test_architecture_is_the_classic_cnn(random_cnn):
    from digitscope.model.architecture import LAYER_NAMES

    assert [layer.name for layer in random_cnn.layers] == ["image", *LAYER_NAMES]
    assert random_cnn.count_params() == 1_199_882


@pytest.mark.parametrize("make", [seven, loop, vertical_stroke])
def test_numpy_forward_equals_keras(random_cnn, make):
    import keras
    from digitscope.model.inference import Predictor

    x = drawing_to_tensor(make())
    pred = Predictor(random_cnn).predict(x)
    ref = np.asarray(random_cnn(x[None, :, :, None], training=False))[0]
    np.testing.assert_allclose(pred.probabilities, ref, atol=1e-5)
    stages = ("conv1", "conv2", "pool", "dense")
    probe = keras.Model(random_cnn.inputs, [random_cnn.get_layer(name).output for name in stages])
    outs = [np.asarray(a)[0] for a in probe(x[None, :, :, None])]
    for name, ref_act, tol in zip(stages, outs, (1e-5, 1e-4, 1e-4, 1e-4)):
        assert pred.activations[name].shape == ref_act.shape, name
        np.testing.assert_allclose(pred.activations[name], ref_act, atol=tol, err_msg=name)


def test_activations_have_shapes_and_respond_to_input(random_cnn):
    from digitscope.model.inference import Predictor

    p = Predictor(random_cnn)
    a = p.predict(drawing_to_tensor(seven()))
    b = p.predict(drawing_to_tensor(loop()))
    assert a.activations["conv1"].shape == (26, 26, 32)
    assert a.activations["conv2"].shape == (24, 24, 64)
    assert not np.allclose(a.activations["conv1"], b.activations["conv1"])
    assert not np.allclose(a.activations["conv2"], b.activations["conv2"])
    assert abs(float(a.probabilities.sum()) - 1.0) < 1e-5


def test_other_models_fall_back_to_keras():
    import keras
    from digitscope.model.inference import Predictor

    dense = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    p = Predictor(dense)
    assert p.weights is None
    x = drawing_to_tensor(seven())
    pred = p.predict(x)
    assert_f32_close(pred.probabilities, np.asarray(dense(x[None, :, :, None]))[0])
    assert pred.activations == {}


def test_bundled_model_reads_simple_drawings(bundled_predictor):
    assert bundled_predictor.predict(drawing_to_tensor(vertical_stroke())).digit == 1
    assert bundled_predictor.predict(drawing_to_tensor(loop())).digit == 0
    assert bundled_predictor.predict(drawing_to_tensor(seven())).digit == 7


def test_bundled_model_reads_pen_drawings(bundled_predictor, unipen_rows):
    from digitscope.model.drawing import Drawing

    rows = unipen_rows[::43][:100]
    hits = sum(bundled_predictor.predict(drawing_to_tensor(Drawing.from_json(r))).digit == r["label"] for r in rows)
    assert hits >= 96, f"{hits}/100 unipen-dev drawings read correctly"
