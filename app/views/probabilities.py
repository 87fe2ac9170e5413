"""The network's answer: a large predicted digit with its confidence, and ten bars."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

BAR = pg.mkBrush("#9aa7b8")
TOP = pg.mkBrush("#2f7de1")
OTHER = pg.mkBrush("#f0a030")  # the model compared with (Model → Compare with model…)
OTHER_TOP = pg.mkBrush("#d9730d")


class _Bars(pg.BarGraphItem):
    """Ten bars in a fixed box: changing their heights repaints the box, never the axes."""

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt naming)
        return QRectF(-0.45, 0.0, 9.9, 1.0)


class ProbabilityView(QWidget):
    """Softmax probabilities as bars 0–9 (top class highlighted) under the predicted digit."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.digit_label = QLabel("–")
        self.digit_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.digit_label.setStyleSheet("font-size: 64px; font-weight: 600; color: #1f2a37;")
        self.caption = QLabel("Draw a digit")
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption.setStyleSheet("font-size: 15px; color: #56606d;")
        for label in (self.digit_label, self.caption):
            # a fixed box: new text must not re-layout (and so repaint) the whole panel
            label.setFixedHeight(label.sizeHint().height() + 4)
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.plot = pg.PlotWidget(background="w")
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
        self.bars = _Bars(x=np.arange(10), height=np.zeros(10), width=0.7, brushes=[BAR] * 10, pen=None)
        self.plot.addItem(self.bars)
        self.other_bars = _Bars(x=np.arange(10) + 0.2, height=np.zeros(10), width=0.38, brushes=[OTHER] * 10, pen=None)
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

    def show_probabilities(self, probs: np.ndarray, other: np.ndarray | None = None, other_name: str = "") -> None:
        """Show a prediction; with ``other``, a second model's probabilities beside it (orange)."""
        probs = np.asarray(probs, dtype=np.float64)
        top = int(np.argmax(probs))
        brushes = [TOP if i == top else BAR for i in range(10)]
        caption = f"{100 * probs[top]:.1f}% sure"
        if other is None:
            if self.other_probabilities is not None or self.other_bars.isVisible():
                self.bars.setOpts(x=np.arange(10), width=0.7)
                self.other_bars.setVisible(False)
            self.bars.setOpts(height=probs, brushes=brushes)
        else:
            other = np.asarray(other, dtype=np.float64)
            other_top = int(np.argmax(other))
            if not self.other_bars.isVisible():
                self.bars.setOpts(x=np.arange(10) - 0.2, width=0.38)
                self.other_bars.setVisible(True)
            self.bars.setOpts(height=probs, brushes=brushes)
            self.other_bars.setOpts(height=other, brushes=[OTHER_TOP if i == other_top else OTHER for i in range(10)])
            caption += f" · {other_name or 'other model'}: {other_top} ({100 * other[other_top]:.1f}%)"
        _set_text(self.digit_label, str(top))
        _set_text(self.caption, caption)
        self.probabilities = probs
        self.other_probabilities = other

    def show_message(self, message: str) -> None:
        """No prediction to show (empty canvas, model loading...): no bars, no fake class."""
        self.bars.setOpts(height=np.zeros(10), brushes=[BAR] * 10)
        self.other_bars.setOpts(height=np.zeros(10))
        self.other_probabilities = None
        _set_text(self.digit_label, "–")
        _set_text(self.caption, message)
        self.probabilities = None


def _set_text(label: QLabel, text: str) -> None:
    """Set a label's text only when it changes (a relayout per update is wasted work)."""
    if label.text() != text:
        label.setText(text)
