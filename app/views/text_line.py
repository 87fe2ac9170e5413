"""One line of text that changes with every reading, in a box of fixed height."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QSizePolicy, QWidget


class TextLine(QWidget):
    """A line of text, elided to the width it is given (the whole text then in its tooltip);
    setting new text repaints this widget alone.

    A QLabel asks for a new layout on every ``setText`` (its size hint may have changed). In the
    main window that layout pass repaints the whole central widget: about half a millisecond of
    the GUI thread for each reading whose caption changed."""

    def __init__(
        self,
        text: str = "",
        pixel_size: int = 0,
        colour: QColor | str | None = None,
        weight: QFont.Weight = QFont.Weight.Normal,
        alignment: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignCenter,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._text = text
        self.alignment = alignment
        font = QFont(self.font())
        if pixel_size:
            font.setPixelSize(pixel_size)
        font.setWeight(weight)
        self.setFont(font)
        self.colour = QColor(colour) if colour is not None else None  # None: the palette's, when painted
        self._made_colour = self.colour
        self.paint_font: QFont | None = None  # set_look's font (None: the widget's own)
        self._paint_metrics: QFontMetrics | None = None
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)  # it fills its box: nothing behind repaints
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(self.fontMetrics().height() + 4)
        self.setAccessibleName(text)  # what a QLabel would tell a screen reader

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:
        if text != self._text:
            self._text = text
            self.setAccessibleName(text)
            self._update_tip()
            self.update()

    def set_look(self, font: QFont | None = None, colour: QColor | str | None = None) -> None:
        """Paint in ``font`` and ``colour`` (None: the ones it was made with) from now on.

        The box keeps its height and the widget its own font: no layout pass, only a repaint.
        A font larger than the one it was made with would be cut."""
        colour = QColor(colour) if colour is not None else self._made_colour
        if font != self.paint_font or colour != self.colour:
            self.paint_font, self.colour = font, colour
            self._paint_metrics = QFontMetrics(font) if font is not None else None
            self._update_tip()
            self.update()

    def _metrics(self) -> QFontMetrics:
        return self._paint_metrics if self._paint_metrics is not None else self.fontMetrics()

    def _update_tip(self) -> None:
        tip = self._text if self._metrics().horizontalAdvance(self._text) > self.width() - 4 else ""
        if tip != self.toolTip():
            self.setToolTip(tip)

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._update_tip()
        super().resizeEvent(event)

    def sizeHint(self) -> QSize:
        return QSize(self._metrics().horizontalAdvance(self._text) + 8, self.height())

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        if self.paint_font is not None:
            painter.setFont(self.paint_font)
        painter.fillRect(self.rect(), self.palette().window())
        painter.setPen(self.colour if self.colour is not None else self.palette().windowText().color())
        rect = self.rect().adjusted(2, 0, -2, 0)
        text = self._metrics().elidedText(self._text, Qt.TextElideMode.ElideRight, rect.width())
        painter.drawText(rect, int(self.alignment | Qt.AlignmentFlag.AlignVCenter), text)
        painter.end()
