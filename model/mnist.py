"""MNIST loading with ``keras.datasets.mnist.load_data(path=...)`` semantics.

Where the file comes from, in order: a path the user names (``--mnist PATH``),
the ``DIGITSCOPE_MNIST`` environment variable, Keras's cache
(``$KERAS_HOME/datasets/mnist.npz``, default ``~/.keras``), and last the
standard download into that cache.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ENV_VAR = "DIGITSCOPE_MNIST"
_KEYS = ("x_train", "y_train", "x_test", "y_test")
#: The most images a split may hold (MNIST has 60,000 and 10,000); a file that declares more
#: is refused before anything is read.
MAX_IMAGES = 300_000


class MnistUnavailable(RuntimeError):
    """MNIST could not be found or downloaded; the message says what to do."""


@dataclass
class Mnist:
    """MNIST as uint8 arrays, straight from the file, plus where it came from."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    path: Path


def keras_cache_path() -> Path:
    """Where ``keras.datasets.mnist.load_data()`` caches the file."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "datasets" / "mnist.npz"


def find_mnist(path: str | os.PathLike[str] | None = None) -> Path | None:
    """The MNIST file that would be used without downloading, or None.

    A path named explicitly (argument or environment) must exist: naming a
    missing file is an error, never a reason to download.
    """
    named = path if path is not None else os.environ.get(ENV_VAR) or None
    if named is not None:
        p = Path(named).expanduser()
        if not p.is_file():
            source = "--mnist" if path is not None else ENV_VAR
            raise MnistUnavailable(f"MNIST file not found: {p} (from {source})")
        return p
    cached = keras_cache_path()
    return cached if cached.is_file() else None


def read_mnist(path: Path) -> Mnist:
    """Read an ``mnist.npz`` in Keras's format: each array's dtype and shape are checked from
    its header before it is read (uint8 images (N, 28, 28), N ≤ :data:`MAX_IMAGES`, integer
    labels (N,)), then the labels (0–9) and that neither split is empty."""
    try:
        with zipfile.ZipFile(path) as archive:
            arrays = {key: _read_array(archive, key, path) for key in _KEYS}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise MnistUnavailable(f"cannot read MNIST from {path}: {exc}") from None
    for split in ("train", "test"):
        y = arrays[f"y_{split}"]
        if len(arrays[f"x_{split}"]) != len(y):
            raise MnistUnavailable(f"{path}: x_{split} holds {len(arrays[f'x_{split}'])} images but y_{split} {len(y)} labels")
        if len(y) == 0:
            raise MnistUnavailable(f"{path}: the {split} set is empty")
        if y.min() < 0 or y.max() > 9:
            raise MnistUnavailable(f"{path}: y_{split} holds labels from {y.min()} to {y.max()}; MNIST labels are digits 0–9")
    return Mnist(*(arrays[k] for k in _KEYS), path=Path(path))


def _read_array(archive: zipfile.ZipFile, key: str, path: Path) -> np.ndarray:
    """One array of the archive, its header checked (:func:`_check_header`) before it is read."""
    try:
        member = archive.getinfo(f"{key}.npy")
    except KeyError:
        raise MnistUnavailable(f"{path} is not an MNIST file in Keras's format (missing {key!r})") from None
    with archive.open(member) as fh:
        version = np.lib.format.read_magic(fh)
        if version not in ((1, 0), (2, 0)):
            raise ValueError(f"{key} is in .npy format {version}, not 1.0 or 2.0")
        header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = header(fh)
    _check_header(key, shape, dtype, path)
    with archive.open(member) as fh:
        return np.lib.format.read_array(fh, allow_pickle=False)


def _check_header(key: str, shape: tuple[int, ...], dtype: Any, path: Path) -> None:
    if key.startswith("x_"):
        ok = dtype == np.uint8 and len(shape) == 3 and shape[1:] == (28, 28)
        expected = "uint8 images (N, 28, 28)"
    else:
        ok = dtype.kind in "iu" and len(shape) == 1
        expected = "integer labels (N,)"
    if not ok:
        raise MnistUnavailable(f"{path}: {key} must be {expected}, got {dtype} {tuple(shape)}")
    if shape[0] > MAX_IMAGES:
        raise MnistUnavailable(f"{path}: {key} holds {shape[0]:,} entries, more than the {MAX_IMAGES:,} Digitscope reads")


def load_mnist(path: str | os.PathLike[str] | None = None, download: bool = True) -> Mnist:
    """Load MNIST from the named file, the environment, the cache, or the download."""
    found = find_mnist(path)
    if found is not None:
        return read_mnist(found)
    if not download:
        raise MnistUnavailable(f"no MNIST file: pass --mnist PATH or set {ENV_VAR}")
    try:
        import keras

        keras.datasets.mnist.load_data()
    except Exception as exc:  # noqa: BLE001 (network errors come in many types)
        raise MnistUnavailable(
            f"MNIST is not cached ({keras_cache_path()}) and could not be downloaded ({exc}). "
            f"Pass --mnist PATH or set {ENV_VAR} to a local mnist.npz."
        ) from None
    return read_mnist(keras_cache_path())


def as_inputs(x: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) → float32 (N, 28, 28, 1) in [0, 1]."""
    return (x.astype(np.float32) / 255.0)[..., None]


def one_hot(y: np.ndarray, classes: int = 10) -> np.ndarray:
    """Integer labels → float32 one-hot rows."""
    out = np.zeros((len(y), classes), dtype=np.float32)
    out[np.arange(len(y)), y.astype(np.int64)] = 1.0
    return out
