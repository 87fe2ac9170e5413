"""Saliency: which pixels of the input drove the network's answer.

Gradient × input of the chosen class's logit (the score before the softmax,
which saturates for a confident answer), by backpropagation through the
CNN in NumPy: about as cheap as one more forward pass, so it can be shown
live. Positive values are ink that argues *for* the class, negative values
ink that argues against it.
"""

from __future__ import annotations

import numpy as np

from .inference import CnnWeights, im2col3, max_pool2


def _col2im(cols: np.ndarray, out: np.ndarray) -> np.ndarray:
    """The adjoint of :func:`im2col3` for 3×3 patches: scatter-add columns (H-2, W-2, 9·C) into ``out`` (H, W, C)."""
    h, w, c = cols.shape[0], cols.shape[1], out.shape[-1]
    for i in range(3):
        for j in range(3):
            k = (i * 3 + j) * c
            out[i : i + h, j : j + w, :] += cols[:, :, k : k + c]
    return out


def cnn_logits(w: CnnWeights, x: np.ndarray) -> np.ndarray:
    """The ten logits for one (28, 28) image (in ``x``'s precision when it is float64)."""
    x = np.asarray(x).reshape(28, 28, 1)
    col1 = im2col3(x, np.empty((26, 26, 9), x.dtype))
    a1 = np.maximum(col1.reshape(676, 9) @ w.w1 + w.b1, 0).reshape(26, 26, 32)
    col2 = im2col3(a1, np.empty((24, 24, 288), a1.dtype))
    a2 = np.maximum(col2.reshape(576, 288) @ w.w2 + w.b2, 0).reshape(24, 24, 64)
    h = np.maximum(max_pool2(a2).reshape(-1) @ w.w3 + w.b3, 0)
    return h @ w.w4 + w.b4


def gradient_x_input(
    w: CnnWeights, x: np.ndarray, digit: int | None = None, activations: dict[str, np.ndarray] | None = None
) -> tuple[np.ndarray, int]:
    """(28, 28) gradient × input of ``digit``'s logit (the predicted digit by default), and that digit.

    ``activations`` (as a NumPy prediction carries them: ``conv1``, ``conv2``, ``pool``,
    ``dense``, after ReLU) spare the forward pass."""
    x = np.asarray(x).reshape(28, 28, 1)
    dtype = np.result_type(x.dtype, np.float32)
    if activations is not None and dtype == np.float32 and {"conv1", "conv2", "pool", "dense"} <= activations.keys():
        a1 = np.asarray(activations["conv1"], dtype).reshape(26, 26, 32)
        a2 = np.asarray(activations["conv2"], dtype).reshape(24, 24, 64)
        pooled = np.asarray(activations["pool"], dtype).reshape(12, 12, 64)
        h = np.asarray(activations["dense"], dtype).reshape(128)
        # only the signs of the pre-activations are used: z > 0 ⇔ relu(z) > 0
        z1, z2, zh = a1.reshape(676, 32), a2.reshape(576, 64), h
    else:
        col1 = im2col3(x, np.empty((26, 26, 9), dtype))
        z1 = col1.reshape(676, 9) @ w.w1 + w.b1
        a1 = np.maximum(z1, 0).reshape(26, 26, 32)
        col2 = im2col3(a1, np.empty((24, 24, 288), dtype))
        z2 = col2.reshape(576, 288) @ w.w2 + w.b2
        a2 = np.maximum(z2, 0).reshape(24, 24, 64)
        pooled = max_pool2(a2)
        zh = pooled.reshape(-1) @ w.w3 + w.b3
        h = np.maximum(zh, 0)
    logits = h @ w.w4 + w.b4
    k = int(np.argmax(logits)) if digit is None else int(digit)

    dh = w.w4[:, k] * (zh > 0)
    dpooled = (w.w3 @ dh).reshape(12, 1, 12, 1, 64)
    # max-pooling passes the gradient to the window's maximum (shared among ties), and the
    # ReLU only where it was open; the 2×2 windows as axes 1 and 3, broadcast, not repeated
    a2w = a2.reshape(12, 2, 12, 2, 64)
    winners = (a2w == pooled.reshape(12, 1, 12, 1, 64)) & (z2.reshape(12, 2, 12, 2, 64) > 0)
    ties = winners.sum(axis=(1, 3), keepdims=True, dtype=dtype)
    dz2 = (winners * (dpooled / np.maximum(ties, 1))).reshape(576, 64)
    da1 = _col2im((dz2 @ w.w2.T).reshape(24, 24, 288), np.zeros((26, 26, 32), dtype))
    dz1 = da1.reshape(676, 32) * (z1 > 0)
    dx = _col2im((dz1 @ w.w1.T).reshape(26, 26, 9), np.zeros((28, 28, 1), dtype))
    return (dx * x)[:, :, 0].astype(np.float32), k
