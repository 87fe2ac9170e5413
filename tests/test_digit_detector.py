"""The digit detector network: its NumPy forward pass is Keras's, and bad weights are refused."""

from __future__ import annotations

import numpy as np
import pytest
from digitscope.model.digit_detector import DetectorWeights, build_detector, detector_logits, source_weights

from helpers import assert_f32_close


@pytest.fixture(scope="module")
def keras_detector():
    model = build_detector((4, 6, 8, 16))
    rng = np.random.default_rng(3)
    model.set_weights([rng.normal(0, 0.3, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def test_numpy_forward_is_the_keras_forward(keras_detector) -> None:
    x = np.random.default_rng(0).random((7, 28, 28)).astype(np.float32)
    expected = np.asarray(keras_detector(x[..., None], training=False))[:, 0]
    dw = DetectorWeights.from_keras(keras_detector)
    assert_f32_close(detector_logits(dw, x), expected)
    assert_f32_close(detector_logits(dw, x, batch_size=3), expected)  # batches change nothing
    assert detector_logits(dw, np.zeros((0, 28, 28))).shape == (0,)


def test_arrays_round_trip(keras_detector) -> None:
    dw = DetectorWeights.from_keras(keras_detector)
    again = DetectorWeights.from_arrays(dw.arrays())
    x = np.random.default_rng(1).random((2, 28, 28))
    assert np.array_equal(detector_logits(dw, x), detector_logits(again, x))


def test_weights_that_do_not_chain_are_refused(keras_detector) -> None:
    arrays = DetectorWeights.from_keras(keras_detector).arrays()
    with pytest.raises(ValueError, match="conv layer 2"):
        DetectorWeights.from_arrays({**arrays, "conv2_kernel": np.zeros((3, 3, 5, 6))})
    with pytest.raises(ValueError, match="dense layer 1"):
        DetectorWeights.from_arrays({**arrays, "dense1_kernel": np.zeros((10, 16))})
    with pytest.raises(ValueError, match="one output"):
        DetectorWeights.from_arrays({**arrays, "dense2_kernel": np.zeros((16, 2)), "dense2_bias": np.zeros(2)})
    with pytest.raises(ValueError, match="lacks conv3_bias"):
        DetectorWeights.from_arrays({k: v for k, v in arrays.items() if k != "conv3_bias"})


def test_source_weights_give_each_source_its_share() -> None:
    w = source_weights([10, 1000, 90], [0.5, 0.25, 0.25])
    assert w.mean() == pytest.approx(1.0)
    assert [w[:10].sum() / w.sum(), w[10:1010].sum() / w.sum()] == pytest.approx([0.5, 0.25])
