"""Shared fixtures. GUI tests run headless: the Qt platform is set here, not by hand."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from pathlib import Path

import numpy as np
import pytest

from PySide6.QtCore import QStandardPaths

# Never touch the real user's data folders (my drawings, retrained models) from tests.
QStandardPaths.setTestModeEnabled(True)

REPO = Path(__file__).resolve().parents[1]
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist.npz"
SHARED_UNIPEN = REPO.parent / "shared" / "data" / "unipen-dev.jsonl"


@pytest.fixture(scope="session")
def mnist_path() -> Path:
    if not SHARED_MNIST.is_file():
        pytest.skip(f"needs MNIST at {SHARED_MNIST} (not present on this machine)")
    return SHARED_MNIST


@pytest.fixture(scope="session")
def unipen_rows() -> list[dict]:
    import json

    if not SHARED_UNIPEN.is_file():
        pytest.skip(f"needs the unipen-dev drawings at {SHARED_UNIPEN} (not present on this machine)")
    with open(SHARED_UNIPEN, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


@pytest.fixture(scope="session")
def bundled_predictor():
    from digitscope.model.inference import load_predictor
    from digitscope.model.modelfile import bundled_model_path

    return load_predictor(bundled_model_path())


@pytest.fixture
def tiny_mnist(tmp_path: Path) -> Path:
    """A small MNIST-format file made from synthetic strokes: bars of two kinds."""
    rng = np.random.default_rng(0)

    from helpers import bar_digits

    def make(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, 10, n).astype(np.uint8)
        return bar_digits(y), y

    x_train, y_train = make(256)
    x_test, y_test = make(64)
    path = tmp_path / "tiny-mnist.npz"
    np.savez_compressed(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


@pytest.fixture
def settings_file(tmp_path) -> Path:
    """The file of the app's settings in this test (``open_window(settings_file)`` reads it
    afresh, as the app does when it starts again)."""
    return tmp_path / "settings.ini"


@pytest.fixture
def settings(settings_file):
    """The app's settings in a file of the test's own."""
    from PySide6.QtCore import QSettings

    s = QSettings(str(settings_file), QSettings.Format.IniFormat)
    yield s
    s.sync()


@pytest.fixture
def data_dir(tmp_path) -> Path:
    """My drawings and the retrained models of the windows of this test."""
    return tmp_path / "data"


@pytest.fixture
def open_window(qtbot, request, data_dir):
    """Open main windows with the bundled model, shown and loaded: ``open_window(settings=None,
    *, reading_process=None, data_dir=None)``.

    ``settings``: a ``QSettings``, or a settings file's path, read afresh as a restarted app
    reads it (default: the ``settings`` fixture's). ``reading_process``: see ``MainWindow``.
    ``data_dir``: default the ``data_dir`` fixture's. Every window opened is closed when the
    test ends (a retraining run under way is stopped first).
    """
    from digitscope.app.window import MainWindow
    from digitscope.model.modelfile import bundled_model_path
    from PySide6.QtCore import QSettings

    opened: list[MainWindow] = []

    def open_(settings=None, *, reading_process: bool | None = None, data_dir: Path | None = None) -> MainWindow:
        if settings is None:
            settings = request.getfixturevalue("settings")
        elif isinstance(settings, (str, Path)):
            settings = QSettings(str(settings), QSettings.Format.IniFormat)
        w = MainWindow(
            settings=settings,
            bundled_model=bundled_model_path(),
            reading_process=reading_process,
            data_dir=data_dir if data_dir is not None else request.getfixturevalue("data_dir"),
        )
        qtbot.addWidget(w)
        opened.append(w)
        w.resize(1100, 800)
        with qtbot.waitSignal(w.loader.loaded, timeout=60000):
            w.show_when_ready()
        return w

    yield open_
    for w in opened:
        if w.retrain_dialog is not None and w.retrain_dialog.busy():
            w.retrain_dialog.stop_and_wait()
        w.close()


@pytest.fixture
def window(open_window):
    """A main window on the ``settings`` fixture, shown, its model loaded."""
    return open_window()


@pytest.fixture
def no_modal_questions(monkeypatch):
    """A question box would block a headless test forever: answer No unless a test says otherwise."""
    from PySide6.QtWidgets import QMessageBox

    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)


@pytest.fixture
def warnings(monkeypatch) -> list[str]:
    """The warning boxes the app shows, as "title: text", instead of showing them."""
    from PySide6.QtWidgets import QMessageBox

    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a, **k: shown.append(f"{title}: {text}"))
    return shown


@pytest.fixture
def retrain_dialog(qtbot, tmp_path):
    """A Retrain dialog on its own (no main window), fine-tuning the bundled CNN by default."""
    from digitscope.app.retrain_dialog import RetrainDialog
    from digitscope.model.modelfile import bundled_model_path
    from digitscope.model.my_drawings import DrawingStore
    from PySide6.QtCore import QSettings

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    dialog = RetrainDialog(settings, DrawingStore(tmp_path / "my-drawings"), bundled_model_path(), tmp_path / "models")
    qtbot.addWidget(dialog)
    return dialog
