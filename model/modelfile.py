"""Model files: the bundled model, checked loading, atomic saving with metadata.

A model is a Keras ``.keras`` file; its metadata (accuracy, training command,
versions, MNIST hash...) sits beside it as ``<stem>.json``.
"""

from __future__ import annotations

import copy
import datetime as dt
import errno
import json
import os
import re
import threading
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .files import _fsync_dir, atomic_pair, check_writable_folder, remove_stale_temps, sha256_file

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
        raise ModelFileError(
            f"{p} unpacks to {format_bytes(total)}: too large for a digit model (at most {format_bytes(MAX_MODEL_FILE_BYTES)})"
        )


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
    except Exception as exc:  # noqa: BLE001 (Keras raises many kinds for a bad file)
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
        except Exception as exc:  # noqa: BLE001 (Keras raises many kinds for a bad config)
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


# ---------------------------------------------------------------------- candidates: a new model, kept or discarded

#: Where new models wait, inside a models folder, until they are kept or discarded.
CANDIDATES = "candidates"


def remove_model_temps(output: str | Path, min_age: float | None = None) -> list[Path]:
    """Remove the temporary files a killed save of ``output`` (model or metadata) left behind."""
    output = Path(output)
    return [p for name in (output.name, metadata_path(output).name) for p in remove_stale_temps(output.parent, name, min_age)]


def new_candidate(models_dir: str | Path, prefix: str, now: dt.datetime | None = None) -> Path:
    """The file a new model is to be saved in, ``<models_dir>/candidates/<prefix>-<date-time>.keras``.

    Makes the folder and removes the temporary files killed saves left in it (of this
    process or another's). Raises OSError when the folder cannot be made."""
    candidates = Path(models_dir) / CANDIDATES
    candidates.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(candidates)
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    return candidates / f"{prefix}-{stamp}.keras"


def promote_model(candidate: str | Path, folder: str | Path) -> Path:
    """Move a model and its metadata (if it has any) into ``folder``; returns the model's new path.

    The pair moves together: its metadata is in place before the model appears beside it, so
    a reader never finds the model without its metadata, nor beside another model's. Nothing
    in ``folder`` is replaced: when the name is taken (by a model or by metadata), the model
    becomes ``<stem>-2.keras``, ``<stem>-3.keras``… Raises :class:`ModelFileError` with the
    reason when it cannot be done (a read-only folder, say); the candidate is then where it was.
    """
    candidate, folder = Path(candidate), Path(folder)
    if candidate.suffix != ".keras" or not candidate.is_file():
        raise ModelFileError(f"no model file to keep at {candidate}")
    meta = metadata_path(candidate)
    has_meta = meta.is_file()
    try:
        if not folder.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "no such folder", str(folder))
        for n in range(1, 1000):
            target = folder / (candidate.name if n == 1 else f"{candidate.stem}-{n}{candidate.suffix}")
            if target == candidate:
                return target
            meta_target = metadata_path(target)
            meta_how = _place(meta, meta_target) if has_meta else None if os.path.lexists(meta_target) else "free"
            if meta_how is None:
                continue
            try:
                how = _place(candidate, target)
            except OSError:
                _undo(meta, meta_target, meta_how)
                raise
            if how is None:
                _undo(meta, meta_target, meta_how)
                continue
            _drop_links((candidate, how), (meta, meta_how))
            _fsync_dir(folder)
            return target
        raise FileExistsError(errno.EEXIST, "every name for it is taken", str(folder / candidate.name))
    except OSError as exc:
        raise ModelFileError(f"cannot keep {candidate.name} in {folder}: {exc.strerror or exc}") from exc


#: What ``link`` says where a file system has no hard links.
_NO_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK}


def _place(source: Path, target: Path) -> str | None:
    """Give ``source`` the name ``target``, unless that is taken (None). Returns how: "link"
    (a hard link: ``source`` keeps its name too, until :func:`_drop_links`), or "move" where the
    file system has no hard links. A link never replaces a file, so no file another process
    just made is lost to a race. Raises OSError when it cannot be done."""
    if os.path.lexists(target):
        return None
    try:
        os.link(source, target)
        return "link"
    except FileExistsError:
        return None
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
    if os.path.lexists(target):
        return None
    os.replace(source, target)
    return "move"


def _undo(source: Path, target: Path, how: str | None) -> None:
    """Take back what :func:`_place` did."""
    if how == "link":
        target.unlink(missing_ok=True)
    elif how == "move":
        os.replace(target, source)


def _drop_links(*placed: tuple[Path, str | None]) -> None:
    """Remove the old names of files :func:`_place` linked (best effort: the files are kept)."""
    for source, how in placed:
        if how == "link":
            try:
                source.unlink(missing_ok=True)
            except OSError:
                pass


def discard_model(path: str | Path, remove_temps: bool = False) -> None:
    """Delete a model and its metadata (either may be missing), the model first: metadata left
    alone is read by no one. With ``remove_temps``, also the temporary files a killed save of
    it left (only when the process that saved it has ended). Raises OSError when the model
    cannot be deleted; its metadata then stays with it."""
    path = Path(path)
    try:
        path.unlink(missing_ok=True)
        metadata_path(path).unlink(missing_ok=True)
    finally:
        if remove_temps:  # no age needed: the process that wrote them is gone
            remove_model_temps(path, min_age=0)
