"""Model files: the bundled model, checked loading, atomic saving with metadata.

A model is a Keras ``.keras`` file; its metadata (accuracy, training command,
versions, MNIST hash...) sits beside it as ``<stem>.json``.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from .files import atomic_path, atomic_write_bytes

BUNDLED_MODEL_NAME = "digitscope-cnn.keras"


class ModelFileError(ValueError):
    """A model file that cannot be used, with the reason."""


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
    try:
        doc = json.loads(metadata_path(model_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def check_model_file(path: str | Path) -> Path:
    """Cheap checks before Keras sees the file: it exists and is a ``.keras`` archive."""
    p = Path(path)
    if not p.is_file():
        raise ModelFileError(f"model file not found: {p}")
    if not zipfile.is_zipfile(p):
        raise ModelFileError(f"{p} is not a Keras model file (.keras): it is not a zip archive, so it is corrupt or of another kind")
    try:
        with zipfile.ZipFile(p) as z:
            names = set(z.namelist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelFileError(f"{p} is a damaged model file: {exc}") from None
    if "config.json" not in names:
        raise ModelFileError(f"{p} is a zip archive but not a Keras model (no config.json inside)")
    return p


def load_keras_model(path: str | Path) -> Any:
    """Load and check a Keras model: input (28, 28, 1), 10 outputs. Raises :class:`ModelFileError`."""
    p = check_model_file(path)
    from .tf_setup import quiet_tensorflow

    quiet_tensorflow()
    import keras

    try:
        model = keras.saving.load_model(p, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many kinds for a bad file
        raise ModelFileError(f"{p} could not be loaded as a Keras model: {type(exc).__name__}: {exc}") from None
    check_model_shapes(model, p)
    return model


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


def save_model(model: Any, path: str | Path, metadata: dict[str, Any]) -> Path:
    """Save a model and its metadata atomically; a failed save leaves old files intact.

    The model is saved without optimiser state (it is for inference and
    fine-tuning, which starts a fresh optimiser).
    """
    import keras

    target = Path(path)
    if target.suffix != ".keras":
        raise ModelFileError(f"model files end in .keras, got {target.name}")
    clean = keras.Model.from_config(model.get_config())  # uncompiled: no optimiser state
    clean.set_weights(model.get_weights())
    meta_bytes = (json.dumps(metadata, indent=2, sort_keys=True) + "\n").encode("utf-8")
    with atomic_path(target, suffix=".keras") as tmp:
        clean.save(tmp)
        check_model_file(tmp)
    atomic_write_bytes(metadata_path(target), meta_bytes)
    return target
