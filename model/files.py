"""Atomic file writes, temporary files beside their target, and file hashing.

A temporary file or folder is named ``.<target name>.<8 random>.tmp<suffix>``, sits beside its
target, and is locked (``flock``, where the system has it) for as long as its writer has it
open. So one a killed process left behind is recognised by its name and removed
(:func:`remove_stale_temps`), and one another process is still writing is left alone.

Files are created with mode 0o666 and folders 0o777, less the umask, by the system itself:
the process umask is never read by changing it (that would change it for every thread).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; stale temporary files are told by age alone
    fcntl = None  # type: ignore[assignment]  # None stands for the missing module

#: ``.<target>.<8 random>.tmp<suffix>``; the random part also matches ``tempfile``'s, as
#: earlier versions named them.
TEMP_PATTERN = re.compile(r"^\.(?P<target>.+)\.[a-z0-9_]{8}\.tmp(?:\.[A-Za-z0-9]+)?$")
#: An unlocked temporary file younger than this may be one being created: it is left alone.
#: Where there are no locks, a temporary file is stale only after :data:`STALE_UNLOCKED_SECONDS`.
STALE_SECONDS = 10.0
STALE_UNLOCKED_SECONDS = 3600.0


def temp_name(target: Path, suffix: str = "") -> Path:
    """A fresh temporary name beside ``target`` (see :data:`TEMP_PATTERN`)."""
    token = secrets.token_hex(4)
    return target.parent / f".{target.name}.{token}.tmp{suffix}"


@contextmanager
def temp_beside(target: Path, suffix: str = "", folder: bool = False) -> Iterator[Path]:
    """Create a temporary file (or ``folder``) beside ``target``, locked while the body runs.

    Whatever the body leaves at the temporary path is removed when it ends, normally or not;
    the body moves it into place to keep it.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        tmp, fd = _create(target, suffix, folder)
        if fd is not None:
            stack.callback(os.close, fd)  # closing releases the lock: after the removal below
            _lock(fd)
        stack.callback(_remove, tmp)
        yield tmp


@contextmanager
def atomic_path(target: Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it replaces ``target``.

    ``suffix`` ends the temporary name (Keras insists on ``.keras``).

    If the body raises (a full disk, a cancelled run...), the temporary file is
    removed and ``target`` is left exactly as it was.
    """
    target = Path(target)
    with temp_beside(target, suffix) as tmp:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, target)
        _fsync_dir(target.parent)


@contextmanager
def atomic_pair(target: Path, companion: Path, suffix: str = "") -> Iterator[tuple[Path, Path]]:
    """Yield temporary paths for ``target`` and its ``companion`` (a model and its metadata);
    on success both replace their files, so that no reader ever finds the new ``target``
    beside the old ``companion``.

    The old companion goes first, then the target is replaced, then the companion: a kill at
    any point leaves the old pair, the new pair, or a target with no companion (which
    readers take for "no metadata"), never a mismatched pair.
    """
    target, companion = Path(target), Path(companion)
    with temp_beside(target, suffix) as tmp, temp_beside(companion) as companion_tmp:
        yield tmp, companion_tmp
        _fsync(tmp)
        _fsync(companion_tmp)
        companion.unlink(missing_ok=True)
        os.replace(tmp, target)
        os.replace(companion_tmp, companion)
        _fsync_dir(target.parent)


def atomic_write_bytes(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def atomic_write_with(target: Path, writer: Callable[[Path], None], suffix: str = "") -> None:
    """Let ``writer`` fill a temporary file, then move it over ``target``."""
    with atomic_path(target, suffix) as tmp:
        writer(tmp)


def remove_stale_temps(folder: Path, target_name: str | None = None, min_age: float | None = None) -> list[Path]:
    """Remove the temporary files and folders in ``folder`` that no writer holds any more
    (of ``target_name`` only, if given); returns what was removed.

    One is stale when it is not locked and older than ``min_age`` seconds (default
    :data:`STALE_SECONDS`, or :data:`STALE_UNLOCKED_SECONDS` where there are no locks).
    """
    if min_age is None:
        min_age = STALE_SECONDS if fcntl is not None else STALE_UNLOCKED_SECONDS
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    removed = []
    for entry in entries:
        match = TEMP_PATTERN.match(entry.name)
        if not match or (target_name is not None and match["target"] != target_name):
            continue
        path = Path(entry.path)
        if _is_stale(path, min_age):
            _remove(path)
            removed.append(path)
    return removed


def check_writable_folder(folder: Path) -> None:
    """Create ``folder`` if need be and make sure a file can be created in it (OSError if not)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"{folder} is not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    with temp_beside(folder / "write-test"):
        pass


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _create(target: Path, suffix: str, folder: bool) -> tuple[Path, int | None]:
    """A new temporary file or folder (its mode the system's default under the umask) and a
    descriptor to lock it by (None for a folder where folders cannot be opened)."""
    while True:
        tmp = temp_name(target, suffix)
        try:
            if not folder:
                return tmp, os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
            os.mkdir(tmp, 0o777)
        except FileExistsError:
            continue
        try:
            return tmp, os.open(tmp, os.O_RDONLY)
        except OSError:
            return tmp, None


def _lock(fd: int) -> None:
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            pass  # a file system without locks: the age rule protects it


def _is_stale(path: Path, min_age: float) -> bool:
    """Not locked by a writer and at least ``min_age`` seconds old (where locks cannot be
    taken, at least :data:`STALE_UNLOCKED_SECONDS` old)."""
    try:
        age = time.time() - path.lstat().st_mtime
        if age < min_age:
            return False
        if fcntl is None:
            return True
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False  # its writer still holds it
    except OSError:
        return age >= STALE_UNLOCKED_SECONDS  # no locks on this file system
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    except OSError:
        pass


def _fsync(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX; a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
