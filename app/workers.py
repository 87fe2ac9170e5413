"""Background work: loading a model, and reading drawings with it.

Both run in ``QThread``s and talk to the GUI through signals only. Inference
requests coalesce: the GUI posts the latest drawing; the worker always
computes the newest one it has and drops any it never got to, so a fast
stroke never builds a backlog.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal, Slot

from ..model.drawing import Drawing
from .reading import Reading, ReaderGone, ReadingProcess, prepare_reading, read_drawing

__all__ = ["InferenceWorker", "ModelLoader", "Reading", "read_drawing"]


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
    """Reads the latest drawing with the current model, off the GUI thread.

    With ``use_process`` the reading itself runs in a child process (see
    :mod:`.reading`) once that is ready; this thread then only waits for it,
    without holding the interpreter lock the GUI needs.
    """

    ready = Signal(object)  # Reading
    _wake = Signal()

    def __init__(self, use_process: bool = False) -> None:
        super().__init__()
        self.use_process = use_process
        self._process: ReadingProcess | None = None
        self._process_predictor: Any = None
        self._process_compare: Any = None  # the compared model the child reads with
        self._lock = threading.Lock()
        self._pending: tuple[int, Drawing | np.ndarray] | None = None
        self._predictor: Any = None
        self._busy = False
        self._seq = 0
        #: Optional pure-NumPy work done on each reading in this thread (set before readings start).
        self.prepare: Any = None
        #: Also compute saliency (gradient × input) for each drawing read.
        self.saliency = False
        #: A second model whose probabilities come with each reading (read in this thread).
        self.compare_predictor: Any = None
        #: Activations a view needs whole (e.g. an enlarged map); the reading process sends only
        #: these, and each map's maximum (readings made in this thread keep everything).
        self.keep_activations: frozenset[str] = frozenset()
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
            reading = self._read_in_process(job, predictor)
            if reading is None:
                reading = prepare_reading(read_drawing(job[0], job[1], predictor, self.saliency), self.prepare)
            other = self.compare_predictor
            if other is not None and reading.prediction is not None and reading.compare is None:
                # not read by the child (no child, or a model without CNN weights): read it here
                try:
                    reading.compare = other.predict(reading.tensor).probabilities
                except Exception:  # the compared model failing must not stop the readings
                    reading.compare = None
            self.ready.emit(reading)

    def _read_in_process(self, job: tuple[int, Drawing | np.ndarray], predictor: Any) -> Reading | None:
        """The reading from the child process, or None to read here (no model yet, child not
        ready yet, or gone: then this thread reads from now on)."""
        weights = getattr(predictor, "weights", None)
        if not self.use_process or weights is None:
            return None
        try:
            if self._process is None:
                self._process = ReadingProcess(self.prepare)
            if self._process_predictor is not predictor:
                self._process.set_weights(weights)
                self._process_predictor = predictor
            if not self._process.ready():
                return None
            other = self.compare_predictor
            if self._process_compare is not other:
                self._process.set_compare(getattr(other, "weights", None))
                self._process_compare = other
            return self._process.read(job[0], job[1], saliency=self.saliency, keep=self.keep_activations)
        except ReaderGone as exc:
            print(f"digitscope: {exc}; reading in a thread from now on", file=sys.stderr)
            self._close_process()
            self.use_process = False
            return None

    @property
    def process_pid(self) -> int | None:
        """The reading process's id while it runs (for tests and diagnostics)."""
        return self._process.pid if self._process is not None else None

    def process_ready(self) -> bool:
        """True once readings come from the child process (call only while no reading runs)."""
        return self._process is not None and self._process.current

    def _close_process(self) -> None:
        process, self._process, self._process_predictor, self._process_compare = self._process, None, None, None
        if process is not None:
            process.close()

    def stop(self) -> None:
        self._thread.quit()
        self._thread.wait(5000)
        self._close_process()
