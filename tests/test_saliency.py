"""Saliency (gradient × input) by NumPy backpropagation."""

from __future__ import annotations

import numpy as np
from digitscope.model.examples import example_drawing
from digitscope.model.preprocess import drawing_to_tensor
from digitscope.model.saliency import cnn_logits, gradient_x_input
from helpers import assert_f32_close


def test_gradient_matches_finite_differences(bundled_predictor):
    w = bundled_predictor.weights
    x = drawing_to_tensor(example_drawing(3)).astype(np.float64)
    sal, digit = gradient_x_input(w, x)
    assert digit == 3
    eps = 1e-4
    numeric = np.zeros((28, 28))
    for r in range(28):
        for c in range(28):
            up, down = x.copy(), x.copy()
            up[r, c] += eps
            down[r, c] -= eps
            numeric[r, c] = (cnn_logits(w, up)[3] - cnn_logits(w, down)[3]) / (2 * eps)
    expected = numeric * x
    assert np.corrcoef(sal.ravel(), expected.ravel())[0, 1] > 0.999
    # Finite differences are wrong where a step crosses a ReLU or max-pool kink: a few pixels.
    close = np.abs(sal - expected) <= 2e-3 * np.abs(expected).max()
    assert close.mean() > 0.99


def test_saliency_lives_on_the_ink_and_explains_the_logit(bundled_predictor):
    w = bundled_predictor.weights
    x = drawing_to_tensor(example_drawing(7))
    sal, digit = gradient_x_input(w, x)
    assert digit == 7 and sal.dtype == np.float32 and sal.shape == (28, 28)
    assert np.all(sal[x == 0] == 0), "gradient × input is zero off the ink"
    assert sal.sum() > 0, "on balance the ink argues for the answer"
    other, k = gradient_x_input(w, x, digit=1)
    assert k == 1 and not np.allclose(other, sal)


def test_reusing_the_predictions_activations_gives_the_same_map(bundled_predictor):
    x = drawing_to_tensor(example_drawing(5))
    pred = bundled_predictor.predict(x)
    full, d1 = gradient_x_input(bundled_predictor.weights, x)
    reused, d2 = gradient_x_input(bundled_predictor.weights, x, pred.digit, pred.activations)
    assert d1 == d2 == 5
    assert_f32_close(reused, full)
