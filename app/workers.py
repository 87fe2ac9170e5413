"""Background work: loading a model, and reading drawings with it.

- :class:`OneShotThreads` runs a function once in a thread of its own (keeping each
  QThread alive until it has ended); :class:`ModelLoader` loads model files with it.
- :class:`ReadingScheduler` lives in the GUI thread and decides where each
  :class:`.reading.ReadRequest` is read: by the child process (:mod:`.process_link`)
  once it is ready, else by the :class:`ThreadReader`, which lives in its own thread.

Everything talks through signals and immutable messages. Requests coalesce: only the
newest drawing waits; one never got to is dropped, so a fast stroke never builds a backlog.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal, Slot

from .process_link import ProcessLink
from .reading import Readable, Reader, ReaderGone, Reading, ReadRequest, numpy_weights, read_drawing

__all__ = ["ModelLoader", "OneShotThreads", "Reading", "ReadingScheduler", "ThreadReader", "read_drawing"]


class _OneShot(QObject):
    """Runs ``fn`` once in its thread: ``result`` with what it returned, or ``failed``."""

    result = Signal(object)
    failed = Signal(str, str)  # label, message
    finished = Signal()

    def __init__(self, fn: Callable[[], Any], label: str) -> None:
        super().__init__()
        self.fn, self.label = fn, label

    @Slot()
    def run(self) -> None:
        try:
            value = self.fn()
        except Exception as exc:  # noqa: BLE001 (any failure is reported, never raised into Qt)
            self.failed.emit(self.label, str(exc))
        else:
            self.result.emit(value)
        finally:
            self.finished.emit()


class OneShotThreads:
    """Runs functions once each, each in a QThread of its own; ``result``/``failed`` are
    connected before the thread starts (queued to the receiver's thread), so a job that ends
    at once is never missed. ``wait`` needs no event loop."""

    def __init__(self, name: str) -> None:
        self.name = name
        # Every thread stays referenced until it has really finished: a QThread
        # object destroyed while its thread runs aborts the process.
        self._jobs: list[tuple[QThread, _OneShot]] = []

    def start(
        self,
        fn: Callable[[], Any],
        label: str = "",
        result: Callable[..., Any] | Signal | None = None,
        failed: Callable[..., Any] | Signal | None = None,
    ) -> None:
        """Run ``fn`` in a new thread; ``result(value)`` or ``failed(label, message)`` follows."""
        self._jobs = [(t, j) for t, j in self._jobs if not t.isFinished()]
        thread = QThread()
        thread.setObjectName(self.name)
        job = _OneShot(fn, label)
        job.moveToThread(thread)
        if result is not None:
            job.result.connect(result)
        if failed is not None:
            job.failed.connect(failed)
        thread.started.connect(job.run)
        # directly, in the job's thread: queued, the quit would wait for the GUI thread's
        # event loop, and wait() (which blocks it) would never see the thread end
        job.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        self._jobs.append((thread, job))
        thread.start()

    def busy(self) -> bool:
        return any(t.isRunning() for t, _ in self._jobs)

    def wait(self, ms: int | None = 30000) -> bool:
        """Wait for the jobs under way (``ms`` each; None: as long as they take); True when all have ended."""
        return all([thread.wait() if ms is None else thread.wait(ms) for thread, _ in self._jobs])


def _load(path: Path) -> Any:
    from ..model.inference import load_predictor  # where TensorFlow is first imported, if at all

    return load_predictor(path)


class ModelLoader(QObject):
    """Loads a model file in a background thread (this is where TensorFlow is first imported)."""

    loaded = Signal(object)  # Predictor
    failed = Signal(str, str)  # path, message

    def __init__(self) -> None:
        super().__init__()
        self._threads = OneShotThreads("model-loader")

    def load(self, path: str | Path) -> None:
        """Start loading ``path``; ``loaded`` or ``failed`` follows."""
        self._threads.start(partial(_load, Path(path)), str(path), result=self.loaded, failed=self.failed)

    def wait(self, ms: int = 30000) -> bool:
        """Wait for loads under way (used when closing); True when all have ended."""
        return self._threads.wait(ms)


@dataclass(frozen=True)
class _ThreadJob:
    request: ReadRequest
    reader: Reader


class ThreadReader(QObject):
    """Reads in its own thread: ``post`` a job from any thread, ``ready`` brings its Reading.

    Only the newest job posted waits (an older one is dropped unread). Readings made here
    keep every activation (no pipe to cross)."""

    ready = Signal(object)  # Reading
    _wake = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._pending: _ThreadJob | None = None
        self._busy = False
        self._thread = QThread()
        self._thread.setObjectName("inference")
        self.moveToThread(self._thread)
        self._wake.connect(self._drain)
        self._thread.start()

    def post(self, request: ReadRequest, reader: Reader) -> None:
        """Read ``request`` next with ``reader``, unless a newer request is waiting already."""
        with self._lock:
            if self._pending is not None and self._pending.request.seq > request.seq:
                return
            self._pending = _ThreadJob(request, reader)
            wake = not self._busy
            self._busy = True
        if wake:
            self._wake.emit()

    def drop(self) -> None:
        """Forget the job waiting, if any (the child reads a newer one)."""
        with self._lock:
            self._pending = None

    @Slot()
    def _drain(self) -> None:
        while True:
            with self._lock:
                job, self._pending = self._pending, None
                if job is None:
                    self._busy = False
                    return
            self.ready.emit(job.reader.read(job.request, trim=False))

    def stop(self) -> None:
        self._thread.quit()
        self._thread.wait(5000)


class ReadingScheduler(QObject):
    """Decides where each drawing is read, from the GUI thread; ``ready`` brings each Reading.

    With ``use_process`` the reading runs in a child process once it is ready, driven
    from the GUI thread's event loop (see :mod:`.process_link`). Until then, for a model
    only Keras can run, or if the child ever fails, the :class:`ThreadReader` reads instead.
    """

    ready = Signal(object)  # Reading

    def __init__(self, use_process: bool = False) -> None:
        super().__init__()
        self._use_process = use_process
        self._link: ProcessLink | None = None
        self._link_reads_model = False
        self._retired_link: ProcessLink | None = None
        self._seq = 0
        self._predictor: Any = None
        self._second: Any = None
        self._prepare: Any = None
        self._thread = ThreadReader()
        self._thread.ready.connect(self.ready)
        app = QCoreApplication.instance()
        if app is not None:  # a QThread destroyed while running aborts the process
            app.aboutToQuit.connect(self.stop, Qt.ConnectionType.DirectConnection)

    @property
    def use_process(self) -> bool:
        """Whether readings go to the child process (False for good once it has failed)."""
        return self._use_process

    def set_prepare(self, prepare: Any) -> None:
        """The pure-NumPy hook run on each reading where it is made (``reading.MapColouring``);
        set it before the first reading: the child gets it when it starts."""
        self._prepare = prepare

    def set_predictor(self, predictor: Any) -> None:
        """Read with ``predictor`` from now on (the caller asks for the drawing again)."""
        self._predictor = predictor
        if self._link is not None:
            self._link_reads_model = self._link.use(predictor)

    def set_second(self, predictor: Any) -> None:
        """Also read each drawing with this second model (None: none)."""
        self._second = predictor

    def submit(self, drawing: Readable, saliency: bool = False, keep: frozenset[str] | None = None,
               mosaics: frozenset[str] = frozenset()) -> int:
        """Read ``drawing`` next, replacing any not yet started; returns its number."""
        self._seq += 1
        request = ReadRequest(self._seq, drawing, saliency, keep, mosaics)
        if self._child_can_read():
            self._thread.drop()  # older than this one: not worth reading
            self._link.submit(request, self._second)
        else:
            self._thread.post(request, Reader(self._predictor, self._second, self._prepare))
        return self._seq

    def _child_can_read(self) -> bool:
        """Whether the child reads the next drawing (starting it on the first drawing with a model)."""
        if not self._use_process:
            return False
        if self._link is None:
            if numpy_weights(self._predictor) is None:
                return False
            try:
                self._link = ProcessLink(self._prepare)
            except ReaderGone as exc:
                self._child_failed(str(exc), [])
                return False
            self._link.reading.connect(self.ready)
            self._link.failed.connect(self._child_failed)
            self._link_reads_model = self._link.use(self._predictor)
        if self._second is not None and numpy_weights(self._second) is None:
            return False  # the child cannot read it: read both here
        return self.process_ready()

    def _child_failed(self, why: str, unanswered: list[ReadRequest]) -> None:
        print(f"digitscope: {why}; reading in a thread from now on", file=sys.stderr)
        self._use_process = False
        self._close_link()
        if unanswered:  # the newest drawing the child never answered, under its own number
            self._thread.post(unanswered[-1], Reader(self._predictor, self._second, self._prepare))

    @property
    def process_pid(self) -> int | None:
        """The reading process's id while it runs (for tests and diagnostics)."""
        return self._link.pid if self._link is not None else None

    def process_ready(self) -> bool:
        """True once readings come from the child process."""
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
        self._thread.stop()
        self._close_link()
