"""The drawing canvas: vector strokes, drawn with the mouse (or pen, or touch).

Strokes live in a fixed logical square of ``LOGICAL_SIZE`` canvas pixels,
whatever the widget's size, so the drawing scales with the window and saves
the same on every screen. Edits go through a ``QUndoStack``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QImage,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QPixmap,
    QResizeEvent,
    QUndoCommand,
    QUndoStack,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from ..model.drawing import Drawing
from . import theme

LOGICAL_SIZE = 280.0
#: The default pen: on a digit 70 % of the canvas tall it gives MNIST's mean ink
#: after preprocessing (104 in [0, 1] units per 28×28 image; measured on unipen-dev:
#: pen 19.6 → 84, 22 → 88, 26 → 103, 28 → 108).
DEFAULT_PEN_WIDTH = 26.0
MIN_PEN_WIDTH, MAX_PEN_WIDTH = 4.0, 60.0
#: Points closer than this (widget pixels) to the last one are not recorded.
_MIN_STEP_PX = 1.0

Stroke = list[tuple[float, float]]


@dataclass(frozen=True)
class CanvasImage:
    """An opened image: shown on the canvas and read instead of strokes."""

    gray: np.ndarray  # float32 grey in [0, 1], as decoded
    qimage: QImage
    name: str

    @classmethod
    def from_gray(cls, gray: np.ndarray, name: str) -> CanvasImage:
        data = np.ascontiguousarray((np.clip(gray, 0, 1) * 255).astype(np.uint8))
        h, w = data.shape
        qimage = QImage(data.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
        return cls(gray, qimage, name)


_KEEP = object()


class DrawingCanvas(QWidget):
    """A square canvas that records strokes as vectors.

    Signals: ``changed`` after any edit *and* during a stroke (for live
    reading); ``strokeFinished`` when the mouse is released.
    """

    changed = Signal()
    strokeFinished = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._strokes: list[Stroke] = []
        self._image: CanvasImage | None = None
        self._current: Stroke | None = None
        self._cache: QPixmap | None = None  # the finished strokes, rendered
        self._overlay: tuple[QImage, tuple[float, float, float, float]] | None = None  # e.g. saliency
        self._current_px: list[tuple[float, float]] = []  # the stroke being drawn, in widget pixels
        self._erasing = False
        self.eraser_mode = False
        self.pen_width = DEFAULT_PEN_WIDTH
        self.undo_stack = QUndoStack(self)
        self.setMinimumSize(220, 220)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(False)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setAttribute(Qt.WidgetAttribute.WA_AcceptTouchEvents, False)  # touch arrives as mouse events
        self.setToolTip("Draw a digit. Right-drag erases strokes.")

    # ------------------------------------------------------------------ document

    @property
    def strokes(self) -> list[Stroke]:
        """Strokes in logical canvas pixels, including one being drawn."""
        return self._strokes + ([self._current] if self._current else [])

    def is_empty(self) -> bool:
        return self._image is None and not any(self.strokes)

    def image_loaded(self) -> bool:
        return self._image is not None

    def source(self) -> Drawing | np.ndarray:
        """What the network should read: the opened image's grey pixels, or the drawing."""
        return self._image.gray if self._image is not None else self.drawing()

    def set_image(self, gray: np.ndarray, name: str) -> None:
        """Show an image instead of strokes (undoable); drawing on it starts a new drawing."""
        self.undo_stack.push(_Replace(self, [], self.pen_width, f"Open {name}", CanvasImage.from_gray(gray, name)))

    def drawing(self) -> Drawing:
        """The current drawing in the drawing-file format's terms."""
        return Drawing.trusted(LOGICAL_SIZE, LOGICAL_SIZE, self.pen_width, [list(s) for s in self.strokes if s])

    def set_drawing(self, drawing: Drawing) -> None:
        """Replace the canvas with ``drawing`` (undoable), scaled to fit the square."""
        scale = LOGICAL_SIZE / max(drawing.width, drawing.height)
        dx = (LOGICAL_SIZE - drawing.width * scale) / 2.0
        dy = (LOGICAL_SIZE - drawing.height * scale) / 2.0
        strokes = [[(x * scale + dx, y * scale + dy) for x, y in s] for s in drawing.strokes if s]
        self.undo_stack.push(_Replace(self, strokes, drawing.pen_width * scale, "Open drawing", None))

    def clear(self) -> None:
        """Remove all strokes and any image (undoable)."""
        if self._strokes or self._image is not None:
            self.undo_stack.push(_Replace(self, [], self.pen_width, "Clear", None))

    def set_pen_width(self, width: float) -> None:
        self.pen_width = float(min(MAX_PEN_WIDTH, max(MIN_PEN_WIDTH, width)))
        self._invalidate()
        if self._strokes:
            self.changed.emit()

    def _apply(self, strokes: list[Stroke], pen_width: float | None = None, image: object = _KEEP) -> None:
        self._strokes = [list(s) for s in strokes]
        if pen_width is not None:
            self.pen_width = pen_width
        if image is not _KEEP:
            self._image = image  # type: ignore[assignment]  # a CanvasImage or None once _KEEP is ruled out
        self._invalidate()
        self.changed.emit()

    def _invalidate(self) -> None:
        self._cache = None
        self.update()

    def set_overlay(self, image: QImage | None, rect: tuple[float, float, float, float] | None = None) -> None:
        """Show ``image`` over the strokes, stretched (smoothly) over ``rect`` = (x, y, w, h)
        in canvas coordinates; None removes it. Used for the saliency map."""
        if image is None and self._overlay is None:
            return
        old = self._overlay_target() if self._overlay is not None else None
        self._overlay = None if image is None else (image.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied), rect)
        new = self._overlay_target() if self._overlay is not None else None
        dirty = old.united(new) if old is not None and new is not None else old or new
        self.update(dirty.toAlignedRect().adjusted(-2, -2, 2, 2))  # where the old and the new overlay lie

    def show_saliency(self, saliency: np.ndarray | None, placement: Any = None) -> None:
        """Colour the ink by ``saliency`` (28×28 gradient × input, over the tensor that
        ``placement``, a ``model.preprocess.Placement``, laid on this canvas); None removes it."""
        from .views.saliency import saliency_overlay

        overlay = saliency_overlay(saliency) if saliency is not None and placement is not None else None
        if overlay is None:  # nothing to show, or nothing argues either way
            self.set_overlay(None)
            return
        image, (tx, ty, tw, th) = overlay
        x0, y0, _, _ = placement.canvas_rect()
        unit = placement.unit
        self.set_overlay(image, (x0 + tx * unit, y0 + ty * unit, tw * unit, th * unit))

    def _overlay_target(self) -> QRectF:
        _, (x, y, w, h) = self._overlay  # type: ignore[misc]  # callers check that an overlay is set
        return QRectF(self.to_widget(x, y), self.to_widget(x + w, y + h))

    @property
    def overlay(self) -> tuple[QImage, tuple[float, float, float, float]] | None:
        return self._overlay

    # ------------------------------------------------------------------ geometry

    def square(self) -> QRectF:
        """The drawing square inside the widget (widget pixels)."""
        side = min(self.width(), self.height()) - 2.0
        return QRectF((self.width() - side) / 2.0, (self.height() - side) / 2.0, side, side)

    def to_logical(self, p: QPointF) -> tuple[float, float]:
        sq = self.square()
        k = LOGICAL_SIZE / sq.width()
        return ((p.x() - sq.left()) * k, (p.y() - sq.top()) * k)

    def to_widget(self, x: float, y: float) -> QPointF:
        sq = self.square()
        k = sq.width() / LOGICAL_SIZE
        return QPointF(sq.left() + x * k, sq.top() + y * k)

    # ------------------------------------------------------------------ input

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.RightButton or (
            event.button() == Qt.MouseButton.LeftButton and self.eraser_mode
        ):
            self._erasing = True
            self._erase_at(event.position())
        elif event.button() == Qt.MouseButton.LeftButton:
            if self._image is not None:
                self.undo_stack.push(_Replace(self, [], self.pen_width, "Clear image", None))
            self._current = [self.to_logical(event.position())]
            self._current_px = self._widget_points(self._current)
            self.update()
            self.changed.emit()
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._erasing:
            self._erase_at(event.position())
        elif self._current is not None:
            x, y = self.to_logical(event.position())
            lx, ly = self._current[-1]
            step = _MIN_STEP_PX * LOGICAL_SIZE / self.square().width()
            if math.hypot(x - lx, y - ly) >= step:
                self._current.append((x, y))
                a, b = self.to_widget(lx, ly), self.to_widget(x, y)
                self._current_px.append((b.x(), b.y()))
                # repaint only around the new segment
                margin = self.pen_width * self.square().width() / LOGICAL_SIZE / 2.0 + 2.0
                dirty = QRectF(a, b).normalized().adjusted(-margin, -margin, margin, margin)
                self.update(dirty.toAlignedRect())
                self.changed.emit()
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._erasing:
            self._erasing = False
        elif self._current is not None:
            stroke, self._current, self._current_px = self._current, None, []
            self.undo_stack.push(_AddStroke(self, stroke))
            self.strokeFinished.emit()
        event.accept()

    def _erase_at(self, pos: QPointF) -> None:
        """Remove (undoably) every stroke that passes under the eraser."""
        x, y = self.to_logical(pos)
        reach = max(self.pen_width, 12.0) / 2.0 + self.pen_width / 2.0
        hit = [i for i, s in enumerate(self._strokes) if _stroke_distance(s, x, y) <= reach]
        if hit:
            self.undo_stack.push(_EraseStrokes(self, hit))

    # ------------------------------------------------------------------ painting

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._cache = None
        if self._current:
            self._current_px = self._widget_points(self._current)
        super().resizeEvent(event)

    def _pen(self, k: float, color: str = theme.CANVAS_INK) -> QPen:
        return QPen(QColor(color), self.pen_width * k, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)

    def _render_cache(self) -> QPixmap:
        """Background, image and finished strokes at the screen's pixel density."""
        ratio = self.devicePixelRatioF()
        pixmap = QPixmap(int(self.width() * ratio), int(self.height() * ratio))
        pixmap.setDevicePixelRatio(ratio)
        pixmap.fill(self.palette().window().color())
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        sq = self.square()
        painter.fillRect(sq, QColor(theme.PAPER))
        painter.setPen(QPen(QColor(theme.FRAME), 1))
        painter.drawRect(sq)
        if self._image is not None:
            self._draw_image(painter, sq)
        painter.setPen(self._pen(sq.width() / LOGICAL_SIZE))
        for stroke in self._strokes:
            painter.drawPath(self._path(stroke))
        painter.end()
        return pixmap

    def paintEvent(self, event: QPaintEvent) -> None:
        if self._cache is None:
            self._cache = self._render_cache()
        painter = QPainter(self)
        painter.drawPixmap(0, 0, self._cache)
        sq = self.square()
        if self._overlay is not None:
            # scaled as it is painted, by the painter's bilinear filter, only where the paint's
            # region needs it: cheaper than a scaled copy per overlay, as each reading brings one
            painter.save()
            painter.setClipRect(sq, Qt.ClipOperation.IntersectClip)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(self._overlay_target(), self._overlay[0])
            painter.restore()
        if self._current and self._current_px:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(self._pen(sq.width() / LOGICAL_SIZE))
            painter.drawPath(self._current_part(event.rect(), sq.width() / LOGICAL_SIZE))
        elif self.is_empty():
            painter.setPen(QColor(theme.HINT))
            font = QFont(self.font())
            font.setPointSizeF(max(12.0, sq.width() / 18.0))
            painter.setFont(font)
            painter.drawText(sq, Qt.AlignmentFlag.AlignCenter, "Draw a digit")
        painter.end()

    def _draw_image(self, painter: QPainter, target: QRectF) -> None:
        img = self._image.qimage  # type: ignore[union-attr]  # callers check that an image is loaded
        k = min(target.width() / img.width(), target.height() / img.height())
        w, h = img.width() * k, img.height() * k
        painter.drawImage(QRectF(target.center().x() - w / 2, target.center().y() - h / 2, w, h), img)

    def _widget_points(self, stroke: Stroke) -> list[tuple[float, float]]:
        return [(p.x(), p.y()) for p in (self.to_widget(x, y) for x, y in stroke)]

    def _current_part(self, region: QRect, k: float) -> QPainterPath:
        """The stroke being drawn, cut to the segments that reach into ``region`` (widget pixels).

        A mouse move repaints only around its new segment, and stroking the whole path for it
        grew with the stroke's length (0.08 ms at 10 points, 0.23 ms at 100). Inside ``region``
        the pixels are the whole path's: a segment left out lies, ink and smoothing included,
        outside it."""
        pts = self._current_px
        if len(pts) == 1:
            return self._path(self._current)
        pad = self.pen_width * k / 2.0 + 2.0
        left, top = region.left() - pad, region.top() - pad
        right, bottom = region.right() + 1 + pad, region.bottom() + 1 + pad
        path = QPainterPath()
        last = -2
        (ax, ay) = pts[0]
        for i, (bx, by) in enumerate(pts[1:]):
            if (ax if ax < bx else bx) <= right and (ax if ax > bx else bx) >= left and \
                    (ay if ay < by else by) <= bottom and (ay if ay > by else by) >= top:
                if i != last + 1:  # a new run of segments
                    path.moveTo(ax, ay)
                path.lineTo(bx, by)
                last = i
            ax, ay = bx, by
        return path

    def _path(self, stroke: Stroke) -> QPainterPath:
        path = QPainterPath(self.to_widget(*stroke[0]))
        if len(stroke) == 1:
            path.lineTo(self.to_widget(*stroke[0]))
        for x, y in stroke[1:]:
            path.lineTo(self.to_widget(x, y))
        return path

    def render_image(self, side: int = 560) -> QImage:
        """The drawing alone, black on white, ``side`` pixels square (for PNG export)."""
        image = QImage(side, side, QImage.Format.Format_RGB32)
        image.fill(QColor(theme.PAPER))
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self._image is not None:
            self._draw_image(painter, QRectF(0, 0, side, side))
        k = side / LOGICAL_SIZE
        painter.setPen(self._pen(k, theme.INK))
        for stroke in self._strokes:
            path = QPainterPath(QPointF(stroke[0][0] * k, stroke[0][1] * k))
            for x, y in stroke[1:] or stroke:
                path.lineTo(QPointF(x * k, y * k))
            painter.drawPath(path)
        painter.end()
        return image


def _stroke_distance(stroke: Stroke, x: float, y: float) -> float:
    """Shortest distance from (x, y) to a polyline."""
    best = math.inf
    if len(stroke) == 1:
        return math.hypot(stroke[0][0] - x, stroke[0][1] - y)
    for (ax, ay), (bx, by) in zip(stroke, stroke[1:]):
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy
        t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / length2))
        best = min(best, math.hypot(ax + t * dx - x, ay + t * dy - y))
    return best


class _AddStroke(QUndoCommand):
    def __init__(self, canvas: DrawingCanvas, stroke: Stroke) -> None:
        super().__init__("Stroke")
        self.canvas, self.stroke = canvas, stroke

    def redo(self) -> None:
        self.canvas._apply(self.canvas._strokes + [self.stroke])

    def undo(self) -> None:
        self.canvas._apply(self.canvas._strokes[:-1])


class _EraseStrokes(QUndoCommand):
    def __init__(self, canvas: DrawingCanvas, indices: list[int]) -> None:
        super().__init__("Erase")
        self.canvas = canvas
        self.before = list(canvas._strokes)
        self.after = [s for i, s in enumerate(canvas._strokes) if i not in set(indices)]

    def redo(self) -> None:
        self.canvas._apply(self.after)

    def undo(self) -> None:
        self.canvas._apply(self.before)


class _Replace(QUndoCommand):
    """Replace the whole canvas: strokes, pen width and image."""

    def __init__(
        self, canvas: DrawingCanvas, strokes: list[Stroke], pen_width: float, text: str, image: CanvasImage | None
    ) -> None:
        super().__init__(text)
        self.canvas = canvas
        self.before = (list(canvas._strokes), canvas.pen_width, canvas._image)
        self.after = (strokes, pen_width, image)

    def redo(self) -> None:
        self.canvas._apply(*self.after)

    def undo(self) -> None:
        self.canvas._apply(*self.before)
