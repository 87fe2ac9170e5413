"""Model files: the bundled model, checked loading, atomic saving with metadata.

A model is a Keras ``.keras`` file; its metadata (accuracy, training command,
versions, MNIST hash...) sits beside it as ``<stem>.json``.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .files import atomic_pair, check_writable_folder, sha256_file

if TYPE_CHECKING:
    from .cnn_file import ModelArchive

BUNDLED_MODEL_NAME = "digitscope-cnn.keras"
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.weights.h5"

MiB = 1 << 20
#: What a model file may cost, checked before anything in it is unpacked or read. The bundled
#: CNN is 4.8 MB (1.2 M weights): these leave room for any digit network and bound the rest.
MAX_MODEL_FILE_BYTES = 96 * MiB  # the file on disk, and all its members unpacked together
MAX_WEIGHTS_BYTES = 64 * MiB  # model.weights.h5 unpacked, and all the arrays it declares together
MAX_CONFIG_BYTES = 4 * MiB  # config.json, metadata.json, and the metadata file beside the model
MAX_MEMBERS = 64  # files in the archive (Keras writes three)
MAX_H5_OBJECTS = 10_000  # groups and arrays in model.weights.h5 (the CNN has 31)
MAX_ACTIVATION_BYTES = 1 * MiB  # any layer's output for one image (the CNN's largest: 144 KiB)
#: How a member may be compressed: Keras stores them; re-zipping deflates them.
ZIP_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
#: The oldest Keras without a known safe_mode bypass (CVE-2025-1550, -8747, -9905, -9906,
#: CVE-2026-1462) or HDF5/zip hardening gap (CVE-2026-0897, -1669, -12480; 3.15.1's fixes).
MIN_KERAS_VERSION = (3, 15, 1)


class ModelFileError(ValueError):
    """A model file that cannot be used, with the reason."""


def format_bytes(n: int) -> str:
    """``n`` bytes for a message: "8.0 GiB", "64 MiB", "120 bytes"."""
    for unit, size in (("GiB", 1 << 30), ("MiB", MiB), ("KiB", 1 << 10)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} bytes"


def assets_dir() -> Path:
    """The folder of bundled assets (inside the installed package, or a frozen app)."""
    from .. import assets

    return Path(assets.__file__).resolve().parent


def bundled_model_path() -> Path:
    """The model file shipped with Digitscope."""
    return assets_dir() / BUNDLED_MODEL_NAME


def metadata_path(model_path: str | Path) -> Path:
    """Where a model's metadata lives: ``name.keras`` → ``name.json``."""
    return Path(model_path).with_suffix(".json")


def read_metadata(model_path: str | Path) -> dict[str, Any]:
    """The model's metadata, or ``{}`` when it has none (or it cannot be read)."""
    path = metadata_path(model_path)
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            return {}
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return doc if isinstance(doc, dict) else {}


def check_model_file(path: str | Path) -> Path:
    """Cheap checks before anything in the file is unpacked: it is a ``.keras`` zip archive
    with a config and weights, of sizes and compression a model file has."""
    p = Path(path)
    if p.is_dir():
        raise ModelFileError(f"{p} is a folder, not a model file (.keras)")
    if not p.is_file():
        raise ModelFileError(f"model file not found: {p}")
    if p.suffix != ".keras":
        # Keras picks its loader by name: a .h5 file would reach its legacy HDF5 loader
        raise ModelFileError(f"{p} is not a Keras model file: model files end in .keras")
    size = p.stat().st_size
    if size > MAX_MODEL_FILE_BYTES:
        raise ModelFileError(f"{p} is {format_bytes(size)}: too large for a digit model (at most {format_bytes(MAX_MODEL_FILE_BYTES)})")
    if not zipfile.is_zipfile(p):
        raise ModelFileError(f"{p} is not a Keras model file (.keras): it is not a zip archive, so it is corrupt or of another kind")
    try:
        with zipfile.ZipFile(p) as z:
            members = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ModelFileError(f"{p} is a damaged model file: {exc}") from None
    _check_members(p, members)
    return p


def _check_members(p: Path, members: list[zipfile.ZipInfo]) -> None:
    """Raise unless the archive's members are a model's, by name, count, compression and size
    (the sizes the archive declares: zipfile never unpacks more than that)."""
    if len(members) > MAX_MEMBERS:
        raise ModelFileError(f"{p} holds {len(members)} files: a Keras model file has a few (at most {MAX_MEMBERS})")
    names = {m.filename for m in members}
    if CONFIG_NAME not in names:
        raise ModelFileError(f"{p} is a zip archive but not a Keras model (no {CONFIG_NAME} inside)")
    if WEIGHTS_NAME not in names:
        raise ModelFileError(f"{p} is not a model file Digitscope reads: it has no {WEIGHTS_NAME} (the weights)")
    for m in members:
        if m.flag_bits & 0x1:
            raise ModelFileError(f"{p}: {m.filename} inside is encrypted")
        if m.compress_type not in ZIP_METHODS:
            raise ModelFileError(
                f"{p}: {m.filename} inside is compressed with method {m.compress_type}; model files are stored or deflated"
            )
        limit = {CONFIG_NAME: MAX_CONFIG_BYTES, "metadata.json": MAX_CONFIG_BYTES, WEIGHTS_NAME: MAX_WEIGHTS_BYTES}.get(
            m.filename, MAX_MODEL_FILE_BYTES
        )
        if m.file_size > limit:
            raise ModelFileError(
                f"{p}: {m.filename} inside unpacks to {format_bytes(m.file_size)}, more than a digit model has "
                f"(at most {format_bytes(limit)})"
            )
    total = sum(m.file_size for m in members)
    if total > MAX_MODEL_FILE_BYTES:
        raise ModelFileError(f"{p} unpacks to {format_bytes(total)}: too large for a digit model (at most {format_bytes(MAX_MODEL_FILE_BYTES)})")


def load_keras_model(path: str | Path, archive: ModelArchive | None = None) -> Any:
    """Load and check a Keras model: input (28, 28, 1), 10 outputs. Raises :class:`ModelFileError`.

    The file is read and checked first (:func:`.cnn_file.read_model_file`: sizes, arrays, finite
    weights); pass ``archive`` when that is done already.
    """
    from .cnn_file import read_model_file

    archive = archive if archive is not None else read_model_file(path)
    archive.read_all()  # every array is finite
    p = archive.path
    from .tf_setup import quiet_tensorflow

    quiet_tensorflow()
    import keras

    check_keras_version(keras.__version__)
    check_keras_footprint(archive.config, p)
    try:
        model = keras.saving.load_model(p, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many kinds for a bad file
        raise ModelFileError(f"{p} could not be loaded as a Keras model: {type(exc).__name__}: {_summary(exc)}") from None
    check_model_shapes(model, p)
    return model


def check_keras_version(version: str) -> None:
    """Raise :class:`ModelFileError` for a Keras older than :data:`MIN_KERAS_VERSION`."""
    match = re.match(r"(\d+)\.(\d+)\.(\d+)", version)
    if match and tuple(int(g) for g in match.groups()) < MIN_KERAS_VERSION:
        need = ".".join(map(str, MIN_KERAS_VERSION))
        raise ModelFileError(
            f"Keras {version} has known flaws in loading model files; this model needs Keras {need} or later "
            f"(pip install 'keras>={need}')"
        )


def check_keras_footprint(config: dict[str, Any], path: str | Path = "model") -> None:
    """Raise :class:`ModelFileError` unless the model a Keras config describes is of a digit
    model's size: its weights (:data:`MAX_WEIGHTS_BYTES`) and each layer's output for one image
    (:data:`MAX_ACTIVATION_BYTES`). Keras builds the model before it reads any weight, so a
    config alone can ask for gigabytes.

    Measured by building the model without allocating its variables (a stateless scope that
    never initialises them), in a thread of its own: Keras keeps those variables in
    thread-local state, which goes with the thread.
    """
    import keras

    config = copy.deepcopy(config)  # Keras takes the config apart as it deserialises it
    found: dict[str, Any] = {}

    def measure() -> None:
        try:
            with keras.StatelessScope(initialize_variables=False):
                model = keras.saving.deserialize_keras_object({**config, "compile_config": None}, safe_mode=True)
                found["weights"] = sum(_nbytes(v.shape, v.dtype) for v in model.weights)
                found["activation"] = max((_nbytes(s[1:], "float32") for s in _output_shapes(model)), default=0)
        except Exception as exc:  # Keras raises many kinds for a bad config
            found["error"] = exc

    thread = threading.Thread(target=measure, name="model-footprint", daemon=True)
    thread.start()
    thread.join()
    if "error" in found:
        exc = found["error"]
        raise ModelFileError(f"{path} could not be loaded as a Keras model: {type(exc).__name__}: {_summary(exc)}")
    if found["weights"] > MAX_WEIGHTS_BYTES:
        raise ModelFileError(
            f"{path}: its {CONFIG_NAME} describes {format_bytes(found['weights'])} of weights: too large for a digit model "
            f"(at most {format_bytes(MAX_WEIGHTS_BYTES)})"
        )
    if found["activation"] > MAX_ACTIVATION_BYTES:
        raise ModelFileError(
            f"{path}: a layer its {CONFIG_NAME} describes outputs {format_bytes(found['activation'])} for each image: "
            f"too large for a digit model (at most {format_bytes(MAX_ACTIVATION_BYTES)})"
        )


def _nbytes(shape: Any, dtype: Any) -> int:
    """Bytes of an array of this shape (unknown sizes count as 1) and dtype (4 when unknown)."""
    try:
        itemsize = np.dtype(str(dtype)).itemsize
    except TypeError:
        itemsize = 4
    return int(np.prod([int(n) if n else 1 for n in shape], dtype=object)) * itemsize


def _output_shapes(model: Any) -> list[tuple[Any, ...]]:
    """The output shape of every layer of a built model (and of the layers of nested models)."""
    import keras

    shapes = []
    for layer in model.layers:
        try:
            shapes += [tuple(t.shape) for t in keras.tree.flatten(layer.output)]
        except (AttributeError, ValueError, TypeError):
            pass
        if hasattr(layer, "layers"):
            shapes += _output_shapes(layer)
    return shapes


def _summary(exc: BaseException, limit: int = 300) -> str:
    """An exception's message on one line, without the arrays Keras prints into some."""
    text = " ".join(str(exc).split())
    for dump in (", numpy=", "array(", "[["):
        if dump in text:
            text = text[: text.index(dump)] + " …"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_model_shapes(model: Any, path: str | Path = "model") -> None:
    """Raise :class:`ModelFileError` unless the model maps (28, 28, 1) images to 10 outputs."""
    try:
        in_shape = tuple(model.inputs[0].shape)[1:]
        out_shape = tuple(model.outputs[0].shape)[1:]
    except (AttributeError, IndexError, TypeError):
        raise ModelFileError(f"{path}: the model has no defined input/output shapes") from None
    if len(model.inputs) != 1 or in_shape != (28, 28, 1):
        raise ModelFileError(f"{path}: the model's input is {in_shape}, expected (28, 28, 1)")
    if len(model.outputs) != 1 or out_shape != (10,):
        raise ModelFileError(f"{path}: the model has output shape {out_shape}, expected 10 classes")


def check_model_output(path: str | Path) -> Path:
    """Raise :class:`ModelFileError` unless a model can be saved at ``path``: a ``.keras`` name
    (its metadata beside it) in a folder that exists, or can be made, and takes new files.
    Cheap: for checking before a long training run."""
    target = Path(path)
    if target.suffix != ".keras":
        raise ModelFileError(f"model files end in .keras, got {target.name}")
    for p in (target, metadata_path(target)):
        if p.is_dir():
            raise ModelFileError(f"{p} is a folder, not a file that can be replaced")
    try:
        check_writable_folder(target.parent)
    except OSError as exc:
        raise ModelFileError(f"cannot write model files in {target.parent}: {exc.strerror or exc}") from None
    return target


def save_model(model: Any, path: str | Path, metadata: dict[str, Any]) -> Path:
    """Save a model and its metadata as one pair: a failed or killed save leaves the old pair,
    or the new model with no metadata, never the new model beside the old metadata (see
    :func:`.files.atomic_pair`). The metadata records the model file's SHA-256 (``model_sha256``).

    The model is saved without optimiser state (it is for inference and
    fine-tuning, which starts a fresh optimiser).
    """
    import keras

    target = check_model_output(path)
    clean = keras.Model.from_config(model.get_config())  # uncompiled: no optimiser state
    clean.set_weights(model.get_weights())
    with atomic_pair(target, metadata_path(target), suffix=".keras") as (tmp, meta_tmp):
        clean.save(tmp)
        check_model_file(tmp)
        doc = {**metadata, "model_sha256": sha256_file(tmp)}
        meta_tmp.write_bytes((json.dumps(doc, indent=2, sort_keys=True) + "\n").encode("utf-8"))
    return target
