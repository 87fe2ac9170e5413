"""Shared fixtures. GUI tests run headless: the Qt platform is set here, not by hand."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from PySide6.QtCore import QStandardPaths  # noqa: E402

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

    def make(n: int) -> tuple[np.ndarray, np.ndarray]:
        x = np.zeros((n, 28, 28), np.uint8)
        y = rng.integers(0, 10, n).astype(np.uint8)
        for i, label in enumerate(y):
            # each class: a bar at a class-specific position and orientation
            pos = 4 + 2 * int(label)
            if label % 2:
                x[i, 4:24, pos : pos + 2] = 255
            else:
                x[i, pos : pos + 2, 4:24] = 255
        return x, y

    x_train, y_train = make(256)
    x_test, y_test = make(64)
    path = tmp_path / "tiny-mnist.npz"
    np.savez_compressed(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


@pytest.fixture
def settings(tmp_path):
    """The app's settings in a file of the test's own."""
    from PySide6.QtCore import QSettings

    s = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    yield s
    s.sync()


@pytest.fixture
def open_window(qtbot):
    """Open a main window on ``settings`` with the bundled model, shown and loaded."""
    from digitscope.app.window import MainWindow
    from digitscope.model.modelfile import bundled_model_path

    def open_(settings):
        w = MainWindow(settings=settings, bundled_model=bundled_model_path())
        qtbot.addWidget(w)
        w.resize(1100, 800)
        with qtbot.waitSignal(w.loader.loaded, timeout=60000):
            w.show_when_ready()
        return w

    return open_


@pytest.fixture
def window(open_window, settings):
    w = open_window(settings)
    yield w
    w.close()
