"""``digitscope --self-test``: is this installation, above all a packaged one, whole?

Each check exercises what a person relies on, in the way the app does it:

1. the bundled model loads;
2. it reads built-in drawings of all ten digits correctly, and its verdict calls them digits;
3. the main window renders (offscreen), its reading process starts (in a
   packaged app: the executable itself), and a drawing on the canvas is read;
4. one tiny training run completes through the same child process that
   Model → Retrain… starts (``digitscope train``: TensorFlow and Keras work).

Everything is written to a temporary folder; nothing beside the executable.
Prints one line per check and exits 0, or 1 naming what failed.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

TRAINING_TIMEOUT_S = 300.0


class CheckFailed(Exception):
    """A check's clear reason for failing."""


class _Context:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.predictor: Any = None


def _check_model(ctx: _Context) -> str:
    from ..model.inference import load_predictor
    from ..model.modelfile import bundled_model_path

    path = bundled_model_path()
    ctx.predictor = load_predictor(path)
    accuracy = ctx.predictor.metadata.get("test_accuracy")
    return f"{path.name}" + (f", MNIST test accuracy {100 * accuracy:.2f} %" if accuracy else "")


def _check_digits(ctx: _Context) -> str:
    import numpy as np

    from ..model.examples import example_drawings
    from ..model.preprocess import drawing_to_tensor

    if ctx.predictor is None:
        raise CheckFailed("no model loaded")
    drawings = example_drawings()
    probs = ctx.predictor.probabilities(np.stack([drawing_to_tensor(d) for d in drawings.values()]))
    wrong = [f"{d} read as {int(p.argmax())}" for d, p in zip(drawings, probs) if int(p.argmax()) != d]
    if wrong:
        raise CheckFailed(", ".join(wrong))
    tensors = np.stack([drawing_to_tensor(d) for d in drawings.values()])
    verdicts = ctx.predictor.is_digit(tensors)
    if verdicts is None:
        raise CheckFailed(f"the bundled model has no verdict ({ctx.predictor.verdict_note})")
    doubted = [str(d) for d, ok in zip(drawings, verdicts) if not ok]
    if doubted:
        raise CheckFailed("judged no digit: " + ", ".join(doubted))
    return f"0-9 all read correctly and judged digits (lowest confidence {float(probs.max(axis=1).min()):.3f})"


def _wait(app: Any, done: Callable[[], bool], timeout: float, what: str) -> None:
    from .scripted import wait_until

    try:
        wait_until(app, done, timeout, what)
    except TimeoutError as exc:
        raise CheckFailed(str(exc)) from None


def _check_window(ctx: _Context) -> str:
    from PySide6.QtGui import QImage

    from ..model.examples import example_drawing
    from .scripted import open_ready_window

    app, window = open_ready_window(ctx.folder / "settings.ini", data_dir=ctx.folder / "data", timeout=60.0)
    try:
        if window.worker.use_process and window.worker.process_pid is None:
            raise CheckFailed("the reading process did not start")
        readings: list[Any] = []
        window.readingShown.connect(readings.append)
        window.canvas.set_drawing(example_drawing(5))
        _wait(app, lambda: any(r.prediction is not None for r in readings), 20.0, "a reading of the canvas")
        digit = next(r for r in readings if r.prediction is not None).prediction.digit
        if digit != 5:
            raise CheckFailed(f"the canvas's 5 was read as {digit}")
        image = window.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
        if image.width() < 400 or image.height() < 300:
            raise CheckFailed(f"the window rendered at {image.width()}×{image.height()}")
        colours = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
        if len(colours) < 20:
            raise CheckFailed(f"the window rendered almost blank ({len(colours)} colours)")
        how = f"reading process pid {window.worker.process_pid}" if window.worker.use_process else "reading thread"
        return f"{image.width()}×{image.height()}, {len(colours)} colours; canvas read as 5 ({how})"
    finally:
        window.close()
        window.deleteLater()
        app.processEvents()


def _check_training(ctx: _Context) -> str:
    import numpy as np
    from PySide6.QtWidgets import QApplication

    from ..model.examples import example_dataset
    from ..model.inference import load_predictor
    from ..model.modelfile import bundled_model_path
    from .training_process import TrainingRun, train_program

    x_train, y_train = example_dataset(24, seed=1)
    x_test, y_test = example_dataset(6, seed=2)
    data = ctx.folder / "tiny-mnist.npz"
    np.savez_compressed(data, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    output = ctx.folder / "tiny-model.keras"
    app = QApplication.instance()
    run = TrainingRun()
    result: list[tuple[str, str]] = []
    epochs: list[dict] = []
    run.finished.connect(lambda status, message: result.append((status, message)))
    run.event.connect(lambda e: epochs.append(e) if e.get("event") == "epoch" else None)
    run.start([
        "--mnist", str(data), "--output", str(output), "--init-model", str(bundled_model_path()),
        "--train-layers", "dense", "--epochs", "1", "--batch-size", "32", "--learning-rate", "3e-4",
        "--validation-split", "0.1",
    ])
    try:
        _wait(app, lambda: bool(result), TRAINING_TIMEOUT_S, "the training run")
    finally:
        if not result:
            run.cancel()
            run.wait(3000)
    status, message = result[0]
    if status != "done":
        raise CheckFailed(message or status)
    if not epochs:
        raise CheckFailed("the run reported no epoch")
    model = load_predictor(output)
    probs = model.probabilities(x_test.astype(np.float32) / 255.0)
    accuracy = float((probs.argmax(axis=1) == y_test).mean())
    program, lead = train_program()
    command = " ".join([Path(program).name, *lead])
    return f"1 epoch on {len(x_train)} images by `{command}`; the new model reads {100 * accuracy:.0f} % of {len(x_test)} test images"


CHECKS: list[tuple[str, Callable[[_Context], str]]] = [
    ("bundled model", _check_model),
    ("ten digits", _check_digits),
    ("main window", _check_window),
    ("training", _check_training),
]


def run_self_test(out: TextIO | None = None, checks: list[str] | None = None) -> int:
    """Run the checks (all, or those named), print one line each; 0 if all passed, else 1."""
    out = out or sys.stdout
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # the window renders without a screen
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from PySide6.QtCore import qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    def quiet(kind: Any, context: Any, message: str) -> None:
        if "propagateSizeHints" not in message:  # the offscreen platform's notice, not a fault
            print(message, file=sys.stderr)

    app = QApplication.instance()
    if app is None:  # run as the program (not inside a test's application)
        qInstallMessageHandler(quiet)
        app = QApplication([sys.argv[0], "-platform", "offscreen"])
    app.setApplicationName("Digitscope")
    from .. import __version__

    print(
        f"Digitscope {__version__} self-test ({'packaged' if getattr(sys, 'frozen', False) else 'Python'}: {sys.executable})",
        file=out,
        flush=True,
    )
    failed = []
    with tempfile.TemporaryDirectory(prefix="digitscope-self-test-") as tmp:
        ctx = _Context(Path(tmp))
        for name, check in CHECKS:
            if checks is not None and name not in checks:
                continue
            t0 = time.perf_counter()
            try:
                detail = check(ctx)
            except CheckFailed as exc:
                failed.append(name)
                detail = str(exc)
            except Exception as exc:  # noqa: BLE001 (a self-test reports every failure)
                failed.append(name)
                detail = f"{type(exc).__name__}: {exc}\n" + "".join(traceback.format_exc(limit=6))
            mark = "FAIL" if failed and failed[-1] == name else "ok  "
            print(f"{mark} {name:<14} {time.perf_counter() - t0:5.1f} s  {detail}", file=out, flush=True)
    if failed:
        print(f"self-test FAILED: {', '.join(failed)}", file=out, flush=True)
        return 1
    print("self-test passed", file=out, flush=True)
    return 0
