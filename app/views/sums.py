"""The written-out sums of the step-throughs, painted: window × weights = products, Σ, + bias,
ReLU for a convolution; the four values and their max for the max-pooling.

Numbers change on every reading while the user draws, so they are painted
(labels would relayout the dialog each time), with what stays put painted
once into a pixmap and the numbers drawn as cached ``QStaticText``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QFontDatabase, QFontMetricsF, QImage, QPainter, QPaintEvent, QPen, QPixmap, QStaticText, QTransform
from PySide6.QtWidgets import QSizePolicy, QWidget

from ...model import explain
from .. import theme
from .pipeline_strip import ACCENT, MUTED, PANEL, TOP_BAR
from .pixel_image import TEXT, PaintedOnce

POSITIVE = QColor(theme.POSITIVE)
NEGATIVE = QColor(theme.NEGATIVE)
GOOD = QColor(theme.GOOD)
LIGHT = QColor(theme.LIGHT_CELL)  # the brightest cell: light text stays readable on it
CELL = QColor(theme.CELL)  # a cell holding 0: still a visible box
VALUE_W = 90  # the column of numbers in a written-out sum


def mix(a: QColor, b: QColor, t: float) -> QColor:
    """``a`` moved a fraction ``t`` towards ``b`` (an opaque colour: cheap to paint)."""
    t = min(max(t, 0.0), 1.0)
    return QColor(
        int(a.red() + (b.red() - a.red()) * t), int(a.green() + (b.green() - a.green()) * t), int(a.blue() + (b.blue() - a.blue()) * t)
    )


def packed(colour: QColor) -> int:
    """An opaque colour as a Format_RGB32 pixel."""
    return 0xFF000000 | (colour.red() << 16) | (colour.green() << 8) | colour.blue()


class Ramp:
    """256 opaque colours from ``a`` to ``b`` as RGB32 pixels, made once: colouring cells is a lookup.

    The tables are 4 or 9 cells: plain Python beats NumPy's per-call overhead there.
    """

    def __init__(self, a: QColor, b: QColor) -> None:
        self.pixels = [packed(mix(a, b, i / 255)) for i in range(256)]

    def pick(self, t: float) -> int:
        return self.pixels[min(255, max(0, int(t * 255)))]

    def __call__(self, values: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """Values as fractions of ``scale`` of the way from ``a`` to ``b`` → RGB32 pixels, same shape."""
        k = 1.0 / (scale or 1.0)
        return np.array([self.pick(v * k) for v in values.ravel().tolist()], np.uint32).reshape(values.shape)


def signed(values: np.ndarray, scale: float) -> np.ndarray:
    """Red for positive, blue for negative, stronger the larger (RGB32 pixels)."""
    k = 0.85 / (scale or 1.0)
    return np.array([REDS.pick(v * k) if v > 0 else BLUES.pick(-v * k) for v in values.ravel().tolist()], np.uint32).reshape(values.shape)


GREYS, REDS, BLUES = Ramp(CELL, LIGHT), Ramp(CELL, POSITIVE), Ramp(CELL, NEGATIVE)
GAP_PIXEL = packed(PANEL)


#: Live readings repaint a panel of numbers at most this often (ms): while a stroke is drawn,
#: readings come every few ms, far faster than anyone reads a number, and each repaint of a
#: table of numbers costs the GUI thread 1-2 ms that drawing and the other views need.
READABLE_MS = 100


class ReadableRate:
    """Repaints ``widget`` for live data at most every :data:`READABLE_MS`, always ending on the
    latest (a trailing repaint); ``now()`` repaints at once (a person pointing or stepping)."""

    def __init__(self, widget: QWidget) -> None:
        self.widget = widget
        self.painted = 0.0
        self.timer = QTimer(widget)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.now)

    def now(self) -> None:
        self.timer.stop()
        self.painted = time.monotonic()
        self.widget.update()

    def live(self) -> None:
        wait_ms = READABLE_MS - 1000 * (time.monotonic() - self.painted)
        if wait_ms <= 0:
            self.now()
        elif not self.timer.isActive():
            self.timer.start(int(wait_ms) + 1)


def number(value: float, fmt: str) -> str:
    """``value`` formatted, with no sign on a value that rounds to zero."""
    text = format(value, fmt)
    return text.lstrip("+-") if float(text) == 0 else text


def number_font(base: QFont, factor: float = 1.0) -> QFont:
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setPointSizeF(base.pointSizeF() * factor)
    return font


class NumberPanel(QWidget):
    """A painted panel of numbers that change reading after reading (labels would relayout
    the dialog on every change). What stays while the user draws (titles, labels) is painted
    once into a pixmap per ``static_key()``; each reading then paints only its numbers, in
    :attr:`mono` unless it says otherwise. With nothing to show, ``message`` says why."""

    def __init__(self, minimum: QSize, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.message = ""
        self.mono = number_font(self.font())
        self._background = PaintedOnce()
        self.rate = ReadableRate(self)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(minimum)

    def has_numbers(self) -> bool:
        """True when there is something to paint (else :attr:`message`)."""
        raise NotImplementedError

    def numbers_changed(self, live: bool) -> None:
        """Repaint for new numbers: at a readable rate when ``live`` (one reading of the drawing
        after another, see :class:`ReadableRate`), else at once."""
        if live:
            self.rate.live()
        else:
            self.rate.now()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        if not self.has_numbers():
            p.fillRect(self.rect(), PANEL)
            p.setPen(MUTED)
            p.drawText(self.rect().adjusted(12, 12, -12, -12), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.message)
        else:
            p.drawPixmap(0, 0, self._background.get(self, self.static_key(), self._paint_background))
            p.setFont(self.mono)
            self.paint_numbers(p)
        p.end()

    def _paint_background(self, p: QPainter) -> None:
        p.fillRect(self.rect(), PANEL)
        self.paint_labels(p)

    def static_key(self) -> tuple:
        """What the labels painted once depend on."""
        return ()

    def paint_labels(self, p: QPainter) -> None:
        raise NotImplementedError

    def paint_numbers(self, p: QPainter) -> None:
        raise NotImplementedError


class WrittenSums(NumberPanel):
    """The written-out sum of one step-through position (``step``; None: ``message``)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(QSize(680, 300), parent)
        self.step: Any = None
        self.actual: float | None = None
        self.mono_big = number_font(self.font(), 1.25)
        self.mono_key = self.mono.key()
        self.row_h = self.fontMetrics().height() + 4
        self._metrics: dict[str, tuple[float, float, float]] = {}
        self._texts: dict[tuple[str, str], QStaticText] = {}
        self._grids: dict[tuple, QPixmap] = {}

    def set_step(self, step: Any, actual: float | None, message: str = "", live: bool = False) -> None:
        """Show ``step``; ``actual`` is the value the network computed there (for the check mark).
        ``live``: a new reading of the drawing (repainted at a readable rate, see :class:`ReadableRate`)."""
        self.step, self.actual, self.message = step, actual, message
        self.numbers_changed(live and step is not None)

    def has_numbers(self) -> bool:
        return self.step is not None

    def cells(self, p: QPainter, x: float, y: float, values: np.ndarray, colours: np.ndarray, cell: QSize, fmt: str,
              font: QFont | None = None, keep: bool = False) -> None:
        """A small table of numbers on cells coloured ``colours`` (RGB32 pixels, one a cell; 2 px apart).

        The cells are one image made in NumPy, each row of numbers one text when the
        cells are a whole number of characters wide. ``keep``: a table that comes back
        (the weights, reading after reading) is painted once into a pixmap and reused.
        """
        font = font or self.mono
        font_key = font.key()  # once: it costs as much as drawing a number
        if not keep:
            self._paint_cells(p, x, y, values, colours, cell, fmt, font, font_key)
            return
        key = (values.tobytes(), colours.tobytes(), cell.width(), cell.height(), fmt, font_key, self.devicePixelRatioF())
        pixmap = self._grids.get(key)
        if pixmap is None:
            ratio = self.devicePixelRatioF()
            pixmap = QPixmap(int(values.shape[1] * cell.width() * ratio), int(values.shape[0] * cell.height() * ratio))
            pixmap.setDevicePixelRatio(ratio)
            painter = QPainter(pixmap)
            self._paint_cells(painter, 0, 0, values, colours, cell, fmt, font, font_key)
            painter.end()
            if len(self._grids) > 64:
                self._grids.clear()
            self._grids[key] = pixmap
        p.drawPixmap(QPointF(x, y), pixmap)

    def _paint_cells(self, p: QPainter, x: float, y: float, values: np.ndarray, colours: np.ndarray, cell: QSize, fmt: str,
                     font: QFont, font_key: str) -> None:
        rows, cols = values.shape
        w, h = cell.width(), cell.height()
        pixels = np.repeat(np.repeat(colours.astype(np.uint32), h, axis=0), w, axis=1)
        pixels[0::h], pixels[h - 1 :: h], pixels[:, 0::w], pixels[:, w - 1 :: w] = GAP_PIXEL, GAP_PIXEL, GAP_PIXEL, GAP_PIXEL
        p.drawImage(QPointF(x, y), QImage(pixels.data, cols * w, rows * h, cols * w * 4, QImage.Format.Format_RGB32))
        p.setFont(font)
        p.setPen(TEXT)
        char_w, ascent, descent = self.metrics(font, font_key)
        baseline = (h - ascent - descent) / 2 + ascent
        pitch = w / char_w  # characters per cell
        whole = abs(pitch - round(pitch)) * char_w * cols < 3
        for i in range(rows):
            texts = [number(float(v), fmt) for v in values[i]]
            if whole:  # the row's numbers as one text, each centred in its cell
                width = max(len(t) for t in texts)
                gap = " " * (round(pitch) - width)
                p.drawText(QPointF(x + (w - width * char_w) / 2, y + i * h + baseline), gap.join(t.rjust(width) for t in texts))
            else:
                for j, t in enumerate(texts):
                    p.drawText(QPointF(x + j * w + (w - len(t) * char_w) / 2, y + i * h + baseline), t)

    def static_text(self, text: str, font: QFont, font_key: str) -> QStaticText:
        """``text`` laid out once for ``font`` (drawn several times faster than drawText)."""
        key = (text, font_key)
        st = self._texts.get(key)
        if st is None:
            if len(self._texts) > 4000:
                self._texts.clear()
            st = self._texts[key] = QStaticText(text)
            st.setTextFormat(Qt.TextFormat.PlainText)
            st.prepare(QTransform(), font)
        return st

    def metrics(self, font: QFont, key: str) -> tuple[float, float, float]:
        """(character width, ascent, descent) of a fixed-width font (``key``: its ``key()``)."""
        if key not in self._metrics:
            fm = QFontMetricsF(font)
            self._metrics[key] = (fm.horizontalAdvance("0"), fm.ascent(), fm.descent())
        return self._metrics[key]

    def title(self, p: QPainter, x: float, y: float, width: float, text: str) -> None:
        """A grid's title, centred above it."""
        p.setPen(MUTED)
        p.drawText(QRectF(x + width / 2 - 200, y - 22, 400, 20), Qt.AlignmentFlag.AlignCenter, text)

    def label(self, p: QPainter, x: float, y: float, text: str, colour: QColor = MUTED, width: float = 260) -> None:
        p.setPen(colour)
        p.drawText(QRectF(x, y, width, self.row_h), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text)

    def value(self, p: QPainter, x: float, y: float, text: str, colour: QColor = TEXT) -> None:
        """A number (in the fixed-width font) right-aligned in the value column that starts at ``x``."""
        char_w, ascent, descent = self.metrics(self.mono, self.mono_key)
        p.setPen(colour)
        p.setFont(self.mono)
        p.drawStaticText(QPointF(x + VALUE_W - len(text) * char_w, y + (self.row_h - ascent - descent) / 2),
                         self.static_text(text, self.mono, self.mono_key))

    def check(self, value: float, where: str) -> tuple[str, QColor]:
        """'✓ the value in …' when the written-out sum gives what the network computed."""
        if self.actual is None:
            return "", MUTED
        if abs(value - self.actual) <= 1e-4 * max(1.0, abs(self.actual)):
            return f"✓ the value in {where}", GOOD
        return f"✗ {where} holds {self.actual:.4f}", POSITIVE


class ConvSums(WrittenSums):
    """input window × weights = products; Σ (over all input maps for conv2) + bias = z; ReLU(z)."""

    OP_W = 34
    LABEL_W = 220
    SHOWN = 4  # conv2: the input maps listed by name

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        char_w = QFontMetricsF(self.mono).horizontalAdvance("0")
        self.CELL = QSize(round(8 * char_w), 30)  # 8 characters a cell: a row of numbers is one text

    def geometry(self) -> tuple[float, float, float]:
        """(left of the grids, top of the grids, left of the sums below them)."""
        s: explain.ConvStep = self.step
        rows = 6 if s.layer == "conv1" else 8 + self.SHOWN
        needed = 60 + 3 * self.CELL.height() + 14 + rows * self.row_h
        x0 = max(8.0, (self.width() - 9 * self.CELL.width() - 2 * self.OP_W) / 2)
        return x0, 60.0 + max(0.0, (self.height() - needed) / 3), x0

    def static_key(self) -> tuple:
        s: explain.ConvStep = self.step
        return s.layer, s.channel, s.row, s.col  # not the source map: with "weighs most" it can change every reading

    def rows(self) -> list[str]:
        """The labels of the sum below the grids, one a row ("" for a row filled in per reading)."""
        s: explain.ConvStep = self.step
        if s.layer == "conv1":
            head = ["sum of the 9 products"]
        else:
            count = len(s.contributions) - self.SHOWN
            head = ["", f"the same for each of the {len(s.contributions)} conv1 maps, largest first:"]
            head += [""] * self.SHOWN + [f"      … {count} more maps", f"sum over all {len(s.contributions)} maps"]
        return head + [f"+ bias of map {s.channel}", "= z", "ReLU(z) = max(0, z)", ""]

    def paint_labels(self, p: QPainter) -> None:
        s: explain.ConvStep = self.step
        x0, y0, x = self.geometry()
        gw, cell = 3 * self.CELL.width(), self.CELL
        p.setPen(TEXT)
        p.drawText(
            QRectF(0, y0 - 56, self.width(), 22), Qt.AlignmentFlag.AlignCenter, f"{s.layer} map {s.channel} at row {s.row}, column {s.col}"
        )
        if s.layer == "conv1":
            self.title(p, x0, y0, gw, "input pixels under the window")
            self.title(p, x0 + gw + self.OP_W, y0, gw, f"× map {s.channel}'s 3×3 weights")
        self.title(p, x0 + 2 * (gw + self.OP_W), y0, gw, "= products")
        p.fillRect(QRectF(x0, y0, 3 * gw + 2 * self.OP_W, 3 * cell.height()), PANEL)
        p.setFont(self.mono_big)
        p.setPen(TEXT)
        for i, sym in enumerate("×="):
            p.drawText(QRectF(x0 + (i + 1) * gw + i * self.OP_W, y0, self.OP_W, 3 * cell.height()), Qt.AlignmentFlag.AlignCenter, sym)
        p.setFont(self.font())
        y = y0 + 3 * cell.height() + 14
        for i, text in enumerate(self.rows()):
            self.label(p, x, y + i * self.row_h, text, TEXT if text.startswith("ReLU") else MUTED, width=self.width() - x)
            if text == "= z":
                p.setPen(QPen(MUTED, 1))
                p.drawLine(QPointF(x + self.LABEL_W, y + i * self.row_h), QPointF(x + self.LABEL_W + VALUE_W, y + i * self.row_h))

    def paint_numbers(self, p: QPainter) -> None:
        s: explain.ConvStep = self.step
        x0, y0, x = self.geometry()
        gw, cell = 3 * self.CELL.width(), self.CELL
        patch_top = float(np.abs(s.patch).max()) or 1.0
        kernel_top = float(np.abs(s.kernel).max()) or 1.0
        products = s.products
        prod_top = float(np.abs(products).max()) or 1.0
        self.cells(p, x0, y0, s.patch, GREYS(s.patch, patch_top), cell, ".3f")
        self.cells(p, x0 + gw + self.OP_W, y0, s.kernel, signed(s.kernel, kernel_top), cell, "+.3f", keep=True)
        self.cells(p, x0 + 2 * (gw + self.OP_W), y0, products, signed(products, prod_top), cell, "+.3f")
        y = y0 + 3 * cell.height() + 14
        vx = x + self.LABEL_W
        values = [f"{s.contributions[s.source]:+.4f}"]
        if s.layer != "conv1":
            p.setFont(self.font())
            self.title(p, x0, y0, gw, f"conv1 map {s.source} under the window")
            self.title(p, x0 + gw + self.OP_W, y0, gw, f"× weights for map {s.source}")
            self.label(p, x, y, f"sum of these 9 (conv1 map {s.source})")
            top, rest, _ = explain.largest(s.contributions, self.SHOWN)
            for i, k in enumerate(top):
                self.label(p, x, y + (2 + i) * self.row_h, f"      conv1 map {k}", ACCENT if k == s.source else TEXT)
            values += [""] + [f"{s.contributions[k]:+.4f}" for k in top] + [f"{rest:+.4f}", f"{s.total:+.4f}"]
        values += [f"{s.bias:+.4f}", f"{s.z:+.4f}"]
        p.setFont(self.mono)
        for i, text in enumerate(values):
            if text:
                self.value(p, vx, y + i * self.row_h, text)
        y += len(values) * self.row_h
        self.value(p, vx, y, f"{s.value:.4f}", ACCENT)
        p.setFont(self.font())
        self.label(p, vx + VALUE_W + 12, y, "z < 0 becomes 0" if s.z < 0 else "z ≥ 0 is kept")
        note, colour = self.check(s.value, f"{s.layer} map {s.channel}")
        self.label(p, vx, y + self.row_h, note, colour, width=400)


class PoolSums(WrittenSums):
    """The four values of a 2×2 block, the largest outlined, and max(…) = the pooled value."""

    CELL = QSize(96, 48)

    def geometry(self) -> tuple[float, float, float]:
        return (
            max(8.0, (self.width() - 2 * self.CELL.width()) / 2),
            60.0 + max(0.0, (self.height() - 300) / 3),
            max(8.0, (self.width() - 560) / 2),
        )

    def static_key(self) -> tuple:
        s: explain.PoolStep = self.step
        return s.channel, s.row, s.col

    def paint_labels(self, p: QPainter) -> None:
        s: explain.PoolStep = self.step
        x0, y0, x = self.geometry()
        p.setPen(TEXT)
        p.drawText(
            QRectF(0, y0 - 56, self.width(), 22), Qt.AlignmentFlag.AlignCenter, f"max-pool map {s.channel} at row {s.row}, column {s.col}"
        )
        self.title(
            p,
            x0,
            y0,
            2 * self.CELL.width(),
            f"conv2 map {s.channel}, rows {2 * s.row}–{2 * s.row + 1}, columns {2 * s.col}–{2 * s.col + 1}",
        )
        p.fillRect(QRectF(x0, y0, 2 * self.CELL.width(), 2 * self.CELL.height()), PANEL)
        y = y0 + 2 * self.CELL.height() + 24
        self.label(
            p, x, y + 3 * self.row_h, "The other three values are dropped: only where in the block the feature was is lost.", width=600
        )

    def paint_numbers(self, p: QPainter) -> None:
        s: explain.PoolStep = self.step
        x0, y0, x = self.geometry()
        cell = self.CELL
        top = float(s.window.max()) or 1.0
        self.cells(p, x0, y0, s.window, GREYS(s.window, top), cell, ".4f", self.mono_big)
        i, j = s.argmax
        p.setPen(QPen(TOP_BAR, 3))
        p.drawRect(QRectF(x0 + j * cell.width(), y0 + i * cell.height(), cell.width(), cell.height()))
        y = y0 + 2 * cell.height() + 24
        a, b, c, d = (number(v, ".3f") for v in s.window.ravel())
        p.setFont(self.mono)
        self.label(p, x, y, f"max({a}, {b}, {c}, {d})", TEXT, width=300)
        self.value(p, x + 300, y, f"= {s.value:.4f}", ACCENT)
        p.setFont(self.font())
        note, colour = self.check(s.value, f"max-pool map {s.channel}")
        self.label(p, x, y + self.row_h, note, colour, width=560)
