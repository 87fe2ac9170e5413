"""Inference: probabilities and convolution activations for one sample at a time.

For the CNN of :mod:`.architecture` the forward pass runs in NumPy from the
Keras weights (im2col + one GEMM per layer, single-threaded BLAS): about
0.4 ms per sample, against ~40 ms for ``model.predict`` per call. Any other
10-class model that takes (28, 28, 1) falls back to a compiled Keras call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .architecture import CONV_LAYERS


@dataclass
class Prediction:
    """What the network made of one input."""

    probabilities: np.ndarray  # (10,) float32, sums to 1
    activations: dict[str, np.ndarray] = field(default_factory=dict)  # "conv1": (26,26,32), "conv2": (24,24,64)

    @property
    def digit(self) -> int:
        return int(np.argmax(self.probabilities))

    @property
    def confidence(self) -> float:
        return float(np.max(self.probabilities))


class CnnWeights:
    """The CNN's weights as NumPy arrays, laid out for the im2col forward pass."""

    def __init__(self, model: Any) -> None:
        layers = {layer.name: layer for layer in model.layers}
        k1, self.b1 = (np.asarray(w, np.float32) for w in layers["conv1"].get_weights())
        k2, self.b2 = (np.asarray(w, np.float32) for w in layers["conv2"].get_weights())
        self.kernel1 = k1  # (3, 3, 1, 32), kept for display
        self.w1 = np.ascontiguousarray(k1.reshape(9, 32))
        # im2col windows come out as (cin, kh, kw): reorder the kernel to match.
        self.w2 = np.ascontiguousarray(k2.transpose(2, 0, 1, 3).reshape(-1, k2.shape[3]))
        self.w3, self.b3 = (np.asarray(w, np.float32) for w in layers["dense"].get_weights())
        self.w4, self.b4 = (np.asarray(w, np.float32) for w in layers["probabilities"].get_weights())

    @staticmethod
    def matches(model: Any) -> bool:
        """True when the model is the CNN of :mod:`.architecture` (by layer names and shapes)."""
        names = {layer.name: layer for layer in model.layers}
        try:
            return (
                all(n in names for n in ("conv1", "conv2", "pool", "flatten", "dense", "probabilities"))
                and tuple(names["conv1"].get_weights()[0].shape) == (3, 3, 1, 32)
                and tuple(names["conv2"].get_weights()[0].shape) == (3, 3, 32, 64)
                and tuple(names["dense"].get_weights()[0].shape) == (9216, 128)
                and tuple(names["probabilities"].get_weights()[0].shape) == (128, 10)
            )
        except (IndexError, AttributeError):
            return False


def cnn_forward(w: CnnWeights, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One (28, 28) image → (probabilities (10,), conv1 (26,26,32), conv2 (24,24,64))."""
    p1 = sliding_window_view(x, (3, 3)).reshape(676, 9)
    a1 = p1 @ w.w1
    a1 += w.b1
    np.maximum(a1, 0.0, out=a1)
    a1 = a1.reshape(26, 26, 32)
    p2 = sliding_window_view(a1, (3, 3), axis=(0, 1)).reshape(576, 288)
    a2 = p2 @ w.w2
    a2 += w.b2
    np.maximum(a2, 0.0, out=a2)
    a2 = a2.reshape(24, 24, 64)
    pooled = a2.reshape(12, 2, 12, 2, 64).max(axis=(1, 3)).reshape(-1)
    h = pooled @ w.w3
    h += w.b3
    np.maximum(h, 0.0, out=h)
    logits = h @ w.w4 + w.b4
    return _softmax(logits), a1, a2


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


class Predictor:
    """A loaded model, ready for many single-sample calls."""

    def __init__(self, model: Any, path: Path | None = None, metadata: dict[str, Any] | None = None) -> None:
        self.model = model
        self.path = path
        self.metadata = metadata or {}
        self.weights = CnnWeights(model) if CnnWeights.matches(model) else None
        self._blas = _single_thread_blas()
        self._keras_fn: Any = None

    @property
    def name(self) -> str:
        return self.path.name if self.path else getattr(self.model, "name", "model")

    def predict(self, x: np.ndarray) -> Prediction:
        """Probabilities and conv activations for one (28, 28) float32 image in [0, 1]."""
        x = np.asarray(x, dtype=np.float32).reshape(28, 28)
        if self.weights is not None:
            with self._blas:
                probs, a1, a2 = cnn_forward(self.weights, x)
            return Prediction(probs, {"conv1": a1, "conv2": a2})
        return self._predict_keras(x)

    def probabilities(self, images: np.ndarray, batch_size: int = 500) -> np.ndarray:
        """Probabilities for many images (N, 28, 28[, 1]), in batches (for evaluation)."""
        images = np.asarray(images, dtype=np.float32).reshape(-1, 28, 28, 1)
        out = [
            np.asarray(self.model.predict_on_batch(images[i : i + batch_size]))
            for i in range(0, len(images), batch_size)
        ]
        return np.concatenate(out) if out else np.zeros((0, 10), np.float32)

    def _predict_keras(self, x: np.ndarray) -> Prediction:
        if self._keras_fn is None:
            self._keras_fn = _keras_multi_output(self.model)
        outs = self._keras_fn(x[None, :, :, None])
        probs = np.asarray(outs[-1])[0]
        acts = {name: np.asarray(a)[0] for name, a in zip(CONV_LAYERS, outs[:-1])}
        return Prediction(probs.astype(np.float32), acts)


def _keras_multi_output(model: Any) -> Any:
    """A compiled call returning [conv activations..., probabilities] for any model."""
    import keras
    import tensorflow as tf

    names = {layer.name for layer in model.layers}
    convs = [model.get_layer(n).output for n in CONV_LAYERS if n in names]
    multi = keras.Model(model.inputs, [*convs, model.outputs[0]])
    fn = tf.function(lambda t: multi(t, training=False), reduce_retracing=True)
    return lambda x: [o.numpy() for o in fn(tf.constant(x))]


class _NoLimit:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _single_thread_blas() -> Any:
    """A context that runs BLAS on one thread: for 600×288 GEMMs, extra threads only add
    synchronisation, and on a busy machine a 2-thread call can be many times slower."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return _NoLimit()
    controller = ThreadpoolController()
    return _ReusableLimit(controller)


class _ReusableLimit:
    def __init__(self, controller: Any) -> None:
        self._controller = controller
        self._active: Any = None

    def __enter__(self) -> None:
        self._active = self._controller.limit(limits=1, user_api="blas")

    def __exit__(self, *exc: object) -> None:
        self._active.restore_original_limits()
        self._active = None


def load_predictor(path: str | Path) -> Predictor:
    """Load a model file (checked) and its metadata into a :class:`Predictor`."""
    from .modelfile import load_keras_model, read_metadata

    p = Path(path)
    return Predictor(load_keras_model(p), p, read_metadata(p))
