"""Drawings made by the tests, a widget put on screen, strokes drawn and readings waited for in
the main window, float32 tolerances, and the CLI run under a memory limit."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from digitscope.model.drawing import Drawing

#: How closely two float32 results of one computation agree when they are reached by different
#: routes (NumPy vs Keras, another BLAS kernel, thread count or CPU): a few float32 ulps of the
#: largest terms summed, never bit for bit. Loose enough for any x86-64 CPU, tight enough that a
#: wrong weight, bias, channel or index (errors of 1e-2 and more) still fails.
F32_RTOL = 1e-4
F32_ATOL = 1e-5


def assert_f32_close(actual, expected) -> None:
    """Arrays equal within float32 arithmetic's reach (see :data:`F32_RTOL`)."""
    np.testing.assert_allclose(actual, expected, rtol=F32_RTOL, atol=F32_ATOL)


def approx_f32(expected):
    """``pytest.approx`` for a float32 result (see :data:`F32_RTOL`)."""
    return pytest.approx(expected, rel=F32_RTOL, abs=F32_ATOL)


def vertical_stroke(width: float = 280, height: float = 280, pen: float = 18) -> Drawing:
    return Drawing(width, height, pen, [[(140.0, 50.0 + 4 * i) for i in range(46)]])


def loop(cx: float = 140, cy: float = 140, rx: float = 60, ry: float = 90, pen: float = 18, size: float = 280) -> Drawing:
    pts = [(cx + rx * math.sin(t / 40 * 2 * math.pi), cy - ry * math.cos(t / 40 * 2 * math.pi)) for t in range(41)]
    return Drawing(size, size, pen, [pts])


def seven(scale: float = 1.0, dx: float = 0.0, dy: float = 0.0, pen: float = 18.0, size: float = 280.0) -> Drawing:
    pts = [(80, 60), (200, 60), (180, 110), (150, 170), (130, 230)]
    return Drawing(size, size, pen * scale, [[(x * scale + dx, y * scale + dy) for x, y in pts]])


def letter_h(size: float = 280.0) -> Drawing:
    """An H in three strokes: no digit (the bundled CNN reads it as a 4, sure of it)."""
    return Drawing(size, size, 18.0, [[(80.0, 40.0), (80.0, 240.0)], [(200.0, 40.0), (200.0, 240.0)], [(80.0, 140.0), (200.0, 140.0)]])


def letter_x(size: float = 280.0) -> Drawing:
    """An x in two crossing strokes: no digit."""
    return Drawing(size, size, 18.0, [[(70.0, 60.0), (210.0, 230.0)], [(210.0, 60.0), (70.0, 230.0)]])


def transformed(d: Drawing, scale: float, dx: float, dy: float, canvas: float) -> Drawing:
    return Drawing(
        canvas, canvas, d.pen_width * scale, [[(x * scale + dx, y * scale + dy) for x, y in s] for s in d.strokes]
    )


def shown(qtbot, widget, width: int, height: int):
    """``widget`` at ``width``×``height``, shown and on screen (closed when the test ends)."""
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def draw_strokes(qtbot, window, strokes, on_move=None) -> None:
    """Press, move and release the mouse along strokes given in logical canvas pixels."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    canvas = window.canvas
    for stroke in strokes:
        points = [canvas.to_widget(x, y).toPoint() for x, y in stroke]
        QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[0])
        for p in points[1:]:
            QTest.mouseMove(canvas, p)
            if on_move:
                on_move()
        QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[-1])


def wait_for_reading(qtbot, window, prediction: bool = False, timeout: int = 10000):
    """Wait until ``window`` shows the reading of the newest canvas state (the newest one asked
    for, ``latest_seq``) and return it; with ``prediction``, until that reading has a prediction."""

    def newest() -> bool:
        reading = window.latest
        return reading is not None and reading.seq == window.latest_seq and (not prediction or reading.prediction is not None)

    qtbot.waitUntil(newest, timeout=timeout)
    return window.latest


def painted(view) -> tuple[np.ndarray, callable]:
    """A ``ProbabilityView``'s plot pixels (H, W, 3) and a map from data (x, y) to pixel (column, row)."""
    from PySide6.QtCore import QPointF

    image = view.plot.grab().toImage()
    rgb = np.array([[image.pixelColor(x, y).getRgb()[:3] for x in range(image.width())] for y in range(image.height())])
    vb = view.plot.getPlotItem().getViewBox()

    def to_pixel(x: float, y: float) -> tuple[int, int]:
        p = view.plot.mapFromScene(vb.mapViewToScene(QPointF(x, y)))
        return round(p.x()), round(p.y())

    return rgb, to_pixel


def column_height(rgb: np.ndarray, column: int, colour: tuple[int, int, int]) -> int:
    """How many pixels of ``column`` are ``colour`` (within 2 levels)."""
    return int(np.sum(np.all(np.abs(rgb[:, column] - colour) <= 2, axis=1)))


def label_some(window) -> None:
    """Label three vertical strokes as 1s and three loops as 0s into My drawings."""
    for _ in range(3):
        window.canvas.set_drawing(vertical_stroke())
        window.label_drawing(1)
        window.canvas.set_drawing(loop())
        window.label_drawing(0)


def dialog_for(window, tiny_mnist, epochs: int = 2, batch: int = 32):
    """The window's Retrain dialog, set to train on ``tiny_mnist`` quickly, without augmenting."""
    dialog = window.show_retrain()
    assert dialog.set_mnist(tiny_mnist)
    dialog.epochs.setValue(epochs)
    dialog.batch.setValue(batch)
    dialog.augment.setChecked(False)
    return dialog


def run_cli_bounded(*args: str | Path, address_space: int, env: dict[str, str] | None = None) -> tuple[int, str, str, int]:
    """``digitscope ARGS`` in a subprocess whose address space is capped at ``address_space``
    bytes, so that a regression fails the test instead of taking the machine down:
    (exit status, stdout, stderr, peak resident memory in bytes, -1 if it died unmeasured)."""
    code = (
        "import resource, sys\n"
        # the peak of this process's own memory: ru_maxrss survives exec, so a child of a big
        # pytest process would report pytest's size; /proc's VmHWM belongs to the new image
        "def _peak_kb():\n"
        "    try:\n"
        "        with open('/proc/self/status') as fh:\n"
        "            return int(next(l for l in fh if l.startswith('VmHWM:')).split()[1])\n"
        "    except (OSError, StopIteration, ValueError):\n"
        "        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        f"resource.setrlimit(resource.RLIMIT_AS, ({address_space}, {address_space}))\n"
        "from digitscope.__main__ import main\n"
        "try:\n    status = main(sys.argv[1:])\n"
        "finally:\n    print(f'maxrss_kb={_peak_kb()}', file=sys.stderr)\n"
        "sys.exit(status)\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=300
    )
    lines = r.stderr.splitlines()
    peaks = [int(line.split("=")[1]) * 1024 for line in lines if line.startswith("maxrss_kb=")]
    err = "\n".join(line for line in lines if not line.startswith("maxrss_kb="))
    return r.returncode, r.stdout, err, peaks[0] if peaks else -1


def random_cnn(seed: int):
    """The CNN of ``architecture.build_cnn`` with Keras's random kernels (seeded) and non-zero
    biases (the zero init would leave the activations trivial)."""
    import keras
    from digitscope.model.architecture import build_cnn

    keras.utils.set_random_seed(seed)
    model = build_cnn()
    rng = np.random.default_rng(seed + 1)
    for layer in model.layers:
        if layer.get_weights():
            k, b = layer.get_weights()
            layer.set_weights([k, rng.normal(0, 0.05, b.shape).astype(np.float32)])
    return model


def bar_png(path: Path) -> Path:
    """A 28×28 white-on-black vertical bar: the bundled model reads it as a 1."""
    from PIL import Image, ImageDraw

    im = Image.new("L", (28, 28), 0)
    ImageDraw.Draw(im).line([(14, 4), (14, 24)], fill=255, width=3)
    im.save(path)
    return path


def bar_digits(labels: np.ndarray) -> np.ndarray:
    """(N, 28, 28) uint8 images a tiny network can learn: for each label a bar at its own place,
    upright for odd labels, lying for even ones (the tests' stand-in for MNIST)."""
    x = np.zeros((len(labels), 28, 28), np.uint8)
    for i, label in enumerate(labels):
        pos = 4 + 2 * int(label)
        if label % 2:
            x[i, 4:24, pos : pos + 2] = 255
        else:
            x[i, pos : pos + 2, 4:24] = 255
    return x


@contextmanager
def serving(predictor, **options) -> Iterator:
    """A ``DigitServer`` of ``predictor`` on a free loopback port, in a background thread, stopped afterwards."""
    from digitscope.model.serve import DigitServer

    srv = DigitServer(("127.0.0.1", 0), predictor, **options)
    srv.start_background()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def http_call(server, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
              timeout: float = 10.0):
    """One request to ``server``: (status, the JSON answer or None, the response).

    A server may answer before it has read the body (413) and close: the rest of the body then
    meets a closed socket, but the answer has already arrived, so it is read all the same."""
    import http.client
    import json

    conn = http.client.HTTPConnection(*server.server_address[:2], timeout=timeout)
    try:
        try:
            conn.request(method, path, body=body, headers=headers or {})
        except (BrokenPipeError, ConnectionResetError):
            pass
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, json.loads(data) if data else None, resp
    finally:
        conn.close()
