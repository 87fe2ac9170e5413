"""Background work: loading a model, and reading drawings with it.

Both run in ``QThread``s and talk to the GUI through signals only. Inference
requests coalesce: the GUI posts the latest drawing; the worker always
computes the newest one it has and drops any it never got to, so a fast
stroke never builds a backlog.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal, Slot

from ..model.drawing import Drawing


@dataclass
class Reading:
    """What the network made of one drawing state (``prediction`` is None for an empty canvas)."""

    seq: int
    tensor: np.ndarray | None
    prediction: Any  # model.inference.Prediction | None
    error: str | None = None
    seconds: float = 0.0
    #: Results of the worker's ``prepare`` hook (e.g. coloured feature maps), made off the GUI thread.
    prepared: dict[str, Any] | None = None


class ModelLoader(QObject):
    """Loads a model file in a background thread (this is where TensorFlow is first imported)."""

    loaded = Signal(object)  # Predictor
    failed = Signal(str, str)  # path, message

    def __init__(self) -> None:
        super().__init__()
        self._jobs: list[tuple[QThread, QObject]] = []

    def load(self, path: str | Path) -> None:
        """Start loading ``path``; ``loaded`` or ``failed`` follows."""
        # Keep every thread referenced until it has really finished: a QThread
        # object destroyed while its thread runs aborts the process.
        self._jobs = [(t, w) for t, w in self._jobs if not t.isFinished()]
        thread = QThread()
        thread.setObjectName("model-loader")
        worker = _LoadJob(Path(path))
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.loaded.connect(self.loaded)
        worker.failed.connect(self.failed)
        worker.finished.connect(thread.quit)
        self._jobs.append((thread, worker))
        thread.start()

    def wait(self, ms: int = 30000) -> None:
        """Wait for loads under way (used when closing)."""
        for thread, _ in self._jobs:
            thread.wait(ms)


class _LoadJob(QObject):
    loaded = Signal(object)
    failed = Signal(str, str)
    finished = Signal()

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    @Slot()
    def run(self) -> None:
        try:
            from ..model.inference import load_predictor

            predictor = load_predictor(self.path)
        except Exception as exc:  # any failure is reported, the app keeps its model
            self.failed.emit(str(self.path), str(exc))
        else:
            self.loaded.emit(predictor)
        finally:
            self.finished.emit()


class InferenceWorker(QObject):
    """Reads the latest drawing with the current model, off the GUI thread."""

    ready = Signal(object)  # Reading
    _wake = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._pending: tuple[int, Drawing | np.ndarray] | None = None
        self._predictor: Any = None
        self._busy = False
        self._seq = 0
        #: Optional pure-NumPy work done on each reading in this thread (set before readings start).
        self.prepare: Any = None
        self._thread = QThread()
        self._thread.setObjectName("inference")
        self.moveToThread(self._thread)
        self._wake.connect(self._drain)
        app = QCoreApplication.instance()
        if app is not None:  # a QThread destroyed while running aborts the process
            app.aboutToQuit.connect(self.stop, Qt.ConnectionType.DirectConnection)
        self._thread.start()

    def set_predictor(self, predictor: Any) -> None:
        """Use ``predictor`` from now on (the last drawing is read again by the caller)."""
        with self._lock:
            self._predictor = predictor

    def submit(self, source: Drawing | np.ndarray) -> int:
        """Queue a drawing (or image) for reading, replacing any not yet started. Returns its number."""
        with self._lock:
            self._seq += 1
            seq = self._seq
            self._pending = (seq, source)
            wake = not self._busy
            self._busy = True
        if wake:
            self._wake.emit()
        return seq

    @Slot()
    def _drain(self) -> None:
        while True:
            with self._lock:
                job, self._pending = self._pending, None
                predictor = self._predictor
                if job is None:
                    self._busy = False
                    return
            reading = read_drawing(job[0], job[1], predictor)
            if self.prepare is not None and reading.prediction is not None:
                try:
                    reading.prepared = self.prepare(reading)
                except Exception:  # the views can colour the maps themselves
                    reading.prepared = None
            self.ready.emit(reading)

    def stop(self) -> None:
        self._thread.quit()
        self._thread.wait(5000)


def read_drawing(seq: int, source: Drawing | np.ndarray, predictor: Any) -> Reading:
    """Preprocess a drawing (or an image's grey pixels) and, when a model is loaded, predict.
    Never raises: problems come back in ``Reading.error``."""
    from ..model.preprocess import EmptyInputError, drawing_to_tensor, image_to_tensor

    started = time.perf_counter()
    try:
        tensor = drawing_to_tensor(source) if isinstance(source, Drawing) else image_to_tensor(source)
    except EmptyInputError:
        return Reading(seq, None, None)
    except ValueError as exc:
        return Reading(seq, None, None, error=str(exc))
    try:
        prediction = predictor.predict(tensor) if predictor is not None else None
    except Exception as exc:  # a model that fails on this input must not stop the reading thread
        return Reading(seq, tensor, None, error=f"the model failed: {exc}")
    return Reading(seq, tensor, prediction, seconds=time.perf_counter() - started)
