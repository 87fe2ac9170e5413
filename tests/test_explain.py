"""model/explain.py: the step-through's sums, checked against convolutions written out here."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from digitscope.model import explain
from digitscope.model.inference import CnnWeights, Predictor
from digitscope.model.preprocess import drawing_to_tensor
from helpers import approx_f32, assert_f32_close, seven


def direct_conv(x: np.ndarray, kernels: np.ndarray, biases: np.ndarray) -> np.ndarray:
    """A 3×3 valid convolution + ReLU by plain loops: (H, W, C_in) * (3, 3, C_in, C_out)."""
    h, w = x.shape[0] - 2, x.shape[1] - 2
    out = np.zeros((h, w, kernels.shape[3]))
    for r in range(h):
        for c in range(w):
            for i in range(3):
                for j in range(3):
                    out[r, c] += x[r + i, c + j, :] @ kernels[i, j]
    return np.maximum(out + biases, 0.0)


def random_weights(seed: int = 0) -> CnnWeights:
    rng = np.random.default_rng(seed)
    shapes = {"conv1": (3, 3, 1, 32), "conv2": (3, 3, 32, 64), "dense": (9216, 128), "probabilities": (128, 10)}
    return CnnWeights(
        {n: (rng.normal(0, 0.3, s).astype(np.float32), rng.normal(0, 0.1, s[-1]).astype(np.float32)) for n, s in shapes.items()}
    )


@pytest.fixture(scope="module")
def case():
    weights = random_weights()
    x = drawing_to_tensor(seven())
    k2 = np.asarray(weights.w2).reshape(3, 3, 32, 64)  # conv2's kernels, (kh, kw, cin, cout) as Keras has them
    a1 = direct_conv(x[:, :, None], weights.kernel1, weights.b1)
    a2 = direct_conv(a1, k2, weights.b2)
    return weights, x, a1, a2, Predictor(weights=weights).predict(x)


POSITIONS = [(0, 0), (5, 9), (12, 12), (20, 3), (23, 23)]


@pytest.mark.parametrize("row,col", POSITIONS + [(25, 25), (25, 0)])
def test_conv1_step_adds_up_to_the_activation(case, row, col):
    weights, x, a1, _, prediction = case
    for channel in (0, 7, 31):
        s = explain.conv1_step(x, weights, channel, row, col)
        np.testing.assert_array_equal(s.patch, x[row : row + 3, col : col + 3])
        np.testing.assert_array_equal(s.kernel, weights.kernel1[:, :, 0, channel])
        assert s.products.sum() == pytest.approx(s.total, abs=1e-12)
        assert s.z == pytest.approx(s.total + float(weights.b1[channel]))
        assert s.value == approx_f32(a1[row, col, channel])
        assert s.value == approx_f32(float(prediction.activations["conv1"][row, col, channel]))


@pytest.mark.parametrize("row,col", POSITIONS)
def test_conv2_step_adds_up_to_the_activation(case, row, col):
    weights, _, _, a2, prediction = case
    conv1 = prediction.activations["conv1"]
    for channel in (0, 33, 63):
        s = explain.conv2_step(conv1, weights, channel, row, col)
        assert s.contributions.shape == (32,)
        assert s.value == approx_f32(a2[row, col, channel])
        assert s.value == approx_f32(float(prediction.activations["conv2"][row, col, channel]))
        # by default the input map shown is the one that weighs most in the sum
        assert abs(s.contributions[s.source]) == pytest.approx(np.abs(s.contributions).max())
        assert s.products.sum() == pytest.approx(s.contributions[s.source])
        np.testing.assert_array_equal(s.patch, conv1[row : row + 3, col : col + 3, s.source])
        chosen = explain.conv2_step(conv1, weights, channel, row, col, source=5)
        assert chosen.source == 5 and chosen.products.sum() == pytest.approx(s.contributions[5])


def test_pool_step_is_the_largest_of_four(case):
    _, _, _, a2, prediction = case
    conv2, pooled = prediction.activations["conv2"], prediction.activations["pool"]
    for row, col in [(0, 0), (3, 7), (6, 6), (11, 11)]:
        for channel in (0, 40, 63):
            s = explain.pool_step(conv2, channel, row, col)
            np.testing.assert_array_equal(s.window, conv2[2 * row : 2 * row + 2, 2 * col : 2 * col + 2, channel])
            assert s.value == float(pooled[row, col, channel])
            assert s.value == approx_f32(a2[2 * row : 2 * row + 2, 2 * col : 2 * col + 2, channel].max())
            i, j = s.argmax
            assert s.window[i, j] == s.value


def test_softmax_and_votes_give_the_prediction(case):
    weights, _, _, _, prediction = case
    sm = explain.softmax(prediction.activations["dense"], weights)
    assert_f32_close(sm.probabilities, prediction.probabilities)
    assert sm.exps.max() == 1.0
    digit = prediction.digit
    v = explain.votes(prediction.activations["dense"], weights, digit)
    assert v.sum() + weights.b4[digit] == pytest.approx(sm.logits[digit], abs=1e-9)


def test_outside_positions_are_refused(case):
    weights, x, _, _, prediction = case
    with pytest.raises(IndexError):
        explain.conv1_step(x, weights, 0, 26, 0)
    with pytest.raises(IndexError):
        explain.pool_step(prediction.activations["conv2"], 0, 0, 12)


def test_largest_by_size():
    top, rest, count = explain.largest(np.array([0.1, -3.0, 2.0, 0.5, -0.2]), 2)
    assert top == [1, 2] and rest == pytest.approx(0.4) and count == 3


@pytest.mark.parametrize("x,y,size,stride,expected", [
    (0.2, 0.7, 3, 1, (0, 0)),  # a corner pixel: the window cannot centre on it
    (5.5, 9.5, 3, 1, (8, 4)),  # centred on pixel (9, 5): the window starts one row and column before
    (27.9, 27.9, 3, 1, (25, 25)),
    (3.5, 2.5, 2, 2, (1, 1)),  # pooling: the 2×2 block holding the pixel
    (23.9, 0.0, 2, 2, (0, 11)),
    (-4.0, 99.0, 3, 1, (25, 0)),
])
def test_window_under_the_cursor(x, y, size, stride, expected):
    out = (26, 26) if stride == 1 else (12, 12)
    assert explain.window_at(x, y, size, stride, out) == expected


def test_stepping_slides_along_rows_and_wraps():
    assert explain.step(0, 0, (26, 26)) == (0, 1)
    assert explain.step(0, 25, (26, 26)) == (1, 0)
    assert explain.step(25, 25, (26, 26)) == (0, 0)
    assert explain.step(0, 0, (26, 26), -1) == (25, 25)


def test_strongest_map_and_place():
    maps = np.zeros((4, 5, 3))
    maps[2, 3, 1] = 5.0
    assert explain.strongest(maps) == (1, 2, 3)


def test_no_qt_in_the_arithmetic():
    import subprocess

    code = "import sys, digitscope.model.explain; sys.exit(any(m.startswith('PySide6') for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
