"""The detail panels of the input, dense and softmax stages (the conv and pool ones are
step-throughs, :mod:`.step_through`). Numbers are painted: they change on every reading."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from .. import explain
from .pipeline_strip import ACCENT, BAR, MUTED, PANEL, TOP_BAR
from .pixel_image import BACKGROUND, TEXT
from .step_through import MarkedImage, grey, set_text
from .sums import NEGATIVE, number, number_font


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


class _Painted(QWidget):
    """A panel painted from ``data`` (None: ``message``)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data: dict[str, Any] | None = None
        self.message = ""
        self.mono = number_font(self.font())
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(600, 300)

    def show_data(self, data: dict[str, Any] | None, message: str = "") -> None:
        self.data, self.message = data, message
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), PANEL)
        if self.data is None:
            p.setPen(MUTED)
            p.drawText(self.rect().adjusted(12, 12, -12, -12), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.message)
        else:
            self.paint_data(p)
        p.end()

    def paint_data(self, p: QPainter) -> None:
        raise NotImplementedError

    def text(self, p: QPainter, rect: QRectF, text: str, colour: QColor = TEXT, mono: bool = False,
             align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft) -> None:
        p.setPen(colour)
        p.setFont(self.mono if mono else self.font())
        p.drawText(rect, align | Qt.AlignmentFlag.AlignVCenter | Qt.TextFlag.TextWordWrap, text)
        p.setFont(self.font())


class DenseVotes(_Painted):
    """Why the predicted digit: the dense units whose activation × weight adds most to its score."""

    SHOWN = 10
    #: (left, width) of the columns: unit, activation, × weight, = share; then the bars
    COLS = ((16, 90), (106, 80), (196, 80), (286, 90))

    def paint_data(self, p: QPainter) -> None:
        d = self.data
        digit, dense, weights = d["digit"], d["dense"], d["weights"]
        votes = explain.votes(dense, weights, digit)
        w = np.asarray(weights.w4, np.float64)[:, digit]
        bias = float(weights.b4[digit])
        row_h = p.fontMetrics().height() + 6
        y = 10.0
        self.text(p, QRectF(16, y, self.width() - 32, row_h), f"Why a {digit}? Its score = Σ over the 128 units of activation × weight to {digit}, "
                  "+ bias. The units that add most (orange) or take away most (blue):", MUTED)
        y += row_h + 6
        right = Qt.AlignmentFlag.AlignRight
        (ux, uw), (ax, aw), (wx, ww), (sx, sw) = self.COLS
        self.text(p, QRectF(ux, y, uw, row_h), "unit", MUTED)
        for (x, width), head in zip(self.COLS[1:], ("activation", "× weight", "= share")):
            self.text(p, QRectF(x, y, width, row_h), head, MUTED, align=right)
        y += row_h
        top, rest, count = explain.largest(votes, self.SHOWN)
        scale = float(np.abs(votes[top]).max()) if top else 1.0
        bar_w = min(400.0, max(60.0, self.width() - sx - sw - 60))
        mid = sx + sw + 30 + bar_w / 2
        y_bars = y
        for i in top:
            self.text(p, QRectF(ux, y, uw, row_h), f"unit {i}")
            self.text(p, QRectF(ax, y, aw, row_h), f"{dense[i]:.3f}", mono=True, align=right)
            self.text(p, QRectF(wx, y, ww, row_h), f"{w[i]:+.3f}", mono=True, align=right)
            self.text(p, QRectF(sx, y, sw, row_h), f"{votes[i]:+.3f}", TOP_BAR if votes[i] > 0 else NEGATIVE.lighter(150), mono=True, align=right)
            length = bar_w / 2 * abs(votes[i]) / (scale or 1.0)
            p.fillRect(QRectF(mid if votes[i] > 0 else mid - length, y + 4, max(1.0, length), row_h - 8), TOP_BAR if votes[i] > 0 else NEGATIVE)
            y += row_h
        p.setPen(QPen(MUTED, 1))
        p.drawLine(QPointF(mid, y_bars), QPointF(mid, y))
        for label, value, colour in ((f"… the other {count} units", rest, TEXT), (f"+ bias of {digit}", bias, TEXT),
                                     (f"= score of {digit}", votes.sum() + bias, ACCENT)):
            self.text(p, QRectF(ux, y, 260, row_h), label, MUTED if colour is TEXT else colour)
            self.text(p, QRectF(sx, y, sw, row_h), f"{value:+.3f}", colour, mono=True, align=right)
            y += row_h
        self.text(p, QRectF(ux, y + 6, self.width() - 32, row_h), "Softmax then turns every digit's score into a probability "
                  "(click softmax above).", MUTED)


class SoftmaxTable(_Painted):
    """Each digit's score, e^(score − top score), and the probabilities they make."""

    #: (left, width) of the columns: digit, score, score − top, e^(score − top), probability; then the bars
    COLS = ((16, 44), (60, 90), (160, 110), (280, 130), (420, 90))

    def paint_data(self, p: QPainter) -> None:
        d = self.data
        sm = explain.softmax(d["dense"], d["weights"])
        probs = sm.probabilities
        top = int(np.argmax(probs))
        row_h = p.fontMetrics().height() + 6
        y = 10.0
        self.text(p, QRectF(16, y, self.width() - 32, row_h),
                  "Each digit gets a score (logit): the 128 dense activations × that digit's 128 weights, + its bias. "
                  "Softmax turns scores into probabilities: p = e^score / Σ e^score.", MUTED)
        y += row_h + 6
        right, centre = Qt.AlignmentFlag.AlignRight, Qt.AlignmentFlag.AlignCenter
        heads = ("digit", "score", "score − top", "e^(score − top)", "probability")
        for (x, width), head in zip(self.COLS, heads):
            self.text(p, QRectF(x, y, width, row_h), head, MUTED, align=centre if head == "digit" else right)
        y += row_h
        bar_x = self.COLS[-1][0] + self.COLS[-1][1] + 16
        bar_w = min(400.0, max(60.0, self.width() - bar_x - 20))
        for k in range(10):
            colour = TOP_BAR if k == top else TEXT
            cells = (str(k), f"{sm.logits[k]:+.3f}", number(sm.logits[k] - sm.logits[top], "+.3f"), f"{sm.exps[k]:.3g}", f"{100 * probs[k]:.1f}%")
            for i, ((x, width), text) in enumerate(zip(self.COLS, cells)):
                self.text(p, QRectF(x, y, width, row_h), text, colour, mono=i > 0, align=centre if i == 0 else right)
            p.fillRect(QRectF(bar_x, y + 4, bar_w, row_h - 8), BACKGROUND)
            p.fillRect(QRectF(bar_x, y + 4, max(1.0, bar_w * probs[k]), row_h - 8), TOP_BAR if k == top else BAR)
            y += row_h
        self.text(p, QRectF(16, y + 6, self.width() - 32, 2 * row_h),
                  f"The e^(score − top) add up to {sm.exps.sum():.4f}; each probability is its e^(score − top) divided by that sum. "
                  "Taking the top score away first keeps e^ from overflowing; it cancels out in the division.", MUTED)


def painted_panel(title: str, explanation: str, body: QWidget) -> QWidget:
    """A titled panel: a heading, a line of explanation, then ``body``."""
    panel = QWidget()
    layout = QVBoxLayout(panel)
    layout.setContentsMargins(8, 4, 8, 8)
    layout.addWidget(QLabel(f"<b>{title}</b>"))
    layout.addWidget(note(explanation))
    layout.addWidget(body, 1)
    return panel
