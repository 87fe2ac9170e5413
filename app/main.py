"""Start the app: the window first, the model afterwards, in the background."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Sequence
from typing import Any


def tune_process() -> None:
    """Interpreter-wide settings for live readings: call once, early, from the main thread,
    before the first window (and so before its reading threads start)."""
    from ..model.inference import limit_blas_threads

    limit_blas_threads()
    # The reading thread gives up the GIL in every NumPy/Pillow call; with the
    # default 5 ms switch interval each hand-back can wait a full interval
    # behind the busy GUI thread, turning a 1 ms reading into tens of ms.
    sys.setswitchinterval(min(sys.getswitchinterval(), 0.0005))


def freeze_on_model_load(window: Any) -> None:
    """Once a model is loaded, everything built so far lives as long as the window: keep it
    out of the garbage collector's full passes, which otherwise stall the event loop now and then."""
    window.session.modelChanged.connect(lambda _predictor: gc.freeze())


def create_window(argv: Sequence[str] | None = None) -> tuple[Any, Any]:
    """The application and its main window, shown, with the model loading in the background.

    TensorFlow is not imported on this path: the bundled CNN is read with NumPy
    and h5py (see ``model/cnn_file.py``).
    """
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(list(argv if argv is not None else sys.argv))
    app.setApplicationName("Digitscope")
    app.setOrganizationName("Digitscope")

    from PySide6.QtGui import QIcon

    from ..model.modelfile import assets_dir, bundled_model_path
    from . import startup_report
    from .window import MainWindow

    app.setWindowIcon(QIcon(str(assets_dir() / "digitscope.png")))

    tune_process()
    window = MainWindow(bundled_model=bundled_model_path(), lazy_views=True)
    freeze_on_model_load(window)
    report = os.environ.get(startup_report.ENV)
    if report:
        startup_report.install(app, window, report)
    window.show_when_ready()
    return app, window


def run(argv: Sequence[str] | None = None) -> int:
    """Open the main window and run the event loop until it closes."""
    app, _window = create_window(argv)
    return app.exec()
