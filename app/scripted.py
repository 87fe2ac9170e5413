"""A ready window for scripts (benchmarks, the screenshot): model loaded, own settings file."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from ..model.modelfile import bundled_model_path
from .main import freeze_on_model_load, tune_process
from .window import MainWindow


def open_ready_window(
    settings_file: Path,
    size: tuple[int, int] = (1180, 860),
    timeout: float = 60.0,
    reading_process: bool | None = None,
    data_dir: Path | None = None,
) -> tuple[QApplication, MainWindow]:
    """Show the main window (settings kept in ``settings_file``, my drawings and models in
    ``data_dir``, by default beside it) and return once its model is loaded and, when it
    reads in a child process, that process is reading."""
    app = QApplication.instance() or QApplication([])
    tune_process()
    window = MainWindow(
        settings=QSettings(str(settings_file), QSettings.Format.IniFormat),
        bundled_model=bundled_model_path(),
        reading_process=reading_process,
        data_dir=data_dir or settings_file.parent / "digitscope-data",
    )
    freeze_on_model_load(window)
    window.resize(*size)
    session = window.session
    loaded: list[object] = []
    session.modelChanged.connect(loaded.append)
    session.modelFailed.connect(lambda path, message: loaded.append(RuntimeError(message)))
    window.show_when_ready()
    deadline = time.monotonic() + timeout
    wait_until(app, lambda: bool(loaded), deadline - time.monotonic(), "the model to load")
    if isinstance(loaded[0], Exception):
        raise loaded[0]

    def reading_in_process() -> bool:
        if not session.scheduler.use_process or session.scheduler.process_ready():
            return True
        session.request_reading()  # the child starts, and reports ready, on a reading request
        time.sleep(0.04)
        return False

    wait_until(app, reading_in_process, deadline - time.monotonic(), "the reading process to start")
    return app, window  # type: ignore[return-value]  # QApplication.instance() is typed as QCoreApplication


def wait_until(app: QApplication, done: Callable[[], bool], timeout: float, what: str) -> None:
    """Process events until ``done()``; TimeoutError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not done():
        app.processEvents()
        time.sleep(0.01)
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
