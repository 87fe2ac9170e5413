"""Step-throughs of one feature map, on the user's own digit.

:class:`ConvStepThrough` slides the 3×3 window of conv1 or conv2 over its
input and writes out the multiply-add for the window under the cursor, the
bias and the ReLU; :class:`PoolStepThrough` does the same for the 2×2
max-pooling. The window follows the mouse over either image; ◀ ▶ step it,
Play slides it row by row. The numbers come from :mod:`..explain`; :mod:`.sums` paints them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget

from ...model import explain
from .. import theme
from .feature_maps import map_palette
from .pipeline_strip import ACCENT, MUTED, TOP_BAR
from .pixel_image import PixelImage, grey, to_qimage
from .sums import ConvSums, PoolSums

GRID = QColor(theme.STEP_GRID)  # opaque: translucent lines cost far more to paint


def colour_map(values: np.ndarray, level: float) -> np.ndarray:
    """(H, W) values → (H, W, 4) RGBA on the feature maps' palette, 0 … ``level``."""
    scaled = np.clip(np.asarray(values, np.float32) * (255.0 / max(level, 1e-6)), 0, 255).astype(np.uint8)
    return map_palette().lut.take(scaled).view(np.uint8).reshape(*scaled.shape, 4)


def set_text(label: QLabel, text: str) -> None:
    """Set a label's text only when it changes (each change relays the dialog out)."""
    if label.text() != text:
        label.setText(text)


class MarkedImage(PixelImage):
    """A small image with a pixel grid and rectangles marked on it (in image pixels)."""

    def __init__(self, size: int, parent: QWidget | None = None) -> None:
        super().__init__(np.zeros((size, size), np.uint8), parent, overlay=self._paint_marks)
        self.marks: list[tuple[QRectF, QColor]] = []
        self._grid: list[QRect] = []
        self._grid_key: tuple = ()
        self.setMinimumSize(180, 180)

    def set_pixels(self, pixels: np.ndarray) -> None:
        """Show new pixels, kept as RGB32 (scaled several times faster than grey or RGBA)."""
        self.pixels = pixels
        self._image = to_qimage(pixels)
        self.update()

    def target(self) -> QRectF:
        """As large as fits, centred across but at the top (its caption sits right above)."""
        t = super().target()
        return QRectF(t.x(), 0.0, t.width(), t.height())

    def set_marks(self, marks: list[tuple[QRectF, QColor]]) -> None:
        if marks != self.marks:
            self.marks = marks
            self.update()

    def _paint_marks(self, painter: QPainter, target: QRectF) -> None:
        w, h = self._image.width(), self._image.height()
        sx, sy = target.width() / w, target.height() / h
        key = (target, w, h)
        if self._grid_key != key:  # the lines between the pixels, made once per size
            xs = [round(target.x() + i * sx) for i in range(w + 1)]
            ys = [round(target.y() + i * sy) for i in range(h + 1)]
            self._grid = [QRect(x, ys[0], 1, ys[-1] - ys[0]) for x in xs] + [QRect(xs[0], y, xs[-1] - xs[0], 1) for y in ys]
            self._grid_key = key
        painter.setPen(Qt.PenStyle.NoPen)  # one-pixel rectangles: filled three times faster than drawn as lines
        painter.setBrush(GRID)
        painter.drawRects(self._grid)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for rect, colour in self.marks:
            painter.setPen(QPen(colour, 3))
            painter.drawRect(QRectF(target.x() + rect.x() * sx, target.y() + rect.y() * sy, rect.width() * sx, rect.height() * sy))

    def sizeHint(self) -> QSize:
        return QSize(240, 240)


class StepThrough(QWidget):
    """Shared parts: the map chooser, ◀ Play ▶, the two images and the window that follows the mouse."""

    channelChanged = Signal(int)
    SIZE, STRIDE = explain.KERNEL, 1

    def __init__(self, layer: str, channels: int, in_size: int, out_size: int, explanation: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layer, self.channels = layer, channels
        self.out_shape = (out_size, out_size)
        self.row = self.col = 0
        self.channel = 0
        self.live = False  # True while a new reading is shown (its numbers repaint at a readable rate)
        self.chosen = False  # has a map been picked (by the user or the first reading)?
        self.data: dict[str, Any] | None = None
        self.message = "Draw a digit"

        self.spin = QSpinBox()
        self.spin.setRange(0, channels - 1)
        self.spin.setPrefix("map ")
        self.spin.setToolTip("Which map to step through (or click one in the strip above)")
        self.spin.valueChanged.connect(lambda v: self.set_channel(v, by_user=True))
        self.back = QPushButton("◀")
        self.play = QPushButton("▶ Play")
        self.play.setCheckable(True)
        self.forward = QPushButton("▶")
        self.back.setToolTip("Move the window one step back")
        self.forward.setToolTip("Move the window one step on")
        self.play.setToolTip("Slide the window along each row, row after row")
        self.back.clicked.connect(lambda: self.advance(-1))
        self.forward.clicked.connect(lambda: self.advance(1))
        self.play.toggled.connect(self.set_playing)
        self.timer = QTimer(self)
        self.timer.setInterval(120)
        self.timer.timeout.connect(lambda: self.advance(1))

        header = QHBoxLayout()
        self.heading = QLabel(f"<b>{layer}</b>")
        header.addWidget(self.heading)
        header.addWidget(self.spin)
        self.extra = QHBoxLayout()  # room for a subclass's controls
        header.addLayout(self.extra)
        header.addStretch(1)
        for button in (self.back, self.play, self.forward):
            button.setAutoDefault(False)  # Enter in the dialog must not step the window
            header.addWidget(button)
        note = QLabel(explanation)
        note.setWordWrap(True)
        note.setStyleSheet(f"color: {MUTED.name()};")

        self.source = MarkedImage(in_size)
        self.output = MarkedImage(out_size)
        for image, stride, size in ((self.source, self.STRIDE, self.SIZE), (self.output, 1, 1)):
            image.hoveredAt.connect(lambda pos, s=size, st=stride: self._follow(pos, s, st))
            image.clickedAt.connect(lambda pos, s=size, st=stride: self._follow(pos, s, st, stop=True))
        self.source_caption, self.output_caption = QLabel(), QLabel()
        body = QHBoxLayout()
        body.addLayout(self._column(self.source, self.source_caption), 2)
        body.addWidget(self.sums_widget(), 4)
        body.addLayout(self._column(self.output, self.output_caption), 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 8)
        layout.addLayout(header)
        layout.addWidget(note)
        layout.addLayout(body, 1)

    @staticmethod
    def _column(image: QWidget, caption: QLabel) -> QVBoxLayout:
        caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        caption.setStyleSheet(f"color: {MUTED.name()};")
        column = QVBoxLayout()
        column.addWidget(caption)
        column.addWidget(image, 1)
        return column

    # ------------------------------------------------------------------ for subclasses

    def sums_widget(self) -> QWidget:
        raise NotImplementedError

    def refresh(self) -> None:
        """Recompute and show the step at the current position from ``self.data``."""
        raise NotImplementedError

    # ------------------------------------------------------------------ state

    def show_data(self, data: dict[str, Any] | None, message: str = "") -> None:
        """New arrays to explain (None: nothing to show, ``message`` says why)."""
        self.data, self.message = data, message
        self.live = True  # this refresh comes from a new reading, not from the person pointing
        if data is not None and not self.chosen:
            self.chosen = True
            channel, row, col = explain.strongest(data["out"])  # a lively start: the brightest spot
            self._set_spin(channel)
            self.channel = channel
            self.row, self.col = min(row, self.out_shape[0] - 1), min(col, self.out_shape[1] - 1)
            self.channelChanged.emit(channel)
        try:
            self.refresh()
        finally:
            self.live = False

    def set_channel(self, channel: int, by_user: bool = True) -> None:
        """Step through map ``channel`` (the window stays where it is)."""
        self.chosen = self.chosen or by_user
        if channel != self.channel:
            self.channel = channel
            self._set_spin(channel)
            self.channelChanged.emit(channel)
            self.refresh()

    def _set_spin(self, channel: int) -> None:
        self.spin.blockSignals(True)
        self.spin.setValue(channel)
        self.spin.blockSignals(False)

    def set_position(self, row: int, col: int) -> None:
        """Put the window on output position (row, col)."""
        row, col = min(max(row, 0), self.out_shape[0] - 1), min(max(col, 0), self.out_shape[1] - 1)
        if (row, col) != (self.row, self.col):
            self.row, self.col = row, col
            self.refresh()

    def advance(self, delta: int) -> None:
        self.set_position(*explain.step(self.row, self.col, self.out_shape, delta))

    def set_playing(self, on: bool) -> None:
        if on:
            self.timer.start()
        else:
            self.timer.stop()
        self.play.blockSignals(True)
        self.play.setChecked(on)
        self.play.blockSignals(False)
        self.play.setText("❚❚ Pause" if on else "▶ Play")

    def hideEvent(self, event) -> None:
        self.set_playing(False)
        super().hideEvent(event)

    def _follow(self, pos: QPointF | None, size: int, stride: int, stop: bool = False) -> None:
        if pos is None or self.data is None:
            return
        if stop:
            self.set_playing(False)
        self.set_position(*explain.window_at(pos.x(), pos.y(), size, stride, self.out_shape))


class ConvStepThrough(StepThrough):
    """One conv1 or conv2 map, one output value at a time: window × weights, Σ, + bias, ReLU."""

    def __init__(self, layer: str, parent: QWidget | None = None) -> None:
        first = layer == "conv1"
        text = (
            "Each value of a conv1 map is made from the 3×3 input pixels under the window: each pixel times its weight, "
            "all added up, plus the map's bias; a negative total becomes 0 (ReLU). Move the mouse over either image, or press Play."
            if first else
            "conv2 looks at all 32 conv1 maps at once: for each of them, the 3×3 values under the window times that map's own 3×3 "
            "weights, added up. Those 32 sums plus a bias, then ReLU, give one value. Shown: the conv1 map that weighs most here."
        )
        super().__init__(layer, 32 if first else 64, 28 if first else 26, 26 if first else 24, text, parent)
        self.source_choice: int | None = None
        if not first:
            self.combo = QComboBox()
            self.combo.addItem("the conv1 map that weighs most", None)
            for k in range(32):
                self.combo.addItem(f"conv1 map {k}", k)
            self.combo.setToolTip("Which of the 32 input maps to show under the window")
            self.combo.currentIndexChanged.connect(self._choose_source)
            self.extra.addWidget(QLabel("  showing"))
            self.extra.addWidget(self.combo)
        self.step: explain.ConvStep | None = None

    def sums_widget(self) -> QWidget:
        self.sums = ConvSums()
        return self.sums

    def _choose_source(self, index: int) -> None:
        self.source_choice = self.combo.itemData(index)
        self.refresh()

    def refresh(self) -> None:
        data = self.data
        if data is None:
            self.step = None
            self.source.set_pixels(np.zeros((self.out_shape[0] + 2,) * 2, np.uint8))
            self.output.set_pixels(np.zeros(self.out_shape, np.uint8))
            self.source.set_marks([])
            self.output.set_marks([])
            self.sums.set_step(None, None, self.message)
            return
        r, c, k = self.row, self.col, self.channel
        if self.layer == "conv1":
            self.step = explain.conv1_step(data["in"], data["weights"], k, r, c)
            self.source.set_pixels(grey(data["in"]))
            set_text(self.source_caption, "the 28×28 input")
        else:
            self.step = explain.conv2_step(data["in"], data["weights"], k, r, c, self.source_choice)
            src = self.step.source
            self.source.set_pixels(colour_map(data["in"][:, :, src], data["in_level"]))
            set_text(self.source_caption, f"conv1 map {src} (of 32)")
        self.output.set_pixels(colour_map(data["out"][:, :, k], data["out_level"]))
        set_text(self.output_caption, f"{self.layer} map {k}")
        self.source.set_marks([(QRectF(c, r, 3, 3), ACCENT)])
        self.output.set_marks([(QRectF(c, r, 1, 1), ACCENT)])
        self.sums.set_step(self.step, float(data["out"][r, c, k]), live=self.live)


class PoolStepThrough(StepThrough):
    """One conv2 map max-pooled: each 2×2 block's largest value, one block at a time."""

    SIZE, STRIDE = explain.POOL, explain.POOL

    def __init__(self, parent: QWidget | None = None) -> None:
        text = ("Max-pooling keeps the largest of each 2×2 block of a conv2 map: the map halves to 12×12, and a feature "
                "found anywhere in the block still counts. Move the mouse over either image, or press Play.")
        super().__init__("max-pool", 64, 24, 12, text, parent)
        self.step: explain.PoolStep | None = None

    def sums_widget(self) -> QWidget:
        self.sums = PoolSums()
        return self.sums

    def refresh(self) -> None:
        data = self.data
        if data is None:
            self.step = None
            self.source.set_pixels(np.zeros((24, 24), np.uint8))
            self.output.set_pixels(np.zeros((12, 12), np.uint8))
            self.source.set_marks([])
            self.output.set_marks([])
            self.sums.set_step(None, None, self.message)
            return
        r, c, k = self.row, self.col, self.channel
        self.step = explain.pool_step(data["in"], k, r, c)
        level = data["in_level"]
        self.source.set_pixels(colour_map(data["in"][:, :, k], level))
        self.output.set_pixels(colour_map(data["out"][:, :, k], level))
        set_text(self.source_caption, f"conv2 map {k} (24×24)")
        set_text(self.output_caption, f"max-pool map {k} (12×12)")
        i, j = self.step.argmax
        self.source.set_marks([(QRectF(2 * c, 2 * r, 2, 2), ACCENT), (QRectF(2 * c + j, 2 * r + i, 1, 1), TOP_BAR)])
        self.output.set_marks([(QRectF(c, r, 1, 1), ACCENT)])
        self.sums.set_step(self.step, float(data["out"][r, c, k]), live=self.live)
