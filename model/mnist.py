"""MNIST loading with ``keras.datasets.mnist.load_data(path=...)`` semantics.

Where the file comes from, in order: a path the user names (``--mnist PATH``),
the ``DIGITSCOPE_MNIST`` environment variable, Keras's cache
(``$KERAS_HOME/datasets/mnist.npz``, default ``~/.keras``), and last the
standard download into that cache.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ENV_VAR = "DIGITSCOPE_MNIST"
_KEYS = ("x_train", "y_train", "x_test", "y_test")


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
    """Read an ``mnist.npz`` in Keras's format, checking its arrays."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in _KEYS}
    except KeyError as exc:
        raise MnistUnavailable(f"{path} is not an MNIST file in Keras's format (missing {exc})") from None
    except (OSError, ValueError) as exc:
        raise MnistUnavailable(f"cannot read MNIST from {path}: {exc}") from None
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or x.shape[1:] != (28, 28) or len(x) != len(y):
            raise MnistUnavailable(f"{path}: x_{split} must be (N, 28, 28) with N labels, got {x.shape} and {y.shape}")
    return Mnist(*(arrays[k] for k in _KEYS), path=Path(path))


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
    except Exception as exc:  # network errors come in many types
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
