"""A small image painted with visible pixels, and a colour-bar legend.

Plain QWidgets that draw one QImage scaled to fit (aspect kept, no
smoothing): for images updated on every mouse-move this costs a fraction of a
pyqtgraph ImageItem's render, which keeps the GUI thread free for drawing.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QLinearGradient, QMouseEvent, QPainter, QPaintEvent, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

from .. import theme

BACKGROUND = QColor(theme.DARK_BACKGROUND)
TEXT = QColor(theme.DARK_TEXT)


def grey(values: np.ndarray) -> np.ndarray:
    """A [0, 1] image as uint8 grey (ink white on black, as the network sees it)."""
    return (np.clip(values, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def to_qimage(pixels: np.ndarray, colours: tuple[int, ...] | None = None) -> QImage:
    """(H, W) uint8 grey or (H, W, 4) uint8 RGBA → a QImage owning a copy of the pixels; with
    ``colours`` (256 ``QRgb`` values), (H, W) uint8 are indices into them instead.

    The copy is in one of the raster engine's own formats: drawing a grey, indexed or RGBA8888
    image scaled converts it on every paint, 2-4× the cost of the draw itself."""
    pixels = np.ascontiguousarray(pixels)
    h, w = pixels.shape[:2]
    if pixels.ndim == 2 and colours is not None:
        return _indexed_image(w, h, colours, pixels).convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
    if pixels.ndim == 2:
        image = QImage(pixels.data, w, h, pixels.strides[0], QImage.Format.Format_Grayscale8)
        return image.convertToFormat(QImage.Format.Format_RGB32)
    image = QImage(pixels.data, w, h, pixels.strides[0], QImage.Format.Format_RGBA8888)
    return image.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)  # a copy: detached from the NumPy buffer


_INDEXED: dict[tuple[int, int, tuple[int, ...]], QImage] = {}


def _indexed_image(w: int, h: int, colours: tuple[int, ...], index: np.ndarray) -> QImage:
    """An indexed image of ``index``, its colour table set once per size and colours (setting
    it costs more than the conversion); GUI thread only."""
    key = (w, h, colours)
    image = _INDEXED.get(key)
    if image is None:
        if len(_INDEXED) > 16:
            _INDEXED.clear()
        image = _INDEXED[key] = QImage(w, h, QImage.Format.Format_Indexed8)
        image.setColorTable(list(colours))
    np.frombuffer(image.bits(), np.uint8).reshape(h, image.bytesPerLine())[:, :w] = index
    return image


class PaintedOnce:
    """What stays put while a view updates, painted into one pixmap of the widget's size (at its
    pixel ratio) and painted again only when the size or ``key`` changes."""

    def __init__(self) -> None:
        self.pixmap: QPixmap | None = None
        self.key: tuple = ()

    def get(self, widget: QWidget, key: tuple, paint: Callable[[QPainter], None]) -> QPixmap:
        ratio = widget.devicePixelRatioF()
        full = (widget.width(), widget.height(), ratio, *key)
        if self.pixmap is None or self.key != full:
            pixmap = QPixmap(int(widget.width() * ratio), int(widget.height() * ratio))
            pixmap.setDevicePixelRatio(ratio)
            painter = QPainter(pixmap)
            paint(painter)
            painter.end()
            self.pixmap, self.key = pixmap, full
        return self.pixmap


class PixelImage(QWidget):
    """Shows ``pixels`` (see ``to_qimage``) as large as fits, centred, every pixel a crisp square.

    ``overlay(painter, target)`` is called after the image is painted, with
    the rectangle the image fills (widget coordinates). ``hoveredAt`` and
    ``clickedAt`` report positions in image pixels (``None``: the cursor left).
    """

    hoveredAt = Signal(object)  # QPointF | None
    clickedAt = Signal(QPointF)

    def __init__(
        self,
        pixels: np.ndarray,
        parent: QWidget | None = None,
        overlay: Callable[[QPainter, QRectF], None] | None = None,
        colours: tuple[int, ...] | None = None,
    ) -> None:
        super().__init__(parent)
        self.overlay = overlay
        self.colours = colours  # (H, W) pixels are indices into these (see ``to_qimage``)
        self.pixels = pixels
        self._image = to_qimage(pixels, colours)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(True)

    def set_pixels(self, pixels: np.ndarray) -> None:
        """Show new pixels (same or new size) and repaint."""
        self.pixels = pixels
        self._image = to_qimage(pixels, self.colours)
        self.update()

    def target(self) -> QRectF:
        """Where the image is drawn, in widget coordinates."""
        w, h = self._image.width(), self._image.height()
        scale = min(self.width() / w, self.height() / h)
        return QRectF((self.width() - w * scale) / 2, (self.height() - h * scale) / 2, w * scale, h * scale)

    def image_pos(self, pos: QPointF) -> QPointF:
        """A widget position in image pixel coordinates."""
        t = self.target()
        return QPointF((pos.x() - t.x()) * self._image.width() / t.width(), (pos.y() - t.y()) * self._image.height() / t.height())

    def widget_pos(self, pos: QPointF) -> QPointF:
        """An image pixel position in widget coordinates."""
        t = self.target()
        return QPointF(t.x() + pos.x() * t.width() / self._image.width(), t.y() + pos.y() * t.height() / self._image.height())

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        t = self.target()
        painter.drawImage(t, self._image)
        if self.overlay is not None:
            self.overlay(painter, t)
        painter.end()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self.hoveredAt.emit(self.image_pos(event.position()))

    def leaveEvent(self, event) -> None:
        self.hoveredAt.emit(None)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clickedAt.emit(self.image_pos(event.position()))

    def sizeHint(self) -> QSize:
        return QSize(max(120, 2 * self._image.width()), max(120, 2 * self._image.height()))


class ColourBar(QWidget):
    """A vertical colour bar from 0 (bottom) to ``level`` (top) with a few tick labels;
    ``symmetric``: from -``level`` to ``level`` (a diverging scale)."""

    def __init__(self, colours: np.ndarray, parent: QWidget | None = None, symmetric: bool = False) -> None:
        """``colours``: (N, 4) uint8 RGBA from the bottom of the scale to its top."""
        super().__init__(parent)
        self.colours = colours
        self.symmetric = symmetric
        self.level = 1.0
        self.setFixedWidth(52)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)

    def set_level(self, level: float) -> None:
        if level != self.level:
            self.level = level
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        margin = painter.fontMetrics().height() // 2 + 2
        bar = QRectF(4, margin, 12, max(1, self.height() - 2 * margin))
        gradient = QLinearGradient(bar.bottomLeft(), bar.topLeft())
        n = len(self.colours)
        for i in range(0, n, max(1, n // 16)):
            gradient.setColorAt(i / (n - 1), QColor(*(int(v) for v in self.colours[i])))
        gradient.setColorAt(1.0, QColor(*(int(v) for v in self.colours[-1])))
        painter.fillRect(bar, gradient)
        painter.setPen(TEXT)
        for frac in (0.0, 0.25, 0.5, 0.75, 1.0):
            y = bar.bottom() - frac * bar.height()
            painter.drawLine(QPointF(bar.right(), y), QPointF(bar.right() + 3, y))
            value = (2 * frac - 1) * self.level if self.symmetric else frac * self.level
            painter.drawText(QRectF(bar.right() + 5, y - margin, 40, 2 * margin), Qt.AlignmentFlag.AlignVCenter, _tick(value))
        painter.end()


def _tick(value: float) -> str:
    return f"{value:.3g}" if value else "0"
