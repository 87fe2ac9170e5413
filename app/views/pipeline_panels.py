"""The detail panels of the input, dense and softmax stages (the conv and pool ones are
step-throughs, :mod:`.step_through`). Numbers are painted: they change on every reading."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPainter
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ...model import explain
from ..verdict_text import NOT_A_DIGIT
from .pipeline_strip import ACCENT, BAR, MUTED, TOP_BAR
from .pixel_image import BACKGROUND, TEXT, grey
from .step_through import MarkedImage, set_text
from .sums import NEGATIVE, NumberPanel, number


def note(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet(f"color: {MUTED.name()};")
    return label


class InputPanel(QWidget):
    """The 28×28 input, large, with the value of the pixel under the cursor."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tensor: np.ndarray | None = None
        self.image = MarkedImage(28)
        self.image.hoveredAt.connect(self._hover)
        self.value = QLabel(" ")
        self.value.setStyleSheet(f"color: {TEXT.name()}; font-size: 15px;")
        text = QVBoxLayout()
        text.addWidget(QLabel("<b>input</b>"))
        text.addWidget(note(
            "What the network is given: your drawing, scaled so its ink fits a 20×20 box, centred by its centre "
            "of mass in a 28×28 field, as in the MNIST digits it was trained on. Each pixel is a number from "
            "0 (paper) to 1 (ink). Everything to the right is computed from these 784 numbers."))
        text.addSpacing(12)
        text.addWidget(self.value)
        text.addStretch(1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 8)
        layout.addWidget(self.image, 1)
        layout.addLayout(text, 1)
        self._pos: tuple[int, int] | None = None

    def show_data(self, tensor: np.ndarray | None) -> None:
        self.tensor = tensor
        self.image.set_pixels(grey(tensor) if tensor is not None else np.zeros((28, 28), np.uint8))
        self._show_value()

    def _hover(self, pos: QPointF | None) -> None:
        inside = pos is not None and 0 <= pos.x() < 28 and 0 <= pos.y() < 28
        self._pos = (int(pos.y()), int(pos.x())) if inside else None
        self.image.set_marks([(QRectF(self._pos[1], self._pos[0], 1, 1), ACCENT)] if self._pos else [])
        self._show_value()

    def _show_value(self) -> None:
        if self._pos is None or self.tensor is None:
            set_text(self.value, "Point at a pixel to read its value.")
        else:
            r, c = self._pos
            set_text(self.value, f"row {r}, column {c}: {float(self.tensor[r, c]):.3f}")


class _Painted(NumberPanel):
    """A panel painted from ``data`` (None: ``message``), a row of its numbers as one text."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(QSize(600, 300), parent)
        self.data: dict[str, Any] | None = None
        metrics = QFontMetricsF(self.mono)
        self.char_w = metrics.horizontalAdvance("0")
        self.row_h = max(self.fontMetrics().height(), metrics.height()) + 6
        self.baseline = (self.row_h - metrics.height()) / 2 + metrics.ascent()  # of fixed-width text in a row

    def show_data(self, data: dict[str, Any] | None, message: str = "") -> None:
        """New numbers from a reading (repainted at a readable rate), or None and why."""
        had = self.data is not None
        self.data, self.message = data, message
        self.numbers_changed(data is not None and had)

    def has_numbers(self) -> bool:
        return self.data is not None

    def text(self, p: QPainter, rect: QRectF, text: str, colour: QColor = TEXT, mono: bool = False,
             align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft) -> None:
        """Text in a rectangle (labels: painted once)."""
        p.setPen(colour)
        p.setFont(self.mono if mono else self.font())
        p.drawText(rect, align | Qt.AlignmentFlag.AlignVCenter | Qt.TextFlag.TextWordWrap, text)
        p.setFont(self.font())

    def row(self, p: QPainter, column: int, y: float, text: str, colour: QColor = TEXT) -> None:
        """Fixed-width text starting ``column`` characters in, on the row whose top is ``y``."""
        p.setPen(colour)
        p.drawText(QPointF(self.LEFT + column * self.char_w, y + self.baseline), text)

    LEFT = 16.0


class DenseVotes(_Painted):
    """Why the predicted digit: the dense units whose activation × weight adds most to its score."""

    SHOWN = 10
    HEAD = f"{'unit':<9}{'activation':>11}{'× weight':>10}{'= share':>10}"  # 40 characters
    TOP = 50.0  # where the table's head row starts

    def static_key(self) -> tuple:
        return (self.data["digit"], self.data.get("is_digit", True))

    def paint_labels(self, p: QPainter) -> None:
        digit, is_digit = self.data["digit"], self.data.get("is_digit", True)
        why = f"Why a {digit}?" if is_digit else f"Why a {digit}, the best guess?"
        self.text(p, QRectF(self.LEFT, 6, self.width() - 2 * self.LEFT, 40),
                  f"{why} Its score = Σ over the 128 units of activation × weight to {digit}, + bias. "
                  "The units that add most (orange) or take away most (blue):", MUTED)
        p.setFont(self.mono)
        self.row(p, 0, self.TOP, self.HEAD, MUTED)
        y = self.TOP + (1 + self.SHOWN) * self.row_h
        for i, label in enumerate((f"… the other {128 - self.SHOWN} units", f"+ bias of {digit}", f"= score of {digit}")):
            self.row(p, 0, y + i * self.row_h, label, ACCENT if label.startswith("=") else MUTED)
        p.setFont(self.font())
        self.text(p, QRectF(self.LEFT, y + 3 * self.row_h + 6, self.width() - 2 * self.LEFT, self.row_h),
                  "Softmax then turns every digit's score into a probability (click softmax above).", MUTED)
        if not is_digit:
            self.text(p, QRectF(self.LEFT, y + 4 * self.row_h + 6, self.width() - 2 * self.LEFT, 2 * self.row_h),
                      f"{NOT_A_DIGIT}, but the network must pick one of ten: {digit} is only its best guess.", TEXT)

    def paint_numbers(self, p: QPainter) -> None:
        d = self.data
        digit, dense, weights = d["digit"], d["dense"], d["weights"]
        votes = explain.votes(dense, weights, digit)
        w = np.asarray(weights.w4, np.float64)[:, digit]
        top, rest, _ = explain.largest(votes, self.SHOWN)
        scale = float(np.abs(votes[top]).max()) or 1.0
        bar_x = self.LEFT + 42 * self.char_w
        bar_w = min(400.0, max(60.0, self.width() - bar_x - 30))
        mid = bar_x + bar_w / 2
        y = self.TOP + self.row_h
        for i in top:
            self.row(p, 0, y, f"unit {i:<4}{dense[i]:>11.3f}{w[i]:>+10.3f}")
            self.row(p, 30, y, f"{votes[i]:>+10.3f}", TOP_BAR if votes[i] > 0 else NEGATIVE.lighter(150))
            length = bar_w / 2 * abs(votes[i]) / scale
            p.fillRect(
                QRectF(mid if votes[i] > 0 else mid - length, y + 4, max(1.0, length), self.row_h - 8),
                TOP_BAR if votes[i] > 0 else NEGATIVE,
            )
            y += self.row_h
        p.fillRect(QRectF(mid, self.TOP + self.row_h, 1, self.SHOWN * self.row_h), MUTED)
        bias = float(weights.b4[digit])
        for value, colour in ((rest, TEXT), (bias, TEXT), (votes.sum() + bias, ACCENT)):
            self.row(p, 30, y, f"{value:>+10.3f}", colour)
            y += self.row_h


class SoftmaxTable(_Painted):
    """Each digit's score, e^(score − top score), and the probabilities they make."""

    HEAD = f"{'digit':^7}{'score':>10}{'score − top':>14}{'e^(score − top)':>17}{'probability':>13}"  # 61 characters
    TOP = 50.0

    def static_key(self) -> tuple:
        return (self.data["digit"], self.data.get("is_digit", True))

    def bars(self) -> tuple[float, float]:
        x = self.LEFT + 63 * self.char_w
        return x, min(400.0, max(60.0, self.width() - x - 20))

    def paint_labels(self, p: QPainter) -> None:
        self.text(p, QRectF(self.LEFT, 6, self.width() - 2 * self.LEFT, 40),
                  "Each digit gets a score (logit): the 128 dense activations × that digit's 128 weights, + its bias. "
                  "Softmax turns scores into probabilities: p = e^score / Σ e^score.", MUTED)
        p.setFont(self.mono)
        self.row(p, 0, self.TOP, self.HEAD, MUTED)
        bar_x, bar_w = self.bars()
        for k in range(10):
            p.fillRect(QRectF(bar_x, self.TOP + (1 + k) * self.row_h + 4, bar_w, self.row_h - 8), BACKGROUND)
        p.setFont(self.font())
        self.text(p, QRectF(self.LEFT, self.TOP + 12 * self.row_h + 6, self.width() - 2 * self.LEFT, 2 * self.row_h),
                  "Each probability is its e^(score − top) divided by their sum. Taking the top score away first "
                  "keeps e^ from overflowing; it cancels out in the division.", MUTED)
        if not self.data.get("is_digit", True):
            self.text(p, QRectF(self.LEFT, self.TOP + 14 * self.row_h + 6, self.width() - 2 * self.LEFT, 2 * self.row_h),
                      f"{NOT_A_DIGIT}, yet the probabilities still add up to 100%: softmax shares it among the ten "
                      f"digits whatever is drawn, and {self.data['digit']} gets the most.", TEXT)

    def paint_numbers(self, p: QPainter) -> None:
        d = self.data
        sm = explain.softmax(d["dense"], d["weights"])
        probs = sm.probabilities
        top = int(np.argmax(probs))
        marked = top if d.get("is_digit", True) else -1  # no digit: the best guess is not picked out
        bar_x, bar_w = self.bars()
        y = self.TOP + self.row_h
        for k in range(10):
            shift = number(float(sm.logits[k] - sm.logits[top]), "+.3f")
            self.row(p, 0, y, f"{k:^7}{sm.logits[k]:>+10.3f}{shift:>14}{sm.exps[k]:>17.3g}{100 * probs[k]:>12.1f}%",
                     TOP_BAR if k == marked else TEXT)
            p.fillRect(QRectF(bar_x, y + 4, max(1.0, bar_w * probs[k]), self.row_h - 8), TOP_BAR if k == marked else BAR)
            y += self.row_h
        self.row(p, 0, y + 4, f"Σ e^(score − top) = {sm.exps.sum():.4f}", MUTED)


def painted_panel(title: str, explanation: str, body: QWidget) -> QWidget:
    """A titled panel: a heading, a line of explanation, then ``body``."""
    panel = QWidget()
    layout = QVBoxLayout(panel)
    layout.setContentsMargins(8, 4, 8, 8)
    layout.addWidget(QLabel(f"<b>{title}</b>"))
    layout.addWidget(note(explanation))
    layout.addWidget(body, 1)
    return panel
