"""Background work: loading a model, and reading drawings with it.

Both run in ``QThread``s and talk to the GUI through signals only (readings
made in the child process come through the GUI's event loop instead). Inference
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
from .process_link import ProcessLink
from .reading import Reading, ReaderGone, numpy_weights, prepare_reading, read_drawing

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
        # directly, in the worker's thread: queued, the quit would wait for the GUI thread's
        # event loop, and wait() below (which blocks it) would never see the thread end
        worker.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        self._jobs.append((thread, worker))
        thread.start()

    def wait(self, ms: int = 30000) -> bool:
        """Wait for loads under way (used when closing); True when all have ended."""
        return all([thread.wait(ms) for thread, _ in self._jobs])


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

    With ``use_process`` the reading runs in a child process once it is ready,
    driven from the GUI thread's event loop (see :mod:`.process_link`). Until
    then, for a model only Keras can run, or if the child ever fails, this
    worker's thread reads instead.
    """

    ready = Signal(object)  # Reading
    _wake = Signal()

    def __init__(self, use_process: bool = False) -> None:
        super().__init__()
        self.use_process = use_process
        self._link: ProcessLink | None = None  # lives in the GUI thread, like its caller
        self._link_reads_model = False
        self._retired_link: ProcessLink | None = None
        self._lock = threading.Lock()
        self._pending: tuple[int, Drawing | np.ndarray] | None = None
        self._predictor: Any = None
        self._busy = False
        self._seq = 0
        #: Optional pure-NumPy work done on each reading where it is made (set before readings start).
        self.prepare: Any = None
        #: Also compute saliency (gradient × input) for each drawing read.
        self.saliency = False
        #: A second model whose probabilities come with each reading.
        self.compare_predictor: Any = None
        #: Activations a view needs whole (e.g. an enlarged map); the reading process sends only
        #: these, and each map's maximum (readings made in this thread keep everything).
        self.keep_activations: frozenset[str] = frozenset()
        #: Optional mosaics ``prepare`` makes too (see ``reading.MapColouring.EXTRA``).
        self.extra_mosaics: frozenset[str] = frozenset()
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
        if self._link is not None:
            self._link_reads_model = self._link.use(predictor)

    def submit(self, source: Drawing | np.ndarray) -> int:
        """Queue a drawing (or image) for reading, replacing any not yet started. Returns its number.
        Call from the GUI thread."""
        with self._lock:
            self._seq += 1
            seq = self._seq
        if self._child_can_read():
            with self._lock:
                self._pending = None  # older than this one: not worth reading
            self._link.submit(seq, source, self.saliency, self.keep_activations, self.compare_predictor, self.extra_mosaics)
        else:
            self._submit_to_thread(seq, source)
        return seq

    def _submit_to_thread(self, seq: int, source: Drawing | np.ndarray) -> None:
        with self._lock:
            self._pending = (seq, source)
            wake = not self._busy
            self._busy = True
        if wake:
            self._wake.emit()

    def _child_can_read(self) -> bool:
        """Whether the child reads this drawing (starting it on the first drawing with a model)."""
        if not self.use_process:
            return False
        if self._link is None:
            if numpy_weights(self._predictor) is None:
                return False
            try:
                self._link = ProcessLink(self.prepare)
            except ReaderGone as exc:
                self._child_failed(str(exc), [])
                return False
            # direct: both are emitted in the GUI thread; this object lives in the worker thread
            direct = Qt.ConnectionType.DirectConnection
            self._link.reading.connect(self.ready.emit, direct)
            self._link.failed.connect(self._child_failed, direct)
            self._link_reads_model = self._link.use(self._predictor)
        compare = self.compare_predictor
        if compare is not None and numpy_weights(compare) is None:
            return False  # the child cannot read it: read both here
        return self.process_ready()

    def _child_failed(self, why: str, jobs: list) -> None:
        print(f"digitscope: {why}; reading in a thread from now on", file=sys.stderr)
        self.use_process = False
        self._close_link()
        if jobs:  # the newest drawing the child never answered, under its own number
            seq, source = jobs[-1][:2]
            with self._lock:
                newer = self._pending is not None and self._pending[0] > seq
            if not newer:
                self._submit_to_thread(seq, source)

    @Slot()
    def _drain(self) -> None:
        while True:
            with self._lock:
                job, self._pending = self._pending, None
                predictor = self._predictor
                if job is None:
                    self._busy = False
                    return
            reading = prepare_reading(read_drawing(job[0], job[1], predictor, self.saliency), self.prepare, self.extra_mosaics)
            other = self.compare_predictor
            if other is not None and reading.prediction is not None:
                try:
                    reading.compare = other.predict(reading.tensor).probabilities
                except Exception:  # the compared model failing must not stop the readings
                    reading.compare = None
            self.ready.emit(reading)

    @property
    def process_pid(self) -> int | None:
        """The reading process's id while it runs (for tests and diagnostics)."""
        return self._link.pid if self._link is not None else None

    def process_ready(self) -> bool:
        """True once readings come from the child process (GUI thread)."""
        return self._link is not None and self._link_reads_model and self._link.ready()

    def _close_link(self) -> None:
        link, self._link, self._link_reads_model = self._link, None, False
        if link is not None:
            link.close()
            # this may run inside the link's own signal: Qt deletes it later, and this
            # reference keeps Python from deleting it at once
            self._retired_link = link
            link.deleteLater()

    def stop(self) -> None:
        self._thread.quit()
        self._thread.wait(5000)
        self._close_link()
