"""Inference: probabilities and convolution activations for one sample at a time.

For the CNN of :mod:`.architecture` the forward pass runs in NumPy from the
Keras weights (im2col + one GEMM per layer; see :func:`limit_blas_threads`):
about 0.4 ms per sample, against ~40 ms for ``model.predict`` per call. It is
written once, :func:`cnn_stages`, for a batch; one sample (in reused buffers), many
(:meth:`Predictor.probabilities`, the verdict's features) and saliency all call it.
A network of Dense layers is read in NumPy too; any other 10-class model that takes
(28, 28, 1) falls back to a compiled Keras call. :class:`Predictor` holds one backend
(:class:`CnnBackend`, :class:`DenseBackend`, :class:`KerasBackend`) and asks it.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .architecture import CONV_LAYERS, INPUT_SHAPE, MAP_SHAPES
from .cnn_file import KERNEL_SHAPES, cnn_unread_reason, cnn_weights, dense_weights, read_model_file


@dataclass
class Prediction:
    """What the network made of one input."""

    probabilities: np.ndarray  # (10,) float32, sums to 1
    #: Each stage after its activation: "conv1", "conv2" (shapes: :data:`.architecture.MAP_SHAPES`),
    #: and for the CNN read in NumPy also "pool" and "dense" (128,); Dense networks: "hidden1"...;
    #: other models: what they have.
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
    """The CNN's weights as NumPy arrays, laid out for the im2col forward pass: ``w1``..``w4``
    the four layers' kernels as matrices (conv1, conv2, dense, probabilities), ``b1``..``b4``
    their biases, ``kernel1`` conv1's kernel as Keras holds it (3, 3, 1, 32), for display."""

    def __init__(self, layers: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        k1, self.b1 = (np.asarray(w, np.float32) for w in layers["conv1"])
        k2, self.b2 = (np.asarray(w, np.float32) for w in layers["conv2"])
        self.kernel1 = k1
        # im2col columns are ordered (kh, kw, cin), as Keras lays out its kernels
        self.w1 = np.ascontiguousarray(k1.reshape(-1, k1.shape[3]))
        self.w2 = np.ascontiguousarray(k2.reshape(-1, k2.shape[3]))
        self.w3, self.b3 = (np.asarray(w, np.float32) for w in layers["dense"])
        self.w4, self.b4 = (np.asarray(w, np.float32) for w in layers["probabilities"])

    @property
    def parameter_count(self) -> int:
        return sum(a.size for a in (self.w1, self.b1, self.w2, self.b2, self.w3, self.b3, self.w4, self.b4))

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
        return cls(layers)  # type: ignore[arg-type]  # tuple(get_weights()) has no fixed length: two arrays, checked above


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


#: One input image, without its channel axis.
IMAGE_SHAPE = INPUT_SHAPE[:2]
#: The im2col columns of each convolution, per sample: (output rows, output columns, 3·3·channels in),
#: from the layer shapes of :mod:`.architecture` and the kernels of :mod:`.cnn_file`.
COLUMN_SHAPES = {layer: (*MAP_SHAPES[layer][:2], int(np.prod(KERNEL_SHAPES[layer][:3]))) for layer in CONV_LAYERS}

_scratch = threading.local()


def _columns() -> tuple[np.ndarray, ...]:
    """Per-thread im2col buffers for one sample (reused: a fresh 660 KB array costs page faults every call)."""
    cols = getattr(_scratch, "cols", None)
    if cols is None:
        cols = _scratch.cols = tuple(np.empty(COLUMN_SHAPES[layer], np.float32) for layer in CONV_LAYERS)
    return cols


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


def conv3_relu(a: np.ndarray, kernel: np.ndarray, bias: np.ndarray, cols: np.ndarray | None = None) -> np.ndarray:
    """A 3×3 "valid" convolution and its ReLU: (..., H, W, C) → (..., H-2, W-2, cout), by im2col
    and one GEMM. ``kernel`` is (9·C, cout), rows (kh, kw, c) as Keras lays out a kernel;
    ``cols`` a buffer for the columns (..., H-2, W-2, 9·C), else one is made in ``a``'s precision
    (float32 at least)."""
    if cols is None:
        *lead, h, w, c = a.shape
        cols = np.empty((*lead, h - 2, w - 2, 9 * c), np.result_type(a.dtype, np.float32))
    out = im2col3(a, cols).reshape(-1, cols.shape[-1]) @ kernel
    out += bias
    np.maximum(out, 0.0, out=out)
    return out.reshape(*cols.shape[:-1], kernel.shape[-1])


class CnnStages(NamedTuple):
    """Every stage of the CNN, after its ReLU: ``conv1``, ``conv2``, ``pool`` (shapes:
    :data:`.architecture.MAP_SHAPES`), ``dense`` (128,), and the ``logits`` (10,) before the
    softmax; each with the input's leading axes ((N, ...) for a batch)."""

    conv1: np.ndarray
    conv2: np.ndarray
    pool: np.ndarray
    dense: np.ndarray
    logits: np.ndarray


def cnn_stages(w: CnnWeights, x: np.ndarray, cols: tuple[np.ndarray, ...] | None = None) -> CnnStages:
    """The CNN's forward pass, the only one: images (..., 28, 28) → :class:`CnnStages`, keeping
    the leading axes: a batch (N, 28, 28), or one image (28, 28) (no batch axis: its dense layers
    are vector products, some 30 µs faster than one-row GEMMs).

    In ``x``'s precision when it is float64 (saliency checks its gradient so), else float32;
    ``cols``: im2col buffers for the two convolutions (:data:`COLUMN_SHAPES`, with the leading axes).
    """
    x = np.asarray(x)
    col1, col2 = cols if cols is not None else (None, None)
    a1 = conv3_relu(x[..., None], w.w1, w.b1, col1)
    a2 = conv3_relu(a1, w.w2, w.b2, col2)
    pooled = max_pool2(a2)
    h = pooled.reshape(*x.shape[:-2], w.w3.shape[0]) @ w.w3
    h += w.b3
    np.maximum(h, 0.0, out=h)
    return CnnStages(a1, a2, pooled, h, h @ w.w4 + w.b4)


def cnn_forward(w: CnnWeights, x: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """One (28, 28) image → (probabilities (10,), activations: conv1, conv2, pool (as in
    :data:`.architecture.MAP_SHAPES`), dense (128,), all after their ReLU), by :func:`cnn_stages`
    in this thread's buffers."""
    s = cnn_stages(w, np.asarray(x).reshape(IMAGE_SHAPE), _columns())
    return _softmax(s.logits), {"conv1": s.conv1, "conv2": s.conv2, "pool": s.pool, "dense": s.dense}


def cnn_activations_batch(w: CnnWeights, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A batch (N, 28, 28[, 1]) → (pool (N, 12, 12, 64), dense (N, 128), logits (N, 10)), float32,
    by :func:`cnn_stages`."""
    s = cnn_stages(w, np.asarray(x, np.float32).reshape(-1, *IMAGE_SHAPE))
    return s.pool, s.dense, s.logits


def cnn_forward_batch(w: CnnWeights, x: np.ndarray) -> np.ndarray:
    """Probabilities for a batch (N, 28, 28[, 1]) → (N, 10), by :func:`cnn_stages`."""
    return _softmax(cnn_stages(w, np.asarray(x, np.float32).reshape(-1, *IMAGE_SHAPE)).logits)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function, clipped so exp never overflows."""
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


class CnnBackend:
    """The CNN, read in NumPy by :func:`cnn_stages`: probabilities and every stage's activations."""

    kind = "cnn"

    def __init__(self, weights: CnnWeights) -> None:
        self.weights = weights

    @property
    def parameter_count(self) -> int:
        return self.weights.parameter_count

    def predict(self, x: np.ndarray) -> Prediction:
        return Prediction(*cnn_forward(self.weights, x))

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        return cnn_forward_batch(self.weights, images)

    def verdict_features(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """The features a verdict scores (:func:`.verdict.features`)."""
        from .verdict import features

        return features(self.weights, images)


class DenseBackend:
    """A network of Dense layers, read in NumPy; its activations are "hidden1", "hidden2"..."""

    kind = "dense"

    def __init__(self, weights: DenseWeights) -> None:
        self.weights = weights

    @property
    def parameter_count(self) -> int:
        return self.weights.parameter_count

    def predict(self, x: np.ndarray) -> Prediction:
        probs, hidden = self.weights.forward(x[None])
        return Prediction(probs[0], {f"hidden{i + 1}": h[0] for i, h in enumerate(hidden)})

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        return self.weights.forward(images)[0]

    def verdict_features(self, images: np.ndarray) -> None:
        return None


class KerasBackend:
    """Any other model, run by Keras (``owner.model``: loaded on first use, importing TensorFlow);
    its activations are the conv layers it has of :data:`.architecture.CONV_LAYERS`."""

    kind = "keras"
    weights = None

    def __init__(self, owner: Predictor) -> None:
        self._owner = owner
        self._fn: Any = None

    @property
    def parameter_count(self) -> int:
        return int(self._owner.model.count_params())

    def predict(self, x: np.ndarray) -> Prediction:
        if self._fn is None:
            self._fn = _keras_multi_output(self._owner.model)
        outs = self._fn(x[None, :, :, None])
        acts = {name: np.asarray(a)[0] for name, a in zip(CONV_LAYERS, outs[:-1])}
        return Prediction(np.asarray(outs[-1])[0].astype(np.float32), acts)

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        return np.asarray(self._owner.model.predict_on_batch(images[..., None]))

    def verdict_features(self, images: np.ndarray) -> None:
        return None


Backend = CnnBackend | DenseBackend | KerasBackend


class Predictor:
    """A loaded model, ready for many single-sample calls.

    Built from NumPy weights (the CNN: no TensorFlow needed), from a Keras
    model, or both. The Keras model of a file is loaded on first use. The
    arithmetic is its :attr:`backend`'s: the CNN's NumPy weights when it has
    them (``weights``, or read from ``model``), else a Dense network's
    (``dense``), else Keras.
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
        if weights is None and model is not None:
            weights = CnnWeights.from_keras(model)
        #: What computes the readings: :class:`CnnBackend`, :class:`DenseBackend` or :class:`KerasBackend`.
        self.backend: Backend = (
            CnnBackend(weights) if weights is not None else DenseBackend(dense) if dense is not None else KerasBackend(self)
        )
        #: Whether an input is a digit at all (a ``model.verdict.Verdict``), or None.
        self.verdict = verdict
        #: Where the verdict comes from, or why there is none (for About and ``--json``).
        self.verdict_note = verdict_note

    @property
    def is_cnn(self) -> bool:
        """Whether the model is the CNN read in NumPy (so :attr:`cnn_weights` is set): the one
        the pipeline view, saliency, the kernels and the feature-based verdicts need."""
        return isinstance(self.backend, CnnBackend)

    @property
    def cnn_weights(self) -> CnnWeights | None:
        """The CNN's NumPy weights, or None when the model is not the CNN read in NumPy."""
        return self.backend.weights if isinstance(self.backend, CnnBackend) else None

    @property
    def dense_weights(self) -> DenseWeights | None:
        """A Dense network's NumPy weights, or None for any other model."""
        return self.backend.weights if isinstance(self.backend, DenseBackend) else None

    @property
    def numpy_weights(self) -> CnnWeights | DenseWeights | None:
        """The weights the model is read with in NumPy (CNN or Dense network), or None (Keras only)."""
        return self.backend.weights

    #: Older names of :attr:`cnn_weights` and :attr:`dense_weights`.
    weights = cnn_weights
    dense = dense_weights

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
        return self.backend.parameter_count

    @property
    def name(self) -> str:
        return self.path.name if self.path else getattr(self._model, "name", "model")

    def predict(self, x: np.ndarray) -> Prediction:
        """Probabilities and activations for one (28, 28) float32 image in [0, 1], and the verdict."""
        x = np.asarray(x, dtype=np.float32).reshape(IMAGE_SHAPE)
        prediction = self.backend.predict(x)
        cnn = self.cnn_weights
        if self.verdict is not None and (cnn is not None or not self.verdict.needs_features):
            prediction.digit_score = self.verdict.judge(x, prediction.activations, cnn)
            prediction.is_digit = bool(prediction.digit_score <= self.verdict.threshold)
        return prediction

    def is_digit(self, images: np.ndarray) -> np.ndarray | None:
        """The verdict for many images (N, 28, 28[, 1]) → bool (N,), or None without a verdict
        (or with one that needs the CNN's features, for another model)."""
        if self.verdict is None:
            return None
        images = np.asarray(images, dtype=np.float32).reshape(-1, *IMAGE_SHAPE)
        if not self.verdict.needs_features:
            return self.verdict.is_digit(None, None, None, images)
        features = self.backend.verdict_features(images)
        return None if features is None else self.verdict.is_digit(*features)

    def probabilities(self, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Probabilities for many images (N, 28, 28[, 1]), in batches (for evaluation)."""
        images = np.asarray(images, dtype=np.float32).reshape(-1, *IMAGE_SHAPE)
        out = [self.backend.probabilities(images[i : i + batch_size]) for i in range(0, len(images), batch_size)]
        return np.concatenate(out) if out else np.zeros((0, 10), np.float32)


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
    Keras, which checks its shapes. A file that looks like the CNN but is not read in NumPy
    (:func:`.cnn_file.cnn_unread_reason`: a config or weights layout this version does not
    know) says so in one line on stderr before it goes to Keras. Raises
    :class:`.modelfile.ModelFileError`.
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
    reason = cnn_unread_reason(archive)
    if reason is not None:
        print(
            f"digitscope: warning: {p} looks like the Digitscope CNN but cannot be read without TensorFlow: "
            f"{reason}; loading it with Keras instead (seconds to import, about 1 GB)",
            file=sys.stderr,
            flush=True,
        )
    return Predictor(load_keras_model(p, archive), p, meta, verdict=verdict, verdict_note=note)
