"""Ctrl+C and SIGTERM for the command line: one interrupt, raised where it is safe.

``termination_as_interrupt()`` makes SIGTERM raise ``KeyboardInterrupt`` as Ctrl+C does, so a
terminated ``train`` or ``export`` unwinds and removes its temporary files.

``held()`` marks a bounded call into TensorFlow. TensorFlow's C++ calls back into Python, and an
interrupt raised inside such a callback comes out as a ``SystemError`` with a traceback that the
C++ side prints itself. An interrupt that arrives inside ``held()`` is kept and raised when the
block ends, from plain Python, where the usual clean-up runs.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_holds = 0
_received: list[int] = []  # every interrupt since termination_as_interrupt() began
_deferred = False  # one arrived inside held() and is still to be raised
_installed = False


def _interrupt(signum: int, frame: Any) -> None:
    global _deferred
    _received.append(signum)
    if _holds:
        _deferred = True
        return
    raise KeyboardInterrupt


@contextmanager
def termination_as_interrupt() -> Iterator[None]:
    """While the body runs, SIGINT and SIGTERM raise KeyboardInterrupt (deferred inside ``held()``),
    and an error that follows an interrupt (TensorFlow can turn one into another exception) is
    reported as the interrupt. Only the main thread takes signals: elsewhere this does nothing."""
    global _installed, _deferred
    if threading.current_thread() is not threading.main_thread() or _installed:
        yield
        return
    signals = [s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None)) if s is not None]
    previous = {s: signal.signal(s, _interrupt) for s in signals if signal.getsignal(s) is not signal.SIG_IGN}
    _installed, _deferred = True, False
    _received.clear()
    try:
        yield
    except Exception as exc:
        if _received:
            raise KeyboardInterrupt from exc
        raise
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        _installed, _deferred = False, False
        _received.clear()


@contextmanager
def held() -> Iterator[None]:
    """Keep an interrupt that arrives while the body runs, and raise it when the body ends.

    Only for calls that end on their own in seconds: Ctrl+C waits for them. Outside
    ``termination_as_interrupt()`` (in the app, in tests) this changes nothing."""
    global _holds, _deferred
    if not _installed or threading.current_thread() is not threading.main_thread():
        yield
        return
    _holds += 1
    try:
        yield
    finally:
        _holds -= 1
    if not _holds and _deferred:
        _deferred = False
        raise KeyboardInterrupt
