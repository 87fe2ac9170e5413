"""The live reading of the canvas, without a widget: models, readings, and what the views need.

A :class:`ReadingSession` owns the model (and the second model of Model → Compare
with model…), their loaders, the :class:`.workers.ReadingScheduler` and the latest
reading. Views subscribe to its signals; those that need more than the window's own
views declare it (:meth:`ReadingSession.need`), and each ReadRequest asks for exactly that.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from .reading import Readable, Reading, completed
from .workers import ModelLoader, ReadingScheduler


class ReadingSession(QObject):
    """What the network makes of the canvas, live. GUI thread; no widgets.

    ``source`` gives what to read (``DrawingCanvas.source``). Signals:

    - ``readingChanged(Reading)``: a newer reading (or the one shown, completed for a view
      that needs more of it); every subscriber has it when ``readingDelivered`` follows;
    - ``modelChanged(predictor)`` / ``modelFailed(path, message)``;
    - ``secondChanged(predictor or None)`` / ``secondFailed(path, message)``: the second model.
    """

    readingChanged = Signal(object)
    readingDelivered = Signal(object)
    modelChanged = Signal(object)
    modelFailed = Signal(str, str)
    secondChanged = Signal(object)
    secondFailed = Signal(str, str)

    def __init__(self, source: Callable[[], Readable], use_process: bool | None = None) -> None:
        """``use_process`` reads in a child process (default: yes, unless the environment sets
        ``DIGITSCOPE_READER=thread``)."""
        super().__init__()
        if use_process is None:
            use_process = os.environ.get("DIGITSCOPE_READER", "process") != "thread"
        self.source = source
        self.predictor: Any = None
        self.second_predictor: Any = None
        self.latest: Reading | None = None
        #: The number of the newest reading asked for (``latest.seq`` equals it once it is in).
        self.latest_seq = 0
        #: Also work out which ink drove the answer (View → Show saliency).
        self.saliency = False
        self._needs: dict[object, tuple[frozenset[str], frozenset[str]]] = {}  # view: (activations, mosaics)
        #: The activations the views need whole (the reading process keeps the others) and
        #: the optional mosaics they need laid out where the reading is made: all views' needs.
        self.keep: frozenset[str] = frozenset()
        self.mosaics: frozenset[str] = frozenset()
        self.scheduler = ReadingScheduler(use_process=use_process)
        self.scheduler.ready.connect(self.show)
        self.loader = ModelLoader()
        self.loader.loaded.connect(self.use)
        self.loader.failed.connect(self.modelFailed)
        self.second_loader = ModelLoader()
        self.second_loader.loaded.connect(self.set_second)
        self.second_loader.failed.connect(self.secondFailed)

    # ------------------------------------------------------------------ models

    def load(self, path: Path) -> None:
        """Load the model in ``path`` in the background (``modelChanged`` or ``modelFailed``)."""
        self.loader.load(path)

    def use(self, predictor: Any) -> None:
        """Read with this (loaded) model from now on; the canvas is read again."""
        self.predictor = predictor
        self.scheduler.set_predictor(predictor)
        self.modelChanged.emit(predictor)
        self.request_reading()

    def load_second(self, path: Path) -> None:
        """Load a second model to read each drawing with too (``secondChanged`` or ``secondFailed``)."""
        self.second_loader.load(path)

    def set_second(self, predictor: Any) -> None:
        """Read each drawing with ``predictor`` too (None: stop)."""
        self.second_predictor = predictor
        self.scheduler.set_second(predictor)
        self.secondChanged.emit(predictor)
        self.request_reading()

    @property
    def second_name(self) -> str:
        """The second model's file name ("" without one)."""
        second = self.second_predictor
        if second is None:
            return ""
        return Path(str(second.path)).name if getattr(second, "path", None) else "other model"

    # ------------------------------------------------------------------ reading

    def set_saliency(self, on: bool) -> None:
        """Work out (or stop working out) which ink drove each answer (``Reading.saliency``)."""
        self.saliency = bool(on)
        if self.saliency:
            self.request_reading()  # the current drawing, with its saliency

    def need(self, view: object, activations: frozenset[str] = frozenset(), mosaics: frozenset[str] = frozenset()) -> bool:
        """``view`` needs these activations whole and these optional mosaics in every reading.
        The reading on show is completed at once if it lacks them (``reading.completed``) and
        handed to the views again: True then."""
        self._needs[view] = (frozenset(activations), frozenset(mosaics))
        self._needs_changed()
        whole = completed(self.latest, self.predictor, self.keep, self.mosaics)
        if whole is None:
            return False
        self._deliver(whole)
        return True

    def release(self, view: object) -> None:
        """``view`` needs nothing more (closed or hidden)."""
        if self._needs.pop(view, None) is not None:
            self._needs_changed()

    def _needs_changed(self) -> None:
        self.keep = frozenset().union(*(acts for acts, _ in self._needs.values()))
        self.mosaics = frozenset().union(*(mosaics for _, mosaics in self._needs.values()))

    def request_reading(self) -> None:
        """Read the canvas (coalesced: only the latest drawing counts)."""
        self.latest_seq = self.scheduler.submit(self.source(), self.saliency, self.keep, self.mosaics)

    def show(self, reading: Reading) -> None:
        """Take ``reading`` if it is newer than the one shown, and hand it to the views."""
        # Every reading newer than the one on screen is shown, even if the canvas has moved
        # on meanwhile: while a stroke is drawn, that keeps the views live.
        if self.latest is not None and reading.seq <= self.latest.seq:
            return
        self._deliver(reading)

    def _deliver(self, reading: Reading) -> None:
        self.latest = reading
        self.readingChanged.emit(reading)
        self.readingDelivered.emit(reading)

    def stop(self, wait_ms: int = 2000) -> None:
        """Stop reading (the child process ends) and wait for loads under way."""
        self.scheduler.stop()
        self.loader.wait(wait_ms)
        self.second_loader.wait(wait_ms)
