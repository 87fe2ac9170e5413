"""A small network that answers one question about a 28×28 input: is it a digit at all?

The CNN has ten softmax outputs and must choose one of them for an H or a
smiley. Its own features, trained only to tell digits apart, do not keep what
separates a letter from a digit well (a linear detector on them flagged 87 % of
letters of a writer site left out, at 1.6 % of its digits). This network is
trained for that question alone: digits (MNIST, pen digits) against drawings
that are no digit (letters that look like none, scribbles), each side weighted
equally. It reads the same tensor as the CNN, so it does not depend on the
CNN's weights: a model retrained from the menu keeps it.

Trained with Keras (:func:`train_detector`); read in NumPy (:func:`detector_logits`,
about 0.1 ms a drawing), so the reading process needs no TensorFlow.
Architecture: Conv(a,3)→MaxPool(2)→Conv(b,3)→MaxPool(2)→Conv(c,3)→Flatten→Dropout→
Dense(h)→Dense(1); the output is a logit, higher = less like a digit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .inference import conv3_relu, max_pool2

#: Filters of the three conv layers and units of the hidden dense layer.
WIDTHS = (32, 64, 64, 128)


@dataclass
class DetectorWeights:
    """The detector's weights as NumPy arrays: three 3×3 conv layers, then two dense layers."""

    convs: list[tuple[np.ndarray, np.ndarray]]  # kernels (3, 3, cin, cout), biases (cout,)
    dense: list[tuple[np.ndarray, np.ndarray]]  # kernels (in, out), biases (out,); the last has one output

    def __post_init__(self) -> None:
        self.convs = [(np.asarray(k, np.float32), np.asarray(b, np.float32)) for k, b in self.convs]
        self.dense = [(np.asarray(k, np.float32), np.asarray(b, np.float32)) for k, b in self.dense]
        self.check()

    def check(self) -> None:
        """ValueError unless the layers chain from a (28, 28, 1) input to one output."""
        if len(self.convs) != 3 or len(self.dense) != 2:
            raise ValueError("a digit detector has three conv and two dense layers")
        cin, side = 1, 28
        for i, (k, b) in enumerate(self.convs):
            if k.ndim != 4 or k.shape[:3] != (3, 3, cin) or b.shape != (k.shape[3],):
                raise ValueError(f"digit detector conv layer {i + 1} has kernel {k.shape}, bias {b.shape}")
            cin, side = k.shape[3], side - 2
            if i < 2:
                side //= 2
        n = side * side * cin
        for i, (k, b) in enumerate(self.dense):
            if k.ndim != 2 or k.shape[0] != n or b.shape != (k.shape[1],):
                raise ValueError(f"digit detector dense layer {i + 1} has kernel {k.shape}, bias {b.shape}")
            n = k.shape[1]
        if n != 1:
            raise ValueError("a digit detector has one output")

    def arrays(self) -> dict[str, np.ndarray]:
        """Named arrays, for a file: ``conv1_kernel``, ``conv1_bias``, ..., ``dense2_bias``."""
        out = {}
        for prefix, layers in (("conv", self.convs), ("dense", self.dense)):
            for i, (k, b) in enumerate(layers, 1):
                out[f"{prefix}{i}_kernel"], out[f"{prefix}{i}_bias"] = k, b
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> DetectorWeights:
        """The inverse of :meth:`arrays`; ValueError if any is missing or the shapes do not chain."""
        try:
            convs = [(arrays[f"conv{i}_kernel"], arrays[f"conv{i}_bias"]) for i in (1, 2, 3)]
            dense = [(arrays[f"dense{i}_kernel"], arrays[f"dense{i}_bias"]) for i in (1, 2)]
        except KeyError as exc:
            raise ValueError(f"the digit detector lacks {exc.args[0]}") from None
        return cls(convs, dense)

    @classmethod
    def from_keras(cls, model: object) -> DetectorWeights:
        """The weights of a model made by :func:`build_detector`."""
        # type: ignores: ``model`` is any Keras model (typed object: Keras is imported lazily), whose layers are untyped
        convs = [tuple(layer.get_weights()) for layer in model.layers if type(layer).__name__ == "Conv2D"]  # type: ignore[attr-defined]
        dense = [tuple(layer.get_weights()) for layer in model.layers if type(layer).__name__ == "Dense"]  # type: ignore[attr-defined]
        return cls(convs, dense)  # type: ignore[arg-type]  # tuple(get_weights()) has no fixed length


def detector_logits(dw: DetectorWeights, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Images (N, 28, 28) in [0, 1] → the detector's logits (N,) float64; higher = less like a digit."""
    images = np.asarray(images, np.float32).reshape(-1, 28, 28)
    out = []
    for start in range(0, len(images), batch_size):
        a = images[start : start + batch_size, :, :, None]
        n = len(a)
        for i, (k, b) in enumerate(dw.convs):
            a = conv3_relu(a, k.reshape(-1, k.shape[3]), b)
            if i < 2:
                a = max_pool2(a)
        h = a.reshape(n, -1)
        (k1, b1), (k2, b2) = dw.dense
        h = np.maximum(h @ k1 + b1, 0.0)
        out.append((h @ k2 + b2)[:, 0].astype(np.float64))
    return np.concatenate(out) if out else np.zeros(0)


def build_detector(widths: Sequence[int] = WIDTHS, dropout: float = 0.3) -> object:
    """The Keras detector (imports TensorFlow)."""
    import keras
    from keras import layers

    a, b, c, h = widths
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(a, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(b, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(c, 3, activation="relu"),
            layers.Flatten(),
            layers.Dropout(dropout),
            layers.Dense(h, activation="relu"),
            layers.Dense(1),
        ],
        name="digit_detector",
    )


def source_weights(sizes: Sequence[int], shares: Sequence[float]) -> np.ndarray:
    """Per-example weights (mean 1) giving source ``i`` (``sizes[i]`` examples) the share ``shares[i]``."""
    sizes, shares = np.asarray(sizes), np.asarray(shares, np.float64)
    shares = shares / shares.sum()
    w = np.concatenate([np.full(n, s / n) for n, s in zip(sizes, shares) if n])
    return (w * len(w)).astype(np.float32)


def train_detector(
    digits: Sequence[np.ndarray],
    others: Sequence[np.ndarray],
    digit_shares: Sequence[float] | None = None,
    other_shares: Sequence[float] | None = None,
    epochs: int = 10,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    widths: Sequence[int] = WIDTHS,
    seed: int = 0,
    on_epoch: Callable[[int, float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> DetectorWeights:
    """Train a detector on digit sources (label 0) against no-digit sources (label 1), images
    (N, 28, 28) each. The two sides weigh half each; within a side, sources share by
    ``*_shares`` (default: equally). ``on_epoch(epoch, loss)`` after each epoch;
    ``should_stop()`` is asked after each batch and stops training early (the weights
    so far are returned)."""
    import keras

    digit_shares = digit_shares or [1.0] * len(digits)
    other_shares = other_shares or [1.0] * len(others)
    half = lambda s: [0.5 * x / sum(s) for x in s]  # noqa: E731 (a one-line helper reads better here)
    sources = [*digits, *others]
    x = np.concatenate([np.asarray(s, np.float32).reshape(-1, 28, 28) for s in sources])[..., None]
    y = np.concatenate([np.full(len(s), float(i >= len(digits)), np.float32) for i, s in enumerate(sources)])
    w = source_weights([len(s) for s in sources], [*half(digit_shares), *half(other_shares)])
    keras.utils.set_random_seed(seed)
    model = build_detector(widths)
    steps = epochs * int(np.ceil(len(y) / batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, max(steps, 1))
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=keras.losses.BinaryCrossentropy(from_logits=True))

    class Report(keras.callbacks.Callback):
        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            if should_stop is not None and should_stop():
                self.model.stop_training = True

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if on_epoch is not None:
                on_epoch(epoch + 1, float((logs or {}).get("loss", float("nan"))))

    model.fit(x, y, sample_weight=w, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=0, callbacks=[Report()])
    return DetectorWeights.from_keras(model)
