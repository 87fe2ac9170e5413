"""Start the app: the window first, the model afterwards, in the background."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any


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

    window = MainWindow(bundled_model=bundled_model_path(), lazy_views=True)
    report = os.environ.get(startup_report.ENV)
    if report:
        startup_report.install(app, window, report)
    window.show_when_ready()
    return app, window


def run(argv: Sequence[str] | None = None) -> int:
    """Open the main window and run the event loop until it closes."""
    app, _window = create_window(argv)
    return app.exec()
