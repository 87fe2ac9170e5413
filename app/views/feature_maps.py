"""Feature maps of a convolution layer as one mosaic, with a colour bar.

All maps of a layer share one colour scale (0 to the layer's largest
activation, rounded up to a round number so the legend stays still), shown by
the colour bar. Hovering a map names its layer and
channel; clicking it asks for an enlarged view (``mapClicked``).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QWidget

COLORMAP = "inferno"
GAP = 1


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 1.5, 2, 3, 5, 7 × 10^k at or above ``value``: a colour-bar top
    that stays put while the activations wobble."""
    if value <= 1e-6:
        return 1.0
    exp = np.floor(np.log10(value))
    for step in (1.0, 1.5, 2.0, 3.0, 5.0, 7.0, 10.0):
        if step * 10**exp >= value * (1 - 1e-9):
            return float(round(step * 10**exp, 12))
    return float(10 ** (exp + 1))


def mosaic(activations: np.ndarray, cols: int, gap: int = GAP) -> np.ndarray:
    """(H, W, C) maps → one (rows·(H+gap)−gap, cols·(W+gap)−gap) image, zeros in the gaps
    (the view draws the gaps over them; NaN gaps would put pyqtgraph on a slow path)."""
    h, w, c = activations.shape
    rows = -(-c // cols)
    out = np.zeros((rows, h + gap, cols, w + gap), np.float32)
    tiles = out[:, :h, :, :w]  # (rows, h, cols, w) view
    full = c // cols
    tiles[:full] = activations[:, :, : full * cols].reshape(h, w, full, cols).transpose(2, 0, 3, 1)
    for k in range(full * cols, c):  # a last, partial row
        tiles[k // cols, :, k % cols, :] = activations[:, :, k]
    return out.reshape(rows * (h + gap), cols * (w + gap))[: rows * (h + gap) - gap, : cols * (w + gap) - gap]


def gap_lines(shape: tuple[int, int, int], cols: int, gap: int = GAP) -> QPainterPath:
    """Rectangles covering the gaps between the tiles of a mosaic (image coordinates)."""
    h, w, c = shape
    rows = -(-c // cols)
    width, height = cols * (w + gap) - gap, rows * (h + gap) - gap
    path = QPainterPath()
    for col in range(1, cols):
        path.addRect(QRectF(col * (w + gap) - gap, 0, gap, height))
    for row in range(1, rows):
        path.addRect(QRectF(0, row * (h + gap) - gap, width, gap))
    return path


_LUT: np.ndarray | None = None


def colour_table() -> np.ndarray:
    """The colour map as 256 RGBA pixels packed in uint32 (built once)."""
    global _LUT
    if _LUT is None:
        rgba = pg.colormap.get(COLORMAP).getLookupTable(0.0, 1.0, 256, alpha=True, mode="byte")
        _LUT = np.ascontiguousarray(rgba, dtype=np.uint8).view(np.uint32).ravel()
    return _LUT


class ColourScale:
    """A layer's shared colour-scale top, with hysteresis: it rises at once to a round
    number above the largest activation, and only falls when the activations fall
    well below it, so the legend does not flicker between two values."""

    def __init__(self) -> None:
        self.level = 1.0

    def update(self, top: float) -> float:
        wanted = nice_ceiling(top)
        if wanted > self.level or wanted < 0.5 * self.level:
            self.level = wanted
        return self.level


def colourise(activations: np.ndarray, cols: int, scale: ColourScale | None = None) -> tuple[np.ndarray, float]:
    """A layer's maps as one RGBA mosaic on the shared scale [0, level], and that level.

    Pure NumPy, so the reading thread can do it: the GUI thread then only
    hands finished pixels to Qt.
    """
    top = float(activations.max())
    level = scale.update(top) if scale is not None else nice_ceiling(top)
    scaled = mosaic(activations, cols)
    scaled *= 255.0 / level
    np.clip(scaled, 0, 255, out=scaled)
    packed = colour_table().take(scaled.astype(np.uint8))
    return packed.view(np.uint8).reshape(*packed.shape, 4), level


class FeatureMapView(pg.GraphicsLayoutWidget):
    """The mosaic of one layer's feature maps."""

    mapClicked = Signal(str, int)  # layer, channel
    hovered = Signal(str)  # a description of the map under the cursor ("" when none)

    def __init__(self, layer: str, shape: tuple[int, int, int], cols: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layer = layer
        self.shape = shape
        self.cols = cols
        self.setBackground("#1b1f24")
        self.title = self.addLabel(f"{layer}: {shape[2]} maps of {shape[0]}×{shape[1]}", color="#d5dae1", size="10pt")
        self.nextRow()
        self.view = self.addViewBox(lockAspect=True, invertY=True, enableMouse=False, enableMenu=False)
        self.activations = np.zeros(shape, np.float32)
        self.image = pg.ImageItem(colourise(self.activations, cols)[0])
        self.view.addItem(self.image)
        gaps = QGraphicsPathItem(gap_lines(shape, cols))
        gaps.setBrush(QColor("#1b1f24"))
        gaps.setPen(QPen(Qt.PenStyle.NoPen))
        self.view.addItem(gaps)
        self.colorbar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=COLORMAP, interactive=False, width=12)
        self.addItem(self.colorbar)
        self.level = 1.0
        self.scale = ColourScale()  # used when the caller does not colour the maps itself
        self.image.setAcceptHoverEvents(True)
        self.image.hoverEvent = self._hover  # type: ignore[method-assign]
        self.image.mouseClickEvent = self._click  # type: ignore[method-assign]
        self.setMinimumSize(220, 160)

    def show_activations(self, activations: np.ndarray | None, coloured: tuple[np.ndarray, float] | None = None) -> None:
        """Show (H, W, C) activations (None blanks the maps); ``coloured`` is
        ``colourise(activations, cols)`` when the caller has it already."""
        acts = np.zeros(self.shape, np.float32) if activations is None else activations
        self.activations = acts
        rgba, level = coloured if coloured is not None and activations is not None else colourise(acts, self.cols, self.scale)
        self.image.setImage(rgba, autoLevels=False)
        if level != self.level:  # redrawing the legend costs more than the maps
            self.level = level
            self.colorbar.setLevels((0.0, level))

    def channel_at(self, pos: QPointF) -> int | None:
        """The channel under an image-coordinate position, or None in a gap or outside."""
        h, w, c = self.shape
        x, y = int(pos.x()), int(pos.y())
        if x < 0 or y < 0:
            return None
        col, cx = divmod(x, w + GAP)
        row, cy = divmod(y, h + GAP)
        if cx >= w or cy >= h or col >= self.cols:
            return None
        channel = row * self.cols + col
        return channel if channel < c else None

    def describe(self, channel: int) -> str:
        values = self.activations[:, :, channel]
        return f"{self.layer} · channel {channel} · max {float(values.max()):.2f}  (click to enlarge)"

    def _hover(self, event) -> None:  # pyqtgraph HoverEvent
        if event.isExit():
            self.setToolTip("")
            self.hovered.emit("")
            return
        channel = self.channel_at(event.pos())
        text = "" if channel is None else self.describe(channel)
        self.setToolTip(text)
        self.hovered.emit(text)

    def _click(self, event) -> None:  # pyqtgraph MouseClickEvent
        channel = self.channel_at(event.pos())
        if channel is not None:
            event.accept()
            self.mapClicked.emit(self.layer, channel)
