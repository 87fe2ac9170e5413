"""The GUI thread's side of the reading process.

The latest drawing goes to the child as soon as it is free, and each reading
comes back through the event loop (a socket notifier on the pipe). No thread
stands between the two: a reading never waits for a thread to wake, nor for
the interpreter lock while the GUI thread handles a mouse move, and the child
starts on the next drawing before the GUI paints the last one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QSocketNotifier, QTimer, Signal

from .reading import ReaderGone, ReadingProcess, ReadRequest, numpy_weights


@dataclass(frozen=True)
class _Job:
    request: ReadRequest
    second: Any  # the second model's predictor to read with too (NumPy weights), or None


class ProcessLink(QObject):
    """Sends drawings to a :class:`ReadingProcess` and emits its readings. GUI thread only.

    ``reading`` carries each Reading; ``failed`` says why the child is gone, with the
    ReadRequests it never answered, newest last. Raises ReaderGone if the child cannot start.
    """

    reading = Signal(object)  # Reading
    failed = Signal(str, list)  # why, [ReadRequest]

    #: A child that has not answered a drawing in this long is taken for hung.
    TIMEOUT_MS = 3000

    def __init__(self, prepare: Any = None) -> None:
        super().__init__()
        self._process: ReadingProcess | None = ReadingProcess(prepare)
        self._notifier = QSocketNotifier(self._process.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._readable)
        self._watchdog = QTimer(self)
        self._watchdog.setSingleShot(True)
        self._watchdog.setInterval(self.TIMEOUT_MS)
        self._watchdog.timeout.connect(self._overdue)
        self._model: Any = None  # the predictor whose weights the child reads with
        self._second: Any = None  # the second model's predictor whose weights it has
        self._in_flight: _Job | None = None
        self._pending: _Job | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def use(self, predictor: Any) -> bool:
        """Read with ``predictor`` from now on; False if the child cannot (a Keras-only model)."""
        if self._process is None:
            return False
        if predictor is not self._model:
            weights = numpy_weights(predictor)
            if weights is None:
                return False
            self._process.set_weights(weights, getattr(predictor, "verdict", None))
            self._model = predictor
        return True

    def ready(self) -> bool:
        """True when the child holds the weights of the predictor last ``use``d (it says so
        through the pipe: the event loop must run for this to turn True)."""
        return self._process is not None and self._process.current

    def submit(self, request: ReadRequest, second: Any = None) -> None:
        """Read this request next, replacing any still waiting; ``second``'s probabilities
        come with it (it must have NumPy weights, see ``numpy_weights``)."""
        self._pending = _Job(request, second)
        if self._in_flight is None:
            self._send_next()

    def _send_next(self) -> None:
        job, self._pending = self._pending, None
        if job is None or self._process is None:
            return
        self._in_flight = job
        try:
            if job.second is not self._second:
                self._process.set_second(numpy_weights(job.second))
                self._second = job.second
            self._process.send(job.request)
        except ReaderGone as exc:
            self._fail(str(exc))
            return
        self._watchdog.start()

    def _readable(self) -> None:
        try:
            answers = self._process.answers() if self._process is not None else []
        except ReaderGone as exc:
            self._fail(str(exc))
            return
        if self._in_flight is not None and any(r.seq == self._in_flight.request.seq for r in answers):
            self._in_flight = None
            self._watchdog.stop()
            self._send_next()  # the child reads the next drawing while the GUI shows this one
        for reading in answers:
            self.reading.emit(reading)

    def _overdue(self) -> None:
        job = self._in_flight
        self._readable()  # the answer may be waiting behind an event loop that was busy
        if job is not None and self._in_flight is job:
            self._fail(f"the reading process did not answer in {self.TIMEOUT_MS / 1000:g} s")

    def _fail(self, why: str) -> None:
        if self._process is None:
            return
        unanswered = [job.request for job in (self._in_flight, self._pending) if job is not None]
        self._in_flight = self._pending = None
        self.close()
        self.failed.emit(why, unanswered)

    def close(self) -> None:
        """Stop the child (it is not used again)."""
        self._watchdog.stop()
        self._notifier.setEnabled(False)
        process, self._process = self._process, None
        if process is not None:
            process.close()
