"""Keep TensorFlow quiet: set before it is first imported.

``TF_CPP_MIN_LOG_LEVEL`` silences TensorFlow's own C++ logging, but not what it logs through
Abseil before ``absl::InitializeLog()``: that goes straight to stderr at any level. So the
"oneDNN custom operations are on" notice came out twice (two libraries carry a copy of it:
``libtensorflow_framework`` and the profiler plugin), each after Abseil's "All log messages
before absl::InitializeLog() ..." line. :func:`quiet_tensorflow` therefore also runs the
first import of TensorFlow with the process's stderr (the file descriptor) passed through a
filter that drops Abseil lines below ``TF_CPP_MIN_LOG_LEVEL`` and that preamble; every other
line goes through as it comes.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

#: An Abseil log line: severity letter, date (0000 before initialisation), time, thread, file:line].
_ABSL_LINE = re.compile(rb"^([IWEF])\d{4} [\d:.]+ +\d+ [^\]\s]+\] ")
_ABSL_PREAMBLE = b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"


def quiet_tensorflow() -> None:
    """Silence TensorFlow's C++ logging and oneDNN notices (no-op once TF is imported)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import logging

    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:
        pass
    level = min_log_level()
    if level > 0 and "tensorflow" not in sys.modules and not any(isinstance(f, _QuietImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietImport(level))


def min_log_level() -> int:
    """``TF_CPP_MIN_LOG_LEVEL`` as a number (0 shows everything, 3 errors off too)."""
    try:
        return max(0, min(3, int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0"))))
    except ValueError:
        return 0


def keep_line(line: bytes, level: int) -> bool:
    """Whether a line TensorFlow writes to stderr is shown at ``TF_CPP_MIN_LOG_LEVEL`` ``level``."""
    if level > 0 and line.startswith(_ABSL_PREAMBLE):
        return False
    match = _ABSL_LINE.match(line)
    return match is None or match[1] == b"F" or b"IWE".index(match[1]) >= level


class _QuietImport(importlib.abc.MetaPathFinder):
    """Finds ``tensorflow`` (once) through the other finders and wraps its loader."""

    def __init__(self, level: int) -> None:
        self.level = level

    def find_spec(self, name: str, path: Any = None, target: ModuleType | None = None) -> Any:
        if name != "tensorflow":
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader, self.level)
        return spec


class _QuietLoader(importlib.abc.Loader):
    """Runs the wrapped loader with stderr filtered, then steps aside."""

    def __init__(self, inner: Any, level: int) -> None:
        self._inner = inner
        self._level = level

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def create_module(self, spec: Any) -> ModuleType | None:
        return self._inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        try:
            with filtered_stderr(self._level):
                self._inner.exec_module(module)
        finally:
            module.__loader__ = self._inner
            if module.__spec__ is not None:
                module.__spec__.loader = self._inner


@contextmanager
def filtered_stderr(level: int) -> Iterator[None]:
    """Pass what is written to file descriptor 2 meanwhile through :func:`keep_line`, live."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no stderr to filter
        yield
        return
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    pump = threading.Thread(target=_pump, args=(read_end, saved, level), name="stderr-filter", daemon=True)
    pump.start()
    try:
        yield
    finally:
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(saved, 2)  # the pipe's last write end closes: the pump reads to the end
        pump.join(timeout=10)
        if not pump.is_alive():
            os.close(saved)


def _pump(read_end: int, out: int, level: int) -> None:
    pending = b""
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        while chunk := pipe.read(65536):
            *lines, pending = (pending + chunk).split(b"\n")
            _write(out, b"".join(line + b"\n" for line in lines if keep_line(line, level)))
    if pending and keep_line(pending, level):
        _write(out, pending)


def _write(fd: int, data: bytes) -> None:
    while data:
        try:
            data = data[os.write(fd, data):]
        except OSError:
            return
