"""Inference: probabilities and convolution activations for one sample at a time.

For the CNN of :mod:`.architecture` the forward pass runs in NumPy from the
Keras weights (im2col + one GEMM per layer; see :func:`limit_blas_threads`):
about 0.4 ms per sample, against ~40 ms for ``model.predict`` per call. Any other
10-class model that takes (28, 28, 1) falls back to a compiled Keras call.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .architecture import CONV_LAYERS
from .cnn_file import KERNEL_SHAPES, cnn_weights, dense_weights, read_model_file


@dataclass
class Prediction:
    """What the network made of one input."""

    probabilities: np.ndarray  # (10,) float32, sums to 1
    #: Each stage after its activation: "conv1" (26,26,32), "conv2" (24,24,64), and for the
    #: CNN read in NumPy also "pool" (12,12,64) and "dense" (128,); other models: what they have.
    activations: dict[str, np.ndarray] = field(default_factory=dict)
    #: The verdict (``model.verdict``): is the input a digit at all? None when the model has none.
    is_digit: bool | None = None
    #: The verdict's score (higher = less like a digit; above its threshold: no digit).
    digit_score: float | None = None

    @property
    def digit(self) -> int:
        return int(np.argmax(self.probabilities))

    @property
    def confidence(self) -> float:
        return float(np.max(self.probabilities))


class CnnWeights:
    """The CNN's weights as NumPy arrays, laid out for the im2col forward pass."""

    def __init__(self, layers: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        k1, self.b1 = (np.asarray(w, np.float32) for w in layers["conv1"])
        k2, self.b2 = (np.asarray(w, np.float32) for w in layers["conv2"])
        self.kernel1 = k1  # (3, 3, 1, 32), kept for display
        # im2col columns are ordered (kh, kw, cin), as Keras lays out its kernels
        self.w1 = np.ascontiguousarray(k1.reshape(9, 32))
        self.w2 = np.ascontiguousarray(k2.reshape(-1, k2.shape[3]))
        self.w3, self.b3 = (np.asarray(w, np.float32) for w in layers["dense"])
        self.w4, self.b4 = (np.asarray(w, np.float32) for w in layers["probabilities"])

    @classmethod
    def from_keras(cls, model: Any) -> CnnWeights | None:
        """The weights of a Keras model, or None unless it is the CNN (by layer names and shapes)."""
        names = {layer.name: layer for layer in model.layers}
        try:
            layers = {n: tuple(names[n].get_weights()) for n in KERNEL_SHAPES}
        except (KeyError, AttributeError):
            return None
        for name, shape in KERNEL_SHAPES.items():
            if len(layers[name]) != 2 or tuple(layers[name][0].shape) != shape:
                return None
        return cls(layers)  # type: ignore[arg-type]


class DenseWeights:
    """A network of Dense layers (the Dense and the NumPy networks) as NumPy arrays."""

    def __init__(self, layers: list[tuple[np.ndarray, np.ndarray, str]]) -> None:
        self.layers = [(np.asarray(k, np.float32), np.asarray(b, np.float32), act) for k, b, act in layers]

    @property
    def parameter_count(self) -> int:
        return sum(k.size + b.size for k, b, _ in self.layers)

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Images (N, 28, 28) → (probabilities (N, 10), each hidden layer's activations (N, units))."""
        a = np.asarray(x, np.float32).reshape(len(x), -1)
        hidden = []
        for kernel, bias, act in self.layers[:-1]:
            a = a @ kernel + bias
            if act == "relu":
                np.maximum(a, 0.0, out=a)
            elif act == "sigmoid":
                a = sigmoid(a)
            hidden.append(a)
        kernel, bias, _ = self.layers[-1]
        return _softmax(a @ kernel + bias), hidden


_scratch = threading.local()


def _buffers() -> tuple[np.ndarray, np.ndarray]:
    """Per-thread im2col buffers (reused: a fresh 660 KB array costs page faults every call)."""
    bufs = getattr(_scratch, "bufs", None)
    if bufs is None:
        bufs = _scratch.bufs = (np.empty((26, 26, 9), np.float32), np.empty((24, 24, 288), np.float32))
    return bufs


def im2col3(src: np.ndarray, out: np.ndarray) -> np.ndarray:
    """3×3 patches of ``src`` (..., H, W, C) into ``out`` (..., H-2, W-2, 9·C), columns (kh, kw, c).

    Nine slice copies of C contiguous values each: several times faster than
    reshaping a sliding-window view, whose window axes come last.
    """
    h, w, c = out.shape[-3], out.shape[-2], src.shape[-1]
    for i in range(3):
        for j in range(3):
            k = (i * 3 + j) * c
            out[..., k : k + c] = src[..., i : i + h, j : j + w, :]
    return out


def max_pool2(a: np.ndarray) -> np.ndarray:
    """2×2 max-pooling over the two axes before the channels (an odd last row or column is
    dropped, as Keras's ``MaxPooling2D(2)`` does)."""
    if a.shape[-3] % 2 or a.shape[-2] % 2:
        a = a[..., : a.shape[-3] // 2 * 2, : a.shape[-2] // 2 * 2, :]
    m = np.maximum(a[..., 0::2, 0::2, :], a[..., 0::2, 1::2, :])
    np.maximum(m, a[..., 1::2, 0::2, :], out=m)
    np.maximum(m, a[..., 1::2, 1::2, :], out=m)
    return m


def cnn_forward(w: CnnWeights, x: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """One (28, 28) image → (probabilities (10,), activations: conv1 (26,26,32), conv2 (24,24,64),
    pool (12,12,64), dense (128,), all after their ReLU)."""
    col1, col2 = _buffers()
    a1 = im2col3(x[:, :, None], col1).reshape(676, 9) @ w.w1
    a1 += w.b1
    np.maximum(a1, 0.0, out=a1)
    a1 = a1.reshape(26, 26, 32)
    a2 = im2col3(a1, col2).reshape(576, 288) @ w.w2
    a2 += w.b2
    np.maximum(a2, 0.0, out=a2)
    a2 = a2.reshape(24, 24, 64)
    pooled = max_pool2(a2)
    h = pooled.reshape(-1) @ w.w3
    h += w.b3
    np.maximum(h, 0.0, out=h)
    logits = h @ w.w4 + w.b4
    return _softmax(logits), {"conv1": a1, "conv2": a2, "pool": pooled, "dense": h}


def cnn_activations_batch(w: CnnWeights, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A batch (N, 28, 28) → (pool (N, 12, 12, 64), dense (N, 128), logits (N, 10)), the
    arithmetic of :func:`cnn_forward`."""
    n = len(x)
    col1 = im2col3(x[..., None], np.empty((n, 26, 26, 9), np.float32))
    a1 = np.maximum(col1.reshape(n * 676, 9) @ w.w1 + w.b1, 0.0).reshape(n, 26, 26, 32)
    col2 = im2col3(a1, np.empty((n, 24, 24, 288), np.float32))
    a2 = np.maximum(col2.reshape(n * 576, 288) @ w.w2 + w.b2, 0.0).reshape(n, 24, 24, 64)
    pooled = max_pool2(a2)
    h = np.maximum(pooled.reshape(n, -1) @ w.w3 + w.b3, 0.0)
    return pooled, h, h @ w.w4 + w.b4


def cnn_forward_batch(w: CnnWeights, x: np.ndarray) -> np.ndarray:
    """Probabilities for a batch (N, 28, 28) → (N, 10), same arithmetic as :func:`cnn_forward`."""
    return _softmax(cnn_activations_batch(w, x)[2])


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function, clipped so exp never overflows."""
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


class Predictor:
    """A loaded model, ready for many single-sample calls.

    Built from NumPy weights (the CNN: no TensorFlow needed), from a Keras
    model, or both. The Keras model of a file is loaded on first use.
    """

    def __init__(
        self,
        model: Any = None,
        path: Path | None = None,
        metadata: dict[str, Any] | None = None,
        weights: CnnWeights | None = None,
        dense: DenseWeights | None = None,
        verdict: Any = None,
        verdict_note: str = "",
    ) -> None:
        if model is None and weights is None and dense is None:
            raise ValueError("a Predictor needs a Keras model, CNN weights or Dense weights")
        self._model = model
        self.path = path
        self.metadata = metadata or {}
        self.weights = weights if weights is not None or model is None else CnnWeights.from_keras(model)
        #: The weights of a network of Dense layers only, read in NumPy (None for other models).
        self.dense = dense
        #: Whether an input is a digit at all (a ``model.verdict.Verdict``), or None.
        self.verdict = verdict
        #: Where the verdict comes from, or why there is none (for About and ``--json``).
        self.verdict_note = verdict_note
        self._keras_fn: Any = None

    @property
    def model(self) -> Any:
        """The Keras model (loaded from ``path`` on first use, importing TensorFlow)."""
        if self._model is None:
            from .modelfile import load_keras_model

            self._model = load_keras_model(self.path)
        return self._model

    @property
    def parameter_count(self) -> int:
        """How many weights and biases the network has."""
        if self.weights is not None:
            w = self.weights
            return sum(a.size for a in (w.w1, w.b1, w.w2, w.b2, w.w3, w.b3, w.w4, w.b4))
        if self.dense is not None:
            return self.dense.parameter_count
        return int(self.model.count_params())

    @property
    def name(self) -> str:
        return self.path.name if self.path else getattr(self._model, "name", "model")

    def predict(self, x: np.ndarray) -> Prediction:
        """Probabilities and conv activations for one (28, 28) float32 image in [0, 1]."""
        x = np.asarray(x, dtype=np.float32).reshape(28, 28)
        if self.weights is not None:
            probs, activations = cnn_forward(self.weights, x)
            prediction = Prediction(probs, activations)
        elif self.dense is not None:
            probs, hidden = self.dense.forward(x[None])
            prediction = Prediction(probs[0], {f"hidden{i + 1}": h[0] for i, h in enumerate(hidden)})
        else:
            prediction = self._predict_keras(x)
        if self.verdict is not None and (self.weights is not None or not self.verdict.needs_features):
            prediction.digit_score = self.verdict.judge(x, prediction.activations, self.weights)
            prediction.is_digit = bool(prediction.digit_score <= self.verdict.threshold)
        return prediction

    def is_digit(self, images: np.ndarray) -> np.ndarray | None:
        """The verdict for many images (N, 28, 28[, 1]) → bool (N,), or None without a verdict."""
        from .verdict import features

        if self.verdict is None:
            return None
        images = np.asarray(images, dtype=np.float32).reshape(-1, 28, 28)
        if not self.verdict.needs_features:
            return self.verdict.is_digit(None, None, None, images)
        if self.weights is None:
            return None
        return self.verdict.is_digit(*features(self.weights, images))

    def probabilities(self, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Probabilities for many images (N, 28, 28[, 1]), in batches (for evaluation)."""
        images = np.asarray(images, dtype=np.float32).reshape(-1, 28, 28)
        out = []
        for i in range(0, len(images), batch_size):
            chunk = images[i : i + batch_size]
            if self.weights is not None:
                out.append(cnn_forward_batch(self.weights, chunk))
            elif self.dense is not None:
                out.append(self.dense.forward(chunk)[0])
            else:
                out.append(np.asarray(self.model.predict_on_batch(chunk[..., None])))
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

    def call(x: np.ndarray) -> list[np.ndarray]:
        outs = fn(tf.constant(x))
        return [o.numpy() for o in (outs if isinstance(outs, (list, tuple)) else [outs])]

    return call


def limit_blas_threads() -> None:
    """Run NumPy's BLAS on one thread, process-wide. Call once, early, from the main thread.

    The forward pass is a few GEMMs of about 600×300: extra BLAS threads only
    add synchronisation, and on a busy machine a 2-thread call can take many
    times longer. Changing the limit per call is not an option: OpenBLAS can
    hang when its thread count changes while another thread is inside BLAS.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(limits=1, user_api="blas")


def load_predictor(path: str | Path) -> Predictor:
    """Load a model file (checked) and its metadata into a :class:`Predictor`.

    The file is read and checked once (:func:`.cnn_file.read_model_file`). The CNN and
    networks of Dense layers are read without TensorFlow; any other model goes through
    Keras, which checks its shapes. Raises :class:`.modelfile.ModelFileError`.
    """
    from .modelfile import load_keras_model, read_metadata
    from .verdict import model_verdict

    archive = read_model_file(path)
    p = archive.path
    meta = read_metadata(p)
    verdict, note = model_verdict(p, meta)
    layers = cnn_weights(archive)
    if layers is not None:
        return Predictor(path=p, metadata=meta, weights=CnnWeights(layers), verdict=verdict, verdict_note=note)
    dense = dense_weights(archive)
    if dense is not None:
        return Predictor(path=p, metadata=meta, dense=DenseWeights(dense), verdict=verdict, verdict_note=note)
    return Predictor(load_keras_model(p, archive), p, meta, verdict=verdict, verdict_note=note)
