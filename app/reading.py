"""Reading a drawing with the network, in a thread or in a child process. No Qt here.

While a stroke is drawn, the GUI thread is busy with events and painting. A
reading done in a thread of the same process has to share the interpreter
lock with it, which made each reading 3–4× slower than on its own. So the
readings are made by a :class:`ReadingProcess`: a child process with its own
interpreter that preprocesses, runs the network and lays out the feature-map
mosaics, then sends back finished arrays (the GUI thread drives it, see
``process_link``). Until the child is ready, or if it ever fails, the thread
reader (``workers.ThreadReader``) reads instead, so nothing depends on it. Both
read with a :class:`Reader`.

The messages are small frozen dataclasses: :class:`ReadRequest`, :class:`SetWeights`,
:class:`SetSecond` and :class:`Stop` to the child; a :class:`Reading` or :class:`Ready` back.

This module is imported by the child: it must not import Qt.
"""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..model.drawing import Drawing
from .mosaic import ColourScale, dense_mosaic, index_mosaic, pool_mosaic


#: What is read: the canvas's strokes, or an opened image's grey pixels (``DrawingCanvas.source()``).
Readable = Drawing | np.ndarray


@dataclass(frozen=True)
class ReadRequest:
    """One drawing to read, and how: the message to the reading process and to the thread reader.

    ``keep`` names the activations to send back whole (None: all of them); the others stay
    where the reading is made and only each map's maximum comes back (``Reading.channel_max``).
    The whole set is about 270 KB, which costs every reading a millisecond or more in the pipe.
    ``mosaics``: the optional mosaics (``MapColouring.MOSAICS``) the ``prepare`` hook makes too."""

    seq: int
    drawing: Readable
    saliency: bool = False
    keep: frozenset[str] | None = None
    mosaics: frozenset[str] = frozenset()


@dataclass(frozen=True)
class SetWeights:
    """Read with these NumPy weights (``numpy_weights``) and judge with this verdict from now on;
    the child answers :class:`Ready` with the same ``generation`` once it holds them."""

    generation: int
    weights: Any
    verdict: Any = None


@dataclass(frozen=True)
class SetSecond:
    """Also read each drawing with these weights (the second model); None: no second model."""

    weights: Any


@dataclass(frozen=True)
class Stop:
    """End the reading process."""


@dataclass(frozen=True)
class Ready:
    """The child's reply to :class:`SetWeights`: it reads with that generation's weights now."""

    generation: int


@dataclass
class Reading:
    """What the network made of one drawing state (``prediction`` is None for an empty canvas)."""

    seq: int
    tensor: np.ndarray | None
    prediction: Any  # model.inference.Prediction | None
    error: str | None = None
    seconds: float = 0.0
    #: Results of the worker's ``prepare`` hook (e.g. the feature-map mosaics), made off the GUI thread.
    prepared: dict[str, Any] | None = None
    #: Where the tensor lies on the drawing's canvas (``model.preprocess.Placement``; drawings only).
    placement: Any = None
    #: Gradient × input of the predicted digit, (28, 28), when asked for (drawings with the CNN).
    saliency: np.ndarray | None = None
    #: The second model's probabilities for the same tensor (Model → Compare with model…).
    second: np.ndarray | None = None
    #: Each map's largest value, per layer (C,), when the full activations were left in the
    #: reading process (see ``ReadingProcess.read``'s ``keep``).
    channel_max: dict[str, np.ndarray] | None = None


def read_drawing(seq: int, source: Drawing | np.ndarray, predictor: Any, saliency: bool = False) -> Reading:
    """Preprocess a drawing (or an image's grey pixels) and, when a model is loaded, predict;
    with ``saliency``, also the gradient × input of the answer (drawings, CNN weights only).
    Never raises: problems come back in ``Reading.error``."""
    from ..model.preprocess import EmptyInputError, image_to_tensor, render_drawing

    started = time.perf_counter()
    placement = None
    try:
        if isinstance(source, Drawing):
            tensor, placement = render_drawing(source)
        else:
            tensor = image_to_tensor(source)
    except EmptyInputError:
        return Reading(seq, None, None)
    except ValueError as exc:
        return Reading(seq, None, None, error=str(exc))
    try:
        prediction = predictor.predict(tensor) if predictor is not None else None
    except Exception as exc:  # noqa: BLE001 (a model that fails on this input must not stop the reading)
        return Reading(seq, tensor, None, error=f"the model failed: {exc}")
    reading = Reading(seq, tensor, prediction, placement=placement)
    weights = getattr(predictor, "cnn_weights", None)
    if saliency and prediction is not None and placement is not None and weights is not None:
        from ..model.saliency import gradient_x_input

        reading.saliency = gradient_x_input(weights, tensor, prediction.digit, prediction.activations)[0]
    reading.seconds = time.perf_counter() - started
    return reading


def prepare_reading(reading: Reading, prepare: Any, mosaics: frozenset[str] = frozenset()) -> Reading:
    """Run ``prepare(reading, mosaics)`` on a reading with a prediction; a failing hook leaves
    ``prepared`` None."""
    if prepare is not None and reading.prediction is not None:
        try:
            reading.prepared = prepare(reading, mosaics)
        except Exception:  # noqa: BLE001 (the views can lay out the maps themselves)
            reading.prepared = None
    return reading


def trim_activations(reading: Reading, keep: frozenset[str]) -> None:
    """Keep only the activations named in ``keep``; record each map's maximum of the layers dropped."""
    acts = reading.prediction.activations
    reading.channel_max = {name: a.max(axis=(0, 1)) for name, a in acts.items() if a.ndim == 3}
    reading.prediction.activations = {name: a for name, a in acts.items() if name in keep}


def completed(reading: Reading | None, predictor: Any, activations: frozenset[str], mosaics: frozenset[str]) -> Reading | None:
    """A copy of ``reading`` with every activation, when it lacks some of ``activations``, or
    the activations of a mosaic in ``mosaics`` not laid out in ``prepared`` (the views lay out
    what is missing); None when it has them, or cannot have them (no prediction, no NumPy
    weights, or read with another model).

    The same tensor and weights: under a millisecond, so a view opened on a trimmed reading
    shows at once rather than at the next stroke."""
    pred = reading.prediction if reading is not None else None
    if pred is None or not getattr(predictor, "is_cnn", False):
        return None
    missing = (activations | (mosaics - (reading.prepared or {}).keys())) - pred.activations.keys()
    if not missing:
        return None
    full = predictor.predict(reading.tensor)
    if not np.allclose(full.probabilities, pred.probabilities, atol=1e-6):
        return None  # read with another model than the one now loaded
    return dataclasses.replace(reading, prediction=dataclasses.replace(pred, activations=full.activations))


class Reader:
    """Makes Readings from ReadRequests: the forward pass, the saliency, the second model's
    probabilities and the ``prepare`` hook, in one place for the child and the thread reader."""

    def __init__(self, predictor: Any = None, second: Any = None, prepare: Any = None) -> None:
        self.predictor, self.second, self.prepare = predictor, second, prepare

    def read(self, request: ReadRequest, trim: bool = True) -> Reading:
        """The reading of ``request`` (activations trimmed to ``request.keep`` with ``trim``)."""
        reading = prepare_reading(
            read_drawing(request.seq, request.drawing, self.predictor, request.saliency), self.prepare, request.mosaics
        )
        if self.second is not None and reading.prediction is not None:
            try:
                reading.second = self.second.predict(reading.tensor).probabilities
            except Exception:  # noqa: BLE001 (the second model failing must not stop the readings)
                reading.second = None
        if trim and request.keep is not None and reading.prediction is not None:
            trim_activations(reading, request.keep)
        return reading


class MapColouring:
    """The ``prepare`` hook of the live views: each layer's maps as one mosaic of palette
    indices (see :func:`.mosaic.index_mosaic`), on a per-layer colour scale with hysteresis.
    Picklable, so the child can run it.

    Asked for (``mosaics``), it also lays out How it reads your digit's max-pool maps
    (``mosaic.pool_mosaic``, on conv2's scale) and dense units (``mosaic.dense_mosaic``)."""

    #: The optional mosaics: made only when a request asks for them (``ReadRequest.mosaics``).
    MOSAICS = frozenset({"pool", "dense"})
    #: The former name of :attr:`MOSAICS` (``views.pipeline`` still uses it).
    EXTRA = MOSAICS

    def __init__(self, cols: dict[str, int]) -> None:
        self.cols = cols
        self.scales = {name: ColourScale() for name in cols}
        self.dense_scale = ColourScale()

    def __call__(self, reading: Reading, mosaics: frozenset[str] = frozenset()) -> dict[str, tuple[np.ndarray, float]]:
        acts = reading.prediction.activations
        out = {name: index_mosaic(acts[name], cols, self.scales[name]) for name, cols in self.cols.items() if name in acts}
        pooled, dense = acts.get("pool"), acts.get("dense")
        if "pool" in mosaics and pooled is not None and pooled.ndim == 3:
            out["pool"] = pool_mosaic(pooled, out["conv2"][1] if "conv2" in out else None)
        if "dense" in mosaics and dense is not None and (made := dense_mosaic(dense, self.dense_scale)) is not None:
            out["dense"] = made
        return out


def numpy_weights(predictor: Any) -> Any:
    """What the reading process needs to read with ``predictor``: its CNN or Dense-network
    weights as NumPy arrays, or None (no model, or one only Keras can run)."""
    return getattr(predictor, "numpy_weights", None) if predictor is not None else None


def _numpy_predictor(weights: Any, verdict: Any = None) -> Any:
    from ..model.inference import DenseWeights, Predictor

    if isinstance(weights, DenseWeights):
        return Predictor(dense=weights, verdict=verdict)
    return Predictor(weights=weights, verdict=verdict)


class ReaderGone(RuntimeError):
    """The reading process died, hung or could not start."""


class ReadingProcess:
    """A child process that reads drawings. Use it from one thread only.

    ``set_weights`` sends a model's NumPy weights (see :func:`numpy_weights`);
    ``ready()`` says whether the child has them; ``read`` sends one :class:`ReadRequest`
    and waits for its reading, or ``send`` sends it and ``answers`` collects the
    readings that have come back (for an event loop watching ``fileno()``).
    """

    def __init__(self, prepare: Any = None) -> None:
        ctx = mp.get_context("spawn")  # never fork a process that runs Qt threads
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=serve, args=(child, prepare), name="digitscope-reader", daemon=True)
        try:
            self._proc.start()
        except Exception as exc:
            raise ReaderGone(f"could not start the reading process: {exc}") from exc
        finally:
            child.close()
        self._generation = 0
        self._ready = -1
        self._answers: list[Reading] = []
        self._sender: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid

    def set_weights(self, weights: Any, verdict: Any = None) -> None:
        """Read with these weights, and judge with this verdict (``model.verdict.Verdict`` or
        None), from now on (``ready()`` is False until the child has them).

        Sent from a helper thread: the child takes a second to start, and a
        5 MB message blocks until it reads it; the caller reads in-thread meanwhile.
        """
        self._join_sender()
        self._generation += 1
        message = SetWeights(self._generation, weights, verdict)
        self._sender = threading.Thread(target=self._send_quietly, args=(message,), name="reader-weights", daemon=True)
        self._sender.start()

    def set_second(self, weights: Any) -> None:
        """Also read each drawing with these weights (the second model); None stops it."""
        self._join_sender()
        self._send(SetSecond(weights))

    def _send_quietly(self, message: Any) -> None:
        try:
            self._conn.send(message)
        except Exception:  # noqa: BLE001 (a dead child or a closed connection: the next read or ready() reports it)
            pass

    def _join_sender(self) -> None:
        if self._sender is not None:
            self._sender.join()
            self._sender = None

    def ready(self) -> bool:
        """True when the child holds the latest weights (does not block)."""
        self._take_waiting()
        return self._ready == self._generation

    def fileno(self) -> int:
        """The pipe's end, readable when the child has sent something (for an event loop)."""
        return self._conn.fileno()

    def _take_waiting(self) -> None:
        """Take every message the child has sent so far, without blocking."""
        try:
            while self._conn.poll(0):
                message = self._conn.recv()
                if isinstance(message, Reading):
                    self._answers.append(message)
                elif isinstance(message, Ready):
                    self._ready = message.generation
                else:
                    raise ReaderGone(f"the reading process sent {type(message).__name__}")
        except (EOFError, OSError) as exc:
            raise ReaderGone(f"the reading process stopped: {exc}") from exc

    @property
    def current(self) -> bool:
        """Whether the child held the latest weights when last asked (does not poll)."""
        return self._ready == self._generation

    def send(self, request: ReadRequest) -> None:
        """Ask for the reading of one drawing, without waiting (``answers`` brings it)."""
        self._join_sender()  # done already once ready(): the child reports ready only after the weights
        self._send(request)

    def answers(self) -> list[Reading]:
        """The readings that have arrived since last asked, oldest first (does not block)."""
        self._take_waiting()
        out, self._answers = self._answers, []
        return out

    def read(self, request: ReadRequest, timeout: float = 3.0) -> Reading:
        """The reading of one request, waited for; raises ReaderGone if the child does not
        answer in time. Older answers still on their way are dropped."""
        self.send(request)
        deadline = time.monotonic() + timeout
        while True:
            for reading in self.answers():
                if reading.seq == request.seq:
                    return reading
            try:
                arrived = self._conn.poll(max(0.0, deadline - time.monotonic()))
            except (EOFError, OSError) as exc:
                raise ReaderGone(f"the reading process stopped: {exc}") from exc
            if not arrived:
                raise ReaderGone(f"the reading process did not answer in {timeout:.0f} s")

    def close(self, timeout: float = 1.0) -> None:
        """Stop the child (politely, then by force)."""
        if self._sender is not None and self._sender.is_alive():
            self._proc.kill()  # it never took its weights: do not wait for it
            self._sender.join(timeout)  # the send fails at once on the broken pipe
        try:
            self._conn.send(Stop())
        except (OSError, ValueError):
            pass
        self._proc.join(timeout)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(timeout)
        self._conn.close()

    def _send(self, message: Any) -> None:
        try:
            self._conn.send(message)
        except (OSError, ValueError) as exc:
            raise ReaderGone(f"the reading process stopped: {exc}") from exc


#: A small drawing read once before the child says it is ready (see :func:`warm_up`).
WARM_UP = Drawing(width=280.0, height=280.0, pen_width=18.0, strokes=[[(60.0, 50.0), (220.0, 50.0), (130.0, 240.0)]])


def warm_up(predictor: Any, prepare: Any) -> Reading:
    """Read :data:`WARM_UP` as a live view would (saliency and every mosaic too) and return it.

    A process's first reading imports the preprocessing and runs each step for the first time:
    about 30 ms here, against 2-3 ms for the next, which would fall on the person's first stroke.
    The hook runs on a copy: its colour scales must not remember this drawing."""
    import copy

    mosaics = frozenset(getattr(prepare, "MOSAICS", frozenset()))
    return prepare_reading(read_drawing(0, WARM_UP, predictor, saliency=True), copy.deepcopy(prepare), mosaics)


def serve(conn: Any, prepare: Any) -> None:
    """The child's loop: weights in, readings out, until told to stop or the parent goes."""
    from ..model.inference import limit_blas_threads

    limit_blas_threads()
    reader = Reader(prepare=prepare)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        if isinstance(message, ReadRequest):
            conn.send(reader.read(message))
        elif isinstance(message, SetWeights):
            reader.predictor = _numpy_predictor(message.weights, message.verdict)
            try:
                warm_up(reader.predictor, prepare)
            except Exception:  # noqa: BLE001 (only a head start: reading works without it)
                pass
            conn.send(Ready(message.generation))
        elif isinstance(message, SetSecond):
            reader.second = _numpy_predictor(message.weights) if message.weights is not None else None
        elif isinstance(message, Stop):
            return
        else:
            print(f"digitscope reader: unknown message {type(message).__name__}", file=sys.stderr)
