"""Start-up timings for benchmarks: ``DIGITSCOPE_STARTUP_REPORT=1`` (or ``quit``).

With it set, the app prints JSON lines on stdout, each with the wall-clock time
``t`` (``time.time()``, so a launching process can subtract its own start):

- ``shown``: the main window's first paint;
- ``first_prediction``: once the model is loaded, a built-in drawing of a 7 is
  put on the canvas and its reading has been shown (through the reading process,
  as for a person drawing).

With ``quit`` the app then exits. Works the same from Python and in the
packaged app, so both can be timed from outside.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from PySide6.QtCore import QEvent, QObject, QTimer

ENV = "DIGITSCOPE_STARTUP_REPORT"


def _emit(event: str, **extra: Any) -> None:
    print(json.dumps({"event": event, "t": time.time(), **extra}), flush=True)


class _FirstPaint(QObject):
    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.done = False

    def eventFilter(self, obj: Any, event: Any) -> bool:
        if not self.done and event.type() == QEvent.Type.Paint and obj is self.window:
            self.done = True
            _emit("shown", tensorflow_imported="tensorflow" in sys.modules)
        return False


def install(app: Any, window: Any, mode: str) -> None:
    """Report ``shown`` and ``first_prediction`` for ``window``; quit after when ``mode`` is ``quit``."""
    from ..model.examples import example_drawing

    probe = _FirstPaint(window)
    window.installEventFilter(probe)

    def loaded(_predictor: Any) -> None:
        window.canvas.set_drawing(example_drawing(7))

    def shown(reading: Any) -> None:
        if reading.prediction is None:
            return
        window.readingShown.disconnect(shown)
        _emit(
            "first_prediction",
            digit=int(reading.prediction.digit),
            reader="process" if window.session.scheduler.use_process else "thread",
            tensorflow_imported="tensorflow" in sys.modules,
        )
        if mode == "quit":
            QTimer.singleShot(0, window.close)

    window.session.modelChanged.connect(loaded)
    window.session.modelFailed.connect(lambda path, message: (_emit("failed", message=message), mode == "quit" and window.close()))
    window.readingShown.connect(shown)
