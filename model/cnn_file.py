"""Read and check a ``.keras`` model file; read the CNN's (or a Dense network's) weights without TensorFlow.

A ``.keras`` file is a zip of ``config.json`` (the architecture) and
``model.weights.h5``. :func:`read_model_file` checks the archive's declared
sizes (:mod:`.modelfile`), reads the config and the weights member once, and
lists every array in the HDF5 file by shape and type without reading any:
a hostile file costs at most the limits of :mod:`.modelfile`, whatever it declares.

When the architecture is exactly the CNN of :mod:`.architecture`, its four
weighted layers have distinct kernel shapes, so the weights can be picked out
by shape, whatever names Keras gave the groups. This keeps TensorFlow (seconds
to import) off the app's path to its first prediction. A network of Dense
layers only (the Dense and the NumPy networks) is read the same way, layer by
layer. Any other architecture returns None and the caller loads the file with
Keras. Arrays are read only once their shapes are known to fit, and every
array read must be finite.

The layout read is Keras 3's: each layer's arrays in ``layers/<layer>/vars/0, 1``
(``tests/test_weight_format.py`` saves a CNN with the installed Keras and reads it
back with TensorFlow blocked). A file that looks like the CNN (its layers carry the
CNN's names) but is not read here, because its config or its weights' layout is
not the one this version knows, goes to Keras: :func:`cnn_unread_reason` says why,
and the loader says so on stderr.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .architecture import LAYER_NAMES
from .modelfile import (
    CONFIG_NAME,
    MAX_H5_OBJECTS,
    MAX_WEIGHTS_BYTES,
    WEIGHTS_NAME,
    ModelFileError,
    check_model_file,
    format_bytes,
)

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
#: HDF5 filters a weights array may use: deflate, shuffle, fletcher32 (Keras uses none).
_H5_FILTERS = {1, 2, 3}

Shape = tuple[int, ...]


@dataclass
class ModelArchive:
    """A checked model file: its config, and the arrays of its weights file by HDF5 path
    (``layers/dense/vars/0``), known by shape only until :meth:`read` reads them."""

    path: Path
    config: dict[str, Any]
    weights: bytes
    shapes: dict[str, Shape]

    def groups(self) -> dict[str, dict[str, Shape]]:
        """``{"dense": {"0": (9216, 128), "1": (128,)}, ...}``: the arrays of each layer
        (under ``layers/<name>/vars/``)."""
        out: dict[str, dict[str, Shape]] = {}
        for name, shape in self.shapes.items():
            parts = name.split("/")
            if len(parts) == 4 and parts[0] == "layers" and parts[2] == "vars":
                out.setdefault(parts[1], {})[parts[3]] = shape
        return out

    def read(self, names: list[str]) -> list[np.ndarray]:
        """These arrays as float32, each checked finite (the one place weights are read)."""
        import h5py

        try:
            with h5py.File(io.BytesIO(self.weights), "r") as h5:
                out = [np.asarray(h5[name], np.float32) for name in names]
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
            raise ModelFileError(f"{self.path}: its weights cannot be read: {exc}") from None
        except MemoryError:
            raise ModelFileError(f"{self.path}: not enough memory to read its weights") from None
        for name, array in zip(names, out):
            finite = np.isfinite(array)
            if not finite.all():
                raise ModelFileError(
                    f"{self.path}: {array.size - int(finite.sum())} of the weights in {name} are not numbers (NaN or infinite)"
                )
        return out

    def read_all(self) -> list[np.ndarray]:
        """Every array in the weights file (checked finite): for the models Keras loads."""
        return self.read(list(self.shapes))


def read_model_file(path: str | Path) -> ModelArchive:
    """Check a model file and read its config and weights member (each once, each bounded).

    Raises :class:`ModelFileError` for anything that is not a sound ``.keras`` file.
    """
    p = check_model_file(path)
    try:
        with zipfile.ZipFile(p) as z:
            config_bytes = z.read(CONFIG_NAME)
            weights = z.read(WEIGHTS_NAME)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, NotImplementedError, RuntimeError) as exc:
        raise ModelFileError(f"{p} is a damaged model file: {exc}") from None
    except MemoryError:
        raise ModelFileError(f"{p}: not enough memory to read it") from None
    config = _parse_config(p, config_bytes)
    return ModelArchive(p, config, weights, _list_arrays(p, weights))


def _parse_config(p: Path, data: bytes) -> dict[str, Any]:
    """The model config, checked to be a Keras config's shape: objects where Keras has them."""
    try:
        config = json.loads(data)
    except (ValueError, RecursionError) as exc:
        reason = "it is nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ModelFileError(f"{p}: its {CONFIG_NAME} is not valid JSON: {reason}") from None
    if not isinstance(config, dict):
        raise ModelFileError(f"{p}: its {CONFIG_NAME} holds {_kind(config)}, not a Keras model configuration (an object)")
    inner = config.get("config", {})
    if not isinstance(inner, dict):
        raise ModelFileError(f"{p}: in its {CONFIG_NAME}, \"config\" is {_kind(inner)}, not an object")
    layers = inner.get("layers", [])
    if not isinstance(layers, list):
        raise ModelFileError(f"{p}: in its {CONFIG_NAME}, \"layers\" is {_kind(layers)}, not a list")
    for i, layer in enumerate(layers):
        if not isinstance(layer, dict):
            raise ModelFileError(f"{p}: in its {CONFIG_NAME}, layer {i + 1} is {_kind(layer)}, not an object")
        if not isinstance(layer.get("config", {}), dict):
            raise ModelFileError(f"{p}: in its {CONFIG_NAME}, layer {i + 1} has no settings (its \"config\" is {_kind(layer['config'])})")
    return config


def _kind(value: Any) -> str:
    """What a JSON value is, for a message: "a list", "null"..."""
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null", int: "a number", float: "a number"}
    return names.get(type(value), type(value).__name__)


def _list_arrays(p: Path, weights: bytes) -> dict[str, Shape]:
    """``{HDF5 path: shape}`` of every array in the weights file, reading none of them.

    Raises for anything a weights file has no use for (links, arrays stored in other files,
    odd types and filters) and when the arrays together declare more than
    :data:`.modelfile.MAX_WEIGHTS_BYTES`.
    """
    try:
        import h5py
    except ImportError:  # pragma: no cover - h5py comes with Keras
        raise ModelFileError(f"{p}: reading model files needs h5py (pip install h5py)") from None
    shapes: dict[str, Shape] = {}
    total = 0
    try:
        with h5py.File(io.BytesIO(weights), "r") as h5:
            for name, link in _links(p, h5):
                if not isinstance(link, h5py.HardLink):
                    raise ModelFileError(f"{p}: its weights file has a link ({name}) to data elsewhere")
                obj = h5[name]
                if isinstance(obj, h5py.Group):
                    continue
                if not isinstance(obj, h5py.Dataset):
                    raise ModelFileError(f"{p}: its weights file holds a {type(obj).__name__} ({name}), not an array")
                parts = name.split("/")
                if len(parts) < 2 or parts[-2] != "vars" or not parts[-1].isdigit():
                    raise ModelFileError(
                        f"{p}: its weights are not laid out as Keras writes them ({name} is an array outside a vars group)"
                    )
                shape = _check_array(p, name, obj)
                total += int(np.prod(shape, dtype=object)) * obj.dtype.itemsize
                if total > MAX_WEIGHTS_BYTES:
                    raise ModelFileError(
                        f"{p}: its weights declare more than {format_bytes(MAX_WEIGHTS_BYTES)} "
                        f"({name} alone is {_shape_text(shape)} {obj.dtype}): too large for a digit model"
                    )
                shapes[name] = shape
    except ModelFileError:
        raise
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise ModelFileError(f"{p}: its {WEIGHTS_NAME} is not a readable weights file: {exc}") from None
    return shapes


def _links(p: Path, h5: Any) -> list[tuple[str, Any]]:
    """Every link in the file, (path, link), without following soft or external ones.

    Collected first and checked after: h5py mangles an exception raised inside its visitor.
    """
    links: list[tuple[str, Any]] = []

    def visit(name: str, link: Any) -> bool | None:
        links.append((name, link))
        return True if len(links) > MAX_H5_OBJECTS else None  # a value stops the visit

    h5.visititems_links(visit)
    if len(links) > MAX_H5_OBJECTS:
        raise ModelFileError(f"{p}: its weights file holds more than {MAX_H5_OBJECTS} objects")
    return links


def _check_array(p: Path, name: str, ds: Any) -> Shape:
    """The shape of one HDF5 dataset, after checking it is a plain numeric array stored in this file."""
    if ds.shape is None or ds.dtype.kind not in "fiub" or ds.dtype.subdtype is not None:
        raise ModelFileError(f"{p}: {name} in its weights is not an array of numbers ({ds.dtype})")
    if ds.external or ds.is_virtual:
        raise ModelFileError(f"{p}: {name} in its weights is stored outside the file")
    plist = ds.id.get_create_plist()
    filters = {plist.get_filter(i)[0] for i in range(plist.get_nfilters())}
    if not filters <= _H5_FILTERS:
        raise ModelFileError(f"{p}: {name} in its weights uses an HDF5 filter Digitscope does not read ({sorted(filters - _H5_FILTERS)})")
    return tuple(int(n) for n in ds.shape)


def _shape_text(shape: Shape) -> str:
    return "×".join(map(str, shape)) or "a scalar"


def _model_layers(config: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The layers of a Functional or Sequential model config (checked by :func:`_parse_config`)."""
    layers = config.get("config", {}).get("layers")
    if config.get("class_name") not in ("Functional", "Sequential") or not isinstance(layers, list):
        return None
    return layers


def is_cnn_config(config: dict[str, Any]) -> bool:
    """True when a Keras model config is the Digitscope CNN (layer kinds and settings)."""
    return cnn_config_difference(config) is None


def looks_like_cnn(config: dict[str, Any]) -> bool:
    """True when a model config's layers carry the CNN's names (:data:`.architecture.LAYER_NAMES`),
    whatever their settings: a file that means to be the CNN."""
    layers = config.get("config", {}).get("layers")
    if not isinstance(layers, list):
        return False
    names = [_layer_name(layer) for layer in layers if layer.get("class_name") != "InputLayer"]
    return names == list(LAYER_NAMES)


def _layer_name(layer: dict[str, Any]) -> str:
    name = (layer.get("config") or {}).get("name", layer.get("name"))
    return name if isinstance(name, str) else "?"


def cnn_config_difference(config: dict[str, Any]) -> str | None:
    """How a Keras model config differs from the Digitscope CNN's, in a few words (the first
    difference), or None when it is the CNN."""
    layers = _model_layers(config)
    if layers is None:
        return f"its model is {_short(config.get('class_name'))}, not a Functional or Sequential model"
    if layers and layers[0].get("class_name") != "InputLayer":
        layers = [{"class_name": "InputLayer", "config": {}}] + layers
    if len(layers) != len(_EXPECTED):
        return f"it has {len(layers)} layers, the CNN {len(_EXPECTED)}"
    for layer, (kind, checks) in zip(layers, _EXPECTED):
        cfg = layer.get("config") or {}
        if layer.get("class_name") != kind:
            return f"layer {_layer_name(layer)} is {_short(layer.get('class_name'))}, the CNN's is {kind}"
        for key, want in checks.items():
            got = cfg.get(key)
            if isinstance(want, list):
                got = list(got) if isinstance(got, (list, tuple)) else got
            if got != want:
                return f"layer {_layer_name(layer)} has {key} {_short(got)}, the CNN's {_short(want)}"
    return None


def _short(value: Any, limit: int = 60) -> str:
    """A config value for a one-line message: JSON, cut at ``limit`` characters."""
    try:
        text = json.dumps(value, sort_keys=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def cnn_weights(archive: ModelArchive) -> dict[str, tuple[np.ndarray, np.ndarray]] | None:
    """``{"conv1": (kernel, bias), ...}`` when the file is the CNN, else None; None too when its
    config is the CNN's but its weights are laid out otherwise than Keras 3 writes them
    (:func:`cnn_unread_reason` says so: the caller lets Keras read it).

    Raises :class:`ModelFileError` when its config is the CNN but its weights do not fit it.
    """
    if not is_cnn_config(archive.config) or _elsewhere(archive) is not None:
        return None
    want = _cnn_arrays()
    groups = archive.groups()
    found = {layer: next((g for g, arrays in groups.items() if arrays == w), None) for layer, w in want.items()}
    if None in found.values() or len(groups) != len(want):
        raise ModelFileError(
            f"{archive.path}: its weights do not fit the CNN its {CONFIG_NAME} describes: {_cnn_mismatch(groups, want)}"
        )
    arrays = archive.read([f"layers/{group}/vars/{i}" for group in found.values() for i in "01"])
    return {layer: (arrays[2 * i], arrays[2 * i + 1]) for i, layer in enumerate(found)}


def _cnn_arrays() -> dict[str, dict[str, Shape]]:
    """The arrays of each of the CNN's weighted layers, as :meth:`ModelArchive.groups` lists them."""
    return {layer: {"0": kernel, "1": kernel[-1:]} for layer, kernel in KERNEL_SHAPES.items()}


def _elsewhere(archive: ModelArchive) -> str | None:
    """Where the CNN's first kernel is when none of its kernels is in a ``layers/<layer>/vars/``
    group but all are somewhere in the weights file (another Keras's layout, e.g. Keras 2.13's
    ``_layer_checkpoint_dependencies/``); else None."""
    kernels = set(KERNEL_SHAPES.values())
    if any(arrays.get("0") in kernels for arrays in archive.groups().values()):
        return None
    where: dict[Shape, str] = {}
    for name, shape in sorted(archive.shapes.items()):
        where.setdefault(shape, name)
    return where[KERNEL_SHAPES["conv1"]] if kernels <= where.keys() else None


def cnn_unread_reason(archive: ModelArchive) -> str | None:
    """Why a file that looks like the CNN (:func:`looks_like_cnn`) is not read in NumPy by
    :func:`cnn_weights`, in a few words; None when it does not look like the CNN or is read."""
    if not looks_like_cnn(archive.config):
        return None
    difference = cnn_config_difference(archive.config)
    if difference is not None:
        return f"its {CONFIG_NAME} is not the CNN's as this version knows it ({difference})"
    where = _elsewhere(archive)
    if where is not None:
        return f"its weights are not laid out as this version reads them ({where}, not layers/<layer>/vars/)"
    return None


def _cnn_mismatch(groups: dict[str, dict[str, Shape]], want: dict[str, dict[str, Shape]]) -> str:
    """One line: the first layer whose weights are not the CNN's, or what is missing."""
    odd = [g for g, arrays in sorted(groups.items()) if arrays not in want.values()]
    if odd:
        kernels = ", ".join(_shape_text(w["0"]) for w in want.values())
        return f"layer {odd[0]} has {_arrays_text(groups[odd[0]])} (the CNN's kernels are {kernels}, each with its bias)"
    missing = [layer for layer, w in want.items() if w not in groups.values()]
    if missing:
        return f"no weights for {missing[0]} ({_arrays_text(want[missing[0]])})"
    return f"it has {len(groups)} layers of weights, the CNN {len(want)}"


def _arrays_text(arrays: dict[str, Shape]) -> str:
    return ", ".join(f"{_shape_text(shape)}" for _, shape in sorted(arrays.items())) or "no arrays"


DENSE_ACTIVATIONS = ("relu", "sigmoid", "linear", "softmax")


def dense_weights(archive: ModelArchive) -> list[tuple[np.ndarray, np.ndarray, str]] | None:
    """``[(kernel, bias, activation), ...]`` for a model of Flatten, Dropout and Dense layers
    only, from (28, 28, 1) to 10 softmax outputs; None for any other architecture.

    Raises :class:`ModelFileError` when its weights do not fit the layers its config describes.
    """
    layers = _model_layers(archive.config)
    if layers is None:
        return None
    kinds = [layer.get("class_name") for layer in layers if layer.get("class_name") != "InputLayer"]
    if not kinds or kinds[0] != "Flatten" or any(k not in ("Dense", "Dropout") for k in kinds[1:]):
        return None
    dense = [layer.get("config") or {} for layer in layers if layer.get("class_name") == "Dense"]
    units = [cfg.get("units") for cfg in dense]
    activations = [cfg.get("activation") for cfg in dense]
    if not dense or any(type(u) is not int or u < 1 for u in units) or units[-1] != 10 or activations[-1] != "softmax":
        return None
    if any(a not in DENSE_ACTIVATIONS for a in activations) or not all(cfg.get("use_bias", True) for cfg in dense):
        return None
    groups = archive.groups()
    # Keras names the weight groups by class in creation order: dense, dense_1, dense_2, ...
    names = ["dense"] + [f"dense_{i}" for i in range(1, len(dense))]
    if set(groups) != set(names):
        return None  # laid out otherwise: Keras decides
    expected, width = [], 784
    for n in units:
        expected.append({"0": (width, n), "1": (n,)})
        width = n
    for name, want in zip(names, expected):
        if groups[name] != want:
            raise ModelFileError(
                f"{archive.path}: its weights do not fit the Dense layers its {CONFIG_NAME} describes: "
                f"layer {name} has {_arrays_text(groups[name])}, expected {_arrays_text(want)}"
            )
    arrays = archive.read([f"layers/{name}/vars/{i}" for name in names for i in "01"])
    return [(arrays[2 * i], arrays[2 * i + 1], act) for i, act in enumerate(activations)]


def read_cnn_weights(path: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]] | None:
    """:func:`cnn_weights` of a model file (raises :class:`ModelFileError` for an unsound file)."""
    return cnn_weights(read_model_file(path))


def read_dense_weights(path: str | Path) -> list[tuple[np.ndarray, np.ndarray, str]] | None:
    """:func:`dense_weights` of a model file (raises :class:`ModelFileError` for an unsound file)."""
    return dense_weights(read_model_file(path))
