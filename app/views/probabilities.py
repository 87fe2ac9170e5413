"""The network's answer: a large predicted digit with its confidence, and ten bars.

When the verdict says the drawing is no digit at all, the big digit gives way to
"That doesn't look like a digit", every bar turns grey and the network's best guess
stays, small, in the caption."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QBrush, QFont, QPainter
from PySide6.QtWidgets import QVBoxLayout, QWidget

from .. import theme
from ..verdict_text import NOT_A_DIGIT, best_guess, looks_like_digit
from .text_line import TextLine

BAR = pg.mkBrush(theme.BAR)
TOP = pg.mkBrush(theme.BLUE)
OTHER = pg.mkBrush(theme.OTHER_BAR)  # the model compared with (Model → Compare with model…)
OTHER_TOP = pg.mkBrush(theme.OTHER_TOP_BAR)
MUTED = pg.mkBrush(theme.NOT_A_DIGIT_BAR)  # every bar, the top one too, when the drawing is no digit
DIGIT_COLOUR = theme.DIGIT
MESSAGE_COLOUR = theme.CAPTION  # "That doesn't look like a digit": calm, not an alarm


class Bars(pg.GraphicsObject):
    """Ten bars at x = 0…9 (heights in [0, 1], the top one in its own colour) in a fixed box.

    Painted straight from the heights: a new set costs a repaint of the box and never the
    axes. pyqtgraph's BarGraphItem rebuilds and replays a QPicture on every change, which
    took about a fifth of the GUI thread while drawing."""

    BOX = QRectF(-0.45, 0.0, 9.9, 1.0)

    def __init__(self, brush: QBrush, top_brush: QBrush, width: float, offset: float = 0.0) -> None:
        super().__init__()
        self.brush, self.top_brush = brush, top_brush
        self.bar_width, self.offset = width, offset  # not ``width``: a QGraphicsObject property
        self.heights = np.zeros(10)
        self.top = -1  # the highlighted bar (-1: none)
        self.muted = False  # all bars in MUTED grey

    def set_heights(self, heights: np.ndarray, top: int = -1, muted: bool = False) -> None:
        """New heights (ten values), ``top`` drawn in the top colour; ``muted``: all of them grey."""
        self.heights = np.clip(np.asarray(heights, dtype=np.float64), 0.0, 1.0)
        self.top = top
        self.muted = muted
        self.update()

    def set_place(self, width: float, offset: float) -> None:
        """Bar width and offset from the digit's x (side by side when two models are compared)."""
        if (width, offset) != (self.bar_width, self.offset):
            self.bar_width, self.offset = width, offset
            self.update()

    def boundingRect(self) -> QRectF:
        return self.BOX

    def paint(self, painter: QPainter, *args: object) -> None:
        left = self.offset - self.bar_width / 2
        brush, top_brush = (MUTED, MUTED) if self.muted else (self.brush, self.top_brush)
        for i, h in enumerate(self.heights.tolist()):
            if h > 0.0:
                painter.fillRect(QRectF(i + left, 0.0, self.bar_width, h), top_brush if i == self.top else brush)


class ProbabilityView(QWidget):
    """Softmax probabilities as bars 0–9 (top class highlighted) under the predicted digit."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # text that changes with the readings: a new value repaints its line, never the layout
        self.digit_label = TextLine("–", 64, DIGIT_COLOUR, QFont.Weight.DemiBold)
        self.message_font = QFont(self.digit_label.font())  # the not-a-digit line, in the digit's box
        self.message_font.setPixelSize(26)
        self.message_font.setWeight(QFont.Weight.Medium)
        self.caption = TextLine("Draw a digit", 15, theme.CAPTION)
        self.plot = pg.PlotWidget(background=theme.PAPER)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setYRange(-0.04, 1, padding=0.02)  # a gap under the bars: updating them leaves the axis alone
        self.plot.setXRange(-0.6, 9.6, padding=0)
        self.plot.getAxis("bottom").setTicks([[(i, str(i)) for i in range(10)]])
        self.plot.getAxis("left").setTicks([[(v, f"{int(v * 100)}%") for v in (0, 0.25, 0.5, 0.75, 1.0)]])
        self.plot.setLabel("left", "probability")
        for side in ("left", "bottom"):  # ticks outside: the axes' boxes stay clear of the bars
            self.plot.getAxis(side).setStyle(tickLength=5)
        self.bars = Bars(BAR, TOP, 0.7)
        self.plot.addItem(self.bars)
        self.other_bars = Bars(OTHER, OTHER_TOP, 0.38, 0.2)
        self.other_bars.setVisible(False)
        self.plot.addItem(self.other_bars)
        self.plot.setMinimumHeight(160)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.digit_label)
        layout.addWidget(self.caption)
        layout.addWidget(self.plot, 1)
        self.probabilities: np.ndarray | None = None
        self.other_probabilities: np.ndarray | None = None
        self.is_digit = True  # False while a reading judged no digit is shown

    def show_probabilities(
        self, probs: np.ndarray, other: np.ndarray | None = None, other_name: str = "", is_digit: bool | None = True
    ) -> None:
        """Show a prediction; with ``other``, a second model's probabilities beside it (orange).
        ``is_digit`` is the verdict (``Prediction.is_digit``): False shows the drawing as no
        digit (grey bars, the best guess small); None (no verdict) and True as a digit."""
        probs = np.asarray(probs, dtype=np.float64)
        top = int(np.argmax(probs))
        digit = looks_like_digit(is_digit)
        caption = f"{100 * probs[top]:.1f}% sure" if digit else best_guess(top, probs[top])
        if other is None:
            if self.other_bars.isVisible():
                self.bars.set_place(0.7, 0.0)
                self.other_bars.setVisible(False)
            self.bars.set_heights(probs, top, not digit)
        else:
            other = np.asarray(other, dtype=np.float64)
            other_top = int(np.argmax(other))
            if not self.other_bars.isVisible():
                self.bars.set_place(0.38, -0.2)
                self.other_bars.setVisible(True)
            self.bars.set_heights(probs, top, not digit)
            self.other_bars.set_heights(other, other_top)
            caption += f" · {other_name or 'other model'}: {other_top} ({100 * other[other_top]:.1f}%)"
        self._show_answer(str(top) if digit else NOT_A_DIGIT, digit)
        self.caption.setText(caption)
        self.probabilities = probs
        self.other_probabilities = other

    def show_message(self, message: str) -> None:
        """No prediction to show (empty canvas, model loading...): no bars, no fake class."""
        self.bars.set_heights(np.zeros(10))
        self.other_bars.set_heights(np.zeros(10))
        self.other_probabilities = None
        self._show_answer("–", True)
        self.caption.setText(message)
        self.probabilities = None

    def _show_answer(self, text: str, digit: bool) -> None:
        """The big line: a digit (or "–") large, or the not-a-digit words smaller, in one box."""
        if digit != self.is_digit:
            self.is_digit = digit
            self.digit_label.set_look(None if digit else self.message_font, None if digit else MESSAGE_COLOUR)
        self.digit_label.setText(text)
