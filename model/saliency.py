"""Saliency: which pixels of the input drove the network's answer.

Gradient × input of the chosen class's logit (the score before the softmax,
which saturates for a confident answer), by backpropagation through the
CNN in NumPy: about as cheap as one more forward pass, so it can be shown
live. Positive values are ink that argues *for* the class, negative values
ink that argues against it. The forward pass is :func:`.inference.cnn_stages`,
the one the predictions use.
"""

from __future__ import annotations

import numpy as np

from .architecture import MAP_SHAPES
from .inference import IMAGE_SHAPE, CnnStages, CnnWeights, cnn_stages


def _col2im(cols: np.ndarray, out: np.ndarray) -> np.ndarray:
    """The adjoint of :func:`.inference.im2col3`: scatter-add columns (H-2, W-2, 9·C) into ``out`` (H, W, C)."""
    h, w, c = cols.shape[0], cols.shape[1], out.shape[-1]
    for i in range(3):
        for j in range(3):
            k = (i * 3 + j) * c
            out[i : i + h, j : j + w, :] += cols[:, :, k : k + c]
    return out


def cnn_logits(w: CnnWeights, x: np.ndarray) -> np.ndarray:
    """The ten logits for one (28, 28) image (in ``x``'s precision when it is float64)."""
    return cnn_stages(w, np.asarray(x).reshape(IMAGE_SHAPE)).logits


def _stages_of(w: CnnWeights, activations: dict[str, np.ndarray]) -> CnnStages:
    """A prediction's activations (``conv1``, ``conv2``, ``pool``, ``dense``) as one image's stages."""
    a1, a2, pooled = (np.asarray(activations[k], np.float32).reshape(MAP_SHAPES[k]) for k in ("conv1", "conv2", "pool"))
    h = np.asarray(activations["dense"], np.float32).reshape(-1)
    return CnnStages(a1, a2, pooled, h, h @ w.w4 + w.b4)


def gradient_x_input(
    w: CnnWeights, x: np.ndarray, digit: int | None = None, activations: dict[str, np.ndarray] | None = None
) -> tuple[np.ndarray, int]:
    """(28, 28) gradient × input of ``digit``'s logit (the predicted digit by default), and that digit.

    ``activations`` (as a NumPy prediction carries them: ``conv1``, ``conv2``, ``pool``,
    ``dense``, after ReLU) spare the forward pass."""
    x = np.asarray(x).reshape(IMAGE_SHAPE)
    dtype = np.result_type(x.dtype, np.float32)
    if activations is not None and dtype == np.float32 and {"conv1", "conv2", "pool", "dense"} <= activations.keys():
        a1, a2, pooled, h, logits = _stages_of(w, activations)
    else:
        a1, a2, pooled, h, logits = cnn_stages(w, x)
    k = int(np.argmax(logits)) if digit is None else int(digit)

    # Only the signs of the pre-activations are needed: z > 0 ⇔ relu(z) > 0.
    dh = w.w4[:, k] * (h > 0)
    dpooled = w.w3 @ dh
    # max-pooling passes the gradient to the window's maximum (shared among ties), and the
    # ReLU only where it was open; the 2×2 windows as axes 1 and 3, broadcast, not repeated
    (ph, pw, c2), c1 = pooled.shape, a1.shape[-1]
    a2w = a2.reshape(ph, 2, pw, 2, c2)
    winners = (a2w == pooled.reshape(ph, 1, pw, 1, c2)) & (a2w > 0)
    ties = winners.sum(axis=(1, 3), keepdims=True, dtype=dtype)
    dz2 = winners * (dpooled.reshape(ph, 1, pw, 1, c2) / np.maximum(ties, 1))
    da1 = _col2im((dz2.reshape(-1, c2) @ w.w2.T).reshape(*a2.shape[:2], -1), np.zeros(a1.shape, dtype))
    dz1 = da1 * (a1 > 0)
    dx = _col2im((dz1.reshape(-1, c1) @ w.w1.T).reshape(*a1.shape[:2], -1), np.zeros((*x.shape, 1), dtype))
    return (dx[:, :, 0] * x).astype(np.float32), k
