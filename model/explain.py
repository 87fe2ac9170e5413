"""The arithmetic behind View → How it reads your digit: single output values of the
CNN's layers, taken apart into the numbers a person can check by hand.

Everything is computed again from the layer's input and the weights (in
float64), so a view built on it shows real sums, not a copy of the answer.
Pure NumPy, no Qt: tested on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

KERNEL = 3  # both convolutions are 3×3, stride 1, no padding
POOL = 2  # 2×2 max-pooling, stride 2


@dataclass(frozen=True)
class ConvStep:
    """One output value of a 3×3 convolution + ReLU at (``row``, ``col``) of map ``channel``.

    ``z = Σ contributions + bias``; each contribution is one input map's
    3×3 patch times that map's 3×3 kernel slice, summed. ``patch`` and
    ``kernel`` are those of input map ``source`` (the only one for conv1).
    """

    layer: str
    channel: int
    row: int
    col: int
    source: int
    patch: np.ndarray  # (3, 3) input values under the window, of input map ``source``
    kernel: np.ndarray  # (3, 3) the weights they are multiplied by
    contributions: np.ndarray  # (C_in,) Σ patch × kernel for every input map
    bias: float

    @property
    def products(self) -> np.ndarray:
        """(3, 3) patch × kernel, element by element."""
        return self.patch * self.kernel

    @property
    def total(self) -> float:
        """Σ over every input map of its patch × kernel products (before the bias)."""
        return float(self.contributions.sum())

    @property
    def z(self) -> float:
        return self.total + self.bias

    @property
    def value(self) -> float:
        """ReLU(z): the output map's value at (row, col)."""
        return max(0.0, self.z)


@dataclass(frozen=True)
class PoolStep:
    """One value of the 2×2 max-pooling of conv2 map ``channel``, at pooled (``row``, ``col``)."""

    channel: int
    row: int
    col: int
    window: np.ndarray  # (2, 2) conv2 values at rows 2·row…2·row+1, cols 2·col…2·col+1

    @property
    def argmax(self) -> tuple[int, int]:
        """Position of the largest of the four inside the window (the first, on a tie)."""
        i = int(np.argmax(self.window))
        return i // POOL, i % POOL

    @property
    def value(self) -> float:
        return float(self.window.max())


@dataclass(frozen=True)
class Softmax:
    """The last layer for one input: scores (logits) and how softmax turns them into probabilities."""

    logits: np.ndarray  # (10,) dense · W + b
    exps: np.ndarray  # (10,) e^(logit − max logit): the max subtracted so nothing overflows

    @property
    def probabilities(self) -> np.ndarray:
        return self.exps / self.exps.sum()


def conv1_kernels(weights: Any) -> np.ndarray:
    """conv1's kernels as (3, 3, 1, 32)."""
    return np.asarray(weights.kernel1)


def conv2_kernels(weights: Any) -> np.ndarray:
    """conv2's kernels as (3, 3, C_in, C_out) (the forward pass keeps them flattened)."""
    w2 = np.asarray(weights.w2)
    return w2.reshape(KERNEL, KERNEL, w2.shape[0] // (KERNEL * KERNEL), w2.shape[1])


def conv_step(layer: str, inputs: np.ndarray, kernels: np.ndarray, biases: np.ndarray, channel: int,
              row: int, col: int, source: int | None = None) -> ConvStep:
    """Output (``row``, ``col``) of map ``channel`` of a 3×3 valid convolution of ``inputs`` (H, W, C_in)
    with ``kernels`` (3, 3, C_in, C_out) + ``biases``, then ReLU. ``source``: the input map to show
    (None: the one whose contribution is largest in size)."""
    window = np.asarray(inputs[row : row + KERNEL, col : col + KERNEL, :], np.float64)
    if window.shape[:2] != (KERNEL, KERNEL):
        raise IndexError(f"({row}, {col}) is outside the output of a {inputs.shape[0]}×{inputs.shape[1]} input")
    kernel = np.asarray(kernels[:, :, :, channel], np.float64)
    contributions = np.einsum("ijc,ijc->c", window, kernel)
    if source is None:
        source = int(np.argmax(np.abs(contributions)))
    return ConvStep(layer, channel, row, col, source, window[:, :, source], kernel[:, :, source], contributions, float(biases[channel]))


def conv1_step(tensor: np.ndarray, weights: Any, channel: int, row: int, col: int) -> ConvStep:
    """conv1 map ``channel`` at (row, col), from the (28, 28) input."""
    x = np.asarray(tensor).reshape(tensor.shape[0], tensor.shape[1], 1)
    return conv_step("conv1", x, conv1_kernels(weights), weights.b1, channel, row, col, 0)


def conv2_step(conv1: np.ndarray, weights: Any, channel: int, row: int, col: int, source: int | None = None) -> ConvStep:
    """conv2 map ``channel`` at (row, col), from conv1's (26, 26, 32) maps (after their ReLU)."""
    return conv_step("conv2", conv1, conv2_kernels(weights), weights.b2, channel, row, col, source)


def pool_step(conv2: np.ndarray, channel: int, row: int, col: int) -> PoolStep:
    """Pooled map ``channel`` at (row, col), from conv2's (24, 24, 64) maps."""
    window = np.asarray(conv2[POOL * row : POOL * row + POOL, POOL * col : POOL * col + POOL, channel], np.float64)
    if window.shape != (POOL, POOL):
        raise IndexError(f"({row}, {col}) is outside the pooled map")
    return PoolStep(channel, row, col, window)


def softmax(dense: np.ndarray, weights: Any) -> Softmax:
    """The output layer on the 128 dense activations."""
    logits = np.asarray(dense, np.float64) @ np.asarray(weights.w4, np.float64) + np.asarray(weights.b4, np.float64)
    return Softmax(logits, np.exp(logits - logits.max()))


def votes(dense: np.ndarray, weights: Any, digit: int) -> np.ndarray:
    """(128,) each dense unit's share of ``digit``'s logit: activation × its weight to that digit."""
    return np.asarray(dense, np.float64) * np.asarray(weights.w4, np.float64)[:, digit]


def largest(values: np.ndarray, k: int) -> tuple[list[int], float, int]:
    """The indices of the ``k`` values largest in size (largest first), and the sum and count of the rest."""
    order = np.argsort(-np.abs(values), kind="stable")
    top, rest = order[:k], order[k:]
    return [int(i) for i in top], float(values[rest].sum()), len(rest)


def window_at(x: float, y: float, size: int, stride: int, out_shape: tuple[int, int]) -> tuple[int, int]:
    """The output position whose ``size``×``size`` window (``stride`` apart) is centred nearest to
    the input point (x, y) (pixel coordinates, pixel i spans [i, i+1)), kept inside the output."""
    offset = (size - stride) / 2.0
    row = int(np.floor((y - offset) / stride))
    col = int(np.floor((x - offset) / stride))
    return min(max(row, 0), out_shape[0] - 1), min(max(col, 0), out_shape[1] - 1)


def step(row: int, col: int, shape: tuple[int, int], delta: int = 1) -> tuple[int, int]:
    """The position ``delta`` steps on, sliding along each row then down to the next (wrapping round)."""
    i = (row * shape[1] + col + delta) % (shape[0] * shape[1])
    return i // shape[1], i % shape[1]


def strongest(maps: np.ndarray) -> tuple[int, int, int]:
    """(channel, row, col) of the largest value of (H, W, C) maps: a lively default to look at."""
    r, c, k = np.unravel_index(int(np.argmax(maps)), maps.shape)
    return int(k), int(r), int(c)
