"""The strip of View → How it reads your digit: the network's six stages left to right.

One widget paints them all (a few scaled QImages, some text and ten bars):
input 28×28 → conv1 maps → conv2 maps → max-pool maps → 128 dense units →
softmax. Each stage is clickable (``stageClicked``); on the map mosaics a
click also picks the map under the cursor (``mapClicked``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QPolygonF, QResizeEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from ...model.architecture import MAP_SHAPES
from .. import theme
from ..mosaic import DENSE_GRID, GAP, POOL_COLS, ColourScale, dense_mosaic, index_mosaic, pool_mosaic
from .feature_maps import map_colours
from .pixel_image import BACKGROUND, TEXT, PaintedOnce, grey, to_qimage

MUTED = QColor(theme.DARK_MUTED)
PANEL = QColor(theme.DARK_PANEL)
ACCENT = QColor(theme.ACCENT)  # selection and windows: stands out against the inferno maps
BAR = QColor(theme.DARK_BAR)
TOP_BAR = QColor(theme.DARK_TOP_BAR)


@dataclass(frozen=True)
class Stage:
    """One stage of the strip: its key, title, caption, the operation that makes it, its display size."""

    key: str
    title: str
    caption: str
    op: str  # on the arrow that leads to this stage ("" for the input)
    width: float  # display size in units of the strip's image height
    height: float = 1.0


STAGES = (
    Stage("input", "input", "28×28 pixels", "", 0.9, 0.9),
    Stage("conv1", "conv1", "32 maps · 26×26", "3×3 conv ×32\n+ ReLU", 1.08, 0.54),
    Stage("conv2", "conv2", "64 maps · 24×24", "3×3 conv ×64\n+ ReLU", 1.0),
    Stage("pool", "max-pool", "64 maps · 12×12", "max of\neach 2×2", 0.78, 0.78),
    Stage("dense", "dense", "128 units", "flatten 9216\n×W +b, ReLU", 0.5),
    Stage("softmax", "softmax", "10 probabilities", "×W +b\nsoftmax", 0.82),
)
KEYS = tuple(s.key for s in STAGES)
MOSAIC_COLS = POOL_COLS  # the window's conv mosaics have 8 maps a row too


class PipelineStrip(QWidget):
    """The stages, their images and the arrows between them."""

    stageClicked = Signal(str)  # a stage was clicked (not on one of its maps)
    mapClicked = Signal(str, int)  # stage, channel: a map of a mosaic was clicked
    hovered = Signal(str)  # what is under the cursor ("" for nothing)

    ARROW = 92  # width of the space between two stages
    MARGIN = 6
    PAD = 10  # between an image and its panel's edge

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.images: dict[str, QImage | None] = dict.fromkeys(KEYS)
        self.notes: dict[str, str] = dict.fromkeys(KEYS, "")
        self.grids: dict[str, tuple[int, int, int]] = {}  # stage → (tile h, tile w, channels) of its mosaic
        self.probabilities: np.ndarray | None = None
        self.is_digit = True  # False: the verdict says the drawing is no digit (grey softmax bars)
        self.selected = "conv1"
        self.channels: dict[str, int | None] = {"conv1": None, "conv2": None, "pool": None}
        self.hover: tuple[str, int | None] | None = None
        self.dense_scale = ColourScale()
        self.boxes: dict[str, QRectF] = {}  # stage → where its image goes
        self._laid_out = QSize()
        self._background = PaintedOnce()
        self._gaps: dict[str, tuple] = {}  # stage → (what they were made for, the gaps' rectangles)
        self._troughs: tuple = ((), [])  # (the softmax box they were made for, [(label, trough)] a digit)
        self.arrows: list[QRectF] = []
        self.title_font = QFont(self.font())
        self.title_font.setPointSizeF(self.font().pointSizeF() * 1.1)
        self.title_font.setBold(True)
        fm_h = self.fontMetrics().height()
        self.title_h, self.caption_h = fm_h * 1.6 + 6, fm_h + 12
        self.image_h = 0.0
        self.small_font = QFont(self.font())
        self.small_font.setPointSizeF(self.font().pointSizeF() * 0.9)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMinimumSize(900, 200)

    # ------------------------------------------------------------------ data

    def show_stages(self, tensor: np.ndarray | None, activations: dict[str, np.ndarray], prepared: dict | None,
                    probabilities: np.ndarray | None, missing: str = "", empty: str = "", is_digit: bool = True) -> None:
        """Show one reading. Stages without data say ``missing``; with no tensor at all, the input says ``empty``.
        ``is_digit`` False (the verdict: no digit): the softmax bars are all grey, the best guess too."""
        self.is_digit = is_digit
        prepared = prepared or {}
        images: dict[str, QImage | None] = dict.fromkeys(KEYS)
        notes = dict.fromkeys(KEYS, "")
        grids: dict[str, tuple[int, int, int]] = {}
        if tensor is not None:
            images["input"] = to_qimage(grey(tensor))
        conv2_level = None
        for key in ("conv1", "conv2", "pool"):  # most come laid out with the reading (``MapColouring``)
            acts = activations.get(key)
            coloured = prepared.get(key)
            if acts is not None and acts.ndim == 3:
                shape = acts.shape
            elif coloured is not None:  # laid out where it was read; the values stayed there
                shape = MAP_SHAPES[key]
            else:
                continue
            if coloured is None:
                coloured = pool_mosaic(acts, conv2_level) if key == "pool" else index_mosaic(acts, MOSAIC_COLS)
            images[key] = to_qimage(coloured[0], map_colours())
            grids[key] = shape
            if key == "conv2":
                conv2_level = coloured[1]
        dense = prepared.get("dense")
        if dense is None and activations.get("dense") is not None:
            dense = dense_mosaic(activations["dense"], self.dense_scale)
        if dense is not None:
            images["dense"] = to_qimage(dense[0], map_colours())
        self.probabilities = None if probabilities is None else np.asarray(probabilities, np.float64)
        if tensor is None:
            notes["input"] = empty
        else:
            for key in KEYS:
                if images[key] is None and not (key == "softmax" and self.probabilities is not None):
                    notes[key] = missing
        self.images, self.notes, self.grids = images, notes, grids
        self.update()  # the whole strip: updating only the changing boxes (a clip region) paints slower

    def select(self, stage: str, channel: int | None = None) -> None:
        """Mark ``stage`` selected and, for a mosaic, ``channel`` as its chosen map."""
        self.selected = stage
        self.set_channel(stage, channel)
        self.update()

    def set_channel(self, stage: str, channel: int | None) -> None:
        """Mark ``channel`` as the chosen map of mosaic ``stage`` (the selection stays)."""
        if channel is not None and stage in self.channels and self.channels[stage] != channel:
            self.channels[stage] = channel
            self.update()

    # ------------------------------------------------------------------ geometry

    def ensure_layout(self) -> None:
        """Place the stages again if the widget's size changed since they were placed."""
        if self._laid_out != self.size():
            self._laid_out = self.size()
            self.layout_boxes()

    def layout_boxes(self) -> None:
        """Place the stages: one image height for all, as large as the widget allows, centred."""
        units = sum(s.width for s in STAGES)
        pad = self.PAD
        free_w = self.width() - 2 * self.MARGIN - (len(STAGES) - 1) * self.ARROW - 2 * pad * len(STAGES)
        free_h = self.height() - 2 * self.MARGIN - self.title_h - self.caption_h
        h = max(40.0, min(free_w / units, free_h))
        used = units * h + (len(STAGES) - 1) * self.ARROW + 2 * pad * len(STAGES)
        x = (self.width() - used) / 2
        mid = self.MARGIN + self.title_h + free_h / 2
        self.image_h = h
        self.boxes, self.arrows = {}, []
        for i, s in enumerate(STAGES):
            if i:
                self.arrows.append(QRectF(x, mid - 40, self.ARROW, 80))
                x += self.ARROW
            x += pad
            w, hh = s.width * h, s.height * h
            self.boxes[s.key] = QRectF(x, mid - hh / 2, w, hh)
            x += w + pad

    def panel(self, key: str) -> QRectF:
        """The stage's panel: its image, with room for the title above and the caption below."""
        box = self.boxes[key]
        top = box.center().y() - self.image_h / 2 - self.title_h
        return QRectF(box.x() - self.PAD, top, box.width() + 2 * self.PAD, self.image_h + self.title_h + self.caption_h)

    def resizeEvent(self, event: QResizeEvent) -> None:
        # no taller than the images need at this width: the rest goes to the detail below. Never
        # below the minimum height: the layout would then overlap the strip with the detail,
        # whose top would be painted again with every reading.
        units = sum(s.width for s in STAGES)
        free_w = self.width() - 2 * self.MARGIN - (len(STAGES) - 1) * self.ARROW - 2 * self.PAD * len(STAGES)
        needed = int(2 * self.MARGIN + self.title_h + self.caption_h + max(40.0, free_w / units)) + 1
        needed = max(needed, self.minimumHeight())
        if needed != self.maximumHeight():
            self.setMaximumHeight(needed)
        super().resizeEvent(event)

    def sizeHint(self) -> QSize:
        return QSize(1400, 270)

    def hit(self, pos: QPointF) -> tuple[str, int | None] | None:
        """(stage, map or unit or digit under ``pos``) or None off the stages."""
        self.ensure_layout()
        for key in KEYS:
            if not self.panel(key).contains(pos):
                continue
            box = self.boxes[key]
            if not box.contains(pos):
                return key, None
            fx, fy = (pos.x() - box.x()) / box.width(), (pos.y() - box.y()) / box.height()
            if key in self.grids and self.images[key] is not None:
                th, tw, channels = self.grids[key]
                image = self.images[key]
                x, y = int(fx * image.width()), int(fy * image.height())
                col, cx = divmod(x, tw + GAP)
                row, cy = divmod(y, th + GAP)
                channel = row * MOSAIC_COLS + col
                ok = cx < tw and cy < th and col < MOSAIC_COLS and channel < channels
                return key, channel if ok else None
            if key == "dense":
                return key, int(fy * DENSE_GRID[0]) * DENSE_GRID[1] + int(fx * DENSE_GRID[1])
            if key == "softmax":
                return key, min(9, int(fy * 10))
            return key, None
        return None

    def tile_rect(self, key: str, channel: int) -> QRectF:
        """Where map ``channel`` of a mosaic stage is drawn (widget coordinates)."""
        self.ensure_layout()
        th, tw, _ = self.grids[key]
        image, box = self.images[key], self.boxes[key]
        sx, sy = box.width() / image.width(), box.height() / image.height()
        row, col = divmod(channel, MOSAIC_COLS)
        return QRectF(box.x() + col * (tw + GAP) * sx, box.y() + row * (th + GAP) * sy, tw * sx, th * sy)

    # ------------------------------------------------------------------ painting

    def paintEvent(self, event: QPaintEvent) -> None:
        self.ensure_layout()
        p = QPainter(self)
        p.drawPixmap(0, 0, self._background.get(self, (self.selected,), self._paint_static))
        for s in STAGES:
            box = self.boxes[s.key]
            if s.key == "softmax":
                self._paint_bars(p, box)
            elif self.images[s.key] is not None:
                p.drawImage(box, self.images[s.key])
                self._paint_marks(p, s.key)
            if self.notes[s.key]:
                p.setPen(MUTED)
                p.drawText(box.adjusted(4, 4, -4, -4), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.notes[s.key])
        p.end()

    def _paint_static(self, p: QPainter) -> None:
        """All that stays while drawing (panels, titles, arrows), painted once per size and selection:
        each reading then only draws its images and bars over it."""
        p.fillRect(self.rect(), BACKGROUND)
        for s in STAGES:
            panel, box = self.panel(s.key), self.boxes[s.key]
            selected = s.key == self.selected
            p.fillRect(panel, PANEL)
            if selected:
                p.setPen(QPen(ACCENT, 2))
                p.drawRect(panel.adjusted(1, 1, -1, -1))
            p.setFont(self.title_font)
            p.setPen(ACCENT if selected else TEXT)
            p.drawText(QRectF(panel.x(), panel.y(), panel.width(), self.title_h), Qt.AlignmentFlag.AlignCenter, s.title)
            p.setFont(self.small_font)
            p.setPen(MUTED)
            p.drawText(
                QRectF(panel.x(), panel.bottom() - self.caption_h, panel.width(), self.caption_h), Qt.AlignmentFlag.AlignCenter, s.caption
            )
            if s.key == "softmax":
                p.setPen(TEXT)
                for d in range(10):
                    label, trough = self._bar_rects(box, d)
                    p.drawText(label, Qt.AlignmentFlag.AlignCenter, str(d))
                    p.fillRect(trough, BACKGROUND)
            else:
                p.fillRect(box, BACKGROUND)
        for s, rect in zip(STAGES[1:], self.arrows):
            self._paint_arrow(p, rect, s.op)

    def _bar_rects(self, box: QRectF, digit: int) -> tuple[QRectF, QRectF]:
        """The softmax stage's label and bar trough for ``digit``."""
        row_h = box.height() / 10
        y = box.y() + digit * row_h
        return QRectF(box.x(), y, 16, row_h), QRectF(box.x() + 18, y + row_h * 0.2, max(10.0, box.width() - 18 - 42), row_h * 0.6)

    def _paint_gaps(self, p: QPainter, key: str) -> None:
        """The gaps between a mosaic's maps, drawn as lines: a mosaic shrunk below one screen
        pixel per map pixel would otherwise lose some of them to the scaling."""
        th, tw, channels = self.grids[key]
        image, box = self.images[key], self.boxes[key]
        memo = (key, box.x(), box.y(), box.width(), box.height(), image.width(), image.height(), th, tw, channels)
        if self._gaps.get(key, (None,))[0] != memo:  # made once per layout
            sx, sy = box.width() / image.width(), box.height() / image.height()
            rows = -(-channels // MOSAIC_COLS)
            gx, gy = max(1, round(GAP * sx)), max(1, round(GAP * sy))
            rects = [QRect(round(box.x() + (c * (tw + GAP) - GAP) * sx), round(box.top()), gx, round(box.height()))
                     for c in range(1, MOSAIC_COLS)]
            rects += [
                QRect(round(box.left()), round(box.y() + (r * (th + GAP) - GAP) * sy), round(box.width()), gy) for r in range(1, rows)
            ]
            self._gaps[key] = (memo, rects)
        p.setPen(Qt.PenStyle.NoPen)  # filled rectangles: several times faster than lines
        p.setBrush(BACKGROUND)
        p.drawRects(self._gaps[key][1])
        p.setBrush(Qt.BrushStyle.NoBrush)

    def _paint_marks(self, p: QPainter, key: str) -> None:
        if key in self.grids:
            self._paint_gaps(p, key)
            chosen = self.channels.get(key)
            if self.hover is not None and self.hover[0] == key and self.hover[1] is not None and self.hover[1] != chosen:
                p.setPen(QPen(TEXT, 1))
                p.drawRect(self.tile_rect(key, self.hover[1]).adjusted(-1, -1, 1, 1))
            if chosen is not None and chosen < self.grids[key][2]:
                p.setPen(QPen(ACCENT, 2))
                p.drawRect(self.tile_rect(key, chosen).adjusted(-1.5, -1.5, 1.5, 1.5))

    def _paint_bars(self, p: QPainter, box: QRectF) -> None:
        probs = self.probabilities
        if probs is None:
            return
        top = int(np.argmax(probs))
        key = (box.x(), box.y(), box.width(), box.height())
        if self._troughs[0] != key:  # made once per layout
            self._troughs = (key, [self._bar_rects(box, d) for d in range(10)])
        rects = self._troughs[1]
        top_colour = TOP_BAR if self.is_digit else BAR  # no digit: the best guess is not picked out
        for d in range(10):
            trough = rects[d][1]
            p.fillRect(
                QRectF(trough.x(), trough.y(), max(1.0, trough.width() * float(probs[d])), trough.height()), top_colour if d == top else BAR
            )
        label, trough = rects[top]
        p.fillRect(label, PANEL)
        p.setFont(self.small_font)
        p.setPen(TOP_BAR if self.is_digit else TEXT)
        p.drawText(label, Qt.AlignmentFlag.AlignCenter, str(top))
        p.drawText(QRectF(trough.right(), label.y(), box.right() - trough.right(), label.height()),
                   Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, f"{100 * float(probs[top]):.0f}%")
        p.setFont(self.font())

    def _paint_arrow(self, p: QPainter, rect: QRectF, op: str) -> None:
        y = rect.center().y()
        x0, x1 = rect.x() + 8, rect.right() - 8
        p.setPen(QPen(MUTED, 2))
        p.drawLine(QPointF(x0, y), QPointF(x1 - 6, y))
        p.setBrush(MUTED)
        p.drawPolygon(QPolygonF([QPointF(x1, y), QPointF(x1 - 9, y - 5), QPointF(x1 - 9, y + 5)]))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setPen(TEXT)
        p.setFont(self.small_font)
        fm_h = p.fontMetrics().height()
        lines = op.split("\n")
        p.drawText(QRectF(rect.x(), y - 6 - fm_h * len(lines[:1]), rect.width(), fm_h), Qt.AlignmentFlag.AlignCenter, lines[0])
        for i, line in enumerate(lines[1:]):
            p.drawText(QRectF(rect.x(), y + 6 + i * fm_h, rect.width(), fm_h), Qt.AlignmentFlag.AlignCenter, line)
        p.setFont(self.font())

    # ------------------------------------------------------------------ mouse

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        hit = self.hit(event.position())
        if hit != self.hover:
            self.hover = hit
            text = self.describe(hit)
            self.setToolTip(text)
            self.hovered.emit(text)
            self.update()

    def leaveEvent(self, event) -> None:
        if self.hover is not None:
            self.hover = None
            self.hovered.emit("")
            self.update()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        hit = self.hit(event.position())
        if hit is None or event.button() != Qt.MouseButton.LeftButton:
            return
        key, index = hit
        if key in self.grids and index is not None:
            self.select(key, index)
            self.mapClicked.emit(key, index)
        else:
            self.select(key)
            self.stageClicked.emit(key)

    def describe(self, hit: tuple[str, int | None] | None) -> str:
        if hit is None:
            return ""
        key, index = hit
        title = next(s.title for s in STAGES if s.key == key)
        if index is None:
            return f"{title}: click to see how it is made"
        if key in self.grids:
            return f"{title} · map {index}: click to step through it"
        if key == "dense":
            return f"dense unit {index}"
        probs = self.probabilities
        return f"digit {index}" + (f": {100 * float(probs[index]):.1f}%" if probs is not None else "")
