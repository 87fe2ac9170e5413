"""Watching the CNN learn: the ``weights`` progress event of ``digitscope train``.

While the CNN trains, ``train_model`` (see :mod:`.training`) reports what its first
layers look like now, at most once per ``TrainConfig.weights_interval`` seconds, plus
one event before the first batch (step 0: the initial kernels, noise from scratch) and
one at the end (the final kernels, as they are saved):

``{"event": "weights", "step", "epoch", "batch", "seconds",
"conv1", "conv2", "probe_maps", "probe_probabilities"}``

* ``step``: batches trained so far in the whole run (0: before the first); ``epoch``: the
  1-based epoch in progress (0 before training); ``batch``: batches of that epoch done;
  ``seconds``: since training started.
* ``conv1``: the 32 conv1 kernels (3, 3, 32) (their one input channel squeezed);
  ``conv2``: conv2's 64 kernels averaged over their 32 input channels (3, 3, 64), signed;
  ``probe_maps``: conv1's ReLU output for the probe digit (26, 26, 32); each an encoded
  array (:func:`encode_array`: float16, base64).
* ``probe_probabilities``: the ten probabilities the network gives the probe now, rounded
  to 6 decimals (a non-finite one, in a diverging run, is null).

One event is about 60 KB of JSON (the probe's maps are most of it). :class:`LearningFrame`
reads one back, checking everything; this module is Qt-free (the GUI reads it in its thread).
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

CONV1_SHAPE = (3, 3, 32)
CONV2_SHAPE = (3, 3, 64)
PROBE_MAPS_SHAPE = (26, 26, 32)
PROBE_SHAPE = (28, 28)
#: The Keras kernels of the CNN's two convolutions (see :func:`.architecture.build_cnn`).
_KERNEL_SHAPES = {"conv1": (3, 3, 1, 32), "conv2": (3, 3, 32, 64)}
_ARRAY_KEYS = frozenset({"shape", "dtype", "data"})

#: Images (1, 28, 28, 1) float32 → probabilities (1, 10).
PredictFn = Callable[[np.ndarray], Any]


def encode_array(a: np.ndarray) -> dict[str, Any]:
    """``a`` as JSON: ``{"shape": [...], "dtype": "float16", "data": base64 of its float16
    bytes, little-endian, C order}``. Values beyond float16's range become ±inf."""
    with np.errstate(over="ignore", invalid="ignore"):
        half = np.ascontiguousarray(np.asarray(a), dtype="<f2")
    return {"shape": list(half.shape), "dtype": "float16", "data": base64.b64encode(half.tobytes()).decode("ascii")}


def decode_array(doc: Any, shape: tuple[int, ...]) -> np.ndarray:
    """An :func:`encode_array` document → a float32 array of exactly ``shape``.

    Raises ValueError naming the problem for anything else: not an object, other keys, another
    shape or dtype, data of the wrong length (checked before anything is decoded) or not base64.
    NaN and infinities are read as they are."""
    shape = tuple(int(n) for n in shape)
    if not isinstance(doc, dict):
        raise ValueError(f"an encoded array is a JSON object, not {_kind(doc)}")
    if set(doc) != _ARRAY_KEYS:
        keys = ", ".join(sorted(_short(k) for k in doc)) or "none"
        raise ValueError(f"an encoded array has the keys data, dtype and shape; this one has {keys}")
    got = doc["shape"]
    if not isinstance(got, list) or not all(type(n) is int for n in got):
        raise ValueError(f"the shape of an encoded array is a list of integers, not {_short(got)}")
    if tuple(got) != shape:
        raise ValueError(f"the array has shape {_short(got)} where {list(shape)} is expected")
    if doc["dtype"] != "float16":
        raise ValueError(f"the array's dtype is {_short(doc['dtype'])}: only float16 is read")
    data = doc["data"]
    if not isinstance(data, str):
        raise ValueError(f"the array's data is a base64 string, not {_kind(data)}")
    nbytes = 2 * math.prod(shape)
    chars = 4 * -(-nbytes // 3)  # padded base64
    if len(data) != chars:
        raise ValueError(f"the array's data is {len(data):,} base64 characters where {nbytes:,} bytes take {chars:,}")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:  # a non-ASCII string is a plain ValueError
        raise ValueError(f"the array's data is not valid base64: {exc}") from None
    if len(raw) != nbytes:
        raise ValueError(f"the array's data decodes to {len(raw):,} bytes where {nbytes:,} are expected")
    return np.frombuffer(raw, dtype="<f2").reshape(shape).astype(np.float32)


@dataclass(frozen=True, eq=False)
class LearningFrame:
    """One ``weights`` event, read back and checked (see the module's docstring)."""

    step: int
    epoch: int
    batch: int
    seconds: float
    conv1: np.ndarray  # (3, 3, 32)
    conv2: np.ndarray  # (3, 3, 64)
    probe_maps: np.ndarray  # (26, 26, 32)
    probe_probabilities: np.ndarray  # (10,) float32 (NaN where the event has null)

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> LearningFrame:
        """Read a ``weights`` event; ValueError naming the field for anything malformed."""
        if not isinstance(event, dict) or event.get("event") != "weights":
            raise ValueError("not a weights event")
        counts = {}
        for name in ("step", "epoch", "batch"):
            value = event.get(name)
            if type(value) is not int or value < 0:
                raise ValueError(f"weights event: {name} is a count ≥ 0, not {_short(value)}")
            counts[name] = value
        seconds = _number(event.get("seconds"))
        if seconds is None or not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"weights event: seconds is a number ≥ 0, not {_short(event.get('seconds'))}")
        arrays = {}
        for name, shape in (("conv1", CONV1_SHAPE), ("conv2", CONV2_SHAPE), ("probe_maps", PROBE_MAPS_SHAPE)):
            try:
                arrays[name] = decode_array(event.get(name), shape)
            except ValueError as exc:
                raise ValueError(f"weights event: {name}: {exc}") from None
        probs = event.get("probe_probabilities")
        values = [math.nan if p is None else _number(p) for p in probs] if isinstance(probs, list) else []
        if len(values) != 10 or not all(v is not None and (math.isnan(v) or 0 <= v <= 1) for v in values):
            raise ValueError(f"weights event: probe_probabilities is a list of 10 numbers from 0 to 1 (or null), not {_short(probs)}")
        probabilities = np.array(values, dtype=np.float32)
        return cls(**counts, seconds=seconds, **arrays, probe_probabilities=probabilities)


def has_conv_layers(model: Any) -> bool:
    """Whether ``model`` is the CNN, as far as the event goes: conv1 and conv2 of its kernel shapes."""
    for name, shape in _KERNEL_SHAPES.items():
        try:
            kernel = model.get_layer(name).get_weights()[0]
        except (ValueError, AttributeError, IndexError):
            return False
        if tuple(kernel.shape) != shape:
            return False
    return True


def check_probe(probe: Any) -> np.ndarray:
    """``probe`` as a (28, 28) float32 tensor; ValueError unless it is one, finite."""
    tensor = np.asarray(probe, dtype=np.float32)
    if tensor.shape != PROBE_SHAPE or not np.isfinite(tensor).all():
        raise ValueError(f"a probe is a finite (28, 28) tensor, not an array of shape {tensor.shape}")
    return tensor


def compiled_predict(model: Any) -> PredictFn:
    """``model``'s probabilities through a ``tf.function``, traced once (~0.1 s): a call is then
    ~2.5 ms, against ~15-25 ms eager or in NumPy on a busy 2-core machine (whose BLAS runs on
    two threads in a training process). It reads the weights as they are at each call."""
    import tensorflow as tf

    fn = tf.function(lambda x: model(x, training=False))
    return lambda images: fn(tf.constant(images, tf.float32)).numpy()


def weights_event(
    model: Any,
    probe: np.ndarray,
    *,
    step: int,
    epoch: int,
    batch: int,
    seconds: float,
    predict: PredictFn | None = None,
) -> dict[str, Any]:
    """The ``weights`` event of ``model`` (the CNN of :func:`.architecture.build_cnn`) now.

    ``probe``: a (28, 28) float32 tensor in [0, 1]; its conv1 maps are computed in NumPy from
    the kernels (a few µs), its probabilities by ``predict`` (default: an eager Keras call;
    training passes :func:`compiled_predict`)."""
    from .inference import conv3_relu

    tensor = check_probe(probe)
    kernel1, bias1 = (np.asarray(w, np.float32) for w in model.get_layer("conv1").get_weights())
    kernel2 = np.asarray(model.get_layer("conv2").get_weights()[0], np.float32)
    maps = conv3_relu(tensor[..., None], kernel1.reshape(-1, kernel1.shape[-1]), bias1)
    images = tensor[None, ..., None]
    probs = np.asarray(predict(images) if predict is not None else model(images, training=False), np.float64).reshape(-1)
    if probs.shape != (10,):
        raise ValueError(f"the model gives {probs.size} probabilities, not 10")
    return {
        "event": "weights",
        "step": int(step),
        "epoch": int(epoch),
        "batch": int(batch),
        "seconds": float(seconds),
        "conv1": encode_array(kernel1[:, :, 0, :]),
        "conv2": encode_array(kernel2.mean(axis=2)),
        "probe_maps": encode_array(maps),
        "probe_probabilities": [round(float(p), 6) if math.isfinite(p) else None for p in probs],
    }


def default_probe() -> np.ndarray:
    """The probe when none is given: the built-in 7 (:func:`.examples.example_drawing`) as a tensor."""
    from .examples import example_drawing
    from .preprocess import drawing_to_tensor

    return drawing_to_tensor(example_drawing(7))


def load_probe(path: str | Path) -> np.ndarray:
    """A drawing file (the drawing format, :func:`.drawing.load_drawing`) → its (28, 28) tensor;
    ValueError saying why for a file that cannot be one."""
    from .drawing import load_drawing
    from .preprocess import drawing_to_tensor

    try:
        return check_probe(drawing_to_tensor(load_drawing(path)))
    except ValueError as exc:  # DrawingError and EmptyInputError are ValueErrors
        raise ValueError(f"the probe drawing {path} cannot be used: {exc}") from None


def _number(value: Any) -> float | None:
    """A JSON number as a float (NaN and infinities too), or None for anything else (a bool, a
    string, an integer too large for a float)."""
    if type(value) not in (int, float):
        return None
    try:
        return float(value)
    except OverflowError:
        return None


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
