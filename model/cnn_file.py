"""Read the CNN's (or a Dense network's) weights straight from a ``.keras`` file, without TensorFlow.

A ``.keras`` file is a zip of ``config.json`` (the architecture) and
``model.weights.h5``. When the architecture is exactly the CNN of
:mod:`.architecture`, its four weighted layers have distinct kernel shapes,
so the weights can be picked out of the HDF5 file by shape, whatever names
Keras gave the groups. This keeps TensorFlow (seconds to import) off the
app's path to its first prediction. Anything unexpected returns None and the
caller loads the file with Keras instead. A network of Dense layers only (the
Dense and the NumPy networks) is read the same way, layer by layer.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

#: (class name, checks on its config) for each layer of the CNN, in order.
_EXPECTED = [
    ("InputLayer", {}),
    ("Conv2D", {"filters": 32, "kernel_size": [3, 3], "strides": [1, 1], "padding": "valid", "activation": "relu"}),
    ("Conv2D", {"filters": 64, "kernel_size": [3, 3], "strides": [1, 1], "padding": "valid", "activation": "relu"}),
    ("MaxPooling2D", {"pool_size": [2, 2]}),
    ("Dropout", {}),
    ("Flatten", {}),
    ("Dense", {"units": 128, "activation": "relu"}),
    ("Dropout", {}),
    ("Dense", {"units": 10, "activation": "softmax"}),
]
KERNEL_SHAPES = {
    "conv1": (3, 3, 1, 32),
    "conv2": (3, 3, 32, 64),
    "dense": (9216, 128),
    "probabilities": (128, 10),
}


def is_cnn_config(config: dict[str, Any]) -> bool:
    """True when a Keras model config is the Digitscope CNN (layer kinds and settings)."""
    layers = config.get("config", {}).get("layers")
    if config.get("class_name") not in ("Functional", "Sequential") or not isinstance(layers, list):
        return False
    if layers and layers[0].get("class_name") != "InputLayer":
        layers = [{"class_name": "InputLayer", "config": {}}] + layers
    if len(layers) != len(_EXPECTED):
        return False
    for layer, (kind, checks) in zip(layers, _EXPECTED):
        cfg = layer.get("config", {})
        if layer.get("class_name") != kind:
            return False
        for key, want in checks.items():
            got = cfg.get(key)
            if isinstance(want, list):
                got = list(got) if isinstance(got, (list, tuple)) else got
            if got != want:
                return False
    return True


def _read_archive(path: str | Path) -> tuple[dict[str, Any], dict[str, tuple[np.ndarray, np.ndarray]]] | None:
    """(config, {h5 layer name: (kernel, bias)}) of a ``.keras`` file, or None when it cannot be read."""
    try:
        with zipfile.ZipFile(path) as z:
            config = json.loads(z.read("config.json"))
            weights_bytes = z.read("model.weights.h5")
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    try:
        import h5py
    except ImportError:
        return None
    pairs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    try:
        with h5py.File(io.BytesIO(weights_bytes), "r") as h5:
            layers = h5.get("layers")
            if layers is None:
                return None
            for name in layers:
                group = layers[name].get("vars")
                if group is not None and "0" in group and "1" in group and len(group) == 2:
                    pairs[name] = (np.asarray(group["0"], np.float32), np.asarray(group["1"], np.float32))
    except (OSError, ValueError, KeyError):
        return None
    return config, pairs


def read_cnn_weights(path: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]] | None:
    """``{"conv1": (kernel, bias), ...}`` for a CNN model file, or None for any other file."""
    archive = _read_archive(path)
    if archive is None or not is_cnn_config(archive[0]):
        return None
    pairs = list(archive[1].values())
    found: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, shape in KERNEL_SHAPES.items():
        matches = [p for p in pairs if tuple(p[0].shape) == shape and p[1].shape == (shape[-1],)]
        if len(matches) != 1:
            return None
        found[name] = matches[0]
    return found if len(pairs) == len(KERNEL_SHAPES) else None


DENSE_ACTIVATIONS = ("relu", "sigmoid", "linear", "softmax")


def read_dense_weights(path: str | Path) -> list[tuple[np.ndarray, np.ndarray, str]] | None:
    """``[(kernel, bias, activation), ...]`` for a model of Flatten, Dropout and Dense layers
    only, from (28, 28, 1) to 10 softmax outputs; None for any other file."""
    archive = _read_archive(path)
    if archive is None:
        return None
    config, pairs = archive
    layers = config.get("config", {}).get("layers")
    if config.get("class_name") not in ("Functional", "Sequential") or not isinstance(layers, list):
        return None
    kinds = [layer.get("class_name") for layer in layers if layer.get("class_name") != "InputLayer"]
    if not kinds or kinds[0] != "Flatten" or any(k not in ("Dense", "Dropout") for k in kinds[1:]):
        return None
    dense = [layer.get("config", {}) for layer in layers if layer.get("class_name") == "Dense"]
    # Keras names the weight groups by class in creation order: dense, dense_1, dense_2, ...
    names = sorted((n for n in pairs if n == "dense" or n.startswith("dense_")), key=lambda n: int(n[6:] or 0))
    if len(names) != len(dense) or len(pairs) != len(dense):
        return None
    out: list[tuple[np.ndarray, np.ndarray, str]] = []
    width = 784
    for cfg, name in zip(dense, names):
        kernel, bias = pairs[name]
        activation = cfg.get("activation")
        if activation not in DENSE_ACTIVATIONS or not cfg.get("use_bias", True):
            return None
        if kernel.shape != (width, cfg.get("units")) or bias.shape != (kernel.shape[1],):
            return None
        width = kernel.shape[1]
        out.append((kernel, bias, activation))
    if width != 10 or out[-1][2] != "softmax":
        return None
    return out
