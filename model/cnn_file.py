"""Read the CNN's weights straight from a ``.keras`` file, without TensorFlow.

A ``.keras`` file is a zip of ``config.json`` (the architecture) and
``model.weights.h5``. When the architecture is exactly the CNN of
:mod:`.architecture`, its four weighted layers have distinct kernel shapes,
so the weights can be picked out of the HDF5 file by shape, whatever names
Keras gave the groups. This keeps TensorFlow (seconds to import) off the
app's path to its first prediction. Anything unexpected returns None and the
caller loads the file with Keras instead.
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


def read_cnn_weights(path: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]] | None:
    """``{"conv1": (kernel, bias), ...}`` for a CNN model file, or None for any other file."""
    try:
        with zipfile.ZipFile(path) as z:
            config = json.loads(z.read("config.json"))
            if not is_cnn_config(config):
                return None
            weights_bytes = z.read("model.weights.h5")
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    try:
        import h5py
    except ImportError:
        return None
    pairs: list[tuple[np.ndarray, np.ndarray]] = []
    try:
        with h5py.File(io.BytesIO(weights_bytes), "r") as h5:
            layers = h5.get("layers")
            if layers is None:
                return None
            for name in layers:
                group = layers[name].get("vars")
                if group is not None and "0" in group and "1" in group and len(group) == 2:
                    pairs.append((np.asarray(group["0"], np.float32), np.asarray(group["1"], np.float32)))
    except (OSError, ValueError, KeyError):
        return None
    found: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, shape in KERNEL_SHAPES.items():
        matches = [p for p in pairs if tuple(p[0].shape) == shape and p[1].shape == (shape[-1],)]
        if len(matches) != 1:
            return None
        found[name] = matches[0]
    return found if len(pairs) == len(KERNEL_SHAPES) else None
